"""A small action request: who does something, and where to show results."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from .exceptions import NotifyError


class ActionRequest:
    """Carry the acting user (and the HTTP request, if any) through an operation."""

    def __init__(self, user: Any = None, request: Any = None) -> None:
        if user is None and request is not None:
            user = getattr(request, "user", None)
            if user is not None and not user.is_authenticated:
                user = None
        self.user = user
        self.request = request

    def get_user(self) -> Any:
        """Return the acting user, or None for the system."""
        return self.user

    def show(self, spec: Any, **kwargs: Any) -> None:
        """Print a table as seen by this request's user."""
        from .tables import show

        show(spec, ar=self, **kwargs)

    def __repr__(self) -> str:
        return f"<ActionRequest user={self.user!r}>"


def login(username: str) -> ActionRequest:
    """Return an action request acting as the user with this username."""
    model = get_user_model()
    try:
        user = model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise NotifyError(f"No user with username {username!r}") from None
    return ActionRequest(user)
