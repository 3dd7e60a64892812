"""Live delivery of notification messages to the user's open pages (server-sent events)."""

from __future__ import annotations

from .broker import Broker, LocalBroker, Subscription, get_broker, reset_broker
from .events import message_event
from .send import send_browser_message, send_browser_message_for_all_users, send_unread_count

__all__ = [
    "Broker",
    "LocalBroker",
    "Subscription",
    "get_broker",
    "message_event",
    "reset_broker",
    "send_browser_message",
    "send_browser_message_for_all_users",
    "send_unread_count",
]
