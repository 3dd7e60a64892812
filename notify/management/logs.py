"""Show the ``notify`` log on stderr in the commands when the project configured no logging for it."""

from __future__ import annotations

import logging
import sys


def log_to_stderr(verbosity: int) -> None:
    """Log warnings and errors of ``notify`` to stderr (``-v 0``: nothing; ``-v 2``: the routine lines too)."""
    notify_logger = logging.getLogger("notify")
    if notify_logger.handlers or logging.getLogger().handlers:
        return
    if verbosity < 1:
        notify_logger.addHandler(logging.NullHandler())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    notify_logger.addHandler(handler)
    notify_logger.setLevel(logging.INFO if verbosity >= 2 else logging.WARNING)
