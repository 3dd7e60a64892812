"""ChangeNotifier: watchers, subjects, bodies and the saving path."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notify.changes import ChangeNotifier, ChangeSet, display_value
from notify.exceptions import InvalidRecipient, NotifyError
from notify.lino.requests import ActionRequest, login
from notify.models import ChangeWatcher, Message, Preferences


def _group(name):
    from demo.chatter.models import Group

    return Group.objects.get(name=name)


def test_group_rename_notifies_the_other_members(db):
    group = _group("Harry Potter")
    group.name = "Harry Potter and the Comments"
    messages = group.save_with_notification(login("andy"))
    assert [(m.user.username, m.subject) for m in messages] == [("bert", "Andy modified Harry Potter and the Comments")]
    msg = Message.objects.get(pk=messages[0].pk)
    assert msg.body == ("<p>Andy modified Harry Potter and the Comments:</p>"
                        "<ul><li>Name: Harry Potter → Harry Potter and the Comments</li></ul>")
    assert msg.message_type == "change"
    assert msg.owner == group
    assert _group("Harry Potter and the Comments").pk == group.pk


def test_saving_without_change_emits_nothing(db, django_assert_num_queries):
    group, ar = _group("Star Trek"), login("chloe")
    with django_assert_num_queries(1):  # the UPDATE of save()
        assert group.save_with_notification(ar) == []


def test_one_message_per_save_and_the_snapshot_moves_on(db):
    group = _group("Star Trek")
    group.name = "Star Trek I"
    assert len(group.save_with_notification(login("chloe"))) == 1
    assert group.save_with_notification(login("chloe")) == []
    group.name = "Star Trek II"
    messages = group.save_with_notification(login("chloe"))
    assert "Star Trek I → Star Trek II" in messages[0].body


def test_explicit_watchers_hear_of_changes(db):
    group = _group("Star Trek")
    andy = get_user_model().objects.get(username="andy")
    watcher = group.add_change_watcher(andy)
    assert group.add_change_watcher(andy) == watcher
    assert ChangeWatcher.objects.filter(user=andy).count() == 1
    group.name = "Trek"
    assert sorted(m.user.username for m in group.save_with_notification(login("robin"))) == ["andy", "chloe"]
    assert group.remove_change_watcher(andy) is True
    assert group.remove_change_watcher(andy) is False


def test_add_change_watcher_checks_its_input(db):
    group = _group("Star Trek")
    with pytest.raises(InvalidRecipient):
        group.add_change_watcher("andy")


def test_editing_a_comment_says_modified_comment_on(db):
    from demo.chatter.models import Comment

    comment = Comment.objects.get(pk=16)  # written by bert in Star Trek
    comment.body = "<p>Corrected.</p>"
    messages = comment.save_with_notification(ActionRequest(comment.author))
    assert sorted((m.user.username, m.subject) for m in messages) == [
        ("chloe", "Bert modified comment on Star Trek"), ("robin", "Bert modified comment on Star Trek")]
    assert {m.body for m in messages} == {"<p>Corrected.</p>"}
    assert {m.owner for m in messages} == {comment.group}


def test_an_empty_subject_suppresses_the_message(db):
    from demo.chatter.models import Comment

    group = _group("Star Trek")
    author = get_user_model().objects.get(username="andy")
    comment = Comment(group=group, author=author, body="<p>New</p>")
    assert comment.save_with_notification(ActionRequest(author)) == []  # Comment says None when created
    assert comment.pk is not None


def test_default_subject_and_body_of_a_creation(db):
    group = _group("Star Trek")
    ar = login("robin")
    assert group.get_change_subject(ar, None) == "Robin Rood created Star Trek"
    assert group.get_change_body(ar, None) == "<p>Robin Rood created Star Trek</p>"
    assert group.get_change_subject(None, None) == "Somebody created Star Trek"


def test_change_set_lists_old_and_new_values(db):
    group = _group("Star Trek")
    cw = group.get_change_set()
    assert isinstance(cw, ChangeSet) and not cw.is_dirty()
    group.name = "Voyager"
    assert [(c.name, c.verbose_name, c.old, c.new) for c in cw.get_updates()] == [
        ("name", "name", "Star Trek", "Voyager")]
    assert "name" in repr(cw)


def test_an_object_built_in_memory_has_no_original(db):
    from demo.chatter.models import Group

    group = Group(pk=_group("Star Trek").pk, name="Star Trek")
    group._state.adding = False
    with pytest.raises(NotifyError, match="not loaded from the database"):
        group.get_change_set()


def test_display_value(db):
    from demo.chatter.models import Comment

    author = Comment._meta.get_field("author")
    user = get_user_model().objects.get(username="bert")
    assert display_value(author, user.pk, {(get_user_model(), user.pk): user}) == "bert"
    assert display_value(author, 999, {}) == "#999"
    assert display_value(author, None, {}) == "—"
    body = Comment._meta.get_field("body")
    assert display_value(body, "x", {}) == "x"


def test_mixin_is_abstract():
    assert ChangeNotifier._meta.abstract


def test_a_change_with_1000_watchers_takes_at_most_6_queries(db):
    user_model = get_user_model()
    user_model.objects.bulk_create(user_model(username=f"watcher{i:04d}") for i in range(1000))
    watchers = list(user_model.objects.filter(username__startswith="watcher"))
    Preferences.objects.bulk_create(Preferences(user=u, language="en") for u in watchers[::2])
    group = _group("Star Trek")
    group.add_change_watcher(watchers[0])  # warm the content type cache
    ChangeWatcher.objects.bulk_create(
        ChangeWatcher(content_type_id=ChangeWatcher.objects.get().content_type_id, object_id=group.pk, user=u)
        for u in watchers[1:]
    )
    group.name = "Star Trek 1000"
    ar = login("chloe")  # a member: her preferences come with the observers
    with CaptureQueriesContext(connection) as ctx:
        messages = group.save_with_notification(ar)
    assert len(messages) == 1001  # 1,000 watchers and robin
    assert len(ctx.captured_queries) <= 6, [q["sql"][:80] for q in ctx.captured_queries]
    assert Message.objects.filter(subject="Chloe Cleoment modified Star Trek 1000").count() == 1001
