"""Show the ``notify`` log on stderr in the commands when the project configured no logging for it."""

from __future__ import annotations

import logging
import sys


def log_to_stderr(verbosity: int) -> None:
    """Log warnings and errors of ``notify`` to stderr (from ``-v 2`` on, the routine lines too)."""
    notify_logger = logging.getLogger("notify")
    if verbosity < 1 or notify_logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    notify_logger.addHandler(handler)
    notify_logger.setLevel(logging.INFO if verbosity >= 2 else logging.WARNING)
