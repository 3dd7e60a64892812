"""clear_seen_messages: what goes, what stays, and how many queries it takes."""

import datetime
import logging
import time
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from notify.bulk import insert_rows
from notify.cleanup import clear_seen_messages, current_time
from notify.exceptions import ImproperlyConfigured
from notify.models import Message, SeenBroadcast

NOW = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.UTC)
OLD = NOW - datetime.timedelta(days=30)


def _messages(user, count, seen_every=2, created=OLD):
    rows = [(f"Old {i}", user.pk, created, created if i % seen_every == 0 else None) for i in range(count)]
    return insert_rows(Message, ("subject", "user", "created", "seen"), rows)


@pytest.fixture
def andy(db):
    return get_user_model().objects.get(username="andy")


def test_10000_old_messages_half_seen_take_3_queries(andy, django_assert_num_queries):
    Message.objects.all().delete()
    _messages(andy, 10_000)
    with django_assert_num_queries(3):
        start = time.perf_counter()
        assert clear_seen_messages(14, True, now=NOW) == 5_000
        elapsed = time.perf_counter() - start
    assert Message.objects.count() == 5_000
    assert not Message.objects.filter(seen__isnull=False).exists()
    assert elapsed < 1  # the bench measures this more precisely (target 0.2 s)


def test_chunks_take_a_fixed_number_of_queries(andy):
    Message.objects.all().delete()
    _messages(andy, 500)
    with CaptureQueriesContext(connection) as ctx:
        assert clear_seen_messages(14, True, now=NOW, chunk_size=100) == 250
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert len(sqls) == 9  # 3 chunks (100, 100, 50) of SELECT + 2 DELETEs; the short chunk is the last
    assert all("LIMIT 100" in sql for sql in sqls[::3])


def test_chunk_boundary_on_equal_timestamps(andy):
    Message.objects.all().delete()
    _messages(andy, 30, seen_every=1)
    assert clear_seen_messages(14, True, now=NOW, chunk_size=7) == 30
    assert not Message.objects.exists()


def test_keep_unseen_false_removes_unseen_too(andy):
    Message.objects.all().delete()
    _messages(andy, 10)
    assert clear_seen_messages(14, False, now=NOW) == 10


def test_recent_messages_stay(andy):
    Message.objects.all().delete()
    _messages(andy, 10, seen_every=1, created=NOW - datetime.timedelta(days=13, hours=23))
    _messages(andy, 10, seen_every=1, created=NOW - datetime.timedelta(days=14, minutes=1))
    assert clear_seen_messages(14, True, now=NOW) == 10
    assert Message.objects.count() == 10


@pytest.mark.parametrize("value", [None, 0])
def test_none_or_zero_keeps_everything(db, value, django_assert_num_queries):
    before = Message.objects.count()
    with django_assert_num_queries(0):
        assert clear_seen_messages(value, False, now=NOW) == 0
    assert Message.objects.count() == before


@pytest.mark.parametrize("value", [-1, "14", True, 1.5j])
def test_bad_remove_after(db, value):
    with pytest.raises(ImproperlyConfigured):
        clear_seen_messages(value, now=NOW)


def test_bad_chunk_size(db):
    with pytest.raises(ImproperlyConfigured):
        clear_seen_messages(14, now=NOW, chunk_size=0)


def test_broadcast_goes_once_every_active_user_has_seen_it(db):
    users = list(get_user_model().objects.all())
    broadcast = Message.objects.get(user__isnull=True)
    assert broadcast.created < NOW - datetime.timedelta(days=14)
    SeenBroadcast.objects.bulk_create(SeenBroadcast(message=broadcast, user=u) for u in users[:-1])
    clear_seen_messages(14, True, now=NOW)
    assert Message.objects.filter(pk=broadcast.pk).exists()
    get_user_model().objects.filter(pk=users[-1].pk).update(is_active=False)
    clear_seen_messages(14, True, now=NOW)
    assert not Message.objects.filter(pk=broadcast.pk).exists()
    assert not SeenBroadcast.objects.exists()


def test_keep_unseen_false_removes_broadcasts_and_their_seen_rows(db):
    broadcast = Message.objects.get(user__isnull=True)
    SeenBroadcast.objects.create(message=broadcast, user=get_user_model().objects.first())
    assert clear_seen_messages(14, False, now=NOW) == 79
    assert not SeenBroadcast.objects.exists()


def test_default_now_is_the_demo_date(db):
    Message.objects.update(seen=NOW)
    assert current_time().date() == datetime.date(2024, 4, 6)
    assert clear_seen_messages() == 0  # the demo's messages are from "today"
    with override_settings(NOTIFY_LINO={}):
        assert current_time().date() != datetime.date(2024, 4, 6)
        assert clear_seen_messages() == 78  # all but the broadcast nobody has seen


def test_settings_are_the_defaults(db):
    Message.objects.filter(user__isnull=False).update(seen=NOW)
    with override_settings(NOTIFY={"remove_after": 0}):
        assert clear_seen_messages(now=NOW) == 0
    with override_settings(NOTIFY={"remove_after": 14, "keep_unseen": False}):
        assert clear_seen_messages(now=NOW) == 79


def test_logs_the_true_count(andy, caplog):
    Message.objects.all().delete()
    _messages(andy, 40)
    with caplog.at_level(logging.INFO, logger="notify.cleanup"):
        clear_seen_messages(14, True, now=NOW, chunk_size=15)
    assert "Removed 20 notification messages created before 2024-05-18 12:00:00+00:00." in caplog.text


def test_dry_run_counts_and_keeps(andy, django_assert_num_queries):
    Message.objects.all().delete()
    _messages(andy, 40)
    with django_assert_num_queries(1):
        assert clear_seen_messages(14, True, now=NOW, dry_run=True) == 20
    assert Message.objects.count() == 40


def test_lazy_name(db):
    import notify

    assert notify.clear_seen_messages is clear_seen_messages


def test_management_command(db):
    Message.objects.filter(user__isnull=False).update(seen=NOW)
    out = StringIO()
    with override_settings(NOTIFY_LINO={}):
        call_command("notify_clear_seen", "--dry-run", stdout=out)
        assert out.getvalue() == "Would remove 78 notification messages.\n"
        call_command("notify_clear_seen", stdout=out)
        assert out.getvalue().endswith("Removed 78 notification messages.\n")
    assert Message.objects.count() == 1
    out = StringIO()
    call_command("notify_clear_seen", "--days", "0", "--include-unseen", stdout=out)
    assert out.getvalue() == "Removed 0 notification messages.\n"
    with pytest.raises(CommandError, match="number of days"):
        call_command("notify_clear_seen", "--days", "-2")


def test_postgresql_plan_uses_an_index(andy):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    from notify.cleanup import removable_messages

    Message.objects.all().delete()
    _messages(andy, 20_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notify_message")
    qs = removable_messages(NOW - datetime.timedelta(days=14)).order_by("created", "pk").values_list("created", "pk")
    plan = qs[:10_000].explain()
    assert "Index" in plan and "Seq Scan on notify_message" not in plan, plan
