"""Run periodic jobs inside a process: the e-mail runs, and jobs that other features register.

``python -m demo notify_scheduler`` (or ``manage.py notify_scheduler``) runs the
scheduler in the foreground. A job that fails is logged and runs again at its
next time; it never stops the loop. Several scheduler processes may run at
once: the mail jobs claim their messages, so nothing is sent twice.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections, connections
from django.utils import timezone

from .conf import notify_settings
from .exceptions import ImproperlyConfigured

logger = logging.getLogger("notify.scheduler")

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def parse_time(value: str | datetime.time) -> datetime.time:
    """Return a time of day from ``"HH:MM"`` (or a :class:`datetime.time`); raise ImproperlyConfigured."""
    if isinstance(value, datetime.time):
        return value
    try:
        return datetime.time.fromisoformat(str(value))
    except ValueError:
        raise ImproperlyConfigured(f"{value!r} is not a time of day; write it like '07:00'.") from None


def next_time(now: float, at: datetime.time, weekday: int | None = None, tz: Any = None) -> float:
    """Return the first moment after ``now`` (a Unix time) that is ``at`` o'clock (on ``weekday``) in ``tz``."""
    tz = tz or timezone.get_default_timezone()
    current = datetime.datetime.fromtimestamp(now, tz)
    candidate = current.replace(hour=at.hour, minute=at.minute, second=at.second, microsecond=0)
    if weekday is not None:
        candidate += datetime.timedelta(days=(weekday - candidate.weekday()) % 7)
    step = datetime.timedelta(days=1 if weekday is None else 7)
    while candidate.timestamp() <= now:
        candidate += step
    return candidate.timestamp()


@dataclass
class Job:
    """A function that the scheduler runs every few seconds, or daily or weekly at a time of day."""

    name: str
    func: Callable[[], Any]
    every: float | None = None
    at: datetime.time | None = None
    weekday: int | None = None
    next_run: float = 0.0
    runs: int = 0
    failures: int = 0

    def plan(self, now: float, tz: Any = None) -> None:
        """Set the time of the next run after ``now``."""
        if self.every is not None:
            self.next_run = now + self.every
        else:
            self.next_run = next_time(now, self.at, self.weekday, tz)

    def __str__(self) -> str:
        if self.every is not None:
            return f"{self.name}: every {self.every:g} s"
        when = f"at {self.at:%H:%M}"
        return f"{self.name}: {'daily' if self.weekday is None else 'on ' + WEEKDAYS[self.weekday] + 's'} {when}"


