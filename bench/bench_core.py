"""Emitting, printing tables, starting up and building the demo."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from .harness import Result, measure

STARTUP = "import notify.lino; notify.lino.startup('demo.chatter.settings'); from notify.lino.doctest import *"


def _subprocess_seconds(code: str, env: dict[str, str], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> list[Result]:
    """Measure the operations that issue 2 names."""
    import tempfile

    scratch = tempfile.mkdtemp(prefix="notify-bench-core-")
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{scratch}/demo.sqlite3")

    def build() -> None:
        if os.path.exists(f"{scratch}/demo.sqlite3"):
            os.unlink(f"{scratch}/demo.sqlite3")
        subprocess.run([sys.executable, "-c", "import notify.lino; notify.lino.startup('demo.chatter.settings')"],
                       check=True, env=env)

    times = []
    for _ in range(3):
        start = time.perf_counter()
        build()
        times.append(time.perf_counter() - start)
    results = [Result("build the demo database (make prep)", statistics.median(times), None, "< 1.5 s", "3.35 s")]
    results.append(Result("notify.lino.startup + doctest import", _subprocess_seconds(STARTUP, env), None,
                          "< 0.6 s", "1.45 s"))

    import notify.lino

    notify.lino.startup("demo.chatter.settings")
    from django.contrib.auth import get_user_model

    from notify.lino.tables import AllMessages
    from notify.models import Message, Preferences

    user_model = get_user_model()
    users = user_model.objects.bulk_create(user_model(username=f"bench{i:05d}") for i in range(10_000))
    users = list(user_model.objects.filter(username__startswith="bench").order_by("username"))
    Preferences.objects.bulk_create(Preferences(user=u, language="en") for u in users[::2])

    def msg(user, mode):
        return f"Hello {user.username}", "A benchmark message."

    for count, target, reference in ((1_000, "<= 4 queries; < 0.25 s", "3,001 queries; 2.37 s"),
                                     (10_000, "< 1 s", "")):
        recipients = [(u, "often") for u in users[:count]]
        results.append(measure(f"emit_notification to {count:,} recipients",
                               lambda r=recipients: Message.emit_notification(None, None, "system", msg, r),
                               target=target, reference=reference))

    Message.objects.all().delete()
    Message.emit_notification(None, None, "system", msg, [(u, "often") for u in users[:1_000]])
    results.append(measure("rt.show of AllMessages with 1,000 rows", AllMessages.to_text,
                           target="<= 2 queries", reference="1,001 queries; 0.279 s"))
    return results
