"""Test helpers for projects that use django-notify-kit, in the spirit of ``django.contrib.messages.test``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from .models import Message
from .signals import capturing

__all__ = ["NotifyAssertionsMixin", "assert_not_notified", "assert_notified", "captured_messages"]


@contextlib.contextmanager
def captured_messages() -> Iterator[list[Message]]:
    """Yield a list that collects every message created inside the block (even inside ``quietly()``)."""
    with capturing() as sink:
        yield sink


def _matches(message: Message, user: Any, fields: dict[str, Any]) -> bool:
    if user is not None and message.user_id != getattr(user, "pk", user):
        return False
    return all(getattr(message, name) == value for name, value in fields.items())


def _candidates(user: Any, messages: Iterable[Message] | None, fields: dict[str, Any]) -> list[Message]:
    if messages is None:
        query = Message.objects.filter(user=user) if user is not None else Message.objects.filter(user__isnull=True)
        messages = query.order_by("pk")
    return [m for m in messages if _matches(m, user, fields)]


def _describe(user: Any, fields: dict[str, Any]) -> str:
    criteria = ", ".join(f"{name}={value!r}" for name, value in fields.items())
    return f"{user or 'everybody'}" + (f" with {criteria}" if criteria else "")


def assert_notified(user: Any, *, count: int | None = None, messages: Iterable[Message] | None = None,
                    **fields: Any) -> list[Message]:
    """Assert that ``user`` (None: everybody, a broadcast) got messages with these field values; return them.

    ``fields`` compare message fields (``subject``, ``body``, ``owner``, ``actor``, ``mail_mode``...).
    Without ``messages`` the database is searched, else those messages (from :func:`captured_messages`).
    ``count`` asks for exactly that many; without it, at least one.
    """
    found = _candidates(user, messages, fields)
    if count is None and not found:
        raise AssertionError(f"No message to {_describe(user, fields)}.")
    if count is not None and len(found) != count:
        raise AssertionError(f"{len(found)} messages to {_describe(user, fields)}, not {count}: "
                             f"{[m.subject for m in found]}")
    return found


def assert_not_notified(user: Any, *, messages: Iterable[Message] | None = None, **fields: Any) -> None:
    """Assert that ``user`` got no message with these field values."""
    assert_notified(user, count=0, messages=messages, **fields)


class NotifyAssertionsMixin:
    """Add ``assertNotified`` and ``assertNotNotified`` to a ``TestCase``."""

    def assertNotified(self, user: Any, *, count: int | None = None,  # noqa: N802 (unittest's naming)
                       messages: Iterable[Message] | None = None, **fields: Any) -> list[Message]:
        """Assert that ``user`` got messages with these field values (see :func:`assert_notified`)."""
        return assert_notified(user, count=count, messages=messages, **fields)

    def assertNotNotified(self, user: Any, *, messages: Iterable[Message] | None = None,  # noqa: N802
                          **fields: Any) -> None:
        """Assert that ``user`` got no message with these field values."""
        assert_not_notified(user, messages=messages, **fields)
