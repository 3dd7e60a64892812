"""The push outbox: take every message whose ``pushed`` is still empty, mark it, and push it.

A run *claims* a batch in one short UPDATE (``pushed`` gets the run's own
timestamp, only where it is still empty), reads back what it got, and then
pushes with no transaction open: concurrent runs (the web process's
background thread, the scheduler) never push a message twice, and no row
stays locked while push services answer.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, prefetch_related_objects
from django.utils import timezone

from ..conf import notify_settings
from ..models import Message, Subscription
from .payload import build_payload, push_headers
from .sender import Push, PushSender
from .subscriptions import forget

logger = logging.getLogger(__name__)
_lock = threading.Lock()


@dataclass
class PushReport:
    """What one run of :func:`push_pending` did."""

    #: Messages marked as pushed (with or without a push).
    messages: int = 0
    #: Pushes accepted by a push service.
    sent: int = 0
    #: Pushes that failed after all attempts.
    failed: int = 0
    #: Subscriptions deleted because their push service said they are gone.
    removed: int = 0
    #: Messages marked without a push because they were older than ``push_ttl`` or already seen.
    skipped: int = 0
    outcomes: list[Any] = field(default_factory=list, repr=False)

    def add(self, other: PushReport) -> None:
        """Add the counts of another run."""
        for name in ("messages", "sent", "failed", "removed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcomes += other.outcomes


def _claim(batch_size: int) -> list[Message]:
    """Take the next batch of unpushed messages for this run and return them, oldest first."""
    ids = list(Message.objects.filter(pushed__isnull=True).order_by("created", "id")
               .values_list("pk", flat=True)[:batch_size])
    if not ids:
        return []
    stamp = timezone.now()
    Message.objects.filter(pk__in=ids, pushed__isnull=True).update(pushed=stamp)
    return list(Message.objects.filter(pk__in=ids, pushed=stamp).order_by("created", "id"))


def _subscriptions(messages: list[Message]) -> dict[int | None, list[Subscription]]:
    user_ids = {m.user_id for m in messages if m.user_id is not None}
    broadcast = any(m.user_id is None for m in messages)
    queryset = Subscription.objects.all() if broadcast else Subscription.objects.filter(user_id__in=user_ids)
    by_user: dict[int | None, list[Subscription]] = defaultdict(list)
    for sub in queryset.order_by("id"):
        by_user[sub.user_id].append(sub)
    return by_user


def _payloads(messages: list[Message]) -> list[tuple[Message, bytes, dict[str, str]]]:
    """Build each message's payload; a message whose payload fails is logged and left out."""
    urgency = notify_settings.push_urgency
    built = []
    for message in messages:
        try:
            built.append((message, build_payload(message), push_headers(message, urgency)))
        except Exception:
            logger.exception("Cannot build the push of message #%s; it is not pushed.", message.pk)
    return built


def _deliver(messages: list[Message], sender: PushSender | None) -> PushReport:
    report = PushReport(messages=len(messages))
    now = timezone.now()
    oldest = now - datetime.timedelta(seconds=int(notify_settings.push_ttl))
    fresh = [m for m in messages if m.created >= oldest and m.seen is None]
    report.skipped = len(messages) - len(fresh)
    by_user = _subscriptions(fresh) if fresh else {}
    everybody = [sub for subs in by_user.values() for sub in subs]
    wanted = [m for m in fresh if (by_user.get(m.user_id) if m.user_id is not None else everybody)]
    if wanted:
        prefetch_related_objects(wanted, "owner", "reply_to")
        pushes = []
        for message, data, headers in _payloads(wanted):
            for sub in by_user[message.user_id] if message.user_id is not None else everybody:
                pushes.append(Push(sub.pk, sub.endpoint, sub.p256dh, sub.auth, data, headers))
        own = sender is None
        sender = sender or PushSender()
        try:
            report.outcomes = sender.send(pushes)
        finally:
            if own:
                sender.close()
        _record(report, now)
    return report


def _record(report: PushReport, now: datetime.datetime) -> None:
    by_state: dict[str, set[int]] = defaultdict(set)
    for outcome in report.outcomes:
        by_state[outcome.state].add(outcome.push.subscription_id)
    gone = by_state["gone"]
    ok = by_state["sent"] - gone
    failed = by_state["failed"] - gone - ok
    report.sent = sum(1 for o in report.outcomes if o.state == "sent")
    report.failed = sum(1 for o in report.outcomes if o.state == "failed")
    report.removed = forget(sorted(gone))
    if ok:
        Subscription.objects.filter(pk__in=ok).update(last_success=now, failure_count=0)
    if failed:
        Subscription.objects.filter(pk__in=failed).update(failure_count=F("failure_count") + 1)


def push_pending(batch_size: int = 500, sender: PushSender | None = None) -> PushReport:
    """Push every message not pushed yet to its recipient's subscriptions; return what happened.

    Messages to users without a subscription, already seen or older than ``push_ttl`` are taken
    without a push. A message is marked when a run takes it, so it is pushed at most once even
    with several runs at the same time; if the process dies while pushing, that push is lost (the
    message itself stays in the site and goes by e-mail).
    """
    report = PushReport()
    with _lock:
        while True:
            messages = _claim(batch_size)
            if not messages:
                return report
            report.add(_deliver(messages, sender))
