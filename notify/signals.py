"""Signals that delivery channels (live, push) listen to, and a way to hold them back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.dispatch import Signal

#: Sent once per emit after the transaction committed; ``messages`` is the list of new messages.
messages_created = Signal()

_quiet: ContextVar[bool] = ContextVar("notify_quiet", default=False)


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Create messages without announcing them to the delivery channels (imports, demo data)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def announce(sender: Any, messages: list[Any]) -> None:
    """Send :data:`messages_created` for ``messages`` unless inside :func:`quietly`."""
    if messages and not _quiet.get():
        messages_created.send(sender=sender, messages=messages)
