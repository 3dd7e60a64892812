"""The site's clock: the current date and time, which a demo may pin to a day of its own."""

from __future__ import annotations

import datetime

from django.utils import timezone

_pinned: datetime.date | None = None


def pin(day: datetime.date | None) -> None:
    """Make ``day`` the site's date (a demo's, see :mod:`notify.lino`), or the real date again with None."""
    global _pinned
    _pinned = day


def today() -> datetime.date:
    """Return the site's current date: the pinned day, else the real local date."""
    return _pinned if _pinned is not None else timezone.localdate()


def now() -> datetime.datetime:
    """Return the site's "now": the current local time of day on :func:`today`."""
    current = timezone.localtime()
    day = today()
    if day == current.date():
        return current
    return current.replace(year=day.year, month=day.month, day=day.day)
