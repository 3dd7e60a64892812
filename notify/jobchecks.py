"""System checks of where the background jobs run (``notify.E040`` to ``E043``, ``notify.W040`` to ``W042``)."""

from __future__ import annotations

import importlib.util
from typing import Any

from django.conf import settings
from django.core import checks

from .conf import DEFAULTS, is_positive_number, notify_settings
from .jobs import BACKENDS, job_backend, task_backend_path


@checks.register(checks.Tags.compatibility)
def check_jobs(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check ``job_backend``, ``claim_timeout`` and ``job_retry_after``, and warn where jobs would run badly."""
    if not notify_settings.is_valid():
        return []
    backend = job_backend()
    if backend not in BACKENDS:
        return [checks.Error(f"NOTIFY['job_backend'] is {backend!r}, not 'auto' or one of {', '.join(BACKENDS)}.",
                             hint="Use 'cron', 'tasks' or 'celery' in production; 'thread' in development.",
                             id="notify.E040")]
    found: list[checks.CheckMessage] = []
    for name in ("claim_timeout", "job_retry_after"):
        if not is_positive_number(getattr(notify_settings, name)):
            found.append(checks.Error(
                f"NOTIFY[{name!r}] is {getattr(notify_settings, name)!r}, not a positive number of seconds.",
                hint=f"The default is {DEFAULTS[name]!r}.", id="notify.E041"))
    framework = importlib.util.find_spec("django.tasks") or importlib.util.find_spec("django_tasks")
    if backend == "tasks" and not framework:
        found.append(checks.Error(
            "NOTIFY['job_backend'] is 'tasks', but Django's task framework is not installed.",
            hint="Use Django 6, or `pip install django-tasks` (and django-tasks-db for a database worker).",
            id="notify.E042"))
    if backend == "celery" and not importlib.util.find_spec("celery"):
        found.append(checks.Error("NOTIFY['job_backend'] is 'celery', but Celery is not installed.",
                                  hint="`pip install celery[redis]`.", id="notify.E043"))
    in_web = backend == "thread" or (backend == "tasks" and task_backend_path().endswith("ImmediateBackend"))
    if in_web and not settings.DEBUG and notify_settings.use_push_api:
        found.append(checks.Warning(
            "Desktop pushes run inside the web processes "
            f"({'a background thread' if backend == 'thread' else 'the ImmediateBackend of TASKS'}).",
            hint="In production set NOTIFY['job_backend'] to 'tasks' (with a worker), 'celery' or 'cron'.",
            id="notify.W040"))
    if backend in ("tasks", "celery", "cron") and not (notify_settings.live_redis_url or notify_settings.live_broker):
        found.append(checks.Warning(
            "Live delivery uses the in-process broker, but the jobs run in other processes "
            f"({'cron' if backend == 'cron' else 'workers'}): the open pages never hear of messages "
            "created there.",
            hint="Set NOTIFY['live_redis_url'] so that every process shares one broker.", id="notify.W041"))
    if backend == "tasks" and not task_backend_path():
        found.append(checks.Warning(
            "NOTIFY['job_backend'] is 'tasks', but the TASKS setting is empty: jobs run at once in the "
            "process that enqueues them (the ImmediateBackend).",
            hint="Configure TASKS, e.g. {'default': {'BACKEND': 'django_tasks_db.DatabaseBackend'}}.",
            id="notify.W042"))
    return found
