"""Small helpers: the site's date, and whether this process is a development server."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from django.utils import timezone

from .conf import notify_settings


def today() -> datetime.date:
    """Return the site's current date (the ``demo_date`` setting if it has one)."""
    demo = notify_settings.demo_date
    if demo:
        return demo if isinstance(demo, datetime.date) else datetime.date.fromisoformat(str(demo))
    return timezone.localdate()


#: Management commands and programs whose processes count as development servers (Lino's rule, plus pytest).
DEV_COMMANDS = ("runserver", "test")
DEV_PROGRAMS = ("pytest", "py.test", "doctest.py")


def is_devserver(argv: list[str] | None = None) -> bool:
    """Tell whether this process is a development server or a test run (``runserver``, ``test``, pytest, doctest)."""
    argv = sys.argv if argv is None else argv
    if len(argv) > 1 and argv[1] in DEV_COMMANDS:
        return True
    program = Path(argv[0]) if argv and argv[0] else Path()
    return program.name in DEV_PROGRAMS or (program.name == "__main__.py" and program.parent.name == "pytest")