class Scheduler:
    """Keep a set of jobs and run each one when it is due."""

    def __init__(self, tz: Any = None) -> None:
        self.tz = tz
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, name: str, func: Callable[[], Any], *, every: float | None = None,
                 at: str | datetime.time | None = None, weekday: int | None = None,
                 replace: bool = False, now: float | None = None) -> Job:
        """Add a job that runs ``func`` every ``every`` seconds, or daily (weekly on ``weekday``) ``at`` a time."""
        if not callable(func):
            raise TypeError(f"Job {name!r}: {func!r} is not callable")
        if (every is None) == (at is None):
            raise ValueError(f"Job {name!r} needs either every=<seconds> or at='HH:MM'")
        if every is not None and not every > 0:
            raise ValueError(f"Job {name!r}: every must be a positive number of seconds, not {every!r}")
        if weekday is not None and (at is None or weekday not in range(7)):
            raise ValueError(f"Job {name!r}: weekday must be 0 (Monday) to 6 with at='HH:MM', not {weekday!r}")
        job = Job(name, func, every=every, at=parse_time(at) if at is not None else None, weekday=weekday)
        now = time.time() if now is None else now
        if every is not None:
            job.next_run = now
        else:
            job.plan(now, self.tz)
        with self._lock:
            if name in self._jobs and not replace:
                raise ValueError(f"A job named {name!r} is already registered (pass replace=True)")
            self._jobs[name] = job
        return job

    def unregister(self, name: str) -> None:
        """Remove the job ``name`` (nothing happens when there is none)."""
        with self._lock:
            self._jobs.pop(name, None)

    @property
    def jobs(self) -> list[Job]:
        """Return the registered jobs in registration order."""
        with self._lock:
            return list(self._jobs.values())

    def run_job(self, job: Job) -> bool:
        """Run one job now, log any failure, plan its next run; return whether it succeeded."""
        close_old_connections()
        start = time.time()
        try:
            result = job.func()
        except Exception:
            job.failures += 1
            logger.exception("Job %s failed; it runs again at its next time.", job.name)
            ok = False
        else:
            logger.debug("Job %s done in %.3f s: %r", job.name, time.time() - start, result)
            ok = True
        finally:
            job.runs += 1
            end = time.time()
            job.plan(start if job.every is not None else end, self.tz)
            job.next_run = max(job.next_run, end)
            close_old_connections()
        return ok

    def run_pending(self, now: float | None = None) -> list[str]:
        """Run every job that is due at ``now``; return their names."""
        now = time.time() if now is None else now
        due = [job for job in self.jobs if job.next_run <= now]
        for job in due:
            self.run_job(job)
        return [job.name for job in due]

    def seconds_to_next(self, now: float | None = None) -> float:
        """Return the seconds until the next job is due (0 when one is due now)."""
        now = time.time() if now is None else now
        jobs = self.jobs
        return max(0.0, min(job.next_run for job in jobs) - now) if jobs else 60.0

    def run_forever(self, stop: threading.Event | None = None, max_sleep: float = 1.0) -> None:
        """Run due jobs until ``stop`` is set (or :meth:`stop` is called)."""
        stop = stop or self._stop
        logger.info("Scheduler started: %s", "; ".join(str(job) for job in self.jobs) or "no jobs")
        try:
            while not stop.is_set():
                try:
                    self.run_pending()
                except Exception:
                    logger.exception("The scheduler loop failed; it goes on.")
                stop.wait(min(self.seconds_to_next(), max_sleep))
        finally:
            connections.close_all()
            logger.info("Scheduler stopped.")

    def start(self) -> threading.Thread:
        """Run the scheduler in a daemon thread and return it."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="notify-scheduler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread started by :meth:`start` and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def add_mail_jobs(scheduler: Scheduler) -> None:
    """Register the e-mail runs (often, daily, weekly) at the times of the ``NOTIFY`` setting."""
    from . import mail

    scheduler.register("mail-often", mail.send_pending_emails_often, every=float(notify_settings.mail_often_every))
    scheduler.register("mail-daily", mail.send_pending_emails_daily, at=notify_settings.mail_daily_at)
    scheduler.register("mail-weekly", mail.send_pending_emails_weekly, at=notify_settings.mail_weekly_at,
                       weekday=int(notify_settings.mail_weekly_day))


def add_default_jobs(scheduler: Scheduler) -> None:
    """Register the e-mail runs, the push outbox (when push is on) and the daily cleanup."""
    add_mail_jobs(scheduler)
    if notify_settings.use_push_api:
        from .push.jobs import push_pending

        scheduler.register("push-outbox", push_pending, every=float(notify_settings.push_pending_every))
    from .cleanup import clear_seen_messages

    scheduler.register("cleanup", clear_seen_messages, at=notify_settings.cleanup_at)


_default: Scheduler | None = None
_default_lock = threading.Lock()


def get_scheduler() -> Scheduler:
    """Return the process's scheduler, with the default jobs registered."""
    global _default
    with _default_lock:
        if _default is None:
            scheduler = Scheduler()
            add_default_jobs(scheduler)
            _default = scheduler
        return _default


def register(name: str, func: Callable[[], Any], *, every: float | None = None,
             at: str | datetime.time | None = None, weekday: int | None = None, replace: bool = False) -> Job:
    """Add a job to the process's scheduler (see :meth:`Scheduler.register`)."""
    return get_scheduler().register(name, func, every=every, at=at, weekday=weekday, replace=replace)
