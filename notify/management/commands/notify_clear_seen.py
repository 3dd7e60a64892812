"""``manage.py notify_clear_seen [--dry-run]``: remove old notification messages."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notify.cleanup import clear_seen_messages
from notify.exceptions import NotifyError


class Command(BaseCommand):
    """Remove messages older than ``remove_after`` days (only seen ones when ``keep_unseen``)."""

    help = "Remove notification messages older than NOTIFY['remove_after'] days."

    def add_arguments(self, parser: CommandParser) -> None:
        """Add --dry-run, --days and --include-unseen."""
        parser.add_argument("--dry-run", action="store_true", help="Only count the messages that would go.")
        parser.add_argument("--days", type=int, default=None,
                            help="Remove messages older than this many days (default: NOTIFY['remove_after']).")
        parser.add_argument("--include-unseen", action="store_true",
                            help="Remove old unseen messages too (default: NOTIFY['keep_unseen']).")

    def handle(self, *args: Any, dry_run: bool = False, days: int | None = None, include_unseen: bool = False,
               **options: Any) -> None:
        """Remove (or count) the old messages and say how many."""
        kwargs: dict[str, Any] = {"dry_run": dry_run}
        if days is not None:
            kwargs["remove_after"] = days
        if include_unseen:
            kwargs["keep_unseen"] = False
        try:
            count = clear_seen_messages(**kwargs)
        except NotifyError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(f"{verb} {count} notification message{'' if count == 1 else 's'}.")
