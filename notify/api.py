"""The public API of django-notify-kit: everything a project uses, in one import.

>>> from notify.api import emit
>>> emit(group.members.all(), _("New comment"), comment.body, actor=request, owner=group)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import lazy_names
from .actions import ClearSeen, MarkAllSeen, MarkSeen
from .actors import Actor, user_of
from .changes import ChangeNotifier, ChangeSet, acting_name
from .choicelists import Choice, ChoiceList, MailModes, MessageTypes
from .cleanup import clear_seen_messages
from .emit import BODY_MAX, SUBJECT_MAX, create_message, emit, emit_notification
from .exceptions import (
    DeliveryFailed,
    ImproperlyConfigured,
    InvalidMessage,
    InvalidRecipient,
    InvalidSubscription,
    JobInterrupted,
    NotifyError,
    UnknownChoice,
)
from .models import Message, Preferences, Subscription
from .notifying import NotifyingAction, NotifyingView
from .signals import is_quiet, messages_created, quietly
from .text import html_to_text, plain_line, safe_html, sanitize_html
from .users import display_name, get_preferences

if TYPE_CHECKING:
    from .mail.send import send_pending_emails_daily, send_pending_emails_often, send_pending_emails_weekly
    from .push.jobs import push_pending

__all__ = [
    "Actor", "BODY_MAX", "ChangeNotifier", "ChangeSet", "Choice", "ChoiceList", "DeliveryFailed",
    "ImproperlyConfigured", "InvalidMessage", "InvalidRecipient", "InvalidSubscription", "JobInterrupted",
    "MailModes", "Message", "MessageTypes", "NotifyError", "NotifyingAction", "NotifyingView", "Preferences",
    "SUBJECT_MAX", "Subscription", "UnknownChoice", "acting_name", "broadcast", "clear_seen_messages",
    "create_message", "display_name", "emit", "emit_notification", "get_preferences", "html_to_text", "is_quiet",
    "mark_all_seen", "mark_seen", "mark_unseen", "messages_created", "plain_line", "push_pending", "quietly",
    "safe_html", "sanitize_html", "send_pending_emails_daily", "send_pending_emails_often",
    "send_pending_emails_weekly", "unread_count", "user_of",
]


def broadcast(subject: Any, body: Any = "", *, actor: Actor = None, owner: Any = None) -> Message | None:
    """Create one message to everybody (every user sees it; each marks it seen for themselves)."""
    return create_message(None, owner, subject=str(subject), body=str(body), actor=user_of(actor))


def mark_seen(actor: Actor, message: Message | int) -> int:
    """Mark ``message`` as seen by the acting user; return 1, or 0 when it was seen already."""
    return MarkSeen.run(actor, message)


def mark_unseen(actor: Actor, message: Message | int) -> int:
    """Mark ``message`` as not seen by the acting user; return 1, or 0 when it was unseen already."""
    return ClearSeen.run(actor, message)


def mark_all_seen(actor: Actor) -> int:
    """Mark every message the acting user may see as seen; return how many changed."""
    return MarkAllSeen.run(actor)


def unread_count(user: Any) -> int:
    """Return how many messages ``user`` has not seen (broadcasts included)."""
    return Message.objects.unseen_by(user_of(user)).count()


#: Names loaded on first use: their modules import what e-mail and push need (Jinja, pywebpush, aiohttp).
_LAZY = {
    "push_pending": "notify.push.jobs",
    "send_pending_emails_often": "notify.mail",
    "send_pending_emails_daily": "notify.mail",
    "send_pending_emails_weekly": "notify.mail",
}
__getattr__ = lazy_names(__name__, _LAZY)
