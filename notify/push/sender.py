"""Send many pushes at once: bounded retries, timeouts, reused connections, no endpoint holds up the rest.

pywebpush encrypts each payload (its public ``WebPusher.encode``); the request
itself goes through urllib3 directly, because ``requests`` spent two thirds
of the sender's CPU time per push on preparing and merging settings.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import urllib3
from pywebpush import WebPusher

from ..conf import notify_settings
from .endpoints import REFUSED_MARK, check_endpoint, guarded_pool_manager
from .keys import vapid_signer

logger = logging.getLogger(__name__)

#: Statuses after which a push is tried again later.
RETRY_STATUSES = frozenset({413, 429})
#: Statuses that mean the subscription is gone for good.
GONE_STATUSES = frozenset({404, 410})
#: Longest wait before a retry, whatever a Retry-After header asks for.
MAX_RETRY_WAIT = 60.0
#: How long a signed VAPID token is valid (RFC 8292 allows up to 24 hours) and reused for one push service.
TOKEN_LIFETIME = 12 * 3600
#: A cached token is signed again when it has less than this many seconds left.
TOKEN_MARGIN = 3600


@dataclass
class Push:
    """One push to send: a subscription, the payload (plain bytes) and extra headers."""

    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one push."""

    push: Push
    #: "sent", "gone" (404/410: delete the subscription) or "failed" (after all attempts or not retryable).
    state: str
    status: int | None
    attempts: int
    error: str = ""


@dataclass
class _Attempt:
    status: int | None
    error: str = ""
    retry_after: float | None = None
    #: True for network trouble worth another attempt (refused connection, timeout).
    network: bool = False


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class PushSender:
    """Send pushes signed with the site's VAPID key; settings give the defaults of every option."""

    def __init__(self, *, private_key: str | None = None, admin: str | None = None, ttl: int | None = None,
                 timeout: float | None = None, max_attempts: int | None = None,
                 retry_delay: float | None = None, workers: int | None = None,
                 allow_private: bool | None = None) -> None:
        s = notify_settings
        self.signer = vapid_signer(private_key or s.vapid_private_key)
        self.admin = admin or s.vapid_admin_email
        self.ttl = int(s.push_ttl if ttl is None else ttl)
        self.timeout = float(s.push_timeout if timeout is None else timeout)
        self.max_attempts = max(1, int(s.push_max_attempts if max_attempts is None else max_attempts))
        self.retry_delay = float(s.push_retry_delay if retry_delay is None else retry_delay)
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

    def attempt(self, push: Push) -> _Attempt:
        """Send one push once and report the status; never raise for network trouble."""
        try:
            check_endpoint(push.endpoint, self.allow_private)
        except ValueError as exc:
            return _Attempt(None, str(exc))
        info = {"endpoint": push.endpoint, "keys": {"p256dh": push.p256dh, "auth": push.auth}}
        try:
            body = WebPusher(info).encode(push.data, content_encoding="aes128gcm")["body"]
            headers = {**push.headers, **self.vapid_headers(push.endpoint), "TTL": str(self.ttl),
                       "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream"}
            response = self._pool.request("POST", push.endpoint, body=body, headers=headers, retries=False,
                                          redirect=False, timeout=urllib3.Timeout(total=self.timeout))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            return _Attempt(None, message, network=REFUSED_MARK not in message)
        except Exception as exc:  # a malformed stored key must not stop the other pushes
            logger.exception("push to %s could not be prepared", push.endpoint[:60])
            return _Attempt(None, f"{type(exc).__name__}: {exc}")
        status = response.status
        if 300 <= status < 400:
            return _Attempt(status, "the push service redirected")
        if status > 202:
            return _Attempt(status, f"HTTP {status}", _retry_after(response))
        return _Attempt(status)

    def _verdict(self, result: _Attempt, attempts: int) -> tuple[str, float | None]:
        status = result.status
        if status is not None and 200 <= status < 300:
            return "sent", None
        if status in GONE_STATUSES:
            return "gone", None
        retryable = status in RETRY_STATUSES or (status or 0) >= 500 or (status is None and result.network)
        if not retryable or attempts >= self.max_attempts:
            return "failed", None
        delay = self.retry_delay * 2 ** (attempts - 1)
        if result.retry_after is not None:
            delay = max(delay, result.retry_after)
        return "retry", min(delay, MAX_RETRY_WAIT)

    def send(self, pushes: Iterable[Push]) -> list[Outcome]:
        """Send every push, several in flight, retrying later without blocking the others."""
        ready = list(pushes)[::-1]
        attempts: dict[int, int] = {}
        later: list[tuple[float, int, Push]] = []
        outcomes: list[Outcome] = []
        order = itertools.count()
        running: dict[Future, Push] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="notify-push") as pool:
            while ready or later or running:
                now = time.monotonic()
                while later and later[0][0] <= now:
                    ready.append(heapq.heappop(later)[2])
                while ready and len(running) < self.workers * 2:
                    push = ready.pop()
                    attempts[id(push)] = attempts.get(id(push), 0) + 1
                    running[pool.submit(self.attempt, push)] = push
                pause = max(0.0, later[0][0] - time.monotonic()) if later else None
                if not running:
                    time.sleep(pause or 0)
                    continue
                done, _pending = wait(running, timeout=pause, return_when=FIRST_COMPLETED)
                for future in done:
                    push = running.pop(future)
                    result = future.result()
                    state, delay = self._verdict(result, attempts[id(push)])
                    if state == "retry":
                        heapq.heappush(later, (time.monotonic() + delay, next(order), push))
                        continue
                    if state == "failed":
                        logger.warning("push to %s failed after %d attempt(s): %s", push.endpoint[:60],
                                       attempts[id(push)], result.error)
                    outcomes.append(Outcome(push, state, result.status, attempts[id(push)], result.error))
        return outcomes
