"""The life cycle of push subscriptions: subscribe (again, up to a number per user), unsubscribe, forget dead ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import ec
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..conf import notify_settings
from ..exceptions import InvalidSubscription, NotifyError
from ..models import Subscription
from ..users import check_user
from .endpoints import MAX_ENDPOINT, Resolver, check_endpoint, resolve_public
from .keys import b64url_decode


def _max_length(name: str) -> int:
    """Return the ``max_length`` of the Subscription field ``name`` (a CharField, URLField included)."""
    max_length = cast(models.CharField, Subscription._meta.get_field(name)).max_length
    if max_length is None:
        raise NotifyError(f"Subscription.{name} must have a max_length.")
    return max_length


def _key(keys: Mapping[str, Any], name: str, size: int) -> str:
    value = keys.get(name)
    if not isinstance(value, str) or len(value) > _max_length(name):
        raise InvalidSubscription(f"keys.{name} must be a base64url string.")
    try:
        raw = b64url_decode(value)
    except ValueError as exc:
        raise InvalidSubscription(f"keys.{name} is malformed: {exc}") from None
    if len(raw) != size:
        raise InvalidSubscription(f"keys.{name} must hold {size} bytes, it holds {len(raw)}.")
    if name == "p256dh":
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise InvalidSubscription("keys.p256dh is not a P-256 public key.") from None
    return value


def parse_subscription(data: Any, resolver: Resolver | None = None) -> dict[str, str]:
    """Return ``{endpoint, p256dh, auth}`` from a browser's ``PushSubscription.toJSON()``, or raise.

    The endpoint passes :func:`~notify.push.endpoints.check_endpoint` and, unless private endpoints
    are allowed, its host must resolve (through ``resolver``) to public addresses only.
    """
    if not isinstance(data, Mapping):
        raise InvalidSubscription("A subscription must be a JSON object.")
    allow_private = bool(notify_settings.push_allow_private_endpoints)
    endpoint = check_endpoint(data.get("endpoint"), allow_private=allow_private)
    keys = data.get("keys")
    if not isinstance(keys, Mapping):
        raise InvalidSubscription("keys must be an object with p256dh and auth.")
    fields = {"endpoint": endpoint, "p256dh": _key(keys, "p256dh", 65), "auth": _key(keys, "auth", 16)}
    if not allow_private:
        resolve_public(endpoint, resolver)  # last: the only check that asks the network
    return fields


def subscribe(user: Any, data: Any, *, user_agent: str = "", lang: str = "",
              resolver: Resolver | None = None) -> Subscription:
    """Store the subscription for ``user``; an endpoint seen before is updated and moves to ``user``.

    A user keeps at most ``push_max_subscriptions``: storing one more deletes their oldest ones.
    """
    check_user(user)
    fields = parse_subscription(data, resolver)
    endpoint = fields.pop("endpoint")
    defaults = dict(
        fields, user=user, user_agent=_clean(user_agent)[: _max_length("user_agent")],
        lang=_clean(lang)[: _max_length("lang")], failure_count=0,
    )
    with transaction.atomic():
        subscription, _created = Subscription.objects.update_or_create(
            endpoint=endpoint, defaults=defaults, create_defaults=dict(defaults, created=timezone.now()))
        _keep_newest(subscription)
    return subscription


def _keep_newest(subscription: Subscription) -> int:
    """Delete the owner's oldest subscriptions beyond ``push_max_subscriptions``; return how many."""
    keep = max(1, int(notify_settings.push_max_subscriptions))
    newest = (Subscription.objects.filter(user_id=subscription.user_id).exclude(pk=subscription.pk)
              .order_by("-created", "-pk").values_list("pk", flat=True))
    extra = list(newest[keep - 1:])
    if not extra:
        return 0
    return _delete(Subscription.objects.filter(pk__in=extra))


def unsubscribe(user: Any, endpoint: Any) -> bool:
    """Delete ``user``'s subscription with this endpoint; return False when they have none such.

    Raise :class:`InvalidSubscription` when ``endpoint`` cannot be one (not text, too long, control characters).
    """
    check_user(user)
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT or \
            not endpoint.isprintable():
        raise InvalidSubscription("endpoint must be the URL of a subscription.")
    return bool(_delete(Subscription.objects.filter(user=user, endpoint=endpoint)))


def _clean(text: Any) -> str:
    """Return ``text`` without characters a database may refuse (NUL, lone surrogates) and control characters."""
    return "".join(ch for ch in str(text or "") if ch.isprintable())


def forget(subscription_ids: list[int]) -> int:
    """Delete subscriptions that the push service declared gone (404, 410); return how many."""
    if not subscription_ids:
        return 0
    return _delete(Subscription.objects.filter(pk__in=subscription_ids))


def _delete(subscriptions: QuerySet[Subscription]) -> int:
    """Delete ``subscriptions`` (and their waiting deliveries); return how many subscriptions."""
    _total, detail = subscriptions.delete()
    return detail.get(Subscription._meta.label, 0)
