"""django-notify-kit: notification messages for Django, by e-mail, live and on the desktop."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__version__ = "0.1.0"


def lazy_names(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that imports each of ``names`` (name -> module) on first use."""

    def load(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return load


_LAZY = {
    "send_pending_emails_often": "notify.mail",
    "send_pending_emails_daily": "notify.mail",
    "send_pending_emails_weekly": "notify.mail",
    "clear_seen_messages": "notify.cleanup",
}
__getattr__ = lazy_names(__name__, _LAZY)
__all__ = list(_LAZY)
