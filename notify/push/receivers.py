"""Start pushing new messages when they are committed, on the engine of ``NOTIFY['job_backend']``."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection

from ..conf import notify_settings

logger = logging.getLogger(__name__)


def on_messages_created(sender: Any, messages: list[Any], **kwargs: Any) -> None:
    """Wake the push thread, or enqueue the push job; the messages wait in the outbox either way."""
    from ..jobs import dispatcher, job_backend

    backend = job_backend()
    if not (notify_settings.use_push_api and messages) or backend == "cron":
        return
    if backend == "thread":
        if connection.in_atomic_block:
            # Still inside a transaction (a test simulating a commit): another thread cannot see
            # the messages yet; the next run of push_pending() will.
            return
        from .worker import worker

        worker.wake()
        return
    try:
        dispatcher(backend)("push")
    except Exception as exc:
        logger.warning("Cannot enqueue the push job (%s: %s); %d messages wait in the outbox for the next "
                       "scheduled run.", type(exc).__name__, exc, len(messages))
