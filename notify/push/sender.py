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
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
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
    """One push on its way through the crew of threads."""

    __slots__ = ("push", "started", "settled")

    def __init__(self, push: Push) -> None:
        self.push = push
        self.started = 0.0
        self.settled = False


class _Crew:
    """Threads that take jobs from a queue; one that misses its deadline is replaced, not waited for."""

    def __init__(self, sender: PushSender, size: int) -> None:
        self.sender = sender
        self.size = size
        self.todo: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[tuple[_Job, Outcome]] = queue.SimpleQueue()
        self.running: deque[_Job] = deque()
        self.lock = threading.Lock()
        for _ in range(size):
            self.hire()

    def hire(self) -> None:
        """Start one more thread (a daemon: one stuck in a request never keeps the process alive)."""
        threading.Thread(target=self._work, name="notify-push", daemon=True).start()

    def _work(self) -> None:
        while (job := self.todo.get()) is not None:
            with self.lock:
                job.started = time.monotonic()
                self.running.append(job)
            outcome = self.sender.attempt(job.push)
            with self.lock:
                late = job.settled
                job.settled = True
            if late:
                return
            self.done.put((job, outcome))

    def expire(self, deadline: float) -> list[_Job]:
        """Settle the jobs that started before ``deadline`` and are still running; hire their replacements."""
        late = []
        with self.lock:
            while self.running and (self.running[0].settled or self.running[0].started <= deadline):
                job = self.running.popleft()
                if not job.settled:
                    job.settled = True
                    late.append(job)
        for _job in late:
            self.hire()
        return late

    def next_deadline(self, timeout: float) -> float | None:
        """Return when the oldest running job runs out of time, or None when none runs."""
        with self.lock:
            while self.running and self.running[0].settled:
                self.running.popleft()
            return self.running[0].started + timeout if self.running else None

    def dismiss(self) -> None:
        """Let every thread that waits for work end."""
        for _ in range(self.size):
            self.todo.put(None)



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
        self._pool = guarded_pool_manager(self.allow_private, maxsize=self.workers)
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
            response = self._pool.request("POST", push.endpoint, body=body, headers=headers, retries=False,
                                          redirect=False, timeout=urllib3.Timeout(total=self.timeout))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            state, _wait = verdict(None, network=REFUSED_MARK not in message)
            return Outcome(push, state, None, message)
        except Exception as exc:  # a malformed stored key must not stop the other pushes
            logger.exception("push to %s could not be prepared", push.endpoint[:60])
            return Outcome(push, "failed", None, f"{type(exc).__name__}: {exc}")
        return self._answer(push, response.status, response.headers.get("Retry-After"))

    def _answer(self, push: Push, status: int, retry_after: str | None) -> Outcome:
        if 300 <= status < 400:
            return Outcome(push, "failed", status, "the push service redirected")
        if 200 <= status <= 202:
            return Outcome(push, "sent", status)
        state, wait = verdict(status, retry_after=parse_retry_after(retry_after))
        return Outcome(push, state, status, f"HTTP {status}", wait)

    def _late(self, push: Push) -> Outcome:
        return Outcome(push, "retry", None, f"no answer within {self.timeout:g} s")

    def send(self, pushes: Iterable[Push]) -> list[Outcome]:
        """Make one attempt at every push, ``workers`` in flight, and return the outcomes as they come."""
        jobs = [_Job(push) for push in pushes]
        if not jobs:
            return []
        crew = _Crew(self, min(self.workers, len(jobs)))
        for job in jobs:
            crew.todo.put(job)
        outcomes: list[Outcome] = []
        try:
            while len(outcomes) < len(jobs):
                outcomes += self._collect(crew)
        finally:
            crew.dismiss()
        return outcomes

    def _collect(self, crew: _Crew) -> list[Outcome]:
        """Wait for the next outcome or deadline; return what is settled by then."""
        deadline = crew.next_deadline(self.timeout)
        wait = self.timeout if deadline is None else max(0.0, deadline - time.monotonic())
        settled = []
        try:
            settled.append(crew.done.get(timeout=wait)[1])
            while True:
                settled.append(crew.done.get_nowait()[1])
        except queue.Empty:
            pass
        for job in crew.expire(time.monotonic() - self.timeout):
            logger.warning("push to %s got no answer within %g s", job.push.endpoint[:60], self.timeout)
            settled.append(self._late(job.push))
        return settled
