"""The settings of the Lino layer: ``NOTIFY_LINO``, a dict like ``NOTIFY`` (demo projects only)."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings

#: Every key of ``NOTIFY_LINO`` with its default.
DEFAULTS: dict[str, Any] = {
    # The date of the demo data: the site's "today" (``dd.today()``, what the cleanup counts from).
    "demo_date": None,
    # Dotted path of a callable that fills an empty database with demo data (``startup()`` calls it).
    "demo_builder": None,
}


def lino_setting(name: str) -> Any:
    """Return the value of ``NOTIFY_LINO[name]``, or its default."""
    value = getattr(settings, "NOTIFY_LINO", None) or {}
    return value.get(name, DEFAULTS[name]) if isinstance(value, dict) else DEFAULTS[name]


def demo_date() -> datetime.date | None:
    """Return ``NOTIFY_LINO['demo_date']`` as a date (None when unset); raise ValueError when malformed."""
    value = lino_setting("demo_date")
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))
