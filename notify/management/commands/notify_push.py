"""``manage.py notify_push``: push the new messages and the retries that are due (for cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from notify import jobs
from notify.conf import notify_settings
from notify.exceptions import NotifyError
from notify.management.logs import log_to_stderr


class Command(BaseCommand):
    """Run the push outbox once."""

    help = "Push the new notification messages and the retries that are due, then exit."

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the outbox and say what it did."""
        log_to_stderr(options.get("verbosity", 1))
        if not notify_settings.use_push_api:
            raise CommandError("Desktop push is off: NOTIFY['use_push_api'] is False.")
        try:
            report = jobs.execute("push")
        except NotifyError as exc:
            raise CommandError(f"Job push failed: {exc}") from exc
        self.stdout.write(", ".join(f"{key} {value}" for key, value in report.items()) + ".")
