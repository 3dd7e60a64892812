"""Template context of every page: the user's unread count and where their live stream starts."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db.models import Count, Max
from django.http import HttpRequest

from .actions import visible_to
from .querysets import unseen_filter


class NotifyContext:
    """Compute the header's numbers in one query, and only when a template uses them."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def _numbers(self) -> dict[str, int | None]:
        if self.user is None or not self.user.is_authenticated:
            return {"unread": 0, "last_id": 0}
        return visible_to(self.user).aggregate(unread=Count("pk", filter=unseen_filter(self.user)),
                                               last_id=Max("pk"))

    @property
    def unread(self) -> int:
        """Return how many messages the user has not seen."""
        return self._numbers["unread"] or 0

    @property
    def last_id(self) -> int:
        """Return the id of the newest message the user sees: the stream replays what comes after it."""
        return self._numbers["last_id"] or 0


def notify(request: HttpRequest) -> dict[str, Any]:
    """Add ``notify`` (with ``.unread`` and ``.last_id``) to the template context."""
    return {"notify": NotifyContext(getattr(request, "user", None))}
