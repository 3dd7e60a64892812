"""The push outbox: expand new messages into one delivery per subscription, then deliver what is due.

A run of :func:`push_pending` works in two phases, batch after batch, until nothing is left:

*Expand.* It claims the messages whose ``pushed`` is still empty in one short UPDATE (``pushed``
gets the run's own timestamp, only where it is still empty) and, in the same transaction, inserts
one :class:`~notify.models.PushDelivery` per subscription of each message's recipient (every
subscription for a broadcast). So each message is expanded exactly once, even with several runs
at once, and a run that dies before its commit leaves the messages to the next one. Messages that
are already seen or older than ``push_ttl`` are taken without a delivery.

*Deliver.* It claims the deliveries that are due and free (their ``claim`` names no existing
:class:`~notify.models.Lease`), untried ones first, by writing its lease token into them in one
UPDATE, and puts them in flight (:class:`~notify.push.sender.Flight`): ``push_workers`` threads make
one attempt at each, with no transaction open, and a push gets ``push_timeout`` seconds in all. The
next batch is claimed as soon as the flight runs short of work, not when the last push of the
previous batch is done, so a hanging push service holds up nothing but its own pushes. Outcomes
are written a batch at a time (at the latest after :data:`WRITE_EVERY` seconds): the deliveries
that were sent, that failed for good (not worth another attempt, or ``push_max_attempts``
reached) and those of subscriptions the push service declared gone (which are deleted too) are
deleted; a delivery worth another attempt is rescheduled: ``due`` moves ``push_retry_delay``
seconds ahead, doubled for every further attempt, or as far as the service's ``Retry-After`` asks
(at most :data:`MAX_RETRY_DELAY`), and its claim is cleared. No run waits for a retry: a later run
takes it when it is due (the scheduler runs the outbox every ``push_pending_every`` seconds), and
a run takes no delivery twice.

A run holds a lease (:func:`notify.leases.held`: the push job's own when a scheduled job runs
it) and renews it while it works. When a signal asks it to stop (:mod:`notify.shutdown`) it
claims no further batch, frees the claimed deliveries that have not started, and ends once the
pushes in flight are settled (within ``push_timeout``). A run that was killed leaves its claims
behind; the next run reaps its lease and delivers them again: delivery is at least once (a
repeated push replaces the earlier notification on the device, which tags it with the message id).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, prefetch_related_objects
from django.utils import timezone

from .. import leases, shutdown
from ..bulk import insert_rows
from ..conf import notify_settings
from ..exceptions import NotifyError
from ..models import Message, PushDelivery, Subscription
from .payload import build_payload, push_headers
from .sender import Flight, Outcome, Push, PushSender
from .subscriptions import forget

logger = logging.getLogger(__name__)
_lock = threading.Lock()

#: What the error of a delivery says when its push service asked to wait: its subscription waits too.
RETRY_AFTER = "; Retry-After "
#: Longest time a retry is put off, whatever the backoff or a ``Retry-After`` header asks for.
MAX_RETRY_DELAY = 3600.0
_ERROR_LENGTH = PushDelivery._meta.get_field("error").max_length
#: Seconds an outcome waits at most before it is written (outcomes are written a batch at a time).
WRITE_EVERY = 1.0
_COUNTS = ("messages", "sent", "failed", "retried", "removed", "skipped")


@dataclass
class PushReport:
    """What one run of :func:`push_pending` did."""

    #: Messages taken from the outbox (with or without deliveries).
    messages: int = 0
    #: Pushes accepted by a push service.
    sent: int = 0
    #: Pushes given up: not worth another attempt, out of attempts, no payload, or too old by now.
    failed: int = 0
    #: Pushes that failed this time and were rescheduled for a later run.
    retried: int = 0
    #: Subscriptions deleted because their push service said they are gone.
    removed: int = 0
    #: Messages taken without a push because they were older than ``push_ttl`` or already seen.
    skipped: int = 0
    #: What became of every attempt of the run (left out of :meth:`as_dict`).
    outcomes: list[Outcome] = field(default_factory=list, repr=False)

    def add(self, other: PushReport) -> None:
        """Add the counts and outcomes of another run."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcomes += other.outcomes

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a JSON-serialisable dict (without the outcomes)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name in _COUNTS}


