"""The background jobs, their schedule, and running what is due exactly once across processes.

Every job is a plain function (:data:`JOBS` names them). :func:`run_due` looks at the schedule
and at the last run of each job stored in :class:`~notify.models.JobState`, claims each job that
is due with one conditional UPDATE (so two schedulers that overlap dispatch it once) and hands
it to the engine that ``NOTIFY['job_backend']`` names: this process (``"thread"``, ``"cron"``),
Django's task framework (``"tasks"``) or Celery (``"celery"``). Because the last run is stored, a
daily or weekly run whose time passed while nothing ran goes out at the next tick, and a run
whose worker died (its lease is gone and it never finished) is dispatched again.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from . import leases, shutdown
from .conf import notify_settings
from .exceptions import ImproperlyConfigured, JobInterrupted
from .models import JobState

logger = logging.getLogger("notify.jobs")

#: The jobs: name -> dotted path of the plain function that does the work.
JOBS: dict[str, str] = {
    "mail_often": "notify.mail.send_pending_emails_often",
    "mail_daily": "notify.mail.send_pending_emails_daily",
    "mail_weekly": "notify.mail.send_pending_emails_weekly",
    "push": "notify.push.jobs.push_pending",
    "cleanup": "notify.cleanup.clear_seen_messages",
}
#: The function that enqueues a job on each worker engine (its module wraps the jobs as that engine's tasks).
ENQUEUERS = {"tasks": "notify.tasks.enqueue", "celery": "notify.celery_tasks.enqueue"}
#: The engines that ``NOTIFY['job_backend']`` can name (``"auto"`` picks one of them).
BACKENDS = ("thread", "cron", "tasks", "celery")


def task_backend_path() -> str:
    """Return the dotted path of the project's default ``TASKS`` backend ("" when TASKS is not set)."""
    from django.conf import settings

    configured = getattr(settings, "TASKS", None) or {}
    return str(configured.get("default", {}).get("BACKEND", "")) if isinstance(configured, dict) else ""


def job_backend() -> str:
    """Return the engine that runs jobs: ``NOTIFY['job_backend']``, with ``"auto"`` resolved.

    ``"auto"`` is ``"tasks"`` when the project configured a task backend that runs tasks
    elsewhere (not the ImmediateBackend), else ``"thread"``.
    """
    value = notify_settings.job_backend
    if value != "auto":
        return str(value)
    path = task_backend_path()
    return "tasks" if path and not path.endswith(".ImmediateBackend") else "thread"


def parse_time(value: str | datetime.time) -> datetime.time:
    """Return a time of day from ``"HH:MM"`` (or a :class:`datetime.time`); raise ImproperlyConfigured."""
    if isinstance(value, datetime.time):
        return value
    try:
        return datetime.time.fromisoformat(str(value))
    except ValueError:
        raise ImproperlyConfigured(f"{value!r} is not a time of day; write it like '07:00'.") from None


@dataclass(frozen=True)
class Schedule:
    """When a job runs: every ``every`` seconds, or daily (weekly on ``weekday``) ``at`` a local time."""

    every: float | None = None
    at: datetime.time | None = None
    weekday: int | None = None

    def latest(self, now: datetime.datetime) -> datetime.datetime:
        """Return the latest moment at or before ``now`` at which the job was meant to run (in UTC).

        A local time that a change of clocks repeats counts once (its first occurrence); one
        that the change skips falls on the moment the clocks jumped to.
        """
        if self.every is not None:
            return datetime.datetime.fromtimestamp(math.floor(now.timestamp() / self.every) * self.every,
                                                   datetime.UTC)
        assert self.at is not None
        tz = timezone.get_default_timezone()
        today = timezone.localtime(now, tz).date()
        for back in range(15):
            day = today - datetime.timedelta(days=back)
            if self.weekday is not None and day.weekday() != self.weekday:
                continue
            slot = datetime.datetime.combine(day, self.at).replace(tzinfo=tz).astimezone(datetime.UTC)
            if slot <= now:
                return slot
        raise AssertionError("unreachable: one of the last 15 days had the slot")

    def __str__(self) -> str:
        if self.every is not None:
            return f"every {self.every:g} s"
        assert self.at is not None
        days = "daily" if self.weekday is None else f"weekly on {calendar_day(self.weekday)}"
        return f"{days} at {self.at:%H:%M}"


def calendar_day(weekday: int) -> str:
    """Return the English name of weekday ``weekday`` (0 is Monday)."""
    return ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[weekday]


def schedule() -> dict[str, Schedule]:
    """Return the schedule of every job, from the ``NOTIFY`` setting (the push outbox when push is on)."""
    s = notify_settings
    plan = {
        "mail_often": Schedule(every=float(s.mail_often_every)),
        "mail_daily": Schedule(at=parse_time(s.mail_daily_at)),
        "mail_weekly": Schedule(at=parse_time(s.mail_weekly_at), weekday=int(s.mail_weekly_day)),
        "push": Schedule(every=float(s.push_pending_every)),
        "cleanup": Schedule(at=parse_time(s.cleanup_at)),
    }
    if not s.use_push_api:
        del plan["push"]
    return plan


def _result(value: Any) -> Any:
    """Return a job's result in a form that task engines can store (JSON)."""
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else value


