"""Signals that delivery channels (live, push) listen to, and a way to hold them back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.dispatch import Signal

#: Sent once per emit after the transaction committed; ``messages`` is the list of new messages.
messages_created = Signal()

#: Sent when :func:`notify.leases.reap` deleted the leases of dead runs; ``tokens`` lists their tokens.
lease_reaped = Signal()

_quiet: ContextVar[bool] = ContextVar("notify_quiet", default=False)


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Create messages without announcing them to the delivery channels (imports, demo data).

    Such messages are also marked as pushed, so the push outbox leaves them alone.
    """
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def is_quiet() -> bool:
    """Tell whether the code runs inside :func:`quietly`."""
    return _quiet.get()


def announce(sender: Any, messages: list[Any]) -> None:
    """Send :data:`messages_created` for ``messages`` when the transaction commits (not inside :func:`quietly`).

    Whether to announce is decided now, when the messages are created, not at commit time.
    """
    if messages and not _quiet.get():
        transaction.on_commit(lambda: messages_created.send(sender=sender, messages=messages))
