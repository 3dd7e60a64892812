"""System checks of desktop notifications (ids ``notify.E010`` to ``notify.E019``, ``notify.W010``)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from ..conf import notify_settings
from ..exceptions import InvalidVapidKey

_HINT_KEYS = "Run `python manage.py notify_vapid_keys` and put both lines into NOTIFY."
URGENCIES = ("very-low", "low", "normal", "high")


def admin_contact_error(value: Any) -> str | None:
    """Return why ``value`` is no VAPID contact (a ``mailto:`` address or an ``https:`` URL), or None."""
    if not isinstance(value, str) or not value:
        return "vapid_admin_email is not set"
    if value.startswith("mailto:"):
        try:
            EmailValidator()(value.removeprefix("mailto:"))
        except ValidationError:
            return f"vapid_admin_email {value!r} is not a valid mailto: address"
        return None
    if value.startswith("https://"):
        try:
            URLValidator(schemes=["https"])(value)
        except ValidationError:
            return f"vapid_admin_email {value!r} is not a valid https: URL"
        return None
    return f"vapid_admin_email {value!r} is neither a mailto: address nor an https: URL"


def _number_errors() -> list[checks.CheckMessage]:
    """Return the errors of the number and urgency settings of push."""
    errors: list[checks.CheckMessage] = []
    for key, low in (("push_ttl", 0), ("push_timeout", 0.001), ("push_max_attempts", 1),
                     ("push_retry_delay", 0), ("push_workers", 1)):
        value = getattr(notify_settings, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            errors.append(checks.Error(f"NOTIFY[{key!r}] must be a number of at least {low}, not {value!r}.",
                                       hint="Remove the key to use the default.", id="notify.E016"))
    if notify_settings.push_urgency not in URGENCIES:
        errors.append(checks.Error(f"NOTIFY['push_urgency'] is {notify_settings.push_urgency!r}.",
                                   hint=f"Use one of: {', '.join(URGENCIES)}.", id="notify.E017"))
    limit = notify_settings.push_max_subscriptions
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        errors.append(checks.Error(f"NOTIFY['push_max_subscriptions'] must be a whole number of at least 1, "
                                   f"not {limit!r}.", hint="Remove the key to keep 10 per user.",
                                   id="notify.E018"))
    return errors


@checks.register(checks.Tags.compatibility)
def check_push_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check the VAPID keys and contact when ``use_push_api`` is on."""
    if not notify_settings.is_valid() or notify_settings.use_push_api is not True:
        return []
    errors: list[checks.CheckMessage] = []
    from django.conf import settings

    if notify_settings.push_allow_private_endpoints and not settings.DEBUG:
        errors.append(checks.Warning(
            "push_allow_private_endpoints is on while DEBUG is off: any user can make this server send "
            "requests into its own network through a push subscription.",
            hint="Remove push_allow_private_endpoints from NOTIFY outside development and tests.",
            id="notify.W010"))
    try:
        import pywebpush  # noqa: F401
    except ImportError:
        errors.append(checks.Error("use_push_api is on but pywebpush is not installed.",
                                   hint="pip install 'django-notify-kit[push]'", id="notify.E010"))
    from .keys import check_pair, load_private_key, load_public_key  # cryptography loads only when push is on

    private, public = notify_settings.vapid_private_key, notify_settings.vapid_public_key
    for key, value, loader, eid in (("vapid_private_key", private, load_private_key, "notify.E011"),
                                    ("vapid_public_key", public, load_public_key, "notify.E012")):
        if not value:
            errors.append(checks.Error(f"use_push_api is on but NOTIFY[{key!r}] is not set.", hint=_HINT_KEYS,
                                       id=eid))
            continue
        try:
            loader(value)
        except InvalidVapidKey as exc:
            errors.append(checks.Error(f"NOTIFY[{key!r}] is malformed: {exc}.", hint=_HINT_KEYS, id="notify.E013"))
    if not errors:
        try:
            check_pair(private, public)
        except InvalidVapidKey:
            errors.append(checks.Error(
                "NOTIFY['vapid_public_key'] does not belong to NOTIFY['vapid_private_key'].",
                hint="Copy both keys from the same run of `python manage.py notify_vapid_keys`.", id="notify.E014"))
    problem = admin_contact_error(notify_settings.vapid_admin_email)
    if problem:
        errors.append(checks.Error(
            f"use_push_api is on but {problem}.",
            hint="Push services contact the site's admin there: write 'mailto:admin@example.com' or an https: URL.",
            id="notify.E015"))
    return errors + _number_errors()