# Phase 1: expand messages into deliveries -------------------------------------------------------------

def _fresh(messages: Sequence[tuple[int, int | None, datetime.datetime, Any]], now: datetime.datetime) -> list[
        tuple[int, int | None]]:
    """Return ``(id, user_id)`` of the messages still worth a push: unseen and younger than ``push_ttl``."""
    oldest = now - datetime.timedelta(seconds=int(notify_settings.push_ttl))
    return [(pk, user_id) for pk, user_id, created, seen in messages if created >= oldest and seen is None]


def _subscriptions_by_user(messages: list[tuple[int, int | None]]) -> dict[int, list[int]]:
    """Return the subscription ids of every recipient (of every user when a message is a broadcast)."""
    subscriptions = Subscription.objects.order_by("id")
    if all(user_id is not None for _pk, user_id in messages):
        subscriptions = subscriptions.filter(user_id__in={user_id for _pk, user_id in messages})
    by_user: dict[int, list[int]] = defaultdict(list)
    for pk, user_id in subscriptions.values_list("pk", "user_id"):
        by_user[user_id].append(pk)
    return by_user


def _deliveries(messages: list[tuple[int, int | None]]) -> list[tuple[int, int]]:
    """Return the (message, subscription) pair of every delivery: each subscription of the recipient."""
    by_user = _subscriptions_by_user(messages)
    everybody = sorted(pk for pks in by_user.values() for pk in pks)
    return [(pk, sub) for pk, user_id in messages
            for sub in (everybody if user_id is None else by_user.get(user_id, []))]


def _expand(batch_size: int, report: PushReport) -> bool:
    """Take the next batch of unpushed messages and store their deliveries; tell whether there was one."""
    ids = list(Message.objects.unpushed().order_by("created", "id")
               .values_list("pk", flat=True)[:batch_size])
    if not ids:
        return False
    stamp = timezone.now()
    with transaction.atomic():
        Message.objects.filter(pk__in=ids, pushed__isnull=True).update(pushed=stamp)
        taken = list(Message.objects.filter(pk__in=ids, pushed=stamp).values_list("pk", "user_id", "created", "seen"))
        fresh = _fresh(taken, stamp)
        if fresh:
            # One INSERT from a JSON array: bulk_create built a model instance per delivery.
            insert_rows(PushDelivery, ["message", "subscription"], _deliveries(fresh), {"due": stamp})
    report.messages += len(taken)
    report.skipped += len(taken) - len(fresh)
    return True


# Phase 2: deliver what is due ---------------------------------------------------------------------------

def _claimable(started: datetime.datetime) -> Q:
    """Match the deliveries a run that started at ``started`` may take now: due, free, not tried by it.

    A subscription whose push service asked to wait (``Retry-After``) gets nothing until then.
    """
    now = timezone.now()
    free = Q(claim="") | ~Q(claim__in=leases.live_tokens())
    # A retry is rescheduled after ``started``, so a run never takes again what it has tried.
    due = Q(attempts=0, due__lte=now) | Q(due__lte=started)
    held_back = PushDelivery.objects.filter(subscription=OuterRef("subscription"), due__gt=now,
                                            error__contains=RETRY_AFTER)
    # The stubs type Q.__and__ for a Q only, so Q & Exists falls to Exists.__rand__ (a Combinable); it is a Q.
    return free & due & ~Exists(held_back)  # type: ignore[return-value]


class _Due(NamedTuple):
    """A claimed delivery: what its push needs and what its outcome is written with."""

    pk: int
    attempts: int
    message_id: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str


_DUE_FIELDS = ("pk", "attempts", "message_id", "subscription_id", "subscription__endpoint", "subscription__p256dh",
               "subscription__auth")


