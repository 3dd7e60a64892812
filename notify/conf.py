"""Read the ``NOTIFY`` setting through one object with documented defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed

from .exceptions import ImproperlyConfigured

#: Every key of the ``NOTIFY`` setting with its default value.
DEFAULTS: dict[str, Any] = {
    # Remove notification messages older than this many days (None or 0: never).
    "remove_after": 14,
    # Keep unseen messages when removing old ones.
    "keep_unseen": True,
    # Mark a message as seen when it has been sent by e-mail.
    "mark_seen_when_sent": False,
    # Deliver desktop notifications through the Push API.
    "use_push_api": False,
    # The site's VAPID credentials (no defaults are shipped on purpose).
    "vapid_private_key": None,
    "vapid_public_key": None,
    "vapid_admin_email": None,
    # The mail mode of a user who never chose one.
    "default_mail_mode": "often",
    # The date that ``notify.utils.today()`` returns (None: the real date).
    "demo_date": None,
    # Dotted path of a callable that fills an empty database with demo data.
    "demo_builder": None,
}


class NotifySettings:
    """Give attribute access to the ``NOTIFY`` setting, falling back to defaults."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in DEFAULTS:
            raise AttributeError(f"NOTIFY has no setting {name!r}")
        if name not in self._cache:
            user = getattr(django_settings, "NOTIFY", {}) or {}
            if not isinstance(user, dict):
                raise ImproperlyConfigured("The NOTIFY setting must be a dict.")
            self._cache[name] = user.get(name, DEFAULTS[name])
        return self._cache[name]

    def unknown_keys(self) -> list[str]:
        """Return the keys of ``NOTIFY`` that this app does not know."""
        user = getattr(django_settings, "NOTIFY", {}) or {}
        return sorted(set(user) - set(DEFAULTS))

    def reload(self) -> None:
        """Forget cached values so that changed settings are read again."""
        self._cache.clear()


notify_settings = NotifySettings()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "NOTIFY":
        notify_settings.reload()


setting_changed.connect(_on_setting_changed)
