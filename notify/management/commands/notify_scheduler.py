"""``manage.py notify_scheduler [--once] [--inline] [--list] [--every S]``: tick the notify job schedule."""

from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from notify import jobs, scheduler, shutdown
from notify.exceptions import NotifyError
from notify.management.logs import log_to_stderr
from notify.models import JobState


class Command(BaseCommand):
    """Dispatch the due jobs, once (cron, timers) or every few seconds until stopped."""

    help = "Run or enqueue the notify jobs that are due: once with --once (cron), else until SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        """Add --once, --inline, --list and --every."""
        parser.add_argument("--once", action="store_true", help="Dispatch the jobs that are due now, then exit.")
        parser.add_argument("--inline", action="store_true",
                            help="Run the jobs in this process even when NOTIFY['job_backend'] names a worker.")
        parser.add_argument("--list", dest="list_jobs", action="store_true",
                            help="List the jobs, their schedules and last runs, then exit.")
        parser.add_argument("--every", type=float, default=1.0, help="Seconds between two ticks (default 1).")

    def handle(self, *args: Any, once: bool = False, inline: bool = False, list_jobs: bool = False,
               every: float = 1.0, **options: Any) -> None:
        """Tick the schedule."""
        log_to_stderr(options.get("verbosity", 1))
        if not every > 0:
            raise CommandError(f"--every must be a positive number of seconds, not {every:g}.")
        try:
            plan = jobs.schedule()
            dispatch = jobs.dispatcher("cron" if inline else None)
        except NotifyError as exc:
            raise CommandError(str(exc)) from exc
        if list_jobs:
            states = {state.name: state for state in JobState.objects.all()}
            for name, when in plan.items():
                state = states.get(name)
                last = f"last due {timezone.localtime(state.slot):%Y-%m-%d %H:%M %Z}" if state and state.slot \
                    else "never ran"
                error = f"; failed: {state.error}" if state and state.error else ""
                self.stdout.write(f"{name}: {when} ({last}{error})")
            return
        if once:
            tick = timezone.now()
            with shutdown.graceful():
                started = jobs.run_due(tick, dispatch=dispatch)
            failed = JobState.objects.filter(name__in=list(plan), finished__gte=tick).exclude(error="")
            self.stdout.write(f"Dispatched {', '.join(started) or 'no jobs'}.")
            if failed:
                raise CommandError("; ".join(f"Job {state.name} failed: {state.error}" for state in failed))
            return
        stop = threading.Event()
        self.stdout.write("Scheduler running: " + "; ".join(f"{name} {when}" for name, when in plan.items()))
        self.stdout.flush()
        with shutdown.graceful():
            watcher = threading.Thread(target=_stop_when_requested, args=(stop,), daemon=True)
            watcher.start()
            scheduler.run_forever(stop, every, dispatch)


def _stop_when_requested(stop: threading.Event) -> None:
    while not stop.wait(0.2):
        if shutdown.requested():
            stop.set()
