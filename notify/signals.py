"""Signals that delivery channels (live, push) listen to, and a way to hold them back."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("notify")

#: Sent once per emit after the transaction committed; ``messages`` is the list of new messages.
messages_created = Signal()

#: Sent when :func:`notify.leases.reap` deleted the leases of dead runs; ``tokens`` lists their tokens.
lease_reaped = Signal()

_quiet: ContextVar[bool] = ContextVar("notify_quiet", default=False)
_captures: ContextVar[tuple[list[Any], ...]] = ContextVar("notify_captures", default=())


@contextlib.contextmanager
def capturing() -> Iterator[list[Any]]:
    """Collect every message created inside the block, announced or not (see :mod:`notify.testing`)."""
    sink: list[Any] = []
    token = _captures.set((*_captures.get(), sink))
    try:
        yield sink
    finally:
        _captures.reset(token)


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

    Whether to announce is decided now, when the messages are created, not at commit time. A
    receiver that fails is logged; it neither stops the other receivers nor fails the request
    whose transaction committed.
    """
    for sink in _captures.get():
        sink.extend(messages)
    if messages and not _quiet.get():
        transaction.on_commit(lambda: _send(sender, messages), robust=True)


def _send(sender: Any, messages: list[Any]) -> None:
    for receiver, result in messages_created.send_robust(sender=sender, messages=messages):
        if isinstance(result, Exception):
            logger.error("A receiver of messages_created failed (%s): %s: %s", getattr(receiver, "__qualname__",
                         receiver), type(result).__name__, result, exc_info=result)
