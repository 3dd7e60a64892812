"""Measure operations on a scratch copy of the seeded demo database."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext


@dataclass
class Result:
    """One row of the benchmark table."""

    operation: str
    seconds: float | None
    queries: int | None
    target: str = ""
    reference: str = ""
    notes: list[str] = field(default_factory=list)


def measure(operation: str, run: Callable[[], Any], *, setup: Callable[[], Any] | None = None,
            repeat: int = 3, target: str = "", reference: str = "") -> Result:
    """Run ``setup`` then ``run`` ``repeat`` times; report the median time and the queries of ``run``."""
    times, queries = [], None
    for _ in range(repeat):
        if setup is not None:
            setup()
        # With DEBUG on, Django keeps the last 9,000 queries; once that log is full,
        # CaptureQueriesContext would count nothing.
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        queries = len(ctx.captured_queries)
    return Result(operation, statistics.median(times), queries, target, reference)
