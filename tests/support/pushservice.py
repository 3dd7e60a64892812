"""A Web Push service on 127.0.0.1 for tests: checks VAPID, decrypts payloads, answers what it is told.

Each subscriber it hands out has its own key pair and auth secret, like a browser's subscription. For
each POST it checks the ``Authorization: vapid t=<JWT>,k=<key>`` header (ES256 signature with ``k``, ``k``
equal to the site's public key when given, ``aud`` equal to the endpoint's origin, ``exp`` in the future
and at most 24 hours ahead), decrypts the aes128gcm body with the subscriber's private key and auth
secret and records the JSON payload. The answer is 201 unless the subscriber was told otherwise: a
list of statuses to answer in turn (429 and 503 with the subscriber's ``Retry-After``, if any), a
delay before every answer (a slow service), or to hang: never answer until the service stops.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    """One browser's subscription at this push service."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    statuses: deque = field(default_factory=deque)
    delay: float = 0.0
    #: Never answer (until the service stops); set it back to False to answer again.
    hang: bool = False
    #: Answer so slowly that the answer never ends: one byte of a header every 50 ms until the
    #: service stops (no socket timeout fires, only a deadline of the sender's own stops it).
    drip: bool = False
    #: The Retry-After header of a 413, 429 or 503 answer (None: no header).
    retry_after: str | None = None

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    def info(self) -> dict[str, Any]:
        """Return what ``PushSubscription.toJSON()`` would give."""
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}


@dataclass
class Received:
    """One accepted or refused push request."""

    token: str
    status: int
    headers: dict[str, str]
    payload: Any = None
    claims: dict[str, Any] | None = None
    error: str = ""
    #: When it arrived (``time.monotonic()``).
    at: float = field(default_factory=time.monotonic)


class VapidError(Exception):
    pass


def verify_vapid(header: str, origin: str, expected_key: str | None) -> dict[str, Any]:
    """Return the JWT claims of a ``vapid t=...,k=...`` header, or raise VapidError saying why not.

    A sender reuses one token for many pushes, so the signature of a header is checked once; the
    time claims are checked on every push.
    """
    claims = dict(_signed_claims(header, origin, expected_key))
    now = time.time()
    if not now < claims.get("exp", 0) <= now + 86400:
        raise VapidError(f"exp {claims.get('exp')!r} is not within the next 24 hours")
    return claims


@functools.lru_cache(maxsize=64)
def _signed_claims(header: str, origin: str, expected_key: str | None) -> dict[str, Any]:
    """Return the claims of a header whose signature, key, audience and contact are right."""
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidError(f"scheme {scheme!r} is not vapid")
    parts = dict(item.strip().split("=", 1) for item in params.split(",") if "=" in item)
    token, key = parts.get("t"), parts.get("k")
    if not token or not key:
        raise VapidError("t or k missing")
    if expected_key is not None and key != expected_key:
        raise VapidError("k is not the site's public key")
    head, body, signature = token.split(".")
    if json.loads(unb64url(head)) != {"typ": "JWT", "alg": "ES256"}:
        raise VapidError("JWT header is not ES256")
    raw = unb64url(signature)
    if len(raw) != 64:
        raise VapidError("ES256 signature must be 64 bytes")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VapidError("bad signature") from None
    claims = json.loads(unb64url(body))
    if claims.get("aud") != origin:
        raise VapidError(f"aud {claims.get('aud')!r} is not {origin!r}")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise VapidError("sub is not a mailto: or https: contact")
    return claims


