"""Read users' notification preferences and print users the way people know them."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model

from .conf import notify_settings
from .exceptions import InvalidRecipient


def display_name(user: Any) -> str:
    """Return the user's nickname, else their full name, else their username."""
    if user is None:
        return ""
    prefs = _cached_preferences(user)
    if prefs is not None and prefs.nickname:
        return prefs.nickname
    full = f"{getattr(user, 'first_name', '')} {getattr(user, 'last_name', '')}".strip()
    return full or user.get_username()


def preferences_model() -> Any:
    """Return the Preferences model (through the app registry: the models import this module's callers)."""
    return apps.get_model("notify", "Preferences")


def _cached_preferences(user: Any) -> Any:
    try:
        return user.notify_preferences
    except preferences_model().DoesNotExist:
        return None


def default_preferences(user: Any) -> Any:
    """Return an unsaved preferences object with the site's defaults."""
    return preferences_model()(
        user=user,
        mail_mode=notify_settings.default_mail_mode,
        language=settings.LANGUAGE_CODE,
    )


def get_preferences(user: Any) -> Any:
    """Return the user's preferences, or the defaults when they never chose any."""
    return _cached_preferences(user) or default_preferences(user)


def check_user(user: Any) -> Any:
    """Return ``user`` if it is a saved user, else raise :class:`InvalidRecipient`."""
    model = get_user_model()
    if not isinstance(user, model):
        raise InvalidRecipient(f"A recipient must be a {model._meta.label} instance, not {user!r}")
    if user.pk is None:
        raise InvalidRecipient(f"Recipient {user!r} has not been saved")
    return user


def language_of(prefs: Any) -> str:
    """Return the language to use for a user with these preferences."""
    return (prefs.language if prefs is not None else "") or settings.LANGUAGE_CODE
