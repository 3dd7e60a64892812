"""A mail run killed, then one stopped, in the middle: 5,000 pending messages of 1,000 users over real SMTP.

The runs are real processes: ``notify_send_pending --mode often``, or db_workers running the
``send_pending_emails_often`` task. One pass over the 1,000 e-mails has three runs: the first is
SIGKILLed after some hundreds of e-mails (it loses at most the e-mail in flight, which the next run
sends again; that run starts at once, because the dead run's lease is reaped as soon as its process is
gone), the second gets SIGTERM some hundreds later (it finishes the current e-mail, records it and
exits 0 within a couple of seconds: nothing goes twice), the third sends the rest at once. A task
that SIGTERM stopped is FAILED with JobInterrupted and its job stays unfinished, so the next tick of
the scheduler dispatches it again.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from tests.support.workers import SlowSMTPServer, Worker, Workers, smtp_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

USERS = 1000
PER_USER = 5
#: E-mails that arrive before the signal: "some hundreds".
SIGNAL_AFTER = 300
#: How soon the next run must send (the claim timeout is 120 s: it must not wait for it).
AT_ONCE = 15.0
TOKEN = re.compile(r"crash-(\d)-(crash\d{4})\b")


def pending_messages() -> list[str]:
    """Give 1,000 new users five pending "often" messages each, nothing else pending; return the usernames."""
    from notify.models import Message

    Message.objects.filter(sent__isnull=True).update(sent=timezone.now())
    model = get_user_model()
    model.objects.bulk_create(model(username=f"crash{i:04d}", email=f"crash{i:04d}@example.org")
                              for i in range(USERS))
    users = list(model.objects.filter(username__startswith="crash"))
    with override_settings(NOTIFY={**settings.NOTIFY, "job_backend": "cron"}):
        for n in range(PER_USER):
            Message.emit_notification(None, None, "system",
                                      lambda u, m, n=n: (f"Note {n}", f"<p>crash-{n}-{u.username}</p>"),
                                      [(u, "often") for u in users])
    return [u.username for u in users]


def delivered(smtp: SlowSMTPServer) -> dict[str, list[list[int]]]:
    """Return, for each username, the message numbers of each e-mail they got (checking the addressee)."""
    got: dict[str, list[list[int]]] = defaultdict(list)
    for item in smtp.received:
        [rcpt] = item.rcpt_tos
        tokens = TOKEN.findall(item.text())
        assert {name for _n, name in tokens} == {rcpt.partition("@")[0]}, (rcpt, tokens)
        got[tokens[0][1]].append(sorted(int(n) for n, _name in tokens))
    return got


def recipients(smtp: SlowSMTPServer, start: int, stop: int | None = None) -> set[str]:
    """Return the addresses of the e-mails that arrived ``start``-th to ``stop``-th."""
    return {rcpt for item in smtp.received[start:stop] for rcpt in item.rcpt_tos}


def assert_everything_once(smtp: SlowSMTPServer, usernames: list[str]) -> None:
    """Check every user got all their messages, each e-mail carried them all, at most one went twice."""
    from notify.models import Lease, Message

    got = delivered(smtp)
    assert set(got) == set(usernames)
    assert all(mails == [list(range(PER_USER))] * len(mails) for mails in got.values())
    sent_twice = sum(len(mails) - 1 for mails in got.values())
    assert sent_twice <= 1, Counter(len(mails) for mails in got.values())
    assert not Message.objects.filter(mail_mode="often", sent__isnull=True).exists()
    assert not Message.objects.exclude(mail_claim="").exists()
    assert not Lease.objects.exists()


def wait_for_emails(smtp: SlowSMTPServer, count: int, workers: Workers) -> None:
    workers.wait_for(lambda: smtp.count() >= count, 60, f"{count} e-mails")


def kill(worker: Worker, smtp: SlowSMTPServer) -> int:
    """SIGKILL ``worker``; return how many e-mails had arrived (the one in flight included)."""
    worker.kill()
    time.sleep(0.2)  # an e-mail the server was still reading
    return smtp.count()


def terminate(worker: Worker, smtp: SlowSMTPServer) -> int:
    """SIGTERM ``worker``: check it exits 0 within a couple of seconds saying so; return the e-mails so far."""
    worker.send(signal.SIGTERM)
    start = time.monotonic()
    code = worker.wait(10)
    assert time.monotonic() - start < 3, worker.describe()
    assert code == 0, worker.describe()
    assert "Received Terminated: finishing the current item, then stopping." in worker.output()
    return smtp.count()


def assert_sends_at_once(smtp: SlowSMTPServer, before: int, started: float, workers: Workers) -> None:
    """Check that a run started at ``started`` sent its first e-mail at once, not after the claim timeout."""
    workers.wait_for(lambda: smtp.count() > before, AT_ONCE, "the next run's first e-mail")
    assert time.monotonic() - started < AT_ONCE


def test_the_send_pending_command_killed_then_stopped_mid_run(smtp, workers):
    usernames = pending_messages()
    env = smtp_env(smtp.port)
    first = workers.command("send-1", "notify_send_pending", "--mode", "often", **env)
    wait_for_emails(smtp, SIGNAL_AFTER, workers)
    killed_at = kill(first, smtp)
    assert killed_at < USERS
    started = time.monotonic()
    second = workers.command("send-2", "notify_send_pending", "--mode", "often", **env)
    assert_sends_at_once(smtp, killed_at, started, workers)
    wait_for_emails(smtp, killed_at + SIGNAL_AFTER, workers)
    stopped_at = terminate(second, smtp)
    assert stopped_at < USERS
    assert re.search(r"Job mail_often stopped on request after \d+ e-mails; the rest stays pending\.",
                     second.output()), second.describe()
    started = time.monotonic()
    third = workers.command("send-3", "notify_send_pending", "--mode", "often", **env)
    assert_sends_at_once(smtp, stopped_at, started, workers)
    assert third.wait(60) == 0, third.describe()
    assert not recipients(smtp, stopped_at) & recipients(smtp, 0, stopped_at)  # SIGTERM: nothing twice
    assert_everything_once(smtp, usernames)


def test_db_workers_killed_then_stopped_mid_mail_task(smtp, workers):
    from notify import jobs, tasks
    from notify.models import JobState

    usernames = pending_messages()
    env = smtp_env(smtp.port)
    first = workers.db_worker("db-worker-1", **env)
    assert "mail_often" in jobs.run_due(dispatch=tasks.enqueue)
    wait_for_emails(smtp, SIGNAL_AFTER, workers)
    killed_at = kill(first, smtp)
    assert killed_at < USERS
    [killed] = mail_tasks()
    assert killed.status == "RUNNING"  # django-tasks-db does not requeue it; the next tick closes it
    started = time.monotonic()
    second = workers.db_worker("db-worker-2", **env)
    # The next tick of the scheduler sees the job's lease gone and dispatches it again.
    assert "mail_often" in jobs.run_due(dispatch=tasks.enqueue)
    assert_sends_at_once(smtp, killed_at, started, workers)
    killed.refresh_from_db()
    assert (killed.status, killed.exception_class_path) == ("FAILED", "notify.exceptions.WorkerLost")
    wait_for_emails(smtp, killed_at + SIGNAL_AFTER, workers)
    stopped_at = terminate(second, smtp)
    assert stopped_at < USERS
    _killed, stopped = mail_tasks()
    assert (stopped.status, stopped.exception_class_path) == ("FAILED", "notify.exceptions.JobInterrupted")
    assert JobState.objects.get(name="mail_often").finished is None
    started = time.monotonic()
    workers.db_worker("db-worker-3", **env)
    # The stopped run left its job unfinished: the next tick dispatches it again.
    assert "mail_often" in jobs.run_due(dispatch=tasks.enqueue)
    assert_sends_at_once(smtp, stopped_at, started, workers)
    workers.wait_for(lambda: mail_tasks()[-1].status == "SUCCESSFUL", 60, "the third mail task")
    assert not recipients(smtp, stopped_at) & recipients(smtp, 0, stopped_at)  # SIGTERM: nothing twice
    assert_everything_once(smtp, usernames)
    assert [t.status for t in mail_tasks()] == ["FAILED", "FAILED", "SUCCESSFUL"]
    assert JobState.objects.get(name="mail_often").finished is not None


def mail_tasks() -> list[Any]:
    """Return the stored results of the "often" mail tasks, oldest first."""
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.filter(task_path__endswith=".send_pending_emails_often").order_by("enqueued_at"))


@pytest.mark.timeout(60)
def test_a_daily_run_stopped_by_sigterm_goes_on_at_the_next_tick(smtp, workers):
    from notify import jobs, tasks
    from notify.models import JobState, Message

    Message.objects.filter(sent__isnull=True).update(sent=timezone.now())
    model = get_user_model()
    model.objects.bulk_create(model(username=f"daily{i:02d}", email=f"daily{i:02d}@example.org") for i in range(40))
    with override_settings(NOTIFY={**settings.NOTIFY, "job_backend": "cron"}):
        Message.emit_notification(None, None, "system", lambda u, m: ("Digest", "<p>x</p>"),
                                  [(u, "daily") for u in model.objects.filter(username__startswith="daily")])
    smtp.inbox.delay = 0.05
    env = smtp_env(smtp.port)
    first = workers.db_worker("db-worker-1", **env)
    assert "mail_daily" in jobs.run_due(dispatch=tasks.enqueue)
    wait_for_emails(smtp, 5, workers)
    stopped_at = terminate(first, smtp)
    assert stopped_at < 40
    assert JobState.objects.get(name="mail_daily").finished is None
    # Not the next day: the next tick goes on with the digests that did not go out.
    workers.db_worker("db-worker-2", **env)
    assert "mail_daily" in jobs.run_due(dispatch=tasks.enqueue)
    workers.wait_for(lambda: not Message.objects.filter(mail_mode="daily", sent__isnull=True).exists(), 30,
                     "the rest of the digests")
    got = Counter(rcpt for item in smtp.received for rcpt in item.rcpt_tos)
    assert len(got) == 40 and set(got.values()) == {1}, got
    workers.wait_for(lambda: JobState.objects.get(name="mail_daily").finished, 30, "the daily job's end")
