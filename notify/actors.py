"""Who acts: the user behind an actor (a user, an HTTP request, an action request, or None for the system)."""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias, runtime_checkable

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


@runtime_checkable
class HasUser(Protocol):
    """Anything that can say who acts, like an action request: it has ``get_user()``."""

    def get_user(self) -> Any:
        """Return the acting user, or None for the system."""


#: Who causes a message: a user, an HTTP request (its signed-in user), an object with ``get_user()``, or None.
Actor: TypeAlias = AbstractBaseUser | HttpRequest | HasUser | None


class Acting:
    """Who acts (a user, or None for the system) and through which HTTP request, if any."""

    def __init__(self, user: Any = None, request: HttpRequest | None = None) -> None:
        if user is None and request is not None:
            user = user_of(request)
        self.user = user
        self.request = request

    def get_user(self) -> Any:
        """Return the acting user, or None for the system."""
        return self.user

    def __repr__(self) -> str:
        return f"<{type(self).__name__} user={self.user!r}>"


def user_of(actor: Actor) -> Any:
    """Return the acting user of ``actor``, or None for the system and for anonymous requests."""
    if actor is None:
        return None
    if isinstance(actor, HasUser):
        return actor.get_user()
    if isinstance(actor, get_user_model()):
        return actor
    user = getattr(actor, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None
