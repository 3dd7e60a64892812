"""The live events that pages receive, and their server-sent-events encoding."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.urls import NoReverseMatch, reverse

from ..text import plain_line

if TYPE_CHECKING:
    from ..models import Message

#: Longest body text (in characters) that a live event carries; the page links to the whole message.
BODY_CHARS = 300


def plain_text(markup: str, limit: int = BODY_CHARS) -> str:
    """Return the text of an HTML fragment on one line, without any markup, shortened to ``limit`` characters."""
    text = plain_line(markup or "")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def message_url(pk: int) -> str | None:
    """Return the address of a message's page, or None when the notify URLs are not installed."""
    try:
        return reverse("notify:message", args=[pk])
    except NoReverseMatch:
        return None


def message_event(message: Message, seen: bool | None = None) -> dict[str, Any]:
    """Return the live event that announces ``message`` (subject and body as plain text).

    Load ``reply_to`` with the messages (``prefetch_related("reply_to")``), or
    each event costs a query.
    """
    if seen is None:
        seen = message.seen is not None
    reply_to = message.reply_to if message.reply_to_id is not None else None
    return {
        "type": "message",
        "id": message.pk,
        "subject": str(message.subject),
        "body": plain_text(message.body),
        "created": message.created.isoformat() if message.created else None,
        "url": message_url(message.pk),
        "broadcast": message.user_id is None,
        "seen": seen,
        "reply_to": str(reply_to) if reply_to is not None else None,
        "reply_url": getattr(reply_to, "get_absolute_url", lambda: None)(),
    }


def encode(event: dict[str, Any]) -> bytes:
    """Return ``event`` as one server-sent event; message events carry their id for reconnecting."""
    lines = []
    if event.get("type") == "message":
        lines.append(f"id: {int(event['id'])}")
    lines.append(f"event: {event.get('type', 'message')}")
    lines.append("data: " + json.dumps(event, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()
