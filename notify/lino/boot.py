"""Start Django from a script, a doc page or a notebook, with the demo data in place."""

from __future__ import annotations

import asyncio
import os
import sys

from ..exceptions import NotifyError


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def startup(settings_module: str | None = None) -> None:
    """Set Django up with ``settings_module`` and build its demo database if it is missing.

    When Django is already set up (by a test runner), its settings must be ``settings_module``
    or settings that import it (a test suite's settings that extend the project's).
    """
    import django
    from django.conf import settings

    current = os.environ.get("DJANGO_SETTINGS_MODULE")
    if settings_module and settings_module != current:
        if settings.configured and settings_module not in sys.modules:
            raise NotifyError(f"Django is already set up with {current!r}, cannot switch to {settings_module!r}")
        if not settings.configured:
            os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    if _in_event_loop():
        # Jupyter runs cells inside an event loop, where Django refuses synchronous
        # database access; a notebook is single-threaded, so allow it there.
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    django.setup()
    ensure_demo_database()


def ensure_demo_database(using: str = "default") -> bool:
    """Migrate and fill the database when it has no tables yet; return whether it did."""
    from django.db import connections
    from django.utils.module_loading import import_string

    from ..models import Message
    from .conf import lino_setting

    builder = lino_setting("demo_builder")
    if not builder:
        return False
    connection = connections[using]
    if Message._meta.db_table in connection.introspection.table_names():
        return False
    import_string(builder)(using=using)
    return True
