"""Desktop notifications: 1,000 subscriptions pushed to a local push service, some of it hanging."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from .harness import Result, measure

COUNT = 1_000
HANGING = 25
#: Pushes in flight: enough that 25 hanging endpoints leave most of the workers to the others.
WORKERS = int(os.environ.get("BENCH_PUSH_WORKERS", "64"))


def _subscribe(users: list[Any], infos: list[dict[str, Any]]) -> None:
    """Replace every subscription with one per user for the push service's subscribers."""
    from notify.models import PushDelivery, Subscription

    PushDelivery.objects.all().delete()
    Subscription.objects.all().delete()
    Subscription.objects.bulk_create(
        Subscription(user=u, endpoint=i["endpoint"], p256dh=i["keys"]["p256dh"], auth=i["keys"]["auth"])
        for u, i in zip(users, infos, strict=True))


def _broadcast() -> None:
    from notify.models import Message

    Message.objects.create(subject="Benchmark broadcast", body="<p>Hello <b>everybody</b></p>")


def _stop(process: Any) -> tuple[dict[str, int], float]:
    """Stop a push service process; return the count of each status it answered and its last 201's time."""
    out, _err = process.communicate("", timeout=60)
    lines = out.strip().splitlines()
    return json.loads(lines[-2]), json.loads(lines[-1])["last_accepted"]


def _throughput(users: list[Any]) -> Result:
    """Time push_pending for a broadcast to every subscription, then a serial pywebpush loop."""
    from django.conf import settings

    from notify.push.jobs import push_pending
    from tests.support.pushservice import serve_in_subprocess

    # The push service runs in its own process: it verifies and decrypts every push, which would
    # otherwise compete with the sender for the interpreter.
    process, infos, _origin = serve_in_subprocess(settings.NOTIFY["vapid_public_key"], COUNT)
    try:
        _subscribe(users, infos)
        cpu: list[float] = []

        def timed() -> None:
            start = time.process_time()
            push_pending()
            cpu.append(time.process_time() - start)

        result = measure(f"push_pending: one broadcast to {COUNT:,} subscriptions", timed, setup=_broadcast,
                         target=">= 1,000 pushes/s")
        serial = _serial(infos)
    finally:
        statuses, _last = _stop(process)
    assert statuses == {"201": 4 * COUNT}, statuses
    rate, baseline = COUNT / result.seconds, COUNT / serial
    result.reference = f"serial pywebpush.webpush: {baseline:,.0f} pushes/s"
    result.notes.append(f"{rate:,.0f} pushes/s with push_workers={WORKERS}, {rate / baseline:.1f} times the serial "
                        "pywebpush.webpush loop, all decrypted by the push service")
    result.notes.append(f"{min(cpu) / COUNT * 1000:.2f} ms of CPU per push in this process (encryption, HTTP, "
                        f"threads, database) on {os.cpu_count()} CPUs shared with the push service")
    return result


def _serial(infos: list[dict[str, Any]]) -> float:
    """Return the seconds a plain loop of ``pywebpush.webpush`` takes for every subscription."""
    from django.conf import settings
    from pywebpush import webpush

    from notify.push.keys import vapid_signer

    signer = vapid_signer(settings.NOTIFY["vapid_private_key"])
    data = '{"subject":"Benchmark broadcast","body":"Hello everybody","url":"/","id":1}'
    start = time.perf_counter()
    for info in infos:
        webpush(info, data, vapid_private_key=signer, vapid_claims={"sub": settings.NOTIFY["vapid_admin_email"]},
                ttl=86400, timeout=10)
    return time.perf_counter() - start


def _hanging(users: list[Any]) -> Result:
    """Push one broadcast to 1,000 subscriptions of which 25 never answer; time the other 975."""
    from django.conf import settings

    from notify.models import PushDelivery
    from notify.push.jobs import push_pending
    from tests.support.pushservice import serve_in_subprocess

    process, infos, _origin = serve_in_subprocess(settings.NOTIFY["vapid_public_key"], COUNT, HANGING)
    try:
        _subscribe(users, infos)
        _broadcast()
        start = time.time()
        report = push_pending()
        seconds = time.time() - start
    finally:
        statuses, last = _stop(process)
    others = COUNT - HANGING
    assert statuses == {"201": others} and (report.sent, report.retried) == (others, HANGING), (statuses, report)
    assert PushDelivery.objects.filter(attempts=1).count() == HANGING
    timeout = settings.NOTIFY.get("push_timeout", 10)
    result = Result(f"{HANGING} hanging endpoints among {COUNT:,}: the other {others} delivered in", last - start,
                    None, target="< 2 s")
    result.notes.append(f"the run ended after {seconds:.1f} s: the {HANGING} hanging pushes were given up at "
                        f"push_timeout ({timeout} s) and rescheduled, not retried in the run")
    return result


def run() -> list[Result]:
    """Measure throughput against a serial baseline, and head-of-line blocking by hanging endpoints."""
    import notify.lino

    notify.lino.startup("demo.chatter.settings")
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test.utils import override_settings
    from django.utils import timezone

    from notify.models import Message

    user_model = get_user_model()
    user_model.objects.bulk_create(user_model(username=f"pushbench{i:04d}") for i in range(COUNT))
    users = list(user_model.objects.filter(username__startswith="pushbench").order_by("username"))
    Message.objects.update(pushed=timezone.now())
    with override_settings(NOTIFY={**settings.NOTIFY, "job_backend": "cron", "push_workers": WORKERS}):
        return [_throughput(users), _hanging(users)]
