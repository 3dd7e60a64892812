"""Send messages to the browsers of their recipients."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .broker import get_broker
from .events import message_event

if TYPE_CHECKING:
    from ..models import Message

logger = logging.getLogger(__name__)


def _publish(items: list[tuple[int | None, dict[str, Any]]]) -> int:
    if not items:
        return 0
    try:
        get_broker().publish_many(items)
    except Exception:
        # The messages are stored: open pages fetch them when they reconnect or resync.
        logger.exception("Live delivery of %d event(s) failed", len(items))
        return 0
    return len(items)


def send_browser_message(user: Any, message: Message) -> bool:
    """Send ``message`` to the open pages of ``user``; return whether an event was published."""
    user_id = getattr(user, "pk", user)
    if user_id is None:
        return send_browser_message_for_all_users(message)
    if not get_broker().wants(user_id):
        return False
    return bool(_publish([(user_id, message_event(message))]))


def send_browser_message_for_all_users(message: Message) -> bool:
    """Send ``message`` to the open pages of every signed-in user; return whether it was published."""
    if not get_broker().wants(None):
        return False
    return bool(_publish([(None, message_event(message))]))


def send_messages(messages: Iterable[Message]) -> int:
    """Send each message to its recipient's pages (broadcasts to everybody) in one batch."""
    broker = get_broker()
    items = [(m.user_id, message_event(m)) for m in messages if broker.wants(m.user_id)]
    return _publish(items)


def send_unread_count(user: Any, unread: int) -> bool:
    """Tell the open pages of ``user`` their new number of unread messages."""
    user_id = getattr(user, "pk", user)
    if not get_broker().wants(user_id):
        return False
    return bool(_publish([(user_id, {"type": "count", "unread": int(unread)})]))


def on_messages_created(sender: Any, messages: list[Message], **kwargs: Any) -> None:
    """Forward new messages to live pages (receiver of :data:`notify.signals.messages_created`)."""
    send_messages(messages)

