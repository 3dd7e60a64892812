"""The seen-state actions: MarkSeen, MarkAllSeen and ClearSeen."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.db import connections, router
from django.db.models import Field, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .actors import user_of
from .exceptions import NotifyError
from .models import Message, SeenBroadcast
from .querysets import visible_filter


def visible_to(user: Any) -> QuerySet[Message]:
    """Return the messages that ``user`` may see: their own and the broadcasts."""
    return Message.objects.visible_to(user)


def unseen_for(user: Any) -> QuerySet[Message]:
    """Return the messages that ``user`` has not seen yet."""
    return Message.objects.unseen_by(user)


def is_seen(message: Message) -> bool:
    """Tell whether a message from :func:`visible_to` was seen (a broadcast: by that user)."""
    if message.user_id is not None:
        return message.seen is not None
    return bool(getattr(message, "seen_by_me", False))


def _message_pk(message: Message | int | None) -> Any:
    pk = getattr(message, "pk", message)
    if pk is None:
        raise NotifyError("This action needs a message")
    return pk


def _check_visible(user: Any, pk: Any) -> None:
    """Raise ``Message.DoesNotExist`` unless message ``pk`` exists and is ``user``'s or a broadcast."""
    if not Message.objects.filter(visible_filter(user), pk=pk).exists():
        raise Message.DoesNotExist(f"No message #{pk} for {user}")


def _require_user(ar: Any) -> Any:
    user = user_of(ar)
    if user is None:
        raise NotifyError("This action needs a signed-in user")
    return user


class SeenAction:
    """Base of the actions that change whether messages are seen."""

    label: ClassVar[str | Promise] = ""

    @classmethod
    def run(cls, ar: Any, message: Message | int | None = None) -> int:
        """Run this action for the acting user and return how many messages changed."""
        raise NotImplementedError


class MarkSeen(SeenAction):
    """Mark this message as seen."""

    label = _("Mark as seen")

    @classmethod
    def run(cls, ar: Any, message: Message | int | None = None) -> int:
        """Mark one message as seen and return 1, or 0 when it was seen already (its seen time stays).

        Raise ``Message.DoesNotExist`` when the message is not the user's.
        """
        user = _require_user(ar)
        pk = _message_pk(message)
        now = timezone.now()
        if Message.objects.filter(pk=pk, user=user, seen__isnull=True).update(seen=now):
            return 1
        if _see_broadcasts(user, now, pk):
            return 1
        _check_visible(user, pk)
        return 0


class MarkAllSeen(SeenAction):
    """Mark all messages as seen."""

    label = _("Mark all as seen")

    @classmethod
    def run(cls, ar: Any, message: Message | int | None = None) -> int:
        """Mark every unseen message of the acting user as seen: one UPDATE, one INSERT for broadcasts."""
        user = _require_user(ar)
        now = timezone.now()
        count = Message.objects.filter(user=user, seen__isnull=True).update(seen=now)
        return count + _see_broadcasts(user, now)


def _see_broadcasts(user: Any, now: Any, pk: Any = None) -> int:
    """Insert the missing seen-broadcast rows of ``user`` (for one broadcast ``pk`` or all) in one statement."""
    connection = connections[router.db_for_write(SeenBroadcast)]
    qn = connection.ops.quote_name
    seen_field = SeenBroadcast._meta.get_field("seen")
    table, messages = qn(SeenBroadcast._meta.db_table), qn(Message._meta.db_table)
    # All three are concrete fields of SeenBroadcast (not reverse relations), so each has a column.
    column = {
        name: qn(cast(Field, SeenBroadcast._meta.get_field(name)).column) for name in ("message", "user", "seen")
    }
    pk_column, recipient = qn(Message._meta.pk.column), qn(Message._meta.get_field("user").column)
    sql = (
        f"INSERT INTO {table} ({column['message']}, {column['user']}, {column['seen']}) "
        f"SELECT m.{pk_column}, %s, %s FROM {messages} m WHERE m.{recipient} IS NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {table} s WHERE s.{column['message']} = m.{pk_column} AND s.{column['user']} = %s)"
    )
    params = [user.pk, seen_field.get_db_prep_save(now, connection), user.pk]
    if pk is not None:
        sql += f" AND m.{pk_column} = %s"
        params.append(int(pk))
    if connection.vendor in ("sqlite", "postgresql"):
        sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


class ClearSeen(SeenAction):
    """Mark this message as not yet seen."""

    label = _("Mark as unseen")

    @classmethod
    def run(cls, ar: Any, message: Message | int | None = None) -> int:
        """Mark one message as unseen and return 1, or 0 when it was unseen already.

        Raise ``Message.DoesNotExist`` when the message is not the user's.
        """
        user = _require_user(ar)
        pk = _message_pk(message)
        if Message.objects.filter(pk=pk, user=user, seen__isnull=False).update(seen=None):
            return 1
        deleted, _rows = SeenBroadcast.objects.filter(message_id=pk, user=user).delete()
        if deleted:
            return 1
        _check_visible(user, pk)
        return 0
