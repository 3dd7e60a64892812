"""MarkSeen, MarkAllSeen and ClearSeen: single statements, only for the recipient."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notify.actions import ClearSeen, MarkAllSeen, MarkSeen, unseen_for, visible_to
from notify.bulk import insert_rows
from notify.exceptions import NotifyError
from notify.lino.requests import login
from notify.models import Message, SeenBroadcast


@pytest.fixture
def users(db):
    return {u.username: u for u in get_user_model().objects.all()}


def test_mark_all_seen_for_10000_unseen_is_one_update(users, django_assert_num_queries):
    andy = users["andy"]
    insert_rows(Message, ("subject", "user"), [(f"m{i}", andy.pk) for i in range(10_000)])
    before = unseen_for(andy).count()
    ar = login("andy")
    with CaptureQueriesContext(connection) as ctx:
        assert MarkAllSeen.run(ar) == before
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert [s.split()[0] for s in sqls] == ["UPDATE", "INSERT"]  # the INSERT ... SELECT covers broadcasts
    assert unseen_for(andy).count() == 0
    with django_assert_num_queries(2):
        assert MarkAllSeen.run(ar) == 0


def test_seeing_a_broadcast_does_not_hide_it_from_others(users):
    broadcast = Message.objects.get(user__isnull=True)
    assert MarkSeen.run(login("andy"), broadcast) == 1
    assert MarkSeen.run(login("andy"), broadcast) == 0
    broadcast.refresh_from_db()
    assert broadcast.seen is None
    assert not unseen_for(users["andy"]).filter(pk=broadcast.pk).exists()
    assert unseen_for(users["bert"]).filter(pk=broadcast.pk).exists()
    assert visible_to(users["andy"]).filter(pk=broadcast.pk).exists()
    assert ClearSeen.run(login("andy"), broadcast.pk) == 1
    assert unseen_for(users["andy"]).filter(pk=broadcast.pk).exists()


def test_mark_all_seen_covers_broadcasts_per_user(users):
    expected = unseen_for(users["bert"]).count()
    assert MarkAllSeen.run(login("bert")) == expected
    assert SeenBroadcast.objects.filter(user=users["bert"]).count() == 1
    assert SeenBroadcast.objects.count() == 1
    assert unseen_for(users["andy"]).filter(user__isnull=True).exists()


def test_only_the_recipient_may_mark(users):
    theirs = Message.objects.filter(user=users["bert"]).first()
    with pytest.raises(Message.DoesNotExist):
        MarkSeen.run(login("andy"), theirs)
    with pytest.raises(Message.DoesNotExist):
        ClearSeen.run(login("andy"), theirs)
    theirs.refresh_from_db()
    assert theirs.seen is None


def test_an_unknown_message(users):
    with pytest.raises(Message.DoesNotExist):
        MarkSeen.run(login("andy"), 123456)


def test_actions_need_a_user(db):
    for action in (MarkSeen, MarkAllSeen, ClearSeen):
        with pytest.raises(NotifyError, match="signed-in user"):
            action.run(None, 1)


def test_mark_seen_is_one_update_for_own_messages(users):
    msg = Message.objects.filter(user=users["andy"]).first()
    ar = login("andy")
    with CaptureQueriesContext(connection) as ctx:
        assert MarkSeen.run(ar, msg) == 1
        assert ClearSeen.run(ar, msg) == 1
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["UPDATE", "UPDATE"]


def test_labels():
    assert str(MarkSeen.label) == "Mark as seen"
    assert str(MarkAllSeen.label) == "Mark all as seen"
    assert str(ClearSeen.label) == "Mark as unseen"


def test_seen_and_clear_need_a_message(users):
    for action in (MarkSeen, ClearSeen):
        with pytest.raises(NotifyError, match="needs a message"):
            action.run(login("andy"))
    assert not SeenBroadcast.objects.exists()


def test_marking_again_changes_nothing_and_keeps_the_first_seen_time(users):
    msg = Message.objects.filter(user=users["andy"], seen__isnull=True).first()
    ar = login("andy")
    assert MarkSeen.run(ar, msg) == 1
    first_seen = Message.objects.get(pk=msg.pk).seen
    assert MarkSeen.run(ar, msg) == 0
    assert Message.objects.get(pk=msg.pk).seen == first_seen
    assert ClearSeen.run(ar, msg) == 1
    assert ClearSeen.run(ar, msg) == 0
    broadcast = Message.objects.get(user__isnull=True)
    assert ClearSeen.run(ar, broadcast) == 0  # never seen by andy
    assert MarkSeen.run(ar, broadcast) == 1
    seen = SeenBroadcast.objects.get(user=users["andy"]).seen
    assert MarkSeen.run(ar, broadcast) == 0
    assert SeenBroadcast.objects.get(user=users["andy"]).seen == seen
