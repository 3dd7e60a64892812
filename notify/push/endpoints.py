"""Refuse push endpoints that would make the server talk to itself or its private network.

A subscription's endpoint is a URL that a browser sends us; the server later POSTs to it. Without a
guard, anybody with an account could make the server send requests to its loopback interface or its
private network (server-side request forgery). Two layers keep that from happening:

- :func:`check_endpoint` looks at the URL when a subscription arrives: https only, no credentials,
  no IP literal or well-known local name outside the public internet.
- :func:`guarded_pool_manager` checks the address that a connection actually reaches, right after the TCP
  connect and before anything is sent, so a public name that resolves to a private address (DNS
  rebinding) is refused too.

Both accept loopback and private addresses, and plain http to them, when ``allow_private`` is true
(the ``push_allow_private_endpoints`` setting: tests and local demos only).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from ..exceptions import InvalidSubscription

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".localdomain")


def is_public_address(address: str) -> bool:
    """Tell whether an IP address belongs to the public internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _is_local_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return "." not in host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES)


def check_endpoint(url: str, allow_private: bool = False) -> str:
    """Return ``url`` if the server may POST pushes to it, else raise :class:`InvalidSubscription`."""
    if not isinstance(url, str) or not url:
        raise InvalidSubscription("The endpoint must be a non-empty URL.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidSubscription(f"The endpoint is not a valid URL: {exc}") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidSubscription("The endpoint must be an https URL.")
    if parts.username is not None or parts.password is not None:
        raise InvalidSubscription("The endpoint must not contain credentials.")
    if port == 0:
        raise InvalidSubscription("The endpoint has an invalid port.")
    try:
        public = is_public_address(host)
    except ValueError:
        public = not _is_local_name(host)
    if not public and not allow_private:
        raise InvalidSubscription(f"The endpoint's host {host!r} is not on the public internet.")
    if parts.scheme == "http" and public:
        raise InvalidSubscription("The endpoint must be an https URL.")
    return url


#: Part of the error message of a refused connection (urllib3 may wrap the exception in its own).
REFUSED_MARK = "refusing to send a push to the non-public address"


class RefusedAddress(OSError):
    """Raised by a guarded connection that reached an address it must not talk to."""


def _checked(sock: socket.socket, allow_private: bool) -> socket.socket:
    address = sock.getpeername()[0]
    if not allow_private and not is_public_address(address):
        sock.close()
        raise RefusedAddress(f"{REFUSED_MARK} {address}")
    return sock


@lru_cache(maxsize=2)
def _pool_classes(allow_private: bool) -> dict[str, type]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _checked(super()._new_conn(), allow_private)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _checked(super()._new_conn(), allow_private)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


def guarded_pool_manager(allow_private: bool = False, maxsize: int = 8) -> PoolManager:
    """Return a urllib3 pool manager whose connections only reach addresses :func:`check_endpoint` accepts."""
    manager = PoolManager(num_pools=32, maxsize=maxsize, block=False)
    manager.pool_classes_by_scheme = _pool_classes(allow_private)
    return manager
