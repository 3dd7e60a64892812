"""Desktop notifications: 1,000 subscriptions pushed to a local push service."""

from __future__ import annotations

import json
import time

from .harness import Result, measure


def run() -> list[Result]:
    """Push one broadcast to 1,000 subscriptions through push_pending, and time the encryption alone."""
    import notify

    notify.startup("demo.chatter.settings")
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test.utils import override_settings
    from django.utils import timezone
    from pywebpush import WebPusher

    from notify.models import Message, Subscription
    from notify.push.jobs import push_pending
    from notify.push.keys import vapid_signer
    from tests.support.pushservice import serve_in_subprocess

    count = 1_000
    user_model = get_user_model()
    user_model.objects.bulk_create(user_model(username=f"pushbench{i:04d}") for i in range(count))
    users = list(user_model.objects.filter(username__startswith="pushbench").order_by("username"))
    results: list[Result] = []
    # The push service runs in its own process: it verifies and decrypts every push, which would
    # otherwise compete with the sender for the interpreter.
    process, infos, origin = serve_in_subprocess(settings.NOTIFY["vapid_public_key"], count)
    try:
        with override_settings(NOTIFY={**settings.NOTIFY, "push_background": False, "push_workers": 16}):
            Subscription.objects.bulk_create(
                Subscription(user=u, endpoint=i["endpoint"], p256dh=i["keys"]["p256dh"], auth=i["keys"]["auth"])
                for u, i in zip(users, infos, strict=True))
            Message.objects.update(pushed=timezone.now())

            def setup() -> None:
                Message.objects.create(subject="Benchmark broadcast", body="<p>Hello <b>everybody</b></p>")

            result = measure(f"push_pending: one broadcast to {count:,} subscriptions", push_pending,
                             setup=setup, target=">= 500 pushes/s", reference="")
    finally:
        out, _err = process.communicate("", timeout=30)
    statuses = json.loads(out.strip().splitlines()[-1])
    assert statuses == {"201": 3 * count}, statuses
    result.notes.append(f"{count / result.seconds:,.0f} pushes/s, all decrypted by the push service")
    payload = b'{"subject":"Benchmark broadcast","body":"Hello everybody","url":"/","id":1}'
    start = time.perf_counter()
    for info in infos:
        WebPusher(info).encode(payload)
    encrypt = time.perf_counter() - start
    signer = vapid_signer(settings.NOTIFY["vapid_private_key"])
    start = time.perf_counter()
    for _info in infos:
        signer.sign({"sub": "mailto:admin@chatter.localhost", "aud": origin, "exp": int(time.time()) + 3600})
    sign = time.perf_counter() - start
    result.notes.append(f"encryption {encrypt / count * 1000:.2f} ms/push = {encrypt / result.seconds:.0%} of the "
                        f"time; VAPID signing {sign / count * 1000:.2f} ms, done once per push service and reused; "
                        "the rest HTTP")
    results.append(result)
    return results