def _claim(token: str, batch_size: int, started: datetime.datetime) -> list[_Due]:
    """Write ``token`` into the next batch of claimable deliveries, untried first, and return them."""
    ids = list(PushDelivery.objects.filter(_claimable(started)).order_by("attempts", "due", "id")
               .values_list("pk", flat=True)[:batch_size])
    if not ids:
        return []
    PushDelivery.objects.filter(_claimable(started), pk__in=ids).update(claim=token)
    rows = (PushDelivery.objects.filter(pk__in=ids, claim=token).order_by("attempts", "due", "id")
            .values_list(*_DUE_FIELDS))
    return [_Due(*row) for row in rows]


def _payloads(messages: list[Message]) -> dict[int, tuple[bytes, dict[str, str]]]:
    """Build each message's payload; a message whose payload fails is logged and left out."""
    prefetch_related_objects(messages, "owner", "reply_to")
    urgency = notify_settings.push_urgency
    built = {}
    for message in messages:
        try:
            built[message.pk] = (build_payload(message), push_headers(message, urgency))
        except Exception:
            logger.exception("Cannot build the push of message #%s; it is not pushed.", message.pk)
    return built


def _pushes(deliveries: list[_Due], now: datetime.datetime) -> tuple[list[Push], list[_Due]]:
    """Return the pushes to make and the deliveries given up before an attempt (no payload, too old)."""
    if not deliveries:
        return [], []
    oldest = now - datetime.timedelta(seconds=int(notify_settings.push_ttl))
    messages = Message.objects.in_bulk({d.message_id for d in deliveries})
    built = _payloads([m for m in messages.values() if m.created >= oldest])
    pushes, dropped = [], []
    for d in deliveries:
        if d.message_id not in built:
            dropped.append(d)
            continue
        data, headers = built[d.message_id]
        pushes.append(Push(d.subscription_id, d.endpoint, d.p256dh, d.auth, data, headers, delivery_id=d.pk))
    return pushes, dropped


def retry_delay(attempts: int, asked: float | None = None) -> float:
    """Return the seconds before the next attempt of a push that failed ``attempts`` times."""
    delay = float(notify_settings.push_retry_delay) * 2 ** max(0, attempts - 1)
    if asked is not None:
        delay = max(delay, float(asked))
    return min(delay, MAX_RETRY_DELAY)


@dataclass
class _Settlement:
    """What to write for some outcomes: deliveries to delete or reschedule, subscriptions to update."""

    done: list[int] = field(default_factory=list)
    retries: list[PushDelivery] = field(default_factory=list)
    ok: set[int] = field(default_factory=set)
    failing: set[int] = field(default_factory=set)
    gone: set[int] = field(default_factory=set)


def _settle(outcome: Outcome, delivery: _Due, now: datetime.datetime, report: PushReport,
            plan: _Settlement) -> None:
    """Count one outcome and note what to write for it."""
    sub = outcome.push.subscription_id
    attempts = delivery.attempts + 1
    if outcome.state == "sent":
        report.sent += 1
        plan.ok.add(sub)
    elif outcome.state == "gone":
        plan.gone.add(sub)
    elif outcome.state == "retry" and attempts < int(notify_settings.push_max_attempts):
        report.retried += 1
        delay = retry_delay(attempts, outcome.retry_after)
        error = outcome.error if outcome.retry_after is None else f"{outcome.error}{RETRY_AFTER}{delay:g} s"
        plan.retries.append(PushDelivery(pk=delivery.pk, attempts=attempts, claim="", error=error[:_ERROR_LENGTH],
                                         due=now + datetime.timedelta(seconds=delay)))
        return
    else:
        report.failed += 1
        plan.failing.add(sub)
        logger.warning("push of message #%s to %s failed after %d attempt(s): %s", delivery.message_id,
                       outcome.push.endpoint[:60], attempts, outcome.error)
    plan.done.append(delivery.pk)


def _write(plan: _Settlement, now: datetime.datetime, report: PushReport) -> None:
    """Delete finished deliveries, reschedule retries, update and forget subscriptions."""
    if plan.done:
        PushDelivery.objects.filter(pk__in=plan.done).delete()
    if plan.retries:
        PushDelivery.objects.bulk_update(plan.retries, ["attempts", "due", "error", "claim"])
    ok = plan.ok - plan.gone
    if ok:
        Subscription.objects.filter(pk__in=ok).update(last_success=now, failure_count=0)
    failing = plan.failing - plan.gone - ok
    if failing:
        Subscription.objects.filter(pk__in=failing).update(failure_count=F("failure_count") + 1)
    report.removed += forget(sorted(plan.gone))


