"""Let SIGTERM (and Ctrl-C) stop a running job after the item it is working on.

A job checks :func:`requested` between two items (an e-mail, a batch of pushes) and stops
cleanly when it is set: what it did is recorded, what it claimed and did not do is freed. The
handler passes the signal on to the handler that was there before (a task worker's own graceful
shutdown), and a second signal acts as that previous handler alone would.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger("notify.jobs")

_requested = threading.Event()
_installed = threading.local()
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def requested() -> bool:
    """Tell whether a signal asked the running job to stop."""
    return _requested.is_set()


def request() -> None:
    """Ask the running job to stop after its current item (what the signal handler does)."""
    _requested.set()


@contextlib.contextmanager
def graceful() -> Iterator[None]:
    """Handle SIGTERM and SIGINT while the block runs (in the main thread; elsewhere do nothing)."""
    if threading.current_thread() is not threading.main_thread() or getattr(_installed, "on", False):
        yield
        return
    previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def handler(signum: int, frame: Any) -> None:
        logger.warning("Received %s: finishing the current item, then stopping.", signal.strsignal(signum))
        _requested.set()
        before = previous[signum]
        signal.signal(signum, before)
        if callable(before) and before is not signal.default_int_handler:
            before(signum, frame)

    for sig in SIGNALS:
        signal.signal(sig, handler)
    _installed.on = True
    try:
        yield
    finally:
        _installed.on = False
        for signum, before in previous.items():
            signal.signal(signum, before)
        _requested.clear()
