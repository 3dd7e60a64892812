"""django-notify-kit: notification messages for Django, by e-mail, live and on the desktop."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "send_pending_emails_often": "notify.mail",
    "send_pending_emails_daily": "notify.mail",
    "send_pending_emails_weekly": "notify.mail",
    "clear_seen_messages": "notify.cleanup",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'notify' has no attribute {name!r}")


__all__ = list(_LAZY)
