"""The ``rt`` and ``dd`` objects of the doctest namespace."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

from django.apps import apps

from ..actions import ClearSeen, MarkAllSeen, MarkSeen
from ..clock import today
from .requests import ActionRequest, login
from .tables import choicelist_registry, registry, show


class _Models:
    """Give access to every installed app's plugin objects as ``rt.models.<app_label>.<Name>``.

    As in Lino, these are the app's models, and also its choicelists, tables and actions.
    """

    def __getattr__(self, app_label: str) -> SimpleNamespace:
        try:
            config = apps.get_app_config(app_label)
        except LookupError:
            raise AttributeError(f"No installed app with label {app_label!r}") from None
        found: dict[str, Any] = {model.__name__: model for model in config.get_models()}
        prefix = f"{app_label}."
        for label, obj in {**choicelist_registry(), **registry}.items():
            if label.startswith(prefix):
                found.setdefault(label.removeprefix(prefix), obj)
        if app_label == "notify":
            found.update({action.__name__: action for action in (MarkSeen, MarkAllSeen, ClearSeen)})
        return SimpleNamespace(**found)


class Runtime:
    """Show tables, sign in as a user and reach the models (``rt``)."""

    models = _Models()

    @staticmethod
    def show(spec: Any, ar: Any = None) -> None:
        """Print a table (``'notify.AllMessages'``) or choicelist (``'notify.MailModes'``)."""
        show(spec, ar=ar)

    @staticmethod
    def login(username: str) -> ActionRequest:
        """Return an action request acting as the user with that username."""
        return login(username)


class Design:
    """Site-wide facts like the current date (``dd``)."""

    @staticmethod
    def today() -> datetime.date:
        """Return the site's current date."""
        return today()


rt = Runtime()
dd = Design()
