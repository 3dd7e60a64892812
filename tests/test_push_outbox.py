"""The push outbox against a real push service on 127.0.0.1: deliveries, reschedules, deadlines, leases."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from notify import leases, shutdown
from notify.models import Lease, Message, PushDelivery, Subscription
from notify.push.jobs import MAX_RETRY_DELAY, push_pending, retry_delay
from notify.push.sender import Flight, PushSender
from notify.push.subscriptions import subscribe
from tests.support.pushservice import PushService, hanging_indices

ZERO = {"messages": 0, "sent": 0, "failed": 0, "retried": 0, "removed": 0, "skipped": 0}


def notify(**changes):
    return override_settings(NOTIFY={**settings.NOTIFY, "job_backend": "cron", **changes})


@pytest.fixture
def service():
    with PushService(settings.NOTIFY["vapid_public_key"]) as service, notify(push_timeout=2):
        yield service


@pytest.fixture
def quiet(db):
    """Start from an empty outbox: the seeded messages count as pushed."""
    Message.objects.update(pushed=timezone.now())


def store(subscribers, p256dh=None):
    """Store one subscription per push service subscriber, spread over the seeded users."""
    users = list(get_user_model().objects.order_by("pk"))
    Subscription.objects.bulk_create(
        Subscription(user=users[i % len(users)], endpoint=s.endpoint, p256dh=p256dh or s.p256dh,
                     auth=s.info()["keys"]["auth"])
        for i, s in enumerate(subscribers))


def broadcast(subject="To everybody"):
    """Create a broadcast message that waits in the outbox."""
    return Message.objects.create(subject=subject, body="<p>Hello <b>all</b></p>")


def delivery_of(sub):
    return PushDelivery.objects.get(subscription__endpoint=sub.endpoint)


def seconds_until(moment):
    return (moment - timezone.now()).total_seconds()


def make_due():
    PushDelivery.objects.update(due=timezone.now() - datetime.timedelta(seconds=1))


def arrivals(service, subs):
    tokens = {s.token for s in subs}
    return [r.at for r in service.received if r.token in tokens and r.status == 201]


# Nobody waits for anybody else ----------------------------------------------------------------------

def test_a_rate_limited_endpoint_is_rescheduled_and_holds_up_nobody(quiet, service):
    limited = service.subscriber(429, retry_after=120)
    others = [service.subscriber() for _ in range(50)]
    store([limited, *others])
    message = broadcast()
    start = time.monotonic()
    report = push_pending()
    elapsed = time.monotonic() - start
    assert (report.sent, report.retried, report.failed) == (50, 1, 0)
    assert elapsed < 5 and max(arrivals(service, others)) - start < 2, elapsed
    retry = delivery_of(limited)
    assert (retry.attempts, retry.error, retry.claim) == (1, "HTTP 429; Retry-After 120 s", "")
    assert 110 < seconds_until(retry.due) <= 120  # rescheduled as asked, not waited for
    assert push_pending().as_dict() == ZERO and len(service.received) == 51  # not due yet: not tried
    # The service asked this subscription to wait: a new message waits with it, the others get theirs.
    later = broadcast("Later")
    assert push_pending().as_dict() == {**ZERO, "messages": 1, "sent": 50}
    assert len(service.received) == 101
    assert PushDelivery.objects.filter(subscription__endpoint=limited.endpoint, attempts=0).count() == 1
    make_due()
    assert push_pending().as_dict() == {**ZERO, "sent": 2}
    assert sorted(p["id"] for p in service.payloads(limited)) == [message.pk, later.pk]
    assert not PushDelivery.objects.exists()


@pytest.mark.parametrize("hanging", [1, 25])
def test_hanging_endpoints_delay_only_their_own_pushes(quiet, service, hanging):
    stuck = hanging_indices(200, hanging)
    subs = [service.subscriber(hang=i in stuck) for i in range(200)]
    working = [s for i, s in enumerate(subs) if i not in stuck]
    store(subs)
    broadcast()
    with notify(push_timeout=1.5, push_workers=64):
        start = time.monotonic()
        report = push_pending()
        elapsed = time.monotonic() - start
    assert (report.sent, report.retried, report.failed) == (200 - hanging, hanging, 0), [
        (d.error, round(seconds_until(d.due), 2)) for d in PushDelivery.objects.all()]
    assert max(arrivals(service, working)) - start < 5 and elapsed < 5, elapsed
    assert len(service.hung) == hanging
    retries = PushDelivery.objects.all()
    assert {d.subscription.endpoint for d in retries} == {subs[i].endpoint for i in stuck}
    assert {(d.attempts, d.claim) for d in retries} == {(1, "")}
    assert all(d.error.startswith(("no answer within 1.5 s", "ReadTimeoutError")) for d in retries)
    assert all(0 < seconds_until(d.due) <= 1 for d in retries)  # push_retry_delay: 1 s


def test_a_hanging_push_does_not_hold_up_the_next_batches(quiet, service):
    subs = [service.subscriber(hang=i == 0) for i in range(100)]
    store(subs)
    broadcast()
    with notify(push_timeout=3, push_workers=8):
        start = time.monotonic()
        report = push_pending(batch_size=10)
    assert (report.sent, report.retried) == (99, 1)
    assert max(arrivals(service, subs[1:])) - start < 3  # all ten batches went while the first one hung


def test_untried_deliveries_go_before_due_retries(quiet, service):
    flaky = service.subscriber(500)
    store([flaky])
    first = broadcast("first")
    assert push_pending().retried == 1
    make_due()
    fresh = [service.subscriber() for _ in range(5)]
    store(fresh)
    second = broadcast("second")
    with notify(push_workers=1):
        report = push_pending(batch_size=2)
    assert (report.sent, report.retried) == (7, 0)
    ids = [r.payload["id"] for r in service.received if r.status == 201]
    assert ids == [second.pk] * 6 + [first.pk]


def test_a_run_never_tries_a_delivery_twice(quiet, service):
    flaky = service.subscriber(500, 500, 500)
    store([flaky])
    broadcast()
    with notify(push_retry_delay=0):
        assert push_pending().as_dict() == {**ZERO, "messages": 1, "retried": 1}
    assert len(service.received) == 1


def test_retries_back_off_and_honour_retry_after_up_to_an_hour(quiet, service):
    assert [retry_delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert retry_delay(1, 30) == 30 and retry_delay(5, 2) == 16 and retry_delay(1, 10**6) == MAX_RETRY_DELAY == 3600
    busy, down = service.subscriber(503, 503, retry_after=10**6), service.subscriber(500, 500)
    store([busy, down])
    broadcast()
    with notify(push_retry_delay=10):
        push_pending()
        assert 3590 < seconds_until(delivery_of(busy).due) <= 3600
        assert 5 < seconds_until(delivery_of(down).due) <= 10
        make_due()
        push_pending()
    assert (delivery_of(down).attempts, delivery_of(busy).attempts) == (2, 2)
    assert 15 < seconds_until(delivery_of(down).due) <= 20


def test_a_retry_whose_message_got_too_old_is_given_up(quiet, service):
    flaky = service.subscriber(500)
    store([flaky])
    message = broadcast()
    push_pending()
    Message.objects.filter(pk=message.pk).update(created=timezone.now() - datetime.timedelta(days=2))
    make_due()
    assert push_pending().as_dict() == {**ZERO, "failed": 1}
    assert len(service.received) == 1 and not PushDelivery.objects.exists()


def test_a_malformed_stored_key_does_not_stop_the_others(quiet, service, caplog):
    good = [service.subscriber() for _ in range(5)]
    broken = service.subscriber()
    store(good)
    store([broken], p256dh="B" + "A" * 86)
    broadcast()
    assert push_pending().as_dict() == {**ZERO, "messages": 1, "sent": 5, "failed": 1}
    assert Subscription.objects.get(endpoint=broken.endpoint).failure_count == 1
    assert not PushDelivery.objects.exists() and "could not be prepared" in caplog.text


# Exactly once into the outbox, at least once out of it ----------------------------------------------

def test_a_failed_expansion_leaves_the_messages_in_the_outbox(quiet, service, monkeypatch):
    store([service.subscriber()])
    message = broadcast()

    def failing(*args, **kwargs):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr("notify.push.jobs.insert_rows", failing)
        with pytest.raises(RuntimeError):
            push_pending()
    assert Message.objects.get(pk=message.pk).pushed is None and not Lease.objects.exists()
    assert push_pending().sent == 1


def dead_pid():
    """Return the id of a process of this host that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def claimed(subs, message, token):
    PushDelivery.objects.bulk_create(
        PushDelivery(message=message, subscription=Subscription.objects.get(endpoint=s.endpoint), claim=token)
        for s in subs)