REASONS = {201: "Created", 400: "Bad Request", 404: "Not Found", 410: "Gone", 413: "Payload Too Large",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class PushService:
    """Serve push endpoints on 127.0.0.1 from a thread; use as a context manager.

    The server is a small HTTP/1.1 one on an asyncio loop (keep-alive, Content-Length bodies):
    ``http.server`` spent more time parsing a request than checking and decrypting it, which made
    the push service, not the sender, the bottleneck of the benchmark.
    """

    def __init__(self, vapid_public_key: str | None = None) -> None:
        self.vapid_public_key = vapid_public_key
        self.subscribers: dict[str, Subscriber] = {}
        self.received: list[Received] = []
        #: Tokens of the requests that hang, in the order they arrived.
        self.hung: list[str] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.socket = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.origin = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name="push-service", daemon=True)

    def __enter__(self) -> PushService:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task] = set()
        self.writers: set[asyncio.StreamWriter] = set()
        server = self.loop.run_until_complete(asyncio.start_server(self._client, sock=self.socket))
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self._close(server))
            self.loop.close()

    async def _close(self, server: asyncio.Server) -> None:
        """Release the hanging requests, end every connection and stop listening."""
        self.stopping.set()
        server.close()
        for writer in list(self.writers):
            writer.close()  # an idle connection's read ends, and so does its task
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.sleep(0)  # the transports close on the next round of the loop

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the service stops."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            pass

    def subscriber(self, *statuses: int, delay: float = 0.0, hang: bool = False, drip: bool = False,
                   retry_after: str | int | None = None) -> Subscriber:
        """Create a subscriber that answers ``statuses`` in turn (then 201), each after ``delay`` seconds.

        With ``hang`` it answers nothing at all until it is told otherwise or the service stops, with
        ``drip`` it never finishes its answer; ``retry_after`` is the Retry-After header of its 413,
        429 and 503 answers.
        """
        token = secrets.token_urlsafe(12)
        sub = Subscriber(token, f"{self.origin}/push/{token}", ec.generate_private_key(ec.SECP256R1()),
                         os.urandom(16), deque(statuses), delay, hang, drip,
                         None if retry_after is None else str(retry_after))
        with self.lock:
            self.subscribers[token] = sub
        return sub

    def payloads(self, sub: Subscriber | None = None) -> list[Any]:
        """Return the decrypted payloads accepted so far (for one subscriber or all)."""
        with self.lock:
            return [r.payload for r in self.received
                    if r.status == 201 and (sub is None or r.token == sub.token)]

    def order(self) -> list[str]:
        """Return the tokens of the accepted pushes in the order they arrived."""
        with self.lock:
            return [r.token for r in self.received if r.status == 201]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} pushes arrived")
                self.changed.wait(left)
            return list(self.received)

    def wait_hung(self, count: int, timeout: float = 10.0) -> list[str]:
        """Wait until ``count`` requests hang; return their tokens."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.hung) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.hung)} of {count} requests hang")
                self.changed.wait(left)
            return list(self.hung)

    def _record(self, received: Received) -> None:
        with self.changed:
            self.received.append(received)
            self.changed.notify_all()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer the requests of one connection until the client closes it."""
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                path, headers = parse_head(head)
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                status = await self._answer(path, headers, body, writer)
                if status is None:
                    return
                writer.write(self._response(path, status))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.tasks.discard(task)
            self.writers.discard(writer)

    def _response(self, path: str, status: int) -> bytes:
        extra = ""
        retry_after = self.retry_after(path)
        if status in (413, 429, 503) and retry_after is not None:
            extra = f"Retry-After: {retry_after}\r\n"
        return f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Length: 0\r\n{extra}\r\n".encode()

    async def _hang(self, token: str, writer: asyncio.StreamWriter) -> None:
        """Hold the request until the service stops, dripping an endless answer if told to."""
        with self.changed:
            self.hung.append(token)
            self.changed.notify_all()
        if not self.subscribers[token].drip:
            await self.stopping.wait()
            return
        writer.write(b"HTTP/1.1 201 Created\r\nX-Drip: ")
        while not self.stopping.is_set():
            await self._pause(0.05)
            writer.write(b".")
            await writer.drain()

    async def _answer(self, path: str, headers: dict[str, str], body: bytes,
                      writer: asyncio.StreamWriter) -> int | None:
        """Check and record one push; return the status to answer, or None to answer nothing."""
        token = path.removeprefix("/push/")
        with self.lock:
            sub = self.subscribers.get(token)
        if sub is None:
            self._record(Received(token, 404, headers, error="unknown subscriber"))
            return 404
        if sub.hang or sub.drip:
            await self._hang(token, writer)
            return None
        with self.lock:
            status = sub.statuses.popleft() if sub.statuses else 201
        if sub.delay:
            await self._pause(sub.delay)
        try:
            claims = verify_vapid(headers.get("authorization", ""), self.origin, self.vapid_public_key)
            if headers.get("content-encoding") != "aes128gcm":
                raise VapidError("content-encoding is not aes128gcm")
            if "ttl" not in headers:
                raise VapidError("TTL header missing")
            if len(body) > 4096:
                status = 413
            plain = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
        except Exception as exc:  # a refused request is recorded with the reason
            self._record(Received(token, 400, headers, error=f"{type(exc).__name__}: {exc}"))
            return 400
        self._record(Received(token, status, headers, json.loads(plain), claims))
        return status

    def retry_after(self, path: str) -> str | None:
        """Return the Retry-After header that the subscriber of ``path`` answers with."""
        sub = self.subscribers.get(path.removeprefix("/push/"))
        return sub.retry_after if sub else None


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """Return the path and the headers (names in lower case) of a request's head."""
    request_line, *lines = head.decode("latin-1").split("\r\n")
    _method, path, _version = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return path, headers


def hanging_indices(count: int, hanging: int) -> set[int]:
    """Return which of ``count`` subscribers hang when ``hanging`` of them do: spread evenly, none first."""
    return {(2 * i + 1) * count // (2 * hanging) for i in range(hanging)} if hanging else set()


def serve_in_subprocess(vapid_public_key: str | None, count: int, hanging: int = 0):
    """Start a push service with ``count`` subscribers in another process; return (process, infos, origin).

    The subscribers at :func:`hanging_indices` never answer. Close the process's stdin to stop it; it
    then prints the count of each status it answered, and the time (``time.time()``) of its last 201.
    """
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.pushservice", str(count), vapid_public_key or "", str(hanging)],
        stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    origin = process.stdout.readline().strip()
    infos = [json.loads(process.stdout.readline()) for _ in range(count)]
    return process, infos, origin


def _main(argv: list[str]) -> None:
    import sys

    count, key, hanging = int(argv[0]), argv[1] or None, int(argv[2]) if len(argv) > 2 else 0
    stuck = hanging_indices(count, hanging)
    with PushService(key) as service:
        print(service.origin, flush=True)
        for i in range(count):
            print(json.dumps(service.subscriber(hang=i in stuck).info()))
        sys.stdout.flush()
        sys.stdin.read()  # serve until the parent closes stdin
        statuses: dict[int, int] = {}
        for received in service.received:
            statuses[received.status] = statuses.get(received.status, 0) + 1
        accepted = [r.at for r in service.received if r.status == 201]
        last = time.time() - (time.monotonic() - max(accepted)) if accepted else None
        print(json.dumps(statuses), flush=True)
        print(json.dumps({"last_accepted": last}), flush=True)
        print(json.dumps({"cpu": time.process_time()}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])


def browser_keys() -> dict[str, str]:
    """Return the ``keys`` of a browser's subscription: a fresh P-256 public key and an auth secret."""
    import base64
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"p256dh": b64(point), "auth": b64(os.urandom(16))}
