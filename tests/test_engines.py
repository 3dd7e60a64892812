"""The jobs on real task engines: django-tasks-db workers, Celery workers and beat on Redis and RabbitMQ.

Every test starts real worker processes on the committed test database, sends e-mail to a real
SMTP server and pushes to the local push service of this process, then checks what arrived there.
"""

from __future__ import annotations

import email.utils
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings

from tests.support.pushservice import PushService, Subscriber
from tests.support.workers import (SlowSMTPServer, Workers, delete_queues, fresh_queue, rabbitmq_broker, redis_broker,
                                   smtp_env, workers_for)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

JOB_TASKS = ("send_pending_emails_often", "send_pending_emails_daily", "send_pending_emails_weekly",
             "push_pending", "clear_seen_messages")


@pytest.fixture
def workers(transactional_db: None, tmp_path: Path) -> Iterator[Workers]:
    yield from workers_for(tmp_path)


@pytest.fixture
def smtp() -> Iterator[SlowSMTPServer]:
    with SlowSMTPServer() as server:
        yield server


@pytest.fixture
def push_service() -> Iterator[PushService]:
    with PushService(settings.NOTIFY["vapid_public_key"]) as service:
        yield service


def notify_settings(**changes: Any) -> Any:
    return override_settings(NOTIFY={**settings.NOTIFY, **changes})


def expected_recipients() -> set[str]:
    """Return the addresses that the pending "often" messages go to (one e-mail each)."""
    from notify.mail import pending_emails

    return {email.utils.parseaddr(to)[1] for mail in pending_emails("often") for to in mail.to}


def assert_one_email_each(smtp: SlowSMTPServer, expected: set[str], duplicates: int = 0) -> None:
    """Check that every expected address got its e-mail and at most ``duplicates`` went twice overall."""
    got = Counter(rcpt for item in smtp.received for rcpt in item.rcpt_tos)
    assert set(got) == expected
    twice = sum(n - 1 for n in got.values())
    assert twice <= duplicates, f"{twice} e-mails went twice: {got}"


def subscribed(push_service: PushService, username: str = "bert") -> Subscriber:
    """Subscribe ``username`` at the local push service; return the subscriber."""
    from notify.push.subscriptions import subscribe

    sub = push_service.subscriber()
    subscribe(get_user_model().objects.get(username=username), sub.info())
    return sub


def emit_to(username: str, subject: str, backend: str = "cron") -> list[Any]:
    """Emit a system message to ``username`` with ``job_backend`` ``backend`` (cron: nothing is started)."""
    from notify.models import Message

    user = get_user_model().objects.get(username=username)
    with notify_settings(job_backend=backend), transaction.atomic():
        return Message.emit_notification(None, None, "system", lambda u, m: (subject, "<p>Hello</p>"),
                                         [(user, "often")])


def task_results(**filters: Any) -> list[Any]:
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.filter(**filters))


def all_finished(expected: int) -> bool:
    results = task_results()
    return len(results) >= expected and all(r.status in ("SUCCESSFUL", "FAILED") for r in results)


# django-tasks-db -----------------------------------------------------------------------------------------


def test_two_db_workers_run_every_job(workers, smtp, push_service):
    from notify import tasks
    from notify.models import JobState

    sub = subscribed(push_service)
    [message] = emit_to("bert", "Hello from the worker")
    expected = expected_recipients()
    env = smtp_env(smtp.port)
    workers.db_worker("db-worker-1", **env)
    workers.db_worker("db-worker-2", **env)
    for name in JOB_TASKS:
        getattr(tasks, name).enqueue()
    tick = tasks.run_due.enqueue()
    [done] = workers.wait_for(lambda: task_results(id=tick.id, status="SUCCESSFUL"), 60, "run_due")
    dispatched = done.return_value
    assert sorted(dispatched) == sorted(tasks.TASK_OF_JOB)  # nothing ran before: every job was due
    workers.wait_for(lambda: all_finished(len(JOB_TASKS) + 1 + len(dispatched)), 60, "every task")
    results = task_results()
    assert Counter(r.status for r in results) == {"SUCCESSFUL": len(results)}, workers.logs()
    assert Counter(r.task_path.rpartition(".")[2] for r in results) == {
        "run_due": 1, **{name: 2 for name in JOB_TASKS}}
    assert_one_email_each(smtp, expected)
    assert push_service.payloads(sub) == [{"subject": "Hello from the worker", "body": "Hello",
                                           "url": push_service.payloads(sub)[0]["url"], "id": message.pk}]
    states = {s.name: s for s in JobState.objects.all()}
    assert set(states) == set(tasks.TASK_OF_JOB)
    assert all(s.finished is not None and s.started is not None and s.error == "" for s in states.values()), states


def test_a_message_emitted_with_the_tasks_backend_is_pushed_by_the_worker(workers, push_service):
    sub = subscribed(push_service)
    before = len(task_results(task_path__endswith=".push_pending"))
    workers.db_worker("db-worker")
    with notify_settings(job_backend="tasks"), transaction.atomic():
        from notify.models import Message

        user = get_user_model().objects.get(username="bert")
        [message] = Message.emit_notification(None, None, "system", lambda u, m: ("Pushed on commit", "<p>x</p>"),
                                              [(user, "often")])
        assert len(task_results(task_path__endswith=".push_pending")) == before  # nothing before the commit
    [result] = task_results(task_path__endswith=".push_pending")
    workers.wait_for(lambda: push_service.payloads(sub), 30, "the push")
    assert [p["id"] for p in push_service.payloads(sub)] == [message.pk]
    workers.wait_for(lambda: task_results(id=result.id, status="SUCCESSFUL"), 30, "the push task")
    message.refresh_from_db()
    assert message.pushed is not None
