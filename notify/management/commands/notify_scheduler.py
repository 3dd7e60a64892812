"""``manage.py notify_scheduler [--list] [--once] [-v 2]``: run the periodic jobs in the foreground.

With ``-v 2`` it logs every mail run (and the other ``notify`` messages) to stderr.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notify.scheduler import get_scheduler


class Command(BaseCommand):
    """Run the e-mail jobs (and every job other features registered) until stopped."""

    help = "Run the notification scheduler (e-mail runs and other periodic jobs) until Ctrl-C or SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        """Add --list and --once."""
        parser.add_argument("--list", dest="list_jobs", action="store_true",
                            help="List the jobs and their schedules, then exit.")
        parser.add_argument("--once", action="store_true", help="Run the jobs that are due now, then exit.")

    def handle(self, *args: Any, list_jobs: bool = False, once: bool = False, **options: Any) -> None:
        """Run the scheduler."""
        if options.get("verbosity", 1) >= 2 and not logging.getLogger("notify").handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
            logging.getLogger("notify").addHandler(handler)
            logging.getLogger("notify").setLevel(logging.INFO)
        scheduler = get_scheduler()
        if list_jobs:
            for job in scheduler.jobs:
                self.stdout.write(str(job))
            return
        if once:
            names = scheduler.run_pending()
            self.stdout.write(f"Ran {', '.join(names) or 'no jobs'}.")
            return
        stop = threading.Event()

        def _stop(signum: int, frame: Any) -> None:
            stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        self.stdout.write("Scheduler running: " + "; ".join(str(job) for job in scheduler.jobs))
        self.stdout.flush()
        scheduler.run_forever(stop)
