"""Sending pushes to a real push service on 127.0.0.1: VAPID, encryption, one attempt per push, the outbox job."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notify.models import Message, PushDelivery, Subscription
from notify.push.jobs import push_pending
from notify.push.sender import Push, PushSender, parse_retry_after
from notify.push.subscriptions import subscribe
from notify.push.worker import worker
from tests.support.pushservice import PushService

FAST = {"push_timeout": 2}


def notify(**changes):
    return override_settings(NOTIFY={**settings.NOTIFY, **FAST, **changes})


@pytest.fixture
def service():
    with PushService(settings.NOTIFY["vapid_public_key"]) as service, notify():
        yield service


def user(name):
    return get_user_model().objects.get(username=name)


def push_to(sub, data=b'{"subject":"hi"}', pk=1):
    return Push(pk, sub.endpoint, sub.p256dh, b64(sub.auth), data, {"Urgency": "high", "Topic": "t1"})


def b64(raw):
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_pushes_are_signed_encrypted_and_carry_ttl_urgency_topic(service):
    sub = service.subscriber()
    [outcome] = PushSender().send([push_to(sub)])
    assert (outcome.state, outcome.status, outcome.error) == ("sent", 201, "")
    [received] = service.received
    assert received.payload == {"subject": "hi"}
    assert received.claims["aud"] == service.origin and received.claims["sub"] == "mailto:admin@chatter.localhost"
    assert (received.headers["ttl"], received.headers["urgency"], received.headers["topic"]) == ("86400", "high", "t1")


def test_each_push_service_gets_its_own_audience(service):
    with PushService(settings.NOTIFY["vapid_public_key"]) as other:
        subs = [service.subscriber(), other.subscriber(), service.subscriber(), other.subscriber()]
        outcomes = PushSender(workers=1).send([push_to(s, pk=i) for i, s in enumerate(subs)])
        assert [o.state for o in outcomes] == ["sent"] * 4
        assert {r.claims["aud"] for r in other.received} == {other.origin}
    assert {r.claims["aud"] for r in service.received} == {service.origin}


def test_one_attempt_per_push_and_the_status_decides_what_comes_next(service):
    subs = {
        "gone404": service.subscriber(404), "gone410": service.subscriber(410),
        "busy429": service.subscriber(429, retry_after=120), "down503": service.subscriber(503, retry_after=7),
        "error500": service.subscriber(500), "big413": service.subscriber(413), "bad400": service.subscriber(400),
        "moved301": service.subscriber(301), "denied403": service.subscriber(403),
    }
    outcomes = PushSender().send([push_to(s, pk=i) for i, s in enumerate(subs.values())])
    result = {name: (o.state, o.status, o.retry_after)
              for name, o in zip(subs, sorted(outcomes, key=lambda o: o.push.subscription_id), strict=True)}
    assert result == {
        "gone404": ("gone", 404, None), "gone410": ("gone", 410, None), "busy429": ("retry", 429, 120.0),
        "down503": ("retry", 503, 7.0), "error500": ("retry", 500, None), "big413": ("retry", 413, None),
        "bad400": ("failed", 400, None), "moved301": ("failed", 301, None), "denied403": ("failed", 403, None),
    }
    assert len(service.received) == len(subs)  # nothing was tried twice


def test_retry_after_is_read_in_seconds_or_as_a_date():
    import email.utils

    assert parse_retry_after("120") == 120.0 and parse_retry_after("-5") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 600, usegmt=True)
    assert 590 < parse_retry_after(later) <= 600


def test_network_errors_are_worth_a_retry(service):
    from tests.support.server import free_port

    sub = service.subscriber()
    dead = Push(1, f"http://127.0.0.1:{free_port()}/push/x", sub.p256dh, b64(sub.auth), b"{}")
    [outcome] = PushSender().send([dead])
    assert (outcome.state, outcome.status) == ("retry", None)
    assert "ConnectionRefusedError" in outcome.error


def test_a_slow_endpoint_does_not_hold_up_the_others(service):
    slow = service.subscriber(delay=1.5)
    fast = [service.subscriber() for _ in range(30)]
    start = time.monotonic()
    outcomes = PushSender(timeout=0.3, workers=4).send(
        [push_to(slow, pk=0)] + [push_to(s, pk=i + 1) for i, s in enumerate(fast)])
    elapsed = time.monotonic() - start
    states = {o.push.subscription_id: o.state for o in outcomes}
    assert states.pop(0) == "retry" and set(states.values()) == {"sent"} and len(states) == 30
    assert elapsed < 1.3, elapsed  # one timed-out attempt (0.3 s), not 1.5 s, and the rest alongside


def test_the_deadline_is_the_senders_own_and_a_stuck_thread_is_replaced(service):
    # A dripping answer never lets a socket timeout fire; hanging ones fill every worker at first.
    stuck = [service.subscriber(drip=True), service.subscriber(hang=True)]
    fast = [service.subscriber() for _ in range(20)]
    start = time.monotonic()
    outcomes = PushSender(timeout=0.3, workers=2).send([push_to(s, pk=i) for i, s in enumerate(stuck + fast)])
    elapsed = time.monotonic() - start
    states = {o.push.subscription_id: (o.state, o.error) for o in outcomes}
    assert states.pop(0) == ("retry", "no answer within 0.3 s")
    hanging = states.pop(1)  # here the socket's read timeout may come first
    assert hanging[0] == "retry" and hanging[1].startswith(("no answer within 0.3 s", "ReadTimeoutError")), hanging
    assert set(states.values()) == {("sent", "")} and len(states) == 20
    assert elapsed < 1.5, elapsed
    assert len(service.hung) == 2


def test_a_malformed_stored_key_fails_alone(service, caplog):
    good = service.subscriber()
    broken = Push(0, service.subscriber().endpoint, "B" + "A" * 86, b64(good.auth), b"{}")
    outcomes = PushSender().send([broken, push_to(good, pk=1)])
    states = {o.push.subscription_id: o.state for o in outcomes}
    assert states == {0: "failed", 1: "sent"}
    assert "could not be prepared" in caplog.text


def test_endpoints_on_private_addresses_are_not_contacted_unless_allowed(service):
    sub = service.subscriber()
    [outcome] = PushSender(allow_private=False).send([push_to(sub)])
    assert outcome.state == "failed" and "public internet" in outcome.error
    assert service.received == []


def test_answers_of_every_shape_are_read_and_connections_reused(service):
    import asyncio

    from notify.push.transport import Connections

    async def exchange(port, answers):
        async def answer(reader, writer):
            for reply in answers:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(reply)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", port)
        connections = Connections(allow_private=True)
        try:
            return [await connections.post(f"http://127.0.0.1:{port}/x", b"", {}) for _ in answers]
        finally:
            connections.close()
            server.close()

    from tests.support.smtpserver import free_port

    answers = [b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
               b"HTTP/1.1 429 Too Many\r\nRetry-After: 30\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n",
               b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n"]
    got = asyncio.run(exchange(free_port(), answers))
    assert [(a.status, a.retry_after) for a in got] == [(201, None), (429, "30"), (410, None)]
    sub = service.subscriber()
    [outcome] = PushSender(allow_private=True).send([push_to(sub, data=b'{"n":"' + b"x" * 3000 + b'"}')])
    assert outcome.state == "sent" and service.payloads(sub) == [{"n": "x" * 3000}]


# The outbox job --------------------------------------------------------------------------------------

def comment(author, group, body):
    from demo.chatter.models import Comment, Group

    c = Comment.objects.create(group=Group.objects.get(name=group), author=user(author), body=body)
    return c, c.notify_members()


def test_a_comment_reaches_the_push_service_decrypted(db, on_commit, service):
    sub = service.subscriber()
    subscribe(user("bert"), sub.info(), user_agent="test")
    with on_commit():
        c, messages = comment("andy", "Harry Potter", "<p>Don't <b>panic</b> &amp; bring a towel.</p>")
    # The seed created its messages quietly: only the new one waits in the outbox.
    assert list(Message.objects.filter(pushed__isnull=True)) == messages
    report = push_pending()
    assert (report.sent, report.failed, report.retried, report.removed) == (1, 0, 0, 0)
    assert json.loads(json.dumps(report.as_dict()))["sent"] == 1
    assert not PushDelivery.objects.exists()
    [payload] = service.payloads(sub)
    [message] = messages
    assert payload == {"subject": "Andy commented on Harry Potter", "body": "Don't panic & bring a towel.",
                       "url": f"/groups/{c.group_id}/", "id": message.pk}
    assert not Message.objects.filter(pushed__isnull=True).exists()
    row = Subscription.objects.get()
    assert row.last_success is not None and row.failure_count == 0
    assert push_pending().messages == 0


def test_outbox_marks_everything_prunes_gone_subscriptions_and_gives_up_after_max_attempts(db, on_commit,
                                                                                          service):
    Message.objects.update(pushed=timezone.now())
    alive, gone, flaky = service.subscriber(), service.subscriber(410), service.subscriber(500, 500, 500)
    subscribe(user("bert"), alive.info())
    subscribe(user("bert"), gone.info())
    subscribe(user("andy"), flaky.info())
    with on_commit():
        comment("chloe", "Harry Potter", "one")  # to andy and bert
        comment("robin", "Star Trek", "two")  # to chloe, who has no subscription
    report = push_pending()
    assert report.as_dict() == {"messages": 3, "sent": 1, "failed": 0, "retried": 1, "removed": 1, "skipped": 0}
    assert not Message.objects.filter(pushed__isnull=True).exists()
    [retry] = PushDelivery.objects.all()
    assert (retry.subscription.endpoint, retry.attempts, retry.error, retry.claim) == (flaky.endpoint, 1, "HTTP 500",
                                                                                      "")
    for attempts in (2, 3):
        PushDelivery.objects.update(due=timezone.now())
        report = push_pending()
        assert (report.messages, report.sent, report.retried, report.failed) == (0, 0, attempts == 2, attempts == 3)
    assert not PushDelivery.objects.exists()  # given up after push_max_attempts (3)
    assert len(service.payloads(flaky)) == 0 and len([r for r in service.received if r.token == flaky.token]) == 3
    assert sorted(Subscription.objects.values_list("endpoint", "failure_count")) == sorted(
        [(alive.endpoint, 0), (flaky.endpoint, 1)])


def test_a_gone_subscription_takes_its_waiting_retries_with_it(db, on_commit, service):
    Message.objects.update(pushed=timezone.now())
    sub = service.subscriber(503, 410)
    subscribe(user("bert"), sub.info())
    with on_commit():
        comment("andy", "Harry Potter", "first")
    assert push_pending().retried == 1
    with on_commit():
        comment("andy", "Harry Potter", "second")
    report = push_pending()
    assert (report.messages, report.removed, report.sent, report.retried) == (1, 1, 0, 0)
    assert not Subscription.objects.exists() and not PushDelivery.objects.exists()


def test_outbox_queries_do_not_grow_with_messages_or_subscriptions(db, on_commit, service):
    Message.objects.update(pushed=timezone.now())

    def run(messages, subscriptions):
        for name in ("andy", "bert"):
            for _ in range(subscriptions):
                Subscription.objects.create(user=user(name), **keys(service.subscriber()))
        with on_commit():
            for i in range(messages):
                comment(["andy", "bert"][i % 2], "Harry Potter", f"comment {i}")
        with CaptureQueriesContext(connection) as ctx:
            report = push_pending()
        assert report.sent == messages * subscriptions
        Subscription.objects.all().delete()
        return len(ctx.captured_queries)

    # Lease: reap, take, release. Expand: ids, (savepoint) claim, read back, subscriptions, insert (release).
    # Deliver: ids, claim, read back, messages, owners, reply-tos, delete the sent, mark subscriptions.
    # Then ids again (2).
    assert run(1, 1) == run(10, 1) == run(2, 8) == 20


def keys(sub):
    info = sub.info()
    return {"endpoint": info["endpoint"], "p256dh": info["keys"]["p256dh"], "auth": info["keys"]["auth"]}


def test_old_and_seen_messages_are_marked_without_a_push(db, service):
    subscribe(user("bert"), service.subscriber().info())
    Message.objects.update(pushed=timezone.now())
    Message.objects.filter(pk__in=Message.objects.filter(user__username="bert").values("pk")[:2]).update(pushed=None)
    old = Message.objects.filter(user__username="bert", pushed__isnull=True).first()
    old.seen = None
    old.save()
    report = push_pending()
    assert (report.messages, report.skipped, report.sent) == (2, 2, 0)
    assert service.received == []


def test_the_background_worker_pushes_after_commit(transactional_db, service):
    sub = service.subscriber()
    subscribe(user("bert"), sub.info())
    Message.objects.update(pushed=timezone.now())
    with notify(job_backend="thread"):  # the demo's engine: a thread of the web process pushes
        _c, messages = comment("andy", "Harry Potter", "<p>Live from the worker</p>")
        service.wait_for(1, timeout=10)
        assert worker.wait_idle(10)
    assert [json.loads(json.dumps(p))["body"] for p in service.payloads(sub)] == ["Live from the worker"]
    assert Message.objects.get(pk=messages[0].pk).pushed is not None


def test_a_message_whose_payload_fails_is_left_out_and_does_not_block_the_others(db, on_commit, service,
                                                                                 monkeypatch, caplog):
    import notify.push.jobs as jobs

    Message.objects.update(pushed=timezone.now())
    subscribe(user("bert"), service.subscriber().info())
    with on_commit():
        first = comment("andy", "Harry Potter", "broken")[1][0]
        second = comment("andy", "Harry Potter", "fine")[1][0]
    real = jobs.build_payload

    def failing_for_the_first(message, *args, **kwargs):
        if message.pk == first.pk:
            raise ValueError("cannot build")
        return real(message, *args, **kwargs)

    monkeypatch.setattr(jobs, "build_payload", failing_for_the_first)
    report = push_pending()
    assert (report.sent, report.failed) == (1, 1) and [p["id"] for p in service.payloads()] == [second.pk]
    assert f"Cannot build the push of message #{first.pk}" in caplog.text
    assert not PushDelivery.objects.exists()
    assert push_pending().messages == 0  # the broken one is not taken again and again


def test_concurrent_runs_push_each_message_once(transactional_db, service):
    import threading

    from django.db import connections

    Message.objects.update(pushed=timezone.now())
    subscribe(user("bert"), service.subscriber().info())
    with notify(job_backend="cron"):
        for i in range(30):
            comment("andy", "Harry Potter", f"comment {i}")
    barrier, reports = threading.Barrier(3), []

    def run():
        barrier.wait(timeout=10)
        try:
            reports.append(push_pending(batch_size=7))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.sent for r in reports) == 30
    ids = [p["id"] for p in service.payloads()]
    assert len(ids) == len(set(ids)) == 30
