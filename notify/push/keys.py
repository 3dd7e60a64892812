"""Create, read and check the site's VAPID key pair."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..exceptions import InvalidVapidKey

if TYPE_CHECKING:
    from py_vapid import Vapid02


@dataclass(frozen=True)
class VapidKeys:
    """A VAPID key pair in the form the settings take (base64url without padding)."""

    #: The raw 32-byte private scalar (``vapid_private_key``).
    private_key: str
    #: The uncompressed 65-byte public point, also the browser's ``applicationServerKey`` (``vapid_public_key``).
    public_key: str


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raise ValueError on anything else."""
    if not isinstance(text, str) or not text or text.strip() != text:
        raise ValueError("expected a non-empty base64url string")
    if any(ch in text for ch in "+/"):
        raise ValueError("expected base64url ('-' and '_'), not standard base64")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64url: {exc}") from None


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """Return a P-256 public key as its uncompressed point."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def generate_keys() -> VapidKeys:
    """Return a fresh VAPID key pair."""
    private = ec.generate_private_key(ec.SECP256R1())
    raw = private.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(b64url_encode(raw), b64url_encode(public_bytes(private.public_key())))


def _decode(name: str, value: str | None) -> bytes:
    """Return the bytes of the setting ``name``, or raise InvalidVapidKey when it is unset or not base64url."""
    if not value:
        raise InvalidVapidKey(f"{name} is not set")
    try:
        return b64url_decode(value)
    except ValueError as exc:
        raise InvalidVapidKey(f"{name} is malformed: {exc}") from None


def load_private_key(value: str | None) -> ec.EllipticCurvePrivateKey:
    """Return the private key that ``value`` (the ``vapid_private_key`` setting) holds."""
    raw = _decode("vapid_private_key", value)
    if len(raw) != 32:
        raise InvalidVapidKey(f"vapid_private_key must hold 32 bytes, it holds {len(raw)}")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError as exc:
        raise InvalidVapidKey(f"vapid_private_key is not a P-256 key: {exc}") from None


def load_public_key(value: str | None) -> ec.EllipticCurvePublicKey:
    """Return the public key that ``value`` (the ``vapid_public_key`` setting) holds."""
    raw = _decode("vapid_public_key", value)
    if len(raw) != 65 or raw[0] != 4:
        raise InvalidVapidKey("vapid_public_key must be an uncompressed P-256 point (65 bytes starting with 0x04)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise InvalidVapidKey(f"vapid_public_key is not a point on P-256: {exc}") from None


def check_pair(private_value: str | None, public_value: str | None) -> VapidKeys:
    """Return the pair when both keys are well-formed and belong together, else raise InvalidVapidKey."""
    private = load_private_key(private_value)
    public = load_public_key(public_value)
    if public_bytes(private.public_key()) != public_bytes(public):
        raise InvalidVapidKey("vapid_public_key does not belong to vapid_private_key")
    if private_value is None or public_value is None:  # unreachable: the loaders refuse an unset key
        raise InvalidVapidKey("the VAPID key pair is not set")
    return VapidKeys(private_value, public_value)


@lru_cache(maxsize=4)
def vapid_signer(private_value: str) -> Vapid02:
    """Return a py-vapid signer for the private key (cached: loading a key is not free)."""
    from py_vapid import Vapid02

    return Vapid02(load_private_key(private_value))
