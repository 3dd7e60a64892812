"""POST pushes over HTTP/1.1 from an asyncio event loop: keep-alive connections, checked addresses.

A push is one small POST whose answer has no body worth reading, so the client is small: it keeps
idle connections per origin, writes a request in one go and reads the status line, the headers
and whatever body the answer announces. Before it connects it resolves the host and takes the
first address that :func:`~notify.push.endpoints.is_public_address` accepts (any address with
``allow_private``); it then connects to that very address, so the name is never resolved twice
and a name that points at a private address is refused before a byte is sent.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

from .endpoints import REFUSED_MARK, RefusedAddress, is_public_address

#: The longest answer head or body the client reads; a push service's answers are tiny.
MAX_ANSWER = 64 * 1024

Origin = tuple[str, str, int]
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class ProtocolError(OSError):
    """Raised when a push service's answer is not HTTP/1.1 as a client can read it."""


@dataclass
class Answer:
    """The part of a push service's answer that matters: the status and the ``Retry-After`` header."""

    status: int
    retry_after: str | None = None


def _origin(url: str) -> tuple[Origin, str, str]:
    """Return the origin of ``url``, its request target and its Host header."""
    parts = urlsplit(url)
    scheme, host = parts.scheme, parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return (scheme, host, port), target, parts.netloc.rpartition("@")[2]


class Connections:
    """Open, reuse and close the connections to push services (use them from one event loop only)."""

    def __init__(self, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._idle: dict[Origin, list[Stream]] = defaultdict(list)
        self._tls: ssl.SSLContext | None = None

    async def address(self, host: str, port: int) -> str:
        """Resolve ``host`` and return the first address that the server may connect to."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if self.allow_private or is_public_address(address):
                return address
        raise RefusedAddress(f"{REFUSED_MARK} {addresses[0] if addresses else host}")

    async def open(self, origin: Origin) -> Stream:
        """Connect to a checked address of ``origin`` (TLS for https, verified against the host name)."""
        scheme, host, port = origin
        address = await self.address(host, port)
        if scheme != "https":
            return await asyncio.open_connection(address, port)
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return await asyncio.open_connection(address, port, ssl=self._tls, server_hostname=host)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST ``body`` to ``url`` once and return the answer (a stale idle connection is replaced once)."""
        origin, target, host = _origin(url)
        head = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        while self._idle[origin]:
            stream = self._idle[origin].pop()
            answer = await self._exchange(origin, stream, request, reused=True)
            if answer is not None:
                return answer
        answer = await self._exchange(origin, await self.open(origin), request, reused=False)
        if answer is None:
            raise ProtocolError("the push service closed the connection without an answer")
        return answer

    async def _exchange(self, origin: Origin, stream: Stream, request: bytes, reused: bool) -> Answer | None:
        """Send the request on ``stream`` and read the answer; None when a reused connection was closed."""
        reader, writer = stream
        keep = False
        try:
            writer.write(request)
            await writer.drain()
            line = await reader.readline()
            if not line and reused:
                return None
            answer, keep = await _read_answer(line, reader)
            return answer
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            if reused:
                return None
            raise ProtocolError(f"the push service broke the connection ({type(exc).__name__})") from exc
        finally:
            if keep:
                self._idle[origin].append(stream)
            else:
                writer.close()

    def close(self) -> None:
        """Close the idle connections."""
        for streams in self._idle.values():
            for _reader, writer in streams:
                writer.close()
        self._idle.clear()


async def _read_answer(line: bytes, reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """Read an answer whose status line is ``line``; return it and whether the connection can be reused."""
    version, _, rest = line.decode("latin-1").partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ProtocolError(f"the push service answered {line[:40]!r}")
    headers: dict[str, str] = {}
    size = len(line)
    while (header := await reader.readline()) not in (b"\r\n", b"\n"):
        size += len(header)
        if not header or size > MAX_ANSWER:
            raise ProtocolError("the push service's answer has no end of its head")
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        await _skip_chunks(reader)
    elif headers.get("content-length", "").isdigit() and int(headers["content-length"]) <= MAX_ANSWER:
        await reader.readexactly(int(headers["content-length"]))
    else:
        keep = False  # no length we can follow: the body ends with the connection
    return Answer(int(rest[:3]), headers.get("retry-after")), keep


async def _skip_chunks(reader: asyncio.StreamReader) -> None:
    """Read a chunked body to its end."""
    total = 0
    while True:
        size_line = (await reader.readline()).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolError("the push service sent a malformed chunk") from None
        total += size
        if total > MAX_ANSWER:
            raise ProtocolError("the push service's answer is too long")
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return
        await reader.readexactly(size + 2)