def test_deliveries_of_a_dead_run_are_taken_over_and_a_live_runs_are_left_alone(quiet, service):
    dead, live, stale = ([service.subscriber() for _ in range(2)] for _ in range(3))
    store(dead + live + stale)
    message = broadcast()
    Message.objects.filter(pk=message.pk).update(pushed=timezone.now())
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    Lease.objects.bulk_create([
        Lease(token="dead", job="push", host=leases.HOST, pid=dead_pid()),
        Lease(token="live", job="push", host=leases.HOST, pid=os.getpid()),
        Lease(token="stale", job="push", host="elsewhere", pid=1, heartbeat=long_ago),
    ])
    for subs, token in ((dead, "dead"), (live, "live"), (stale, "stale")):
        claimed(subs, message, token)
    assert push_pending().sent == 4
    assert {p["id"] for p in service.payloads()} == {message.pk} and len(service.payloads()) == 4
    assert set(Lease.objects.values_list("token", flat=True)) == {"live"}
    assert set(PushDelivery.objects.values_list("claim", flat=True)) == {"live"}
    Lease.objects.filter(token="live").delete()  # that run ended without finishing them
    assert push_pending().sent == 2 and not PushDelivery.objects.exists()


def test_a_run_killed_in_the_middle_of_a_push_is_finished_by_the_next(transactional_db, service):
    Message.objects.update(pushed=timezone.now())
    sub = service.subscriber(hang=True)
    subscribe(get_user_model().objects.get(username="bert"), sub.info())
    message = broadcast()
    code = ("import notify.lino; notify.lino.startup('demo.chatter.settings');"
            "from django.conf import settings; from django.test import override_settings;"
            "override_settings(NOTIFY={**settings.NOTIFY, 'push_timeout': 60}).enable();"
            "from notify.push.jobs import push_pending; push_pending()")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=settings.BASE_DIR.parent.parent,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        service.wait_hung(1, timeout=30)
    finally:
        process.kill()
        process.wait()
    [held] = PushDelivery.objects.all()
    assert Lease.objects.filter(token=held.claim, pid=process.pid).exists()
    sub.hang = False
    assert push_pending().as_dict() == {**ZERO, "sent": 1}
    assert [p["id"] for p in service.payloads(sub)] == [message.pk]
    assert not PushDelivery.objects.exists() and not Lease.objects.exists()


