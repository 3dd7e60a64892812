"""Refuse push endpoints that would make the server talk to itself or its private network.

A subscription's endpoint is a URL that a browser sends us; the server later POSTs to it. Without a
guard, anybody with an account could make the server send requests to its loopback interface or its
private network (server-side request forgery). Two layers keep that from happening:

- :func:`check_endpoint` looks at the URL when a subscription arrives: https only, no credentials,
  no IP literal or well-known local name outside the public internet.
- :class:`~notify.push.transport.Connections` resolves the host when it connects and connects only
  to an address that :func:`is_public_address` accepts, so a public name that resolves to a private
  address (DNS rebinding) is refused before anything is sent.

Both accept loopback and private addresses, and plain http to them, when ``allow_private`` is true
(the ``push_allow_private_endpoints`` setting: tests and local demos only).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

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
    """Raised when a push service's host resolves only to addresses the server must not talk to."""
