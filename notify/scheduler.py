"""Tick the job schedule in a loop: the no-infrastructure runner (``manage.py notify_scheduler``).

Each tick calls :func:`notify.jobs.run_due`, which dispatches the due jobs to the engine of
``NOTIFY['job_backend']``: with ``"thread"`` or ``"cron"`` they run in this process, with
``"tasks"`` or ``"celery"`` they are enqueued for a worker. Several schedulers may tick at once:
every job is claimed once per due time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connections

from . import jobs

logger = logging.getLogger("notify.scheduler")


def run_forever(stop: threading.Event, every: float = 1.0, dispatch: Callable[[str], Any] | None = None) -> None:
    """Dispatch the due jobs every ``every`` seconds until ``stop`` is set."""
    logger.info("Scheduler started: %s", "; ".join(f"{name} {when}" for name, when in jobs.schedule().items()))
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                jobs.run_due(dispatch=dispatch)
            except Exception:
                logger.exception("A tick of the scheduler failed; the next one follows in %g s.", every)
            stop.wait(every)
    finally:
        connections.close_all()
        logger.info("Scheduler stopped.")


def start(every: float = 1.0, dispatch: Callable[[str], Any] | None = None) -> tuple[threading.Thread, threading.Event]:
    """Run the scheduler in a daemon thread; return the thread and the event that stops it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(stop, every, dispatch), name="notify-scheduler", daemon=True)
    thread.start()
    return thread, stop
