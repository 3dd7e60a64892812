"""The jobs on real task engines: django-tasks-db workers, Celery workers and beat on Redis and RabbitMQ.

Every test starts real worker processes on the committed test database, sends e-mail to a real
SMTP server and pushes to the local push service of this process, then checks what arrived there.
"""

from __future__ import annotations

import email.utils
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings

from tests.support.pushservice import PushService, Subscriber
from tests.support.workers import (
    SlowSMTPServer,
    delete_queues,
    fresh_queue,
    rabbitmq_broker,
    redis_broker,
    smtp_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

JOB_TASKS = ("send_pending_emails_often", "send_pending_emails_daily", "send_pending_emails_weekly",
             "push_pending", "clear_seen_messages")


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


def test_two_db_workers_run_every_job(smtp, push_service, workers):
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


def test_a_message_emitted_with_the_tasks_backend_is_pushed_by_the_worker(push_service, workers):
    sub = subscribed(push_service)
    before = len(task_results(task_path__endswith=".push_pending"))
    workers.db_worker("db-worker")
    web_push = mock.patch("notify.push.jobs.push_pending", side_effect=AssertionError("pushed by the web process"))
    with web_push as pushed_here, notify_settings(job_backend="tasks"):
        with transaction.atomic():
            from notify.models import Message

            user = get_user_model().objects.get(username="bert")
            [message] = Message.emit_notification(None, None, "system",
                                                  lambda u, m: ("Pushed on commit", "<p>x</p>"), [(user, "often")])
            assert len(task_results(task_path__endswith=".push_pending")) == before  # nothing before the commit
        [result] = task_results(task_path__endswith=".push_pending")
        workers.wait_for(lambda: push_service.payloads(sub), 30, "the push")
    assert not pushed_here.called  # the web process talked to no push service
    assert [p["id"] for p in push_service.payloads(sub)] == [message.pk]
    workers.wait_for(lambda: task_results(id=result.id, status="SUCCESSFUL"), 30, "the push task")
    message.refresh_from_db()
    assert message.pushed is not None


def make_users(prefix: str, count: int) -> list[Any]:
    """Create ``count`` users with e-mail addresses; return them."""
    model = get_user_model()
    model.objects.bulk_create(model(username=f"{prefix}{i:04d}", email=f"{prefix}{i:04d}@example.org")
                              for i in range(count))
    return list(model.objects.filter(username__startswith=prefix).order_by("username"))


def emit_often(users: list[Any], subject: str) -> None:
    """Give each of ``users`` one pending "often" message (no job started)."""
    from notify.models import Message

    with notify_settings(job_backend="cron"):
        Message.emit_notification(None, None, "system", lambda u, m: (subject, "<p>x</p>"),
                                  [(u, "often") for u in users])


def mail_run_pid() -> int | None:
    """Return the process id of the running mail_often run (from its lease), or None."""
    from notify.models import Lease

    return Lease.objects.filter(job="mail_often").values_list("pid", flat=True).first()


def assert_nothing_pending() -> None:
    from notify.models import Lease, Message

    assert not Message.objects.filter(mail_mode="often", sent__isnull=True).exists()
    assert not Message.objects.exclude(mail_claim="").exists()
    assert not Lease.objects.filter(job="mail_often").exists()


def test_a_killed_db_worker_s_mail_run_is_dispatched_again_at_the_next_tick(smtp, workers):
    from notify import jobs, tasks

    emit_often(make_users("kill", 40), "Before the kill")
    expected = expected_recipients()
    smtp.inbox.delay = 0.05  # 40 e-mails take 2 s: the kill lands mid-run
    env = smtp_env(smtp.port)
    pool = [workers.db_worker("db-worker-1", **env), workers.db_worker("db-worker-2", **env)]
    assert "mail_often" in jobs.run_due(dispatch=tasks.enqueue)
    workers.wait_for(lambda: smtp.count() >= 8, 30, "the first e-mails")
    pid = workers.wait_for(mail_run_pid, 10, "the lease of the mail run")
    [victim] = [w for w in pool if w.pid == pid]
    victim.kill()
    sent_before = smtp.count()
    assert sent_before < len(expected)
    [killed] = task_results(task_path__endswith=".send_pending_emails_often")
    assert killed.status == "RUNNING"
    # The next tick finds the job's lease gone (its process is dead) and dispatches it again.
    assert "mail_often" in jobs.run_due(dispatch=tasks.enqueue)
    workers.wait_for(lambda: {r for item in smtp.received for r in item.rcpt_tos} >= expected, 30, "every e-mail")
    workers.wait_for(lambda: task_results(task_path__endswith=".send_pending_emails_often", status="SUCCESSFUL"),
                     30, "the second mail run")
    assert_one_email_each(smtp, expected, duplicates=1)
    assert_nothing_pending()
    killed.refresh_from_db()  # django-tasks-db never requeues it; the tick that reaped its lease closed it
    assert (killed.status, killed.exception_class_path) == ("FAILED", "notify.exceptions.WorkerLost")


# Celery --------------------------------------------------------------------------------------------------


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from (redis_broker() if request.param == "redis" else rabbitmq_broker())


@pytest.fixture
def queue(broker: str) -> Iterator[str]:
    name = fresh_queue()
    yield name
    delete_queues(broker, name)


def celery_env(broker: str, smtp: SlowSMTPServer, **extra: Any) -> dict[str, Any]:
    """Return the environment of Celery processes: the broker, quick restores on Redis, the SMTP server."""
    env: dict[str, Any] = {"CELERY_BROKER_URL": broker, **smtp_env(smtp.port), **extra}
    if broker.startswith("redis"):
        env.update(CELERY_VISIBILITY_TIMEOUT=5, CELERY_UNACKED_RESTORE_INTERVAL=1)
    return env


def send_task(broker: str, queue: str, name: str) -> str:
    """Send task ``name`` to ``queue`` from a Celery app of the test's own; return its id."""
    from celery import Celery

    app = Celery("notify-tests", broker=broker, set_as_current=False)
    try:
        return app.send_task(name, queue=queue).id
    finally:
        app.close()


def test_celery_beat_ticks_run_due_and_two_workers_run_the_jobs(smtp, push_service, broker, queue, workers):
    from notify.models import JobState

    sub = subscribed(push_service)
    [message] = emit_to("bert", "Hello from Celery")
    expected = expected_recipients()
    env = celery_env(broker, smtp)
    workers.celery_worker("celery-1", queue, **env)
    workers.celery_worker("celery-2", queue, **env)
    workers.celery_beat("beat", queue, every=1, **env)

    def every_job_finished() -> bool:
        states = list(JobState.objects.all())
        return len(states) == 5 and all(s.finished is not None for s in states)

    workers.wait_for(every_job_finished, 60, "every job to finish")
    workers.wait_for(lambda: push_service.payloads(sub), 30, "the push")
    assert all(s.error == "" for s in JobState.objects.all()), list(JobState.objects.values())
    assert_one_email_each(smtp, expected)
    assert [p["id"] for p in push_service.payloads(sub)] == [message.pk]
    assert "Sending due task notify-run-due (notify.run_due)" in workers.started[2].output()


def test_a_killed_celery_worker_s_mail_task_is_delivered_again(smtp, broker, queue, workers):
    emit_often(make_users("ckill", 40), "Before the kill")
    expected = expected_recipients()
    smtp.inbox.delay = 0.05
    env = celery_env(broker, smtp)
    pool = [workers.celery_worker("celery-1", queue, **env), workers.celery_worker("celery-2", queue, **env)]
    workers.wait_for(lambda: all("ready." in w.output() for w in pool), 30, "both workers to be ready")
    task_id = send_task(broker, queue, "notify.mail_often")
    workers.wait_for(lambda: smtp.count() >= 8, 30, "the first e-mails")
    pid = workers.wait_for(mail_run_pid, 10, "the lease of the mail run")
    [victim] = [w for w in pool if w.pid == pid]
    [survivor] = [w for w in pool if w is not victim]
    victim.kill()
    assert smtp.count() < len(expected)
    # Acknowledged late: RabbitMQ hands the task to the other worker at once, Redis after the visibility timeout.
    workers.wait_for(lambda: {r for item in smtp.received for r in item.rcpt_tos} >= expected, 45, "every e-mail")
    assert f"notify.mail_often[{task_id}] received" in survivor.output()
    workers.wait_for(lambda: f"notify.mail_often[{task_id}] succeeded" in survivor.output(), 30, "the task's end")
    assert_one_email_each(smtp, expected, duplicates=1)
    assert_nothing_pending()


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_an_unreachable_broker_leaves_the_message_in_the_outbox(transactional_db, push_service, caplog, scheme):
    from celery import Celery, current_app

    from notify.push.jobs import push_pending
    from tests.support.smtpserver import free_port

    sub = subscribed(push_service)
    port = free_port()
    previous = current_app._get_current_object()
    app = Celery("unreachable", broker=f"{scheme}://127.0.0.1:{port}//")
    app.conf.broker_connection_timeout = 2
    app.set_current()
    try:
        with caplog.at_level(logging.WARNING, logger="notify"):
            [message] = emit_to("bert", "Broker down", backend="celery")
    finally:
        previous.set_current()
        app.close()
    message.refresh_from_db()
    assert message.pushed is None  # committed, still in the outbox
    [warning] = [r for r in caplog.records if "push job" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "Connection refused" in warning.getMessage()
    if scheme == "redis":  # py-amqp's error does not name the address
        assert f"127.0.0.1:{port}" in warning.getMessage()
    assert "1 messages wait in the outbox" in warning.getMessage()
    push_pending()
    assert [p["id"] for p in push_service.payloads(sub)] == [message.pk]