def execute(name: str) -> Any:
    """Run job ``name`` now in this process; log its outcome, and re-raise its error after logging it."""
    if name not in JOBS:
        raise ValueError(f"There is no job {name!r}; the jobs are {', '.join(JOBS)}.")
    func: Callable[[], Any] = import_string(JOBS[name])
    start = time.monotonic()
    with shutdown.graceful():
        try:
            result = _result(func())
        except JobInterrupted as exc:
            logger.warning("Job %s stopped after %.1f s: %s", name, time.monotonic() - start, exc)
            raise
        except Exception as exc:
            logger.error("Job %s failed after %.1f s: %s: %s", name, time.monotonic() - start,
                         type(exc).__name__, exc, exc_info=True)
            raise
    logger.info("Job %s done in %.2f s: %r", name, time.monotonic() - start, result)
    return result


def run_job(name: str, token: str | None = None) -> Any:
    """Run job ``name`` as the scheduled run that :func:`run_due` dispatched, recording its state.

    ``token`` names the run's lease (a task passes its result id, so a dead run's task can be found).
    """
    with leases.Held(name, token) as lease, lease.kept_alive():
        JobState.objects.filter(name=name).update(started=timezone.now(), token=lease.token)
        try:
            result = execute(name)
        except JobInterrupted:
            # Not finished: once this lease is gone, the next tick dispatches the job again.
            raise
        except Exception as exc:
            JobState.objects.filter(name=name, token=lease.token).update(
                finished=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        JobState.objects.filter(name=name, token=lease.token).update(finished=timezone.now(), error="")
    return result


def _run_inline(name: str) -> None:
    """Run job ``name`` in this process; its failure is logged and recorded, not raised."""
    with contextlib.suppress(Exception):  # run_job logged and recorded it; the schedule tries again
        run_job(name)


def _clock_went_back(state: JobState, when: Schedule, now: datetime.datetime) -> bool:
    """Tell whether the last due time of an interval job lies ahead of ``now`` by more than one interval."""
    return (when.every is not None and state.slot is not None
            and state.slot > now + datetime.timedelta(seconds=when.every))


def _is_due(state: JobState, when: Schedule, now: datetime.datetime, live: set[str]) -> bool:
    if state.dispatched is not None and state.finished is None:
        if state.token in live:
            return False  # running now
        if state.started is None:
            # Queued (or lost on its way to a worker): dispatch it again once it waited a claim timeout.
            return now - state.dispatched >= datetime.timedelta(seconds=float(notify_settings.claim_timeout))
        return True  # its worker died: its lease is gone and it never finished
    if state.error and state.finished is not None:
        if now - state.finished >= datetime.timedelta(seconds=float(notify_settings.job_retry_after)):
            return True
    return state.slot is None or when.latest(now) > state.slot or _clock_went_back(state, when, now)


def _claim(state: JobState, when: Schedule, now: datetime.datetime) -> bool:
    """Take the job for this tick unless another scheduler changed its state first."""
    unchanged = Q(pk=state.pk, slot=state.slot, dispatched=state.dispatched, finished=state.finished,
                  error=state.error)
    slot = when.latest(now)
    went_back = _clock_went_back(state, when, now)
    if state.slot is not None and not went_back:
        slot = max(slot, state.slot)
    claimed = JobState.objects.filter(unchanged).update(slot=slot, dispatched=now, started=None, finished=None,
                                                        token="", error="") == 1
    if claimed and went_back:
        logger.warning("Job %s: the clock went back (its last due time %s is later than now, %s); it runs on "
                       "the new clock.", state.name, f"{state.slot:%Y-%m-%d %H:%M:%S}", f"{now:%Y-%m-%d %H:%M:%S}")
    return claimed


def due_jobs(now: datetime.datetime | None = None) -> list[str]:
    """Claim the jobs that are due at ``now`` and return their names (each claim happens once)."""
    now = now or timezone.now()
    plan = schedule()
    leases.reap()
    states = {state.name: state for state in JobState.objects.filter(name__in=list(plan))}
    if len(states) < len(plan):
        JobState.objects.bulk_create([JobState(name=name) for name in plan if name not in states],
                                     ignore_conflicts=True)
        states = {state.name: state for state in JobState.objects.filter(name__in=list(plan))}
    live = set(leases.live_tokens())
    return [name for name, when in plan.items()
            if _is_due(states[name], when, now, live) and _claim(states[name], when, now)]


def dispatcher(backend: str | None = None) -> Callable[[str], Any]:
    """Return the function that starts a job on the engine ``backend`` (default: ``NOTIFY['job_backend']``)."""
    backend = backend or job_backend()
    if backend in ("thread", "cron"):
        return _run_inline
    if backend in ENQUEUERS:
        enqueue: Callable[[str], Any] = import_string(ENQUEUERS[backend])
        return enqueue
    raise ImproperlyConfigured(f"NOTIFY['job_backend'] is {backend!r}; use one of {', '.join(BACKENDS)}.")


def run_due(now: datetime.datetime | None = None, dispatch: Callable[[str], Any] | None = None) -> list[str]:
    """Dispatch every job that is due; return their names. A job that fails is logged and tried again later."""
    dispatch = dispatch or dispatcher()
    started: list[str] = []
    for name in due_jobs(now):
        if shutdown.requested():
            # Stopping: give the job back, so that the next tick dispatches it.
            JobState.objects.filter(name=name).update(slot=None, dispatched=None, finished=None)
            continue
        try:
            dispatch(name)
        except Exception as exc:
            logger.error("Cannot start job %s: %s: %s; it is tried again in %g s.", name, type(exc).__name__,
                         exc, float(notify_settings.job_retry_after))
            JobState.objects.filter(name=name).update(finished=timezone.now(), error=f"not started: {exc}"[:2000])
            continue
        started.append(name)
    return started
