"""``manage.py notify_vapid_keys``: print a fresh VAPID key pair in the form the settings take."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from notify.push.keys import generate_keys


class Command(BaseCommand):
    """Print a fresh VAPID key pair for the NOTIFY setting."""

    help = "Print a fresh VAPID key pair (the two NOTIFY entries); keep the private key secret."

    def add_arguments(self, parser: Any) -> None:
        """Offer JSON output for scripts."""
        parser.add_argument("--json", action="store_true", help="Print a JSON object instead of settings lines.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Generate the pair and print it."""
        keys = generate_keys()
        if options["json"]:
            self.stdout.write(json.dumps({"vapid_private_key": keys.private_key,
                                          "vapid_public_key": keys.public_key}))
            return
        self.stdout.write(f'"vapid_private_key": "{keys.private_key}",')
        self.stdout.write(f'"vapid_public_key": "{keys.public_key}",')
