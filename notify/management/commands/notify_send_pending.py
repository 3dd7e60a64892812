"""``manage.py notify_send_pending --mode often|daily|weekly [--dry-run]``: send pending e-mails (for cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notify import jobs
from notify.choicelists import MailModes
from notify.exceptions import JobInterrupted, NotifyError
from notify.mail import pending_emails
from notify.mail.send import UNMAILED
from notify.management.logs import log_to_stderr


class Command(BaseCommand):
    """Send one e-mail per user with the pending messages of one mail mode."""

    help = "Send the pending notification e-mails of one mail mode (one e-mail per user)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Add --mode and --dry-run."""
        modes = [item.value for item in MailModes.items() if item.value not in UNMAILED]
        parser.add_argument("--mode", required=True, choices=modes, help="The mail mode to send.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only list the e-mails that would go out; send and change nothing.")

    def handle(self, *args: Any, mode: str, dry_run: bool = False, **options: Any) -> None:
        """Send (or list) the e-mails and say how many; fail when the mail server failed."""
        log_to_stderr(options.get("verbosity", 1))
        try:
            if dry_run:
                emails = pending_emails(mode)
                for email in emails:
                    self.stdout.write(f"{', '.join(email.to)}: {email.subject}")
                self.stdout.write(f"Would send {len(emails)} {mode} e-mail{'' if len(emails) == 1 else 's'}.")
                return
            count = jobs.execute(f"mail_{mode}")
        except JobInterrupted as exc:
            self.stderr.write(f"Job mail_{mode} {exc}.")
            return
        except NotifyError as exc:
            raise CommandError(f"Job mail_{mode} failed: {exc}") from exc
        self.stdout.write(f"Sent {count} {mode} e-mail{'' if count == 1 else 's'}.")
