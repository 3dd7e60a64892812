"""Remove old notification messages in chunks: ``notify.clear_seen_messages()``."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Sequence
from typing import Any

from django.db import connections, transaction
from django.db.models import Q, QuerySet

from . import clock, shutdown
from .conf import notify_settings
from .exceptions import ImproperlyConfigured
from .models import Message, SeenBroadcast

logger = logging.getLogger(__name__)

#: How many messages one chunk removes (three SQL statements per chunk).
CHUNK_SIZE = 10_000

_SETTING: Any = object()


def current_time() -> datetime.datetime:
    """Return the site's "now" (:func:`notify.clock.now`), from which the age of messages counts."""
    return clock.now()


def _days(value: Any) -> float | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ImproperlyConfigured(f"remove_after must be a number of days (or None or 0), not {value!r}")
    return value


def removable_messages(cutoff: datetime.datetime, keep_unseen: bool = True) -> QuerySet[Message]:
    """Return the messages created before ``cutoff`` that may be removed (see :meth:`MessageQuerySet.removable`)."""
    return Message.objects.removable(cutoff, keep_unseen)


def clear_seen_messages(remove_after: Any = _SETTING, keep_unseen: Any = _SETTING, *,
                        now: datetime.datetime | None = None, chunk_size: int = CHUNK_SIZE,
                        dry_run: bool = False, using: str = "default") -> int:
    """Remove messages older than ``remove_after`` days and return how many went (or would go).

    ``remove_after`` and ``keep_unseen`` default to the ``NOTIFY`` settings of
    the same names; ``remove_after`` of ``None`` or ``0`` keeps everything.
    Messages go in chunks of ``chunk_size``, three SQL statements per chunk,
    each chunk in its own transaction, so memory stays bounded.
    """
    days = _days(notify_settings.remove_after if remove_after is _SETTING else remove_after)
    keep = notify_settings.keep_unseen if keep_unseen is _SETTING else bool(keep_unseen)
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ImproperlyConfigured(f"chunk_size must be a positive integer, not {chunk_size!r}")
    if days is None:
        logger.info("remove_after is not set: keeping all notification messages.")
        return 0
    cutoff = (now or current_time()) - datetime.timedelta(days=days)
    candidates = removable_messages(cutoff, keep).using(using)
    what = "" if keep else " (seen or not)"
    if dry_run:
        count = candidates.count()
        logger.info("Would remove %d notification messages%s created before %s.", count, what, cutoff)
        return count
    total, last = 0, None
    while True:
        page = candidates
        if last is not None:
            page = page.filter(Q(created__gte=last[0]) & (Q(created__gt=last[0]) | Q(pk__gt=last[1])))
        rows = list(page.order_by("created", "pk").values_list("created", "pk")[:chunk_size])
        if not rows:
            break
        total += _delete(using, [pk for _created, pk in rows])
        if len(rows) < chunk_size or shutdown.requested():
            break
        last = rows[-1]
    logger.info("Removed %d notification messages%s created before %s.", total, what, cutoff)
    return total


def _delete(using: str, ids: Sequence[int]) -> int:
    """Delete these messages and their seen-broadcast rows in two statements; return the messages deleted."""
    connection = connections[using]
    qn = connection.ops.quote_name
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        deleted = 0
        for table, column in ((SeenBroadcast._meta.db_table, SeenBroadcast._meta.get_field("message").column),
                              (Message._meta.db_table, Message._meta.pk.column)):
            deleted = 0
            for condition, params in _in_list(connection, qn(column), ids):
                cursor.execute(f"DELETE FROM {qn(table)} WHERE {condition}", params)
                deleted += cursor.rowcount
    return deleted


def _in_list(connection: Any, column: str, ids: Sequence[int]) -> list[tuple[str, list[Any]]]:
    """Return ``(condition, params)`` pairs that together match ``column`` against ``ids``."""
    if connection.vendor == "sqlite":
        return [(f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))])]
    if connection.vendor == "postgresql":
        return [(f"{column} = ANY(%s)", [list(ids)])]
    size = connection.features.max_query_params or len(ids)
    batches = [ids[i:i + size] for i in range(0, len(ids), size)]
    return [(f"{column} IN ({', '.join(['%s'] * len(batch))})", list(batch)) for batch in batches]
