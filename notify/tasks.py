"""The jobs as tasks of Django's task framework: ``django.tasks`` (Django 6) or the ``django-tasks`` backport.

With ``NOTIFY['job_backend'] = "tasks"`` a new message enqueues :data:`push_pending` when its
transaction commits, and ``notify_scheduler`` enqueues the jobs that are due; a worker of the
project's task backend (``manage.py db_worker`` of django-tasks-db, for instance) runs them.
"""

from __future__ import annotations

from typing import Any

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

if task is not None:

    @task
    def send_pending_emails_often() -> Any:
        """Send the pending e-mails of the "often" mail mode."""
        return jobs.run_job("mail_often")

    @task
    def send_pending_emails_daily() -> Any:
        """Send the daily digests."""
        return jobs.run_job("mail_daily")

    @task
    def send_pending_emails_weekly() -> Any:
        """Send the weekly digests."""
        return jobs.run_job("mail_weekly")

    @task
    def push_pending() -> Any:
        """Push the new messages and the retries that are due."""
        return jobs.run_job("push")

    @task
    def clear_seen_messages() -> Any:
        """Remove old messages."""
        return jobs.run_job("cleanup")

    @task
    def run_due() -> list[str]:
        """Enqueue the jobs that are due (for a project whose own scheduler enqueues tasks)."""
        return jobs.run_due(dispatch=enqueue)


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
