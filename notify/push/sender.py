"""Send many pushes at once, one attempt each, with a hard deadline per push: no endpoint holds up the rest.

pywebpush encrypts each payload (its public ``WebPusher.encode``); the request
itself goes through urllib3 directly, because ``requests`` spent two thirds
of the sender's CPU time per push on preparing and merging settings.

:meth:`PushSender.send` makes exactly one attempt per push and reports what became
of it; it never waits to try again (the outbox, :mod:`notify.push.jobs`, stores a
retry with the time it is due). Every push has ``push_timeout`` seconds in all: a
push still running after that counts as a failed attempt worth a retry, its thread
is left to finish on its own (what it gets is ignored) and a fresh thread takes its
place, so hanging or slow push services hold up nothing but their own pushes.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import urllib3
from pywebpush import WebPusher

from ..conf import notify_settings
from .endpoints import REFUSED_MARK, check_endpoint, guarded_pool_manager
from .keys import vapid_signer

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


class _Job:
    """One push on its way through the threads of a flight."""

    __slots__ = ("push", "started", "settled")

    def __init__(self, push: Push) -> None:
        self.push = push
        self.started = 0.0
        self.settled = False


class Flight:
    """Pushes on their way: submit more at any time, collect the outcomes as they come.

    Up to ``workers`` threads take the pushes in the order they were submitted and make one
    attempt each. A push still running ``timeout`` seconds after it started is settled as a
    retry; its thread is left to finish on its own (its outcome is dropped) and a new thread
    takes its place. Use it as a context manager; :meth:`PushSender.flight` makes one.
    """

    def __init__(self, sender: PushSender) -> None:
        self.sender = sender
        self.timeout = sender.timeout
        self._todo: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._running: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._threads = 0
        #: Pushes submitted and not settled yet.
        self.outstanding = 0

    def __enter__(self) -> Flight:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, pushes: Iterable[Push]) -> None:
        """Queue pushes behind those already submitted."""
        for push in pushes:
            self._todo.put(_Job(push))
            self.outstanding += 1
        while self._threads < min(self.sender.workers, self.outstanding):
            self._hire()

    def waiting(self) -> int:
        """Return how many submitted pushes no thread has started yet."""
        return self._todo.qsize()

    def collect(self, timeout: float | None = None) -> list[Outcome]:
        """Wait up to ``timeout`` seconds (None: as long as it takes) for outcomes; return those settled."""
        if not self.outstanding:
            return []
        # With nothing running yet, a push about to start may hang: look again within its timeout.
        wait = self._until_deadline()
        wait = self.timeout if wait is None else wait
        if timeout is not None:
            wait = min(wait, timeout)
        settled = []
        try:
            settled.append(self._done.get(timeout=wait))
            while True:
                settled.append(self._done.get_nowait())
        except queue.Empty:
            pass
        settled += [self.sender.late(job.push) for job in self._expire()]
        self.outstanding -= len(settled)
        return settled

    def cancel(self) -> list[Push]:
        """Take back the pushes that no thread has started; return them."""
        taken = []
        try:
            while True:
                job = self._todo.get_nowait()
                if job is not None:
                    taken.append(job.push)
        except queue.Empty:
            pass
        self.outstanding -= len(taken)
        return taken

    def close(self) -> None:
        """Let the threads end once they are idle (those still in a request end when it does)."""
        self.cancel()
        for _ in range(self._threads):
            self._todo.put(None)
        self._threads = 0

    def _hire(self) -> None:
        """Start one more thread (a daemon: one stuck in a request never keeps the process alive)."""
        self._threads += 1
        threading.Thread(target=self._work, name="notify-push", daemon=True).start()

    def _work(self) -> None:
        while (job := self._todo.get()) is not None:
            with self._lock:
                job.started = time.monotonic()
                self._running.append(job)
            outcome = self.sender.attempt(job.push)
            with self._lock:
                late, job.settled = job.settled, True
            if late:
                return
            self._done.put(outcome)

    def _until_deadline(self) -> float | None:
        """Return the seconds until the oldest running push runs out of time (None: none runs)."""
        with self._lock:
            while self._running and self._running[0].settled:
                self._running.popleft()
            if not self._running:
                return None
            return max(0.0, self._running[0].started + self.timeout - time.monotonic())

    def _expire(self) -> list[_Job]:
        """Settle the pushes that ran out of time and put a new thread in the place of each."""
        cutoff = time.monotonic() - self.timeout
        late = []
        with self._lock:
            while self._running and (self._running[0].settled or self._running[0].started <= cutoff):
                job = self._running.popleft()
                if not job.settled:
                    job.settled = True
                    late.append(job)
        for job in late:
            logger.warning("push to %s got no answer within %g s", job.push.endpoint[:60], self.timeout)
            self._threads -= 1
            self._hire()
        return late


class _OneWrite:
    """Mix into an HTTP connection: send a request's head and the start of its body in one write.

    http.client writes the head and the body separately: two system calls, and on loopback or in
    a VM two wake-ups of the peer, which cost more than encrypting the push.
    """

    _holding = False
    _held: bytes | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        """Send the request as the connection class does, the head held back until the body comes."""
        self._holding, self._held = True, None
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
        finally:
            held, self._holding, self._held = self._held, False, None
        if held is not None:
            super().send(held)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        """Hold the head back, then send it with the first part of the body."""
        if self._holding:
            if self._held is None:
                self._held = bytes(data)
                return
            data, self._held, self._holding = self._held + bytes(data), None, False
        super().send(data)  # type: ignore[misc]


@functools.lru_cache(maxsize=4)
def _one_write_pool(pool_class: type) -> type:
    """Return a subclass of a (guarded) pool class whose connections send each request in one write."""
    connection = type(f"OneWrite{pool_class.ConnectionCls.__name__}", (_OneWrite, pool_class.ConnectionCls), {})
    return type(f"OneWrite{pool_class.__name__}", (pool_class,), {"ConnectionCls": connection})


def pool_manager(allow_private: bool, maxsize: int) -> urllib3.PoolManager:
    """Return the guarded pool manager of :mod:`~notify.push.endpoints`, its connections writing once per push."""
    manager = guarded_pool_manager(allow_private, maxsize=maxsize)
    manager.pool_classes_by_scheme = {scheme: _one_write_pool(cls)
                                      for scheme, cls in manager.pool_classes_by_scheme.items()}
    return manager


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
        self._pool = pool_manager(self.allow_private, maxsize=self.workers)
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

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()

    def attempt(self, push: Push) -> Outcome:
        """Send one push once and say what became of it; never raise."""
        try:
            check_endpoint(push.endpoint, self.allow_private)
        except ValueError as exc:
            return Outcome(push, "failed", None, str(exc))
        info = {"endpoint": push.endpoint, "keys": {"p256dh": push.p256dh, "auth": push.auth}}
        try:
            body = WebPusher(info).encode(push.data, content_encoding="aes128gcm")["body"]
            headers = {**push.headers, **self.vapid_headers(push.endpoint), "TTL": str(self.ttl),
                       "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream"}
            response = self._post(push.endpoint, body, headers)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            state, _wait = verdict(None, network=REFUSED_MARK not in message)
            return Outcome(push, state, None, message)
        except Exception as exc:  # a malformed stored key must not stop the other pushes
            logger.exception("push to %s could not be prepared", push.endpoint[:60])
            return Outcome(push, "failed", None, f"{type(exc).__name__}: {exc}")
        return self._answer(push, response.status, response.headers.get("Retry-After"))

    def _post(self, endpoint: str, body: bytes, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """POST once through the guarded pool of the endpoint's origin.

        The pool manager's own ``request`` would parse the URL twice and handle redirects, which a
        push never follows.
        """
        url = urllib3.util.parse_url(endpoint)
        pool = self._pool.connection_from_host(url.host, url.port, url.scheme)
        return pool.urlopen("POST", url.request_uri, body=body, headers=headers, retries=False, redirect=False,
                            timeout=urllib3.Timeout(total=self.timeout))

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
