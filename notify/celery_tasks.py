"""The jobs as Celery tasks, and the beat schedule that ticks them.

In the project's Celery configuration (Django settings with the ``CELERY_`` namespace)::

    from notify.celery_tasks import beat_schedule

    CELERY_IMPORTS = ["notify.celery_tasks"]
    CELERY_BEAT_SCHEDULE = {**beat_schedule(), ...}

and ``NOTIFY = {"job_backend": "celery", ...}``. Beat sends ``notify.run_due`` every few seconds;
that task dispatches each job that is due (once, however many beats run) as a task of its own.
Every task acknowledges late and is rejected when its worker is lost, so a killed worker's task
runs again; the jobs are idempotent (claims and leases), so a repeated task sends nothing twice.
This module imports no models: settings may import it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

#: Options of every task: redelivered when a worker dies, results not kept.
OPTIONS: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


def beat_schedule(every: float = 10.0) -> dict[str, dict[str, Any]]:
    """Return the ``CELERY_BEAT_SCHEDULE`` entry that ticks the notify jobs every ``every`` seconds."""
    return {"notify-run-due": {"task": "notify.run_due", "schedule": float(every), "options": {"expires": every}}}


def _run(name: str) -> Any:
    from . import jobs

    return jobs.run_job(name)


@shared_task(name="notify.mail_often", **OPTIONS)
def mail_often() -> Any:
    """Send the pending e-mails of the "often" mail mode."""
    return _run("mail_often")


@shared_task(name="notify.mail_daily", **OPTIONS)
def mail_daily() -> Any:
    """Send the daily digests."""
    return _run("mail_daily")


@shared_task(name="notify.mail_weekly", **OPTIONS)
def mail_weekly() -> Any:
    """Send the weekly digests."""
    return _run("mail_weekly")


@shared_task(name="notify.push", **OPTIONS)
def push() -> Any:
    """Push the new messages and the retries that are due."""
    return _run("push")


@shared_task(name="notify.cleanup", **OPTIONS)
def cleanup() -> Any:
    """Remove old messages."""
    return _run("cleanup")


@shared_task(name="notify.run_due", **OPTIONS)
def run_due() -> list[str]:
    """Send each job that is due as a task of its own."""
    from . import jobs

    return jobs.run_due(dispatch=enqueue)


def enqueue(name: str) -> Any:
    """Send the task of job ``name`` to the broker of the current Celery app."""
    return globals()[name].apply_async()