# The run: its lease, stopping between batches ------------------------------------------------------

class WatchedFlight(Flight):
    """A real flight that looks at the run's lease whenever a batch comes, and may ask the run to stop."""

    def __init__(self, sender, stop, pause):
        super().__init__(sender)
        self.stop, self.pause, self.beats = stop, pause, []

    def submit(self, pushes):
        self.beats.append(Lease.objects.get(job="push").heartbeat)
        super().submit(pushes)
        time.sleep(self.pause)
        if self.stop:
            while self.waiting():  # once its batch has started, the run is asked to stop
                time.sleep(0.001)
            shutdown.request()


class Watching(PushSender):
    """A real sender whose flights are watched."""

    def __init__(self, stop: bool = False, pause: float = 0.0) -> None:
        super().__init__()
        self.watched = WatchedFlight(self, stop, pause)

    def flight(self):
        return self.watched


def test_a_run_stops_between_batches_when_a_signal_asks(quiet, service):
    store([service.subscriber() for _ in range(3)])
    broadcast()
    broadcast()
    with shutdown.graceful():
        report = push_pending(batch_size=1, sender=Watching(stop=True))
    assert not shutdown.requested()
    assert report.as_dict() == {**ZERO, "messages": 1, "sent": 1}
    assert set(PushDelivery.objects.values_list("claim", flat=True)) == {""}  # left free for the next run
    assert PushDelivery.objects.count() == 2 and Message.objects.filter(pushed__isnull=True).count() == 1
    assert push_pending().sent == 5


def test_a_run_renews_its_lease_between_batches(quiet, service):
    store([service.subscriber() for _ in range(3)])
    broadcast()
    sender = Watching(pause=0.03)
    with notify(claim_timeout=0.08):
        assert push_pending(batch_size=1, sender=sender).sent == 3
    beats = sender.watched.beats
    assert len(beats) == 4 and beats[:3] == sorted(set(beats[:3]))  # the fourth batch is empty
    assert not Lease.objects.exists()
