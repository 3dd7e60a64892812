"""Refuse push endpoints that would make the server talk to itself or its private network.

A subscription's endpoint is a URL that a browser sends us; the server later POSTs to it. Without a
guard, anybody with an account could make the server send requests to its loopback interface or its
private network (server-side request forgery). One validation serves both moments:

- :func:`check_endpoint` parses the URL strictly when a subscription arrives: https only, no
  credentials, no whitespace or control characters, and a host in canonical form (IDNA, the numeric
  IPv4 spellings ``127.1``, ``0x7f.0.0.1``, ``2130706433``, digits of other scripts, trailing dots,
  IPv6 addresses that embed an IPv4 one). A host that is an address must be public; a name must not
  be a local or cluster-internal one, and :func:`resolve_public` refuses a name that resolves to a
  non-public address.
- :class:`~notify.push.transport.Connections` resolves the host when it connects and connects only
  to an address that :func:`is_public_address` accepts, the address it checked (no second lookup),
  so a name that later points at a private address (DNS rebinding) is refused before a byte is sent.

Both accept loopback and private addresses, and plain http to them, when ``allow_private`` is true
(the ``push_allow_private_endpoints`` setting: tests and local demos only).
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..exceptions import InvalidSubscription

#: The longest endpoint URL that is stored (the ``Subscription.endpoint`` field's length).
MAX_ENDPOINT = 1000
#: Names that only a local network or a cluster knows (besides names without a dot).
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".localdomain",
                  ".corp", ".home", ".private", ".svc", ".cluster.local", ".consul", ".test", ".invalid",
                  ".example", ".onion", ".arpa")
#: IPv6 prefixes whose addresses carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052, RFC 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address that an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 0xFFFF:  # IPv4-compatible (::a.b.c.d), deprecated but routable
        return ipaddress.IPv4Address(int(ip))
    return None


def _is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _is_public(embedded)
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def is_public_address(address: str) -> bool:
    """Tell whether an IP address belongs to the public internet (IPv4 carried in IPv6 counts as itself)."""
    return _is_public(ipaddress.ip_address(address.split("%", 1)[0]))


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address that ``host`` spells in any form a C resolver accepts, or None."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers = []
    for part in parts:
        base = 16 if part[:2].lower() == "0x" else 8 if len(part) > 1 and part[0] == "0" else 10
        digits = part[2:] if base == 16 else part
        try:
            numbers.append(int(digits, base) if digits else 0)
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for position, number in enumerate(head):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def canonical_host(host: str) -> str:
    """Return ``host`` in canonical form: IDNA (so digits of other scripts become ASCII), lowercase, no dot at the end.

    Raise :class:`InvalidSubscription` for a host that is no valid name or address.
    """
    host = unicodedata.normalize("NFKC", host).strip().rstrip(".").lower()
    # Digits of any script spell the same number to a resolver that decodes them: make them ASCII.
    host = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in host)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host.split("%", 1)[0]))
        except ValueError:
            raise InvalidSubscription(f"The endpoint's host {host!r} is not a valid address.") from None
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise InvalidSubscription(f"The endpoint's host {host!r} is not a valid name.") from None
    ipv4 = parse_ipv4(ascii_host)
    if ipv4 is not None:
        return str(ipv4)
    labels = ascii_host.split(".")
    if not ascii_host or any(not label or len(label) > 63 for label in labels) or len(ascii_host) > 253 or \
            not all(ch.isalnum() or ch in "-_" for label in labels for ch in label):
        raise InvalidSubscription(f"The endpoint's host {host!r} is not a valid name.")
    if labels[-1].isdigit():
        raise InvalidSubscription(f"The endpoint's host {host!r} is not a valid address.")
    return ascii_host


def _address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_local_name(host: str) -> bool:
    """Tell whether a canonical host name is one that only a local network or a cluster knows."""
    return "." not in host or host == "localhost" or host.endswith(LOCAL_SUFFIXES)


def check_endpoint(url: Any, allow_private: bool = False) -> str:
    """Return ``url`` if the server may POST pushes to it, else raise :class:`InvalidSubscription`."""
    if not isinstance(url, str) or not url:
        raise InvalidSubscription("The endpoint must be a non-empty URL.")
    if len(url) > MAX_ENDPOINT:
        raise InvalidSubscription(f"The endpoint must be a URL of at most {MAX_ENDPOINT} characters.")
    if not url.isprintable() or any(ch.isspace() for ch in url):
        raise InvalidSubscription("The endpoint must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidSubscription(f"The endpoint is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidSubscription("The endpoint must be an https URL.")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise InvalidSubscription("The endpoint must not contain credentials.")
    if port == 0:
        raise InvalidSubscription("The endpoint has an invalid port.")
    host = canonical_host(parts.hostname)
    address = _address(host)
    public = _is_public(address) if address is not None else not is_local_name(host)
    if not public and not allow_private:
        raise InvalidSubscription(f"The endpoint's host {host!r} is not on the public internet.")
    if parts.scheme == "http" and public:
        raise InvalidSubscription("The endpoint must be an https URL.")
    return url


Resolver = Callable[..., list[Any]]


def resolve_public(url: str, resolver: Resolver | None = None) -> list[str]:
    """Resolve the host of a checked ``url`` and return its addresses; raise unless every one is public.

    ``resolver`` works like :func:`socket.getaddrinfo` (the default).
    """
    resolver = resolver or socket.getaddrinfo
    parts = urlsplit(url)
    host = canonical_host(parts.hostname or "")
    if _address(host) is not None:
        return [host]
    try:
        infos = resolver(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidSubscription(f"The endpoint's host {host!r} cannot be resolved.") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    private = [a for a in addresses if not is_public_address(a)]
    if not addresses or private:
        raise InvalidSubscription(f"The endpoint's host {host!r} resolves to an address that is not on the "
                                  "public internet.")
    return addresses


#: Part of the error message of a refused connection (urllib3 may wrap the exception in its own).
REFUSED_MARK = "refusing to send a push to the non-public address"


class RefusedAddress(OSError):
    """Raised when a push service's host resolves only to addresses the server must not talk to."""
