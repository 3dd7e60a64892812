"""Claim pending messages for one mail run, so that concurrent runs never send a message twice.

A run holds a :class:`~notify.models.Lease` and writes its token into ``Message.mail_claim`` of the messages it
takes, in one UPDATE statement, then reads them back by that token. On
PostgreSQL an advisory lock lets the claim statements of one mail mode take
turns, so that a run takes all of a user's pending messages or none; other
databases with ``SKIP LOCKED`` (MariaDB, MySQL) select the rows ``FOR UPDATE
SKIP LOCKED``; on SQLite the statement itself is atomic (SQLite has one
writer at a time). A claim holds while its lease exists: a run that
was killed leaves a lease that :func:`notify.leases.reap` deletes (at once
when its process on this host is gone, else after ``NOTIFY['claim_timeout']``
seconds without a heartbeat), and the next run takes the messages.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, Subquery, Value, When

from ..leases import live_tokens
from ..models import BroadcastMail, Message

CHUNK = 5000


def pending(mode: str) -> QuerySet[Message]:
    """Return the unsent messages of mail mode ``mode`` that can be e-mailed (claimed or not)."""
    return Message.objects.pending_mail(mode)


def unclaimed() -> Q:
    """Return a filter for messages that no live run holds (their token names no lease)."""
    return Q(mail_claim="") | ~Q(mail_claim__in=live_tokens())


def claim(mode: str, token: str) -> int:
    """Mark the free pending messages of ``mode`` as held by ``token``; return how many."""
    free = unclaimed()
    candidates = pending(mode).filter(free)
    if connection.vendor == "postgresql":
        with transaction.atomic(savepoint=False):
            # Claims of one mode take turns (for the few milliseconds of this statement), so that
            # concurrent runs do not split one user's messages between two e-mails. No SKIP LOCKED:
            # a row that another writer holds for a moment (the push outbox marking it pushed) is
            # waited for, not left behind until the next run.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(mode)])
            return Message.objects.filter(free, pk__in=candidates.values("pk")).update(mail_claim=token)
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic(savepoint=False):
            of = ("self",) if connection.features.has_select_for_update_of else ()
            locked = candidates.select_for_update(skip_locked=True, of=of).values("pk")
            return Message.objects.filter(free, pk__in=Subquery(locked)).update(mail_claim=token)
    return Message.objects.filter(free, pk__in=candidates.values("pk")).update(mail_claim=token)


def _lock_key(mode: str) -> int:
    """Return the PostgreSQL advisory lock number of the claims of ``mode``."""
    return zlib.crc32(f"notify.mail.claim.{mode}".encode())


def claimed(token: str) -> QuerySet[Message]:
    """Return the messages held by ``token``, oldest first."""
    return Message.objects.filter(mail_claim=token).select_related("actor", "reply_to_type").order_by("created", "id")


def _chunks(ids: Collection[int]) -> Iterable[list[int]]:
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _sent_values(now: Any, mark_seen: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"sent": now, "mail_claim": ""}
    if mark_seen:
        values["seen"] = Case(When(user__isnull=False, seen__isnull=True, then=Value(now)), default=F("seen"))
    return values


def mark_sent(token: str, ids: Collection[int], now: Any, *, mark_seen: bool = False) -> int:
    """Mark the messages ``ids`` held by ``token`` as sent (and seen) and free them; return how many."""
    count = 0
    for chunk in _chunks(ids):
        count += Message.objects.filter(mail_claim=token, pk__in=chunk).update(**_sent_values(now, mark_seen))
    return count


def release(token: str) -> int:
    """Free the messages still held by ``token`` (they stay pending); return how many."""
    return Message.objects.filter(mail_claim=token).update(mail_claim="")


def mailed_broadcasts(broadcasts: Collection[Message]) -> set[tuple[int, int]]:
    """Return the (message id, user id) pairs of the ``broadcasts`` that earlier runs already e-mailed."""
    if not broadcasts:
        return set()
    return set(BroadcastMail.objects.filter(message__in=list(broadcasts)).values_list("message_id", "user_id"))


def relax_commits(on: bool) -> None:
    """Let PostgreSQL commit a run's records of sent e-mails without waiting for its disk (or stop it).

    A run commits once per e-mail, so that a killed run sends at most the e-mail in flight again;
    with ``synchronous_commit`` off such a commit takes microseconds instead of a disk flush. Only
    a crash of the database server itself can then forget the last fraction of a second of records
    (and send those e-mails again); a killed mail run loses nothing it committed.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF" if on else "RESET synchronous_commit")
