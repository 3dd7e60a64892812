"""Send many pushes at once, one attempt each, with a hard deadline per push: no endpoint holds up the rest.

pywebpush encrypts each payload (its public ``WebPusher.encode``); the request
goes out from an asyncio event loop (:mod:`~notify.push.transport`), where a
push waiting for its answer costs no thread: threads and ``requests`` or
urllib3 spent more CPU per push than the encryption.

:meth:`PushSender.send` makes exactly one attempt per push and reports what became
of it; it never waits to try again (the outbox, :mod:`notify.push.jobs`, stores a
retry with the time it is due). Every push has ``push_timeout`` seconds in all: a
push still running after that is cancelled and counts as a failed attempt worth a
retry, so hanging or slow push services hold up nothing but their own pushes.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pywebpush import WebPusher

from ..conf import notify_settings
from .endpoints import REFUSED_MARK, check_endpoint
from .keys import vapid_signer
from .transport import Connections

logger = logging.getLogger(__name__)

#: Statuses after which a push is worth another attempt later.
RETRY_STATUSES = frozenset({413, 429})
#: Statuses that mean the subscription is gone for good.
GONE_STATUSES = frozenset({404, 410})
#: How long a signed VAPID token is valid (RFC 8292 allows up to 24 hours) and reused for one push service.
TOKEN_LIFETIME = 12 * 3600
#: A cached token is signed again when it has less than this many seconds left.
TOKEN_MARGIN = 3600


@dataclass
class Push:
    """One push to send: a subscription, the payload (plain bytes), extra headers and the delivery it makes."""

    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delivery_id: int | None = None


@dataclass
class Outcome:
    """What became of the one attempt at one push."""

    push: Push
    #: "sent"; "gone" (404/410: delete the subscription); "retry" (413, 429, 5xx, network trouble or no
    #: answer in time: worth another attempt later); "failed" (no use trying again).
    state: str
    status: int | None
    error: str = ""
    #: Seconds the push service asked to wait before the next attempt (its ``Retry-After``), if it did.
    retry_after: float | None = None


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds that a ``Retry-After`` header asks for (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def verdict(status: int | None, *, network: bool = False,
            retry_after: float | None = None) -> tuple[str, float | None]:
    """Return the state of an attempt that got ``status`` (None: no answer) and the wait it asked for."""
    if status is not None and 200 <= status < 300:
        return "sent", None
    if status in GONE_STATUSES:
        return "gone", None
    if status in RETRY_STATUSES or (status or 0) >= 500 or (status is None and network):
        return "retry", retry_after
    return "failed", None


class Flight:
    """Pushes on their way: submit more at any time, collect the outcomes as they come.

    An event loop in a thread of its own makes up to ``workers`` attempts at a time, in the order
    the pushes were submitted, each under its deadline of ``timeout`` seconds: a push that gets
    no answer in time is settled as a retry and takes nothing else with it. Use it as a context
    manager; :meth:`PushSender.flight` makes one.
    """

    def __init__(self, sender: PushSender) -> None:
        self.sender = sender
        self.timeout = sender.timeout
        self._todo: deque[Push] = deque()
        self._lock = threading.Lock()
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._active = 0
        self._connections = Connections(sender.allow_private)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="notify-push", daemon=True)
        self._thread.start()
        #: Pushes submitted and not settled yet.
        self.outstanding = 0

    def __enter__(self) -> Flight:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, pushes: Iterable[Push]) -> None:
        """Queue pushes behind those already submitted."""
        pushes = list(pushes)
        with self._lock:
            self._todo.extend(pushes)
        self.outstanding += len(pushes)
        self._loop.call_soon_threadsafe(self._start)

    def waiting(self) -> int:
        """Return how many submitted pushes have not started yet."""
        with self._lock:
            return len(self._todo)

    def collect(self, timeout: float | None = None) -> list[Outcome]:
        """Wait up to ``timeout`` seconds (None: until one comes) for outcomes; return those settled."""
        if not self.outstanding:
            return []
        settled = []
        try:
            settled.append(self._done.get(timeout=timeout))
            while True:
                settled.append(self._done.get_nowait())
        except queue.Empty:
            pass
        self.outstanding -= len(settled)
        return settled

    def cancel(self) -> list[Push]:
        """Take back the pushes that have not started; return them."""
        with self._lock:
            taken = list(self._todo)
            self._todo.clear()
        self.outstanding -= len(taken)
        return taken

    def close(self) -> None:
        """Drop what has not started, end the attempts still under way and stop the loop."""
        self.cancel()
        if self._loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result(5)
        except Exception:
            logger.warning("The push loop did not stop cleanly.", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    async def _shut(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._connections.close()

    def _start(self) -> None:
        """Start attempts while there are free places and waiting pushes (in the loop's thread)."""
        while self._active < self.sender.workers:
            with self._lock:
                if not self._todo:
                    return
                push = self._todo.popleft()
            self._active += 1
            self._loop.create_task(self._attempt(push))

    async def _attempt(self, push: Push) -> None:
        try:
            outcome = await asyncio.wait_for(self.sender.attempt_async(push, self._connections), self.timeout)
        except TimeoutError:
            logger.warning("push to %s got no answer within %g s", push.endpoint[:60], self.timeout)
            outcome = self.sender.late(push)
        finally:
            self._active -= 1
        self._done.put(outcome)
        self._start()


class PushSender:
    """Send pushes signed with the site's VAPID key; settings give the defaults of every option."""

    def __init__(self, *, private_key: str | None = None, admin: str | None = None, ttl: int | None = None,
                 timeout: float | None = None, workers: int | None = None,
                 allow_private: bool | None = None) -> None:
        s = notify_settings
        self.signer = vapid_signer(private_key or s.vapid_private_key)
        self.admin = admin or s.vapid_admin_email
        self.ttl = int(s.push_ttl if ttl is None else ttl)
        self.timeout = float(s.push_timeout if timeout is None else timeout)
        self.workers = max(1, int(s.push_workers if workers is None else workers))
        self.allow_private = bool(s.push_allow_private_endpoints if allow_private is None else allow_private)
        self._tokens: dict[str, tuple[float, dict[str, str]]] = {}
        self._tokens_lock = threading.Lock()

    def vapid_headers(self, endpoint: str) -> dict[str, str]:
        """Return the VAPID ``Authorization`` header for the push service of ``endpoint``.

        One token is signed per push service (its ``aud`` is the service's origin)
        and reused until it nears its expiry: signing costs more than encrypting.
        Each signature gets a claims dict of its own.
        """
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        with self._tokens_lock:
            cached = self._tokens.get(audience)
            if cached is None or cached[0] - now < TOKEN_MARGIN:
                expires = int(now) + TOKEN_LIFETIME
                headers = self.signer.sign({"sub": self.admin, "aud": audience, "exp": expires})
                cached = self._tokens[audience] = (expires, dict(headers))
        return dict(cached[1])

    def attempt(self, push: Push) -> Outcome:
        """Send one push once and say what became of it; never raise."""
        return self.send([push])[0]

    async def attempt_async(self, push: Push, connections: Connections) -> Outcome:
        """Send one push once over ``connections`` and say what became of it; never raise."""
        try:
            check_endpoint(push.endpoint, self.allow_private)
        except ValueError as exc:
            return Outcome(push, "failed", None, str(exc))
        info = {"endpoint": push.endpoint, "keys": {"p256dh": push.p256dh, "auth": push.auth}}
        try:
            body = WebPusher(info).encode(push.data, content_encoding="aes128gcm")["body"]
            headers = {**push.headers, **self.vapid_headers(push.endpoint), "TTL": str(self.ttl),
                       "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream"}
        except Exception as exc:  # a malformed stored key must not stop the other pushes
            logger.exception("push to %s could not be prepared", push.endpoint[:60])
            return Outcome(push, "failed", None, f"{type(exc).__name__}: {exc}")
        try:
            answer = await connections.post(push.endpoint, body, headers)
        except OSError as exc:  # refused address, no connection, TLS failure, broken answer
            message = f"{type(exc).__name__}: {exc}"
            state, _wait = verdict(None, network=REFUSED_MARK not in message)
            return Outcome(push, state, None, message)
        return self._answer(push, answer.status, answer.retry_after)

    def _answer(self, push: Push, status: int, retry_after: str | None) -> Outcome:
        """Return the outcome of an attempt that the push service answered with ``status``."""
        if 300 <= status < 400:
            return Outcome(push, "failed", status, "the push service redirected")
        state, wait = verdict(status, retry_after=parse_retry_after(retry_after))
        return Outcome(push, state, status, "" if state == "sent" else f"HTTP {status}", wait)

    def late(self, push: Push) -> Outcome:
        """Return the outcome of a push that got no answer in time: worth a retry."""
        return Outcome(push, "retry", None, f"no answer within {self.timeout:g} s")

    def flight(self) -> Flight:
        """Return a :class:`Flight` to stream pushes through, ``workers`` at a time."""
        return Flight(self)

    def send(self, pushes: Iterable[Push]) -> list[Outcome]:
        """Make one attempt at every push, ``workers`` in flight, and return the outcomes as they come."""
        outcomes: list[Outcome] = []
        with self.flight() as flight:
            flight.submit(pushes)
            while flight.outstanding:
                outcomes += flight.collect()
        return outcomes
