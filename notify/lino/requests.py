"""Lino's action requests: ``ActionRequest`` and ``rt.login()``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from ..actors import Acting
from ..exceptions import NotifyError


class ActionRequest(Acting):
    """Lino's action request: who acts (and through which HTTP request), and where to show tables."""

    def show(self, spec: Any, **kwargs: Any) -> None:
        """Print a table as seen by this request's user."""
        from .tables import show

        show(spec, ar=self, **kwargs)


def login(username: str) -> ActionRequest:
    """Return an action request acting as the user with this username."""
    model = get_user_model()
    try:
        user = model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise NotifyError(f"No user with username {username!r}") from None
    return ActionRequest(user)
