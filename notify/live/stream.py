"""The per-user stream of live events: an async view that answers with server-sent events."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from ..actions import is_seen, unseen_for, visible_to
from ..conf import notify_settings
from .broker import Event, get_broker
from .events import encode, message_event

#: How many stored messages a reconnecting page receives at most.
REPLAY_LIMIT = 100


def _missed(user: Any, after: int) -> list[Event]:
    rows = visible_to(user).filter(pk__gt=after).prefetch_related("reply_to").order_by("pk")[:REPLAY_LIMIT]
    return [message_event(m, seen=is_seen(m)) for m in rows]


def _unread(user: Any) -> int:
    return unseen_for(user).count()


def _after(request: HttpRequest) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after")
    if not raw:
        return None
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


async def events(user: Any, after: int | None) -> AsyncIterator[bytes]:
    """Yield the server-sent events of ``user``: missed messages first, then live ones."""
    broker = get_broker()
    keepalive = float(notify_settings.live_keepalive)
    subscription = await broker.subscribe(user.pk)
    sent: deque[int] = deque(maxlen=REPLAY_LIMIT * 2)
    try:
        yield b"retry: 1000\n\n"
        last = after
        if after is not None:
            for missed in await sync_to_async(_missed)(user, after):
                sent.append(missed["id"])
                last = max(last or 0, missed["id"])
                yield encode(missed)
        yield encode({"type": "count", "unread": await sync_to_async(_unread)(user)})
        while True:
            event = await subscription.get(keepalive)
            if subscription.overflowed or (event is not None and event.get("type") == "resync"):
                subscription.overflowed = False
                while not subscription.queue.empty():
                    subscription.queue.get_nowait()
                if last is not None:
                    for missed in await sync_to_async(_missed)(user, last):
                        if missed["id"] not in sent:
                            sent.append(missed["id"])
                            last = max(last, missed["id"])
                            yield encode(missed)
                yield encode({"type": "count", "unread": await sync_to_async(_unread)(user)})
                continue
            if event is None:
                yield b": keepalive\n\n"
                continue
            if event.get("type") == "message":
                if event["id"] in sent:
                    continue
                sent.append(event["id"])
                last = max(last or 0, event["id"])
            yield encode(event)
    finally:
        broker.unsubscribe(subscription)


@require_GET
async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Answer with the live events of the signed-in user (``?after=<id>`` or Last-Event-ID replays)."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "Sign in to receive live notifications."}, status=403)
    try:
        after = _after(request)
    except ValueError:
        return JsonResponse({"error": "'after' must be a message id (a whole number)."}, status=400)
    response = StreamingHttpResponse(events(user, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
