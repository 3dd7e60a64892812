"""Run every ``bench/bench_*.py`` module on a scratch database and print one table."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Build a scratch demo database, run the benchmark modules and print their results."""
    sys.path.insert(0, str(ROOT))
    scratch = tempfile.mkdtemp(prefix="notify-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo.chatter.settings"
    only = set(sys.argv[1:])
    from tabulate import tabulate

    rows = []
    import bench

    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    for name in names:
        if only and name.removeprefix("bench_") not in only:
            continue
        module = importlib.import_module(f"bench.{name}")
        for result in module.run():
            seconds = "" if result.seconds is None else f"{result.seconds:.3f} s"
            queries = "" if result.queries is None else str(result.queries)
            rows.append([result.operation, seconds, queries, result.target, result.reference,
                         "; ".join(result.notes)])
            print(f"  {result.operation}: {seconds} {queries}", file=sys.stderr, flush=True)
    print(tabulate(rows, headers=["operation", "time", "SQL queries", "target", "reference", "notes"],
                   tablefmt="github"))


if __name__ == "__main__":
    main()
