"""Push new messages from a background thread, woken by :data:`notify.signals.messages_created`.

The thread only needs a wake-up call: the messages themselves wait in the database (``pushed`` is
empty) until :func:`~notify.push.jobs.push_pending` has pushed them, so a burst of emits coalesces into
one run and nothing is lost when the process stops. Run ``push_pending`` from a scheduler too, to pick up
what a stopped process left behind.
"""

from __future__ import annotations

import logging
import threading

from django.db import connections

logger = logging.getLogger(__name__)


class PushWorker:
    """A daemon thread that runs :func:`~notify.push.jobs.push_pending` whenever it is woken."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def wake(self) -> None:
        """Ask the thread for a run (starting it on first use)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="notify-push-worker", daemon=True)
                self._thread.start()
            self._idle.clear()
            self._wake.set()

    def _loop(self) -> None:
        from .jobs import push_pending

        while not self._stop.is_set():
            if not self._wake.wait(timeout=1.0) or self._stop.is_set():
                continue
            self._wake.clear()
            try:
                push_pending()
            except Exception:
                logger.exception("pushing pending messages failed; they stay pending")
            finally:
                connections.close_all()
                if not self._wake.is_set():
                    self._idle.set()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the thread has nothing left to do; return False on timeout."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Let the current run finish and end the thread."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._wake.set()
            thread.join(timeout)


worker = PushWorker()
