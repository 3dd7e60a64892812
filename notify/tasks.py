"""The jobs as tasks of Django's task framework: ``django.tasks`` (Django 6) or the ``django-tasks`` backport.

With ``NOTIFY['job_backend'] = "tasks"`` a new message enqueues :data:`push_pending` when its
transaction commits, and ``notify_scheduler`` enqueues the jobs that are due; a worker of the
project's task backend (``manage.py db_worker`` of django-tasks-db, for instance) runs them.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from . import jobs

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    try:
        from django_tasks import task
    except ImportError:
        task = None

#: Whether a task framework is installed (``django.tasks`` or ``django-tasks``).
AVAILABLE = task is not None
#: The task of each job, by job name.
TASK_OF_JOB = {
    "mail_often": "send_pending_emails_often",
    "mail_daily": "send_pending_emails_daily",
    "mail_weekly": "send_pending_emails_weekly",
    "push": "push_pending",
    "cleanup": "clear_seen_messages",
}

def _token(context: Any) -> str | None:
    """Return the lease token of a task's run: its result id as 32 hex digits (None for a direct ``call()``)."""
    return None if context is None else str(context.task_result.id).replace("-", "")[:32]


if task is not None:

    @task(takes_context=True)
    def send_pending_emails_often(context: Any = None) -> Any:
        """Send the pending e-mails of the "often" mail mode."""
        return jobs.run_job("mail_often", _token(context))

    @task(takes_context=True)
    def send_pending_emails_daily(context: Any = None) -> Any:
        """Send the daily digests."""
        return jobs.run_job("mail_daily", _token(context))

    @task(takes_context=True)
    def send_pending_emails_weekly(context: Any = None) -> Any:
        """Send the weekly digests."""
        return jobs.run_job("mail_weekly", _token(context))

    @task(takes_context=True)
    def push_pending(context: Any = None) -> Any:
        """Push the new messages and the retries that are due."""
        return jobs.run_job("push", _token(context))

    @task(takes_context=True)
    def clear_seen_messages(context: Any = None) -> Any:
        """Remove old messages."""
        return jobs.run_job("cleanup", _token(context))

    @task
    def run_due() -> list[str]:
        """Enqueue the jobs that are due (for a project whose own scheduler enqueues tasks)."""
        return jobs.run_due(dispatch=enqueue)


def fail_dead_tasks(sender: Any, tokens: list[str], **kwargs: Any) -> int:
    """Mark the django-tasks-db rows of runs whose worker died as FAILED (``WorkerLost``); return how many.

    django-tasks-db leaves a killed worker's task ``RUNNING`` for ever. The job itself runs again
    at the next tick; this receiver of :data:`notify.signals.lease_reaped` closes the dead row.
    """
    from django_tasks_db.models import DBTaskResult

    ids = []
    for token in tokens:
        try:
            ids.append(uuid.UUID(hex=token))
        except ValueError:
            continue
    if not ids:
        return 0
    return DBTaskResult.objects.filter(id__in=ids, status="RUNNING").update(
        status="FAILED", finished_at=timezone.now(), exception_class_path="notify.exceptions.WorkerLost",
        traceback="notify.exceptions.WorkerLost: the worker died while it ran this task; the job runs again.")


def enqueue(name: str) -> Any:
    """Enqueue the task of job ``name`` on the project's default task backend and return its result handle."""
    if task is None:
        raise jobs.ImproperlyConfigured("NOTIFY['job_backend'] is 'tasks', but neither django.tasks (Django 6) "
                                        "nor the django-tasks backport is installed.")
    return globals()[TASK_OF_JOB[name]].enqueue()


def __getattr__(name: str) -> Any:
    if name in TASK_OF_JOB.values() or name == "run_due":
        raise AttributeError(f"notify.tasks.{name} needs Django's task framework: Django 6, or "
                             "`pip install django-tasks` on Django 5.2")
    raise AttributeError(f"module 'notify.tasks' has no attribute {name!r}")
