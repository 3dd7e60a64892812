"""Brokers hand live events from the code that emits messages to the streams of open pages."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import Any

from django.utils.module_loading import import_string

from ..conf import notify_settings
from ..exceptions import ImproperlyConfigured

Event = dict[str, Any]


class Subscription:
    """Receive the events of one user (and the broadcasts) in one event loop: one open page."""

    def __init__(self, user_id: int, maxsize: int = 200) -> None:
        self.user_id = user_id
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        #: Set when events were dropped because the page did not read them fast enough.
        self.overflowed = False

    def _put(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    def deliver(self, event: Event) -> None:
        """Queue ``event`` for this page; safe to call from any thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._put(event)
            return
        try:
            self.loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:  # the loop is closed: the page is gone
            pass

    async def get(self, timeout: float) -> Event | None:
        """Return the next event, or None when ``timeout`` seconds pass without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class Broker:
    """Publish events to users and let streams subscribe to them."""

    def wants(self, user_id: int | None) -> bool:
        """Tell whether an event for ``user_id`` (None: everybody) may reach somebody."""
        raise NotImplementedError

    def publish(self, user_id: int | None, event: Event) -> None:
        """Send ``event`` to every open page of ``user_id`` (None: of every user)."""
        self.publish_many([(user_id, event)])

    def publish_many(self, items: Iterable[tuple[int | None, Event]]) -> None:
        """Send several ``(user_id, event)`` pairs at once."""
        raise NotImplementedError

    async def subscribe(self, user_id: int) -> Subscription:
        """Start receiving the events of ``user_id`` in the running event loop."""
        raise NotImplementedError

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription``."""
        raise NotImplementedError

    def connection_count(self) -> int:
        """Return how many pages of this process are subscribed."""
        raise NotImplementedError


class LocalBroker(Broker):
    """Deliver within this process: needs no extra server, but reaches only this process's pages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: dict[int, set[Subscription]] = {}

    def wants(self, user_id: int | None) -> bool:
        """Tell whether an event for ``user_id`` has a subscriber in this process."""
        return bool(self._by_user) if user_id is None else bool(self._by_user.get(user_id))

    def publish_many(self, items: Iterable[tuple[int | None, Event]]) -> None:
        """Deliver the events to the subscribers of this process."""
        for user_id, event in items:
            self.deliver(user_id, event)

    def deliver(self, user_id: int | None, event: Event) -> None:
        """Hand ``event`` to this process's pages of ``user_id`` (None: to all pages)."""
        with self._lock:
            if user_id is None:
                targets = [sub for subs in self._by_user.values() for sub in subs]
            else:
                targets = list(self._by_user.get(user_id, ()))
        for sub in targets:
            sub.deliver(event)

    async def subscribe(self, user_id: int) -> Subscription:
        """Register a page of ``user_id``."""
        sub = Subscription(user_id)
        with self._lock:
            self._by_user.setdefault(user_id, set()).add(sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a page."""
        with self._lock:
            subs = self._by_user.get(subscription.user_id)
            if subs is not None:
                subs.discard(subscription)
                if not subs:
                    del self._by_user[subscription.user_id]

    def connection_count(self) -> int:
        """Return how many pages of this process are subscribed."""
        with self._lock:
            return sum(len(subs) for subs in self._by_user.values())

    def loop_count(self, loop: asyncio.AbstractEventLoop) -> int:
        """Return how many pages are subscribed in ``loop``."""
        with self._lock:
            return sum(1 for subs in self._by_user.values() for sub in subs if sub.loop is loop)


_broker: Broker | None = None
_broker_lock = threading.Lock()


#: The broker of ``live_redis_url`` (a dotted path, like ``live_broker``).
REDIS_BROKER = "notify.live.redis.RedisBroker"


def _build() -> Broker:
    path = notify_settings.live_broker or (REDIS_BROKER if notify_settings.live_redis_url else None)
    if not path:
        return LocalBroker()
    try:
        return import_string(path)()
    except ImportError as exc:
        raise ImproperlyConfigured(f"NOTIFY['live_broker'] = {path!r} cannot be imported: {exc}") from exc


def get_broker() -> Broker:
    """Return this process's broker, built from the ``NOTIFY`` settings on first use."""
    global _broker
    if _broker is None:
        with _broker_lock:
            if _broker is None:
                _broker = _build()
    return _broker


def reset_broker() -> None:
    """Forget the broker so that the next :func:`get_broker` builds one from the current settings."""
    global _broker
    with _broker_lock:
        old, _broker = _broker, None
    close = getattr(old, "close", None)
    if close is not None:
        close()


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Build the broker anew when a test changes ``NOTIFY`` (connected by the app's ``ready()``)."""
    if setting == "NOTIFY":
        reset_broker()
