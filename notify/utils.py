"""Small helpers about dates."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .conf import notify_settings


def today() -> datetime.date:
    """Return the site's current date (the ``demo_date`` setting if it has one)."""
    demo = notify_settings.demo_date
    if demo:
        return demo if isinstance(demo, datetime.date) else datetime.date.fromisoformat(str(demo))
    return timezone.localdate()
