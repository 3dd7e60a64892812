"""The jobs on a real django-tasks-db worker: the mail run called directly vs. as a task, and pushes as a task."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .harness import Result

USERS = 1_000
PER_USER = 10
SUBSCRIPTIONS = 1_000
REPEAT = 3
#: Pushes in flight in the worker's push run.
PUSH_WORKERS = 64
#: The SMTP server of both mail runs, in a process of its own: an in-process server would share the
#: interpreter with the direct run only, and make the worker look faster than it is.
SMTP_SERVER = """
import sys
from tests.support.workers import SlowSMTPServer
with SlowSMTPServer() as server:
    print(server.port, flush=True)
    sys.stdin.read()
    print(server.count(), flush=True)
"""


#: The direct call, in a process of its own like the worker's: the benchmark's process holds far more
#: objects, and its garbage collector would slow the direct run alone.
DIRECT = """
import time
import notify.lino
notify.lino.startup("demo.chatter.settings")
from notify.mail import send_pending_emails_often
start = time.perf_counter()
sent = send_pending_emails_often()
print(time.perf_counter() - start, sent)
"""


def _smtp_server() -> tuple[subprocess.Popen[str], int]:
    """Start the SMTP server process; return it and its port."""
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen([sys.executable, "-c", SMTP_SERVER], cwd=root, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def _stop_smtp_server(process: subprocess.Popen[str]) -> int:
    """Stop the SMTP server process; return how many e-mails it received."""
    out, _err = process.communicate("", timeout=30)
    return int(out.strip().splitlines()[-1])


def _pending_messages() -> list[int]:
    """Give 1,000 new users ten pending "often" messages each, nothing else pending; return the message ids."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test.utils import override_settings
    from django.utils import timezone

    from notify.models import Message

    Message.objects.filter(sent__isnull=True).update(sent=timezone.now())
    model = get_user_model()
    model.objects.bulk_create(model(username=f"jobbench{i:04d}", email=f"jobbench{i:04d}@example.org")
                              for i in range(USERS))
    recipients = [(u, "often") for u in model.objects.filter(username__startswith="jobbench")]
    ids: list[int] = []
    with override_settings(NOTIFY={**settings.NOTIFY, "job_backend": "cron"}):
        for n in range(PER_USER):
            ids += [m.pk for m in Message.emit_notification(
                None, None, "system", lambda u, m, n=n: (f"Message {n}", f"<p>Message {n} for {u.username}</p>"),
                recipients)]
    return ids


def _reset(ids: list[int]) -> None:
    from notify.models import Message

    Message.objects.filter(pk__in=ids).update(sent=None, mail_claim="")


def _as_task(enqueue: Callable[[], Any], timeout: float = 300) -> tuple[float, Any]:
    """Enqueue a task and return the seconds until it is SUCCESSFUL, and its return value."""
    from django_tasks_db.models import DBTaskResult

    start = time.perf_counter()
    result = enqueue()
    while True:
        status, value = DBTaskResult.objects.filter(id=result.id).values_list("status", "return_value").get()
        if status == "SUCCESSFUL":
            return time.perf_counter() - start, value
        if status == "FAILED" or time.perf_counter() - start > timeout:
            raise RuntimeError(f"The task {result.id} is {status} after {time.perf_counter() - start:.0f} s")
        time.sleep(0.05)


