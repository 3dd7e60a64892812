"""Lino's small helpers: whether this process is a development server."""

from __future__ import annotations

import sys
from pathlib import Path

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
