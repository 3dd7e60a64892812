"""Emit notification messages to recipients, in their language, in few queries."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone, translation

from .actors import Actor, user_of
from .bulk import insert_rows
from .choicelists import MailModes, MessageTypes
from .conf import notify_settings
from .exceptions import InvalidMessage
from .signals import announce, is_quiet
from .text import plain_line
from .users import check_user, get_preferences, preferences_model

if TYPE_CHECKING:
    from .choicelists import Choice
    from .models import Message

#: What ``emit_notification`` calls for each recipient: ``(user, mail_mode)`` -> ``(subject, body)`` or None.
MsgFunc = Callable[[Any, "Choice"], "tuple[str, str] | None"]

#: The longest subject a message can have.
SUBJECT_MAX = 250
#: The longest body a message can have: the same wherever a body is entered (dialogs, comments).
BODY_MAX = 20_000


def message_model() -> type[Message]:
    """Return the Message model (through the app registry: the models import this module)."""
    model: type[Message] = apps.get_model("notify", "Message")
    return model
_ROW_FIELDS = ("subject", "body", "user", "mail_mode")
_EXTRA = {"reply_to", "created", "sent", "seen"}
_RELATIONS = ("actor", "owner_type", "reply_to_type")
_Prefs = namedtuple("_Prefs", "language mail_mode notify_myself")


def _generic(obj: models.Model | None) -> tuple[Any, Any]:
    if obj is None:
        return None, None
    if obj.pk is None:
        raise InvalidMessage(f"{obj!r} must be saved before a message can refer to it")
    # The same content type as assigning to the GenericForeignKey gives (the concrete model's).
    return ContentType.objects.get_for_model(obj), obj.pk


def _check_subject(subject: Any) -> str:
    """Return the subject as the plain text that every channel shows, or raise :class:`InvalidMessage`."""
    text = plain_line(str(subject))
    if not text:
        raise InvalidMessage(f"The subject {str(subject)[:40]!r} has no text (a subject is plain text; "
                             "markup alone shows nothing).")
    if len(text) > SUBJECT_MAX:
        raise InvalidMessage(f"Subject has {len(text)} characters, at most {SUBJECT_MAX} fit: {text[:40]!r}...")
    return text


def _check_body(body: Any) -> str:
    """Return the body as text, or raise :class:`InvalidMessage` when it is longer than ``BODY_MAX``."""
    text = str(body or "")
    if len(text) > BODY_MAX:
        raise InvalidMessage(f"The body has {len(text)} characters, at most {BODY_MAX} fit.")
    return text


def _recipient_pairs(recipients: Iterable[tuple[Any, Any]]) -> dict[int, tuple[Any, Any]]:
    """Return ``{user_id: (user, mode)}``: one message per user, the first mail mode given wins."""
    pairs: dict[int, tuple[Any, Any]] = {}
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
        pairs.setdefault(user.pk, (user, mode))
    return pairs


def _preferences(users: Iterable[Any]) -> dict[int, _Prefs]:
    """Return the recipients' preferences, querying only for users that came without them.

    A caller that selected ``notify_preferences`` with its users costs no query here.
    """
    prefs_model = preferences_model()
    related = prefs_model._meta.get_field("user").remote_field
    found: dict[int, _Prefs] = {}
    missing = []
    for user in users:
        if not related.is_cached(user):
            missing.append(user.pk)
        elif (prefs := related.get_cached_value(user)) is not None:
            found[user.pk] = _Prefs(prefs.language, prefs.mail_mode, prefs.notify_myself)
    if missing:
        rows = prefs_model.objects.filter(user_id__in=missing).values_list(
            "user_id", "language", "mail_mode", "notify_myself")
        found.update((row[0], _Prefs(*row[1:])) for row in rows)
    return found


def emit_notification(ar: Actor, owner: models.Model | None, message_type: Any, msg_func: MsgFunc,
                      recipients: Iterable[tuple[Any, Any]], **fields: Any) -> list[Message]:
    """Create one message per recipient and return them (see :meth:`Message.emit_notification`)."""
    mt = MessageTypes.get(message_type)
    unknown = set(fields) - _EXTRA
    if unknown:
        raise InvalidMessage(f"emit_notification() got unknown message fields: {', '.join(sorted(unknown))}")
    pairs = _recipient_pairs(recipients)
    prefs = _preferences(user for user, _mode in pairs.values())
    default = _Prefs(settings.LANGUAGE_CODE, notify_settings.default_mail_mode, False)
    sender = user_of(ar)
    # The acting user's notify_myself matters only when they are among the recipients.
    if sender is not None and sender.pk in pairs and not prefs.get(sender.pk, default).notify_myself:
        del pairs[sender.pk]
    owner_type, owner_id = _generic(owner)
    reply_type, reply_id = _generic(fields.get("reply_to"))
    common = {"actor": sender, "owner_type": owner_type, "owner_id": owner_id, "reply_to_type": reply_type,
              "reply_to_id": reply_id, "message_type": mt.value, "created": fields.get("created") or timezone.now(),
              "sent": fields.get("sent"), "seen": fields.get("seen"),
              "pushed": timezone.now() if is_quiet() else None}
    rows, users = [], []
    current = translation.get_language()
    try:
        for user, mode in pairs.values():
            user_prefs = prefs.get(user.pk, default)
            if mode is None:
                mode = MailModes.get(user_prefs.mail_mode)
                if mode.value == "silent":
                    continue
            translation.activate(user_prefs.language or settings.LANGUAGE_CODE)
            msg = msg_func(user, mode)
            if msg is None:
                continue
            subject, body = msg
            rows.append((_check_subject(subject), _check_body(body), user.pk, mode.value))
            users.append(user)
    finally:
        translation.activate(current) if current is not None else translation.deactivate_all()
    # No savepoint: nothing can fail between the INSERT and the end of the block
    # that the caller's own transaction could survive, and it saves two queries.
    model = message_model()
    with transaction.atomic(savepoint=False):
        ids = insert_rows(model, _ROW_FIELDS, rows, common)
        messages = _build(ids, rows, users, common,
                          {"actor": sender, "owner": owner, "reply_to": fields.get("reply_to")})
        if messages:
            announce(model, messages)
    return messages


def _build(ids: list[int], rows: list[tuple], users: list[Any], common: dict[str, Any],
           related: dict[str, Any]) -> list[Message]:
    """Return the inserted messages as model instances, related objects attached, without querying again."""
    model = message_model()
    fields = model._meta.concrete_fields
    known = {f"{k}_id" if k in _RELATIONS else k: getattr(v, "pk", v) for k, v in common.items()}
    template = [known.get(f.attname, f.get_default()) for f in fields]
    slots = [next(i for i, f in enumerate(fields) if f.attname == name)
             for name in ("id", "subject", "body", "user_id", "mail_mode")]
    names = [f.attname for f in fields]
    messages = []
    for pk, row, user in zip(ids, rows, users):
        values = list(template)
        for slot, value in zip(slots, (pk, *row)):
            values[slot] = value
        msg = model.from_db(None, names, values)
        msg._state.fields_cache["user"] = user
        for name, obj in related.items():
            if obj is not None:
                msg._state.fields_cache[name] = obj
        messages.append(msg)
    return messages


def emit(recipients: Iterable[Any], subject: Any, body: Any = "", *, actor: Actor = None,
         owner: models.Model | None = None, mail_mode: Any = None, message_type: Any = "system",
         reply_to: models.Model | None = None) -> list[Message]:
    """Create one message per recipient and return them.

    ``recipients`` are users, or ``(user, mail_mode)`` pairs; a plain user gets ``mail_mode``, or
    their own preference when it is None. ``subject`` and ``body`` may be lazy translations
    (``gettext_lazy``): each recipient reads them in their own language. The ``actor`` (a user,
    a request or None for the system) is not notified of their own action unless they asked to be.
    """
    pairs = [item if isinstance(item, tuple) else (item, mail_mode) for item in recipients]
    return emit_notification(actor, owner, message_type, lambda user, mode: (str(subject), str(body)), pairs,
                             reply_to=reply_to)


def create_message(user: Any, owner: models.Model | None = None, **kwargs: Any) -> Message | None:
    """Create a message unless ``user`` already has an unseen message about ``owner`` (or is silent).

    The message gets the user's own mail mode unless ``mail_mode`` is given.
    """
    if user is not None:
        check_user(user)
    if "subject" in kwargs:
        kwargs["subject"] = _check_subject(kwargs["subject"])
    if "body" in kwargs:
        kwargs["body"] = _check_body(kwargs["body"])
    for name, choicelist in (("message_type", MessageTypes), ("mail_mode", MailModes)):
        if name in kwargs:
            kwargs[name] = choicelist.get(kwargs[name]).value
    if user is not None and "mail_mode" not in kwargs:
        kwargs["mail_mode"] = get_preferences(user).mail_mode
    if kwargs.get("mail_mode") == "silent":
        return None
    model = message_model()
    if user is not None and owner is not None:
        owner_type, owner_id = _generic(owner)
        if model.objects.filter(user=user, owner_type=owner_type, owner_id=owner_id,
                                  seen__isnull=True).exists():
            return None
    if is_quiet():
        kwargs.setdefault("pushed", timezone.now())
    with transaction.atomic():
        msg = model.objects.create(user=user, owner=owner, **kwargs)
        announce(model, [msg])
    return msg