def _timed(run: Callable[[], Any], setup: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``setup`` then ``run`` REPEAT times; return the median seconds and the last return value."""
    times, value = [], None
    for _ in range(REPEAT):
        setup()
        start = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def _direct(port: int) -> tuple[float, int]:
    """Call send_pending_emails_often() in a fresh process (like the worker's); return its seconds and count."""
    from tests.support.workers import base_env, smtp_env

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", DIRECT], cwd=root, env=base_env(**smtp_env(port)), check=True,
                          capture_output=True, text=True)
    seconds, sent = done.stdout.split()
    return float(seconds), int(sent)


def _mail(port: int) -> list[Result]:
    """Time the "often" run over 10,000 messages directly, then as a task of the db_worker (same SMTP server)."""
    from notify import tasks

    ids = _pending_messages()
    times = {"direct": [], "worker": []}
    for _ in range(REPEAT):
        _reset(ids)
        seconds, sent = _direct(port)
        assert sent == USERS, sent
        times["direct"].append(seconds)
        _reset(ids)
        seconds, sent = _as_task(tasks.send_pending_emails_often.enqueue)
        assert sent == USERS, sent
        times["worker"].append(seconds)
    direct, worker = statistics.median(times["direct"]), statistics.median(times["worker"])
    name = f"{PER_USER * USERS:,} pending messages of {USERS:,} users over SMTP"
    rows = [Result(f"send_pending_emails_often() called directly: {name}", direct, None),
            Result(f"send_pending_emails_often as a db_worker task: {name}", worker, None, target="< 2x direct")]
    rows[0].notes.append(f"{USERS / direct:,.0f} e-mails/s, the call alone in a fresh process; aiosmtpd in a "
                         "process of its own for both")
    rows[1].notes.append(f"{worker / direct:.2f}x the direct call ({USERS / worker:,.0f} e-mails/s), from enqueue "
                         "to SUCCESSFUL, the worker polling every 0.1 s")
    return rows


def _push() -> Result:
    """Time push_pending as a db_worker task for a broadcast to 1,000 subscriptions of a local push service."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from notify import tasks
    from notify.models import Message
    from tests.support.pushservice import serve_in_subprocess

    from .bench_push import _broadcast, _stop, _subscribe

    model = get_user_model()
    model.objects.bulk_create(model(username=f"jobpush{i:04d}") for i in range(SUBSCRIPTIONS))
    users = list(model.objects.filter(username__startswith="jobpush").order_by("username"))
    Message.objects.filter(pushed__isnull=True).update(pushed=timezone.now())
    process, infos, _origin = serve_in_subprocess(settings.NOTIFY["vapid_public_key"], SUBSCRIPTIONS)
    try:
        _subscribe(users, infos)
        times = []
        for _ in range(REPEAT):
            _broadcast()
            seconds, report = _as_task(tasks.push_pending.enqueue)
            assert report["sent"] == SUBSCRIPTIONS, report
            times.append(seconds)
    finally:
        statuses, _last = _stop(process)
    assert statuses == {"201": REPEAT * SUBSCRIPTIONS}, statuses
    seconds = statistics.median(times)
    result = Result(f"push_pending as a db_worker task: one broadcast to {SUBSCRIPTIONS:,} subscriptions", seconds,
                    None, target=">= 1,000 pushes/s")
    result.notes.append(f"{SUBSCRIPTIONS / seconds:,.0f} pushes/s from enqueue to SUCCESSFUL (push_workers="
                        f"{PUSH_WORKERS} in the worker, as in bench_push), all decrypted by the push service")
    return result


def _hanging_push() -> Result:
    """Push a broadcast as a db_worker task to 1,000 subscriptions of which 25 never answer; time the other 975."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from notify import tasks
    from notify.models import PushDelivery, Subscription
    from tests.support.pushservice import serve_in_subprocess

    from .bench_push import HANGING, _broadcast, _stop, _subscribe

    Subscription.objects.all().delete()
    users = list(get_user_model().objects.filter(username__startswith="jobpush").order_by("username"))
    process, infos, _origin = serve_in_subprocess(settings.NOTIFY["vapid_public_key"], SUBSCRIPTIONS, HANGING)
    try:
        _subscribe(users, infos)
        _broadcast()
        start = time.time()
        seconds, report = _as_task(tasks.push_pending.enqueue)
    finally:
        statuses, last = _stop(process)
    others = SUBSCRIPTIONS - HANGING
    assert statuses == {"201": others} and (report["sent"], report["retried"]) == (others, HANGING), (statuses, report)
    assert PushDelivery.objects.filter(attempts=1).count() == HANGING
    result = Result(f"db_worker task, {HANGING} hanging endpoints among {SUBSCRIPTIONS:,}: the other {others} "
                    "delivered in", last - start, None, target="< 2 s")
    result.notes.append(f"from enqueue to the last 201; the task ended after {seconds:.1f} s, when the hanging "
                        "pushes were given up at push_timeout and rescheduled")
    return result


def run() -> list[Result]:
    """Measure the mail run directly and through a db_worker, and pushes through a db_worker."""
    import notify.lino

    notify.lino.startup("demo.chatter.settings")
    from tests.support.workers import Workers, smtp_env

    server, port = _smtp_server()
    with tempfile.TemporaryDirectory(prefix="notify-bench-jobs-") as logs:
        workers = Workers(Path(logs))
        try:
            workers.db_worker("bench-db-worker", NOTIFY_PUSH_WORKERS=PUSH_WORKERS, **smtp_env(port))
            rows = _mail(port)
            rows.append(_push())
            rows.append(_hanging_push())
        except Exception:
            print(workers.logs(), file=sys.stderr)
            raise
        finally:
            workers.stop_all()
            received = _stop_smtp_server(server)
    assert received == 2 * REPEAT * USERS, received
    return rows
