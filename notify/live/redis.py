"""A broker that goes through Redis publish/subscribe, for sites served by several processes."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterable
from typing import Any

from ..conf import notify_settings
from .broker import Event, LocalBroker, Subscription

logger = logging.getLogger(__name__)

#: Seconds that a new page waits for this process's Redis listener to be ready.
READY_TIMEOUT = 2.0
#: Longest pause between two attempts to reconnect to Redis.
MAX_BACKOFF = 5.0


class _Listener:
    """One Redis subscription per event loop that forwards events to the loop's pages."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker
        self.ready = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        import redis.asyncio as aioredis

        backoff, lost = 0.2, False
        while True:
            client = aioredis.Redis.from_url(self.broker.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.broker.channel)
                    self.ready.set()
                    backoff = 0.2
                    if lost:
                        # Events published while we were away are in the database: pages fetch them.
                        self.broker.deliver(None, {"type": "resync"})
                        lost = False
                    async for item in pubsub.listen():
                        if item.get("type") == "message":
                            self.broker.receive(item["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of Redis: retry, pages resync afterwards
                logger.warning("Live delivery lost its Redis connection (%s); retrying in %.1f s", exc, backoff)
                lost = True
                self.ready.set()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                await client.aclose()


class RedisBroker(LocalBroker):
    """Publish through a Redis channel that every server process listens to."""

    def __init__(self, url: str | None = None, channel: str | None = None) -> None:
        super().__init__()
        self.url = url or notify_settings.live_redis_url
        self.channel = channel or notify_settings.live_redis_channel
        self._client: Any = None
        self._listeners: dict[asyncio.AbstractEventLoop, _Listener] = {}
        self._listeners_lock = threading.Lock()

    def _sync_client(self) -> Any:
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        return self._client

    def wants(self, user_id: int | None) -> bool:
        """Return True: a page of another process may be waiting."""
        return True

    def publish_many(self, items: Iterable[tuple[int | None, Event]]) -> None:
        """Publish the events to Redis in one round trip."""
        payloads = [json.dumps({"u": user_id, "e": event}, separators=(",", ":")) for user_id, event in items]
        if not payloads:
            return
        pipe = self._sync_client().pipeline(transaction=False)
        for payload in payloads:
            pipe.publish(self.channel, payload)
        pipe.execute()

    def receive(self, data: bytes | str) -> None:
        """Deliver one payload read from Redis to this process's pages."""
        try:
            item = json.loads(data)
            self.deliver(item["u"], item["e"])
        except (ValueError, KeyError, TypeError):
            logger.warning("Ignoring a malformed live event on Redis channel %r: %r", self.channel, data[:200])

    async def subscribe(self, user_id: int) -> Subscription:
        """Register a page, making sure this event loop listens to Redis first."""
        subscription = await super().subscribe(user_id)
        loop = asyncio.get_running_loop()
        with self._listeners_lock:
            listener = self._listeners.get(loop)
            if listener is None or listener.task.done():
                listener = self._listeners[loop] = _Listener(self)
        try:
            await asyncio.wait_for(listener.ready.wait(), READY_TIMEOUT)
        except TimeoutError:
            logger.warning("Redis at %s did not answer within %.0f s; the page will resync", self.url, READY_TIMEOUT)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a page; stop listening to Redis in its loop when it was the last one there."""
        super().unsubscribe(subscription)
        loop = subscription.loop
        if self.loop_count(loop) == 0:
            with self._listeners_lock:
                listener = self._listeners.pop(loop, None)
            if listener is not None and not loop.is_closed():
                loop.call_soon_threadsafe(listener.task.cancel)

    def close(self) -> None:
        """Close the connection used for publishing."""
        if self._client is not None:
            self._client.close()
            self._client = None
