"""The e-mail runs as tasks of Django's task framework (``django.tasks``, Django 6.0+).

When ``django.tasks`` cannot be imported this module defines no tasks and
:data:`AVAILABLE` is False; nothing else depends on it.
"""

from __future__ import annotations

from typing import Any

try:
    from django.tasks import task
except ImportError:  # Django < 6.0
    task = None

#: Whether the tasks below exist.
AVAILABLE = task is not None

if task is not None:

    @task
    def send_pending_emails_often() -> int:
        """Send the pending e-mails of the "often" mail mode."""
        from .mail import send_pending_emails_often as run

        return run()

    @task
    def send_pending_emails_daily() -> int:
        """Send the daily digests."""
        from .mail import send_pending_emails_daily as run

        return run()

    @task
    def send_pending_emails_weekly() -> int:
        """Send the weekly digests."""
        from .mail import send_pending_emails_weekly as run

        return run()


def __getattr__(name: str) -> Any:
    if name.startswith("send_pending_emails_"):
        raise AttributeError(f"notify.tasks.{name} needs Django's task framework (django.tasks, Django 6.0+)")
    raise AttributeError(f"module 'notify.tasks' has no attribute {name!r}")
