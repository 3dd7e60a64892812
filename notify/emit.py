"""Emit notification messages to recipients, in their language, in few queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone, translation

from .bulk import insert_rows
from .choicelists import MailModes, MessageTypes
from .exceptions import InvalidMessage
from .models import Message, MsgFunc
from .requests import user_of
from .signals import messages_created
from .users import check_user, default_preferences, language_of, preferences_for

SUBJECT_MAX = Message._meta.get_field("subject").max_length
_FIELDS = ("subject", "body", "user", "owner_type", "owner_id", "reply_to_type", "reply_to_id",
           "message_type", "mail_mode", "created", "sent", "seen")
_EXTRA = {"reply_to", "created", "sent", "seen"}


def _generic(obj: models.Model | None) -> tuple[Any, Any]:
    if obj is None:
        return None, None
    if obj.pk is None:
        raise InvalidMessage(f"{obj!r} must be saved before a message can refer to it")
    return ContentType.objects.get_for_model(obj, for_concrete_model=False), obj.pk


def _check_subject(subject: Any) -> str:
    subject = str(subject)
    if len(subject) > SUBJECT_MAX:
        raise InvalidMessage(f"Subject has {len(subject)} characters, at most {SUBJECT_MAX} fit: {subject[:40]!r}...")
    return subject


def _recipient_pairs(recipients: Iterable[tuple[Any, Any]]) -> dict[int, tuple[Any, Any]]:
    pairs: dict[tuple[int, Any], tuple[Any, Any]] = {}
    for item in recipients:
        try:
            user, mode = item
        except (TypeError, ValueError):
            raise InvalidMessage(f"A recipient must be a (user, mail_mode) pair, not {item!r}") from None
        if user is None:
            continue
        check_user(user)
        mode = None if mode is None else MailModes.get(mode)
        if mode is not None and mode.value == "silent":
            continue
        pairs.setdefault((user.pk, mode.value if mode else None), (user, mode))
    return pairs


def emit_notification(ar: Any, owner: models.Model | None, message_type: Any, msg_func: MsgFunc,
                      recipients: Iterable[tuple[Any, Any]], **fields: Any) -> list[Message]:
    """Create one message per recipient and return them (see :meth:`Message.emit_notification`)."""
    mt = MessageTypes.get(message_type)
    unknown = set(fields) - _EXTRA
    if unknown:
        raise InvalidMessage(f"emit_notification() got unknown message fields: {', '.join(sorted(unknown))}")
    pairs = _recipient_pairs(recipients)
    sender = user_of(ar)
    prefs = preferences_for([pk for pk, _mode in pairs] + ([sender.pk] if sender is not None else []))
    if sender is not None and not (prefs.get(sender.pk) or default_preferences(sender)).notify_myself:
        pairs = {key: pair for key, pair in pairs.items() if key[0] != sender.pk}
    owner_type, owner_id = _generic(owner)
    reply_type, reply_id = _generic(fields.get("reply_to"))
    created = fields.get("created") or timezone.now()
    rows, users = [], []
    current = translation.get_language()
    try:
        for user, mode in pairs.values():
            user_prefs = prefs.get(user.pk)
            if mode is None:
                mode = MailModes.get((user_prefs or default_preferences(user)).mail_mode)
                if mode.value == "silent":
                    continue
            translation.activate(language_of(user_prefs))
            msg = msg_func(user, mode)
            if msg is None:
                continue
            subject, body = msg
            rows.append((_check_subject(subject), str(body or ""), user.pk, owner_type, owner_id, reply_type,
                         reply_id, mt.value, mode.value, created, fields.get("sent"), fields.get("seen")))
            users.append(user)
    finally:
        translation.activate(current) if current else translation.deactivate()
    with transaction.atomic():
        ids = insert_rows(Message, _FIELDS, rows)
        messages = [_build(pk, row, user) for pk, row, user in zip(ids, rows, users, strict=False)]
        if messages:
            transaction.on_commit(lambda: messages_created.send(sender=Message, messages=messages))
    return messages


def _build(pk: int, row: tuple, user: Any) -> Message:
    values = dict(zip(_FIELDS, row, strict=False))
    values["user"] = user
    values["owner_type_id"] = values.pop("owner_type").pk if values["owner_type"] else None
    values["reply_to_type_id"] = values.pop("reply_to_type").pk if values["reply_to_type"] else None
    return Message(pk=pk, **values)


def create_message(user: Any, owner: models.Model | None = None, **kwargs: Any) -> Message | None:
    """Create a message unless ``user`` already has an unseen message about ``owner``."""
    if user is not None:
        check_user(user)
    if "subject" in kwargs:
        kwargs["subject"] = _check_subject(kwargs["subject"])
    for name, choicelist in (("message_type", MessageTypes), ("mail_mode", MailModes)):
        if name in kwargs:
            kwargs[name] = choicelist.get(kwargs[name]).value
    if user is not None and owner is not None:
        owner_type, owner_id = _generic(owner)
        if Message.objects.filter(user=user, owner_type=owner_type, owner_id=owner_id,
                                  seen__isnull=True).exists():
            return None
    with transaction.atomic():
        msg = Message.objects.create(user=user, owner=owner, **kwargs)
        transaction.on_commit(lambda: messages_created.send(sender=Message, messages=[msg]))
    return msg
