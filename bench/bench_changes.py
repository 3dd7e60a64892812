"""Change notifiers, MarkAllSeen and clear_seen_messages."""

from __future__ import annotations

import datetime
import time
import tracemalloc

from .harness import Result, measure

NOW = datetime.datetime(2024, 6, 1, 12, tzinfo=datetime.UTC)
OLD = NOW - datetime.timedelta(days=30)
MILLION = 1_000_000


def _fill_million(connection, user_ids: list[int]) -> None:
    """Insert a million messages, one every 5 seconds over 58 days, every second one seen, in one statement."""
    if connection.vendor == "postgresql":
        sql = ("INSERT INTO notify_message (subject, body, user_id, message_type, mail_mode, created, seen, mail_claim)"
               " SELECT 'm' || n, '', (%s::bigint[])[1 + n %% 4], 'system', 'often', c, "
               " CASE WHEN n %% 2 = 1 THEN c END, '' FROM generate_series(0, %s - 1) AS n,"
               " LATERAL (SELECT TIMESTAMPTZ '2024-06-01 12:00:00+00' - (n * 5) * INTERVAL '1 second' AS c) t")
        params = [user_ids, MILLION]
    else:
        sql = ("WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < %s - 1) "
               "INSERT INTO notify_message (subject, body, user_id, message_type, mail_mode, created, seen, mail_claim)"
               " SELECT 'm' || n, '', json_extract(%s, '$[' || (n %% 4) || ']'), 'system', 'often', c,"
               " CASE WHEN n %% 2 = 1 THEN c END, '' FROM (SELECT n, "
               " datetime('2024-06-01 12:00:00', '-' || (n * 5) || ' seconds') AS c FROM seq)")
        import json

        params = [MILLION, json.dumps(user_ids)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE notify_message")


def run() -> list[Result]:
    """Measure the operations that issue 6 names."""
    import notify.lino

    notify.lino.startup("demo.chatter.settings")
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from demo.chatter.models import Group
    from notify.actions import MarkAllSeen
    from notify.bulk import insert_rows
    from notify.cleanup import clear_seen_messages
    from notify.lino.requests import ActionRequest
    from notify.models import ChangeWatcher, Message, Preferences

    user_model = get_user_model()
    andy = user_model.objects.get(username="andy")
    results = []

    def ten_thousand_old() -> None:
        Message.objects.all().delete()
        insert_rows(Message, ("subject", "user", "created", "seen"),
                    [(f"Old {i}", andy.pk, OLD, OLD if i % 2 else None) for i in range(10_000)])

    results.append(measure("clear_seen_messages over 10,000 old messages, half seen",
                           lambda: clear_seen_messages(14, True, now=NOW), setup=ten_thousand_old,
                           target="<= 5 queries; < 0.2 s", reference="20,054 queries; 4.37 s"))

    def ten_thousand_unseen() -> None:
        Message.objects.all().delete()
        insert_rows(Message, ("subject", "user"), [(f"Unseen {i}", andy.pk) for i in range(10_000)])

    ar = ActionRequest(andy)
    result = measure("MarkAllSeen for a user with 10,000 unseen", lambda: MarkAllSeen.run(ar),
                     setup=ten_thousand_unseen, target="1 UPDATE", reference="one save per row")
    with CaptureQueriesContext(connection) as ctx:
        ten_thousand_unseen()
        start = len(ctx.captured_queries)
        MarkAllSeen.run(ar)
    kinds = [q["sql"].split()[0] for q in ctx.captured_queries[start:]]
    result.notes.append(f"statements: {', '.join(kinds)} (the INSERT ... SELECT marks broadcasts)")
    results.append(result)

    user_model.objects.bulk_create(user_model(username=f"watcher{i:04d}") for i in range(1_000))
    watchers = list(user_model.objects.filter(username__startswith="watcher"))
    Preferences.objects.bulk_create(Preferences(user=u, language="en") for u in watchers[::2])
    group = Group.objects.get(name="Star Trek")
    content_type = ContentType.objects.get_for_model(Group)
    ChangeWatcher.objects.bulk_create(ChangeWatcher(content_type=content_type, object_id=group.pk, user=u)
                                      for u in watchers)
    chloe = ActionRequest(user_model.objects.get(username="chloe"))
    names = iter(f"Star Trek {i}" for i in range(100))

    def rename() -> None:
        group.name = next(names)

    result = measure("a change on an object with 1,000 watchers (Group.save_with_notification)",
                     lambda: group.save_with_notification(chloe), setup=rename, target="<= 6 queries")
    result.notes.append("3 data statements (UPDATE, SELECT observers with their preferences, one INSERT) "
                        "plus BEGIN and COMMIT")
    results.append(result)
    ChangeWatcher.objects.all().delete()
    user_model.objects.filter(username__startswith="watcher").delete()

    Message.objects.all().delete()
    start = time.perf_counter()
    _fill_million(connection, list(user_model.objects.order_by("pk").values_list("pk", flat=True)[:4]))
    fill = time.perf_counter() - start
    tracemalloc.start()
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        removed = clear_seen_messages(14, True, now=NOW)
        seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results.append(Result("clear_seen_messages over 1,000,000 rows", seconds, len(ctx.captured_queries),
                          "bounded memory; uses an index", "",
                          [f"removed {removed:,} in chunks of 10,000; peak Python memory {peak / 1e6:.1f} MB;"
                           f" filling took {fill:.1f} s; plan: docs/topics/retention.rst"]))
    Message.objects.all().delete()
    return results