def _delivery_id(push: Push) -> int:
    """Return the delivery that ``push`` makes (every push of the outbox has one)."""
    if push.delivery_id is None:
        raise NotifyError(f"The push to {push.endpoint} has no delivery_id.")
    return push.delivery_id


class _Run:
    """One run of the outbox: its lease, the deliveries in flight, the outcomes not written yet."""

    def __init__(self, lease: leases.Held, flight: Flight, batch_size: int, report: PushReport) -> None:
        self.lease, self.flight, self.batch_size, self.report = lease, flight, batch_size, report
        self.started = timezone.now()
        self.held: dict[int, _Due] = {}
        self.unwritten: list[Outcome] = []
        self.dropped: list[int] = []
        self.since = 0.0
        self.more = True

    def loop(self) -> None:
        """Keep the flight full until nothing is left (or a signal asks to stop), then write the rest."""
        while True:
            if self.more and shutdown.requested():
                self.stop()
            if self.more and self.flight.waiting() < self.flight.sender.workers:
                self.refill()
            elif self.flight.outstanding:
                self.collect()
            else:
                break
        self.write()

    def refill(self) -> None:
        """Expand the next messages and put the next batch of due deliveries in flight."""
        self.lease.renew()
        expanded = _expand(self.batch_size, self.report)
        batch = _claim(self.lease.token, self.batch_size, self.started)
        self.more = expanded or len(batch) == self.batch_size
        pushes, dropped = _pushes(batch, timezone.now())
        self.held.update((d.pk, d) for d in batch)
        self.dropped += [d.pk for d in dropped]
        self.report.failed += len(dropped)
        self.flight.submit(pushes)

    def stop(self) -> None:
        """Take back the deliveries that no thread has started and free them for the next run."""
        self.more = False
        ids = [_delivery_id(push) for push in self.flight.cancel()]
        if ids:
            PushDelivery.objects.filter(pk__in=ids, claim=self.lease.token).update(claim="")
        for pk in ids:
            self.held.pop(pk, None)

    def collect(self) -> None:
        """Wait for outcomes; write them when a batch of them is there or the oldest waited long enough."""
        wait = max(0.0, self.since + WRITE_EVERY - time.monotonic()) if self.unwritten else WRITE_EVERY
        outcomes = self.flight.collect(timeout=wait)
        self.lease.renew()
        if outcomes and not self.unwritten:
            self.since = time.monotonic()
        self.unwritten += outcomes
        if len(self.unwritten) >= self.batch_size or (self.unwritten and
                                                      time.monotonic() - self.since >= WRITE_EVERY):
            self.write()

    def write(self) -> None:
        """Record the outcomes collected so far in as few statements as it takes."""
        if not (self.unwritten or self.dropped):
            return
        now = timezone.now()
        plan = _Settlement(done=self.dropped)
        for outcome in self.unwritten:
            _settle(outcome, self.held.pop(_delivery_id(outcome.push)), now, self.report, plan)
        _write(plan, now, self.report)
        self.report.outcomes += self.unwritten
        self.unwritten, self.dropped = [], []
        self.lease.renew()


def push_pending(batch_size: int = 500, sender: PushSender | None = None) -> PushReport:
    """Expand new messages into deliveries and make one attempt at every delivery that is due.

    Deliveries to users without a subscription are never made; messages already seen or older than
    ``push_ttl`` are taken without one. A failed attempt worth another is rescheduled, not waited
    for. Several runs at once (threads, processes, hosts) push each message once per subscription;
    a run that dies leaves its deliveries to the next one, which makes them again.
    """
    report = PushReport()
    with _lock:
        leases.reap()
        with leases.held("push") as lease, (sender or PushSender()).flight() as flight:
            _Run(lease, flight, batch_size, report).loop()
    return report
