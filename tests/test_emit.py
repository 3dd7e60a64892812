"""emit_notification and create_message: semantics, errors, atomicity and query counts."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from demo.chatter.models import Group
from notify.exceptions import InvalidMessage, InvalidRecipient, NotifyError, UnknownChoice
from notify.lino.requests import ActionRequest
from notify.models import Message, Preferences
from notify.signals import messages_created

User = get_user_model()


def hello(user, mode):
    return f"Hello {user.username}", f"<p>mode {mode.value}</p>"


@pytest.fixture
def users(db):
    return {u.username: u for u in User.objects.all()}


def test_duplicates_none_and_silent_are_dropped(users):
    sent = Message.emit_notification(None, None, "system", hello, [
        (users["andy"], "often"), (users["andy"], "often"), (None, "often"), (users["bert"], "silent"),
        (users["chloe"], "daily")])
    assert [(m.user.username, m.mail_mode) for m in sent] == [("andy", "often"), ("chloe", "daily")]


def test_none_mode_means_the_users_preference(users):
    Preferences.objects.filter(user=users["bert"]).update(mail_mode="weekly")
    Preferences.objects.filter(user=users["chloe"]).update(mail_mode="silent")
    sent = Message.emit_notification(None, None, "system", hello, [(users["bert"], None), (users["chloe"], None)])
    assert [(m.user.username, m.mail_mode) for m in sent] == [("bert", "weekly")]


def test_a_user_without_preferences_gets_the_default_mode(users):
    newbie = User.objects.create(username="newbie")
    [msg] = Message.emit_notification(None, None, "system", hello, [(newbie, None)])
    assert msg.mail_mode == "often"


def test_the_emitter_is_skipped_unless_notify_myself(users):
    ar = ActionRequest(users["andy"])
    recipients = [(users["andy"], None), (users["bert"], None)]
    assert [m.user.username for m in Message.emit_notification(ar, None, "system", hello, recipients)] == ["bert"]
    Preferences.objects.filter(user=users["andy"]).update(notify_myself=True)
    sent = Message.emit_notification(ar, None, "system", hello, recipients)
    assert [m.user.username for m in sent] == ["andy", "bert"]


def test_msg_func_returning_none_skips_that_recipient(users):
    sent = Message.emit_notification(None, None, "system", lambda u, m: None if u.username == "andy" else ("x", ""),
                                     [(users["andy"], None), (users["bert"], None)])
    assert [m.user.username for m in sent] == ["bert"]


def test_returned_messages_match_the_stored_rows(users):
    group = Group.objects.get(name="Star Trek")
    sent = Message.emit_notification(None, group, "change", hello, [(users["chloe"], "daily")])
    stored = Message.objects.get(pk=sent[0].pk)
    for field in Message._meta.concrete_fields:
        assert getattr(sent[0], field.attname) == getattr(stored, field.attname), field.name
    assert stored.owner == group


def test_msg_func_runs_in_the_recipients_language(users):
    Preferences.objects.filter(user=users["bert"]).update(language="de")
    seen = []
    before = translation.get_language()
    Message.emit_notification(None, None, "system", lambda u, m: seen.append(translation.get_language()) or ("x", ""),
                              [(users["andy"], None), (users["bert"], None)])
    assert seen == ["en", "de"]
    assert translation.get_language() == before


@pytest.mark.parametrize("recipients, error, text", [
    ([("andy", None)], InvalidRecipient, "must be a auth.User instance"),
    ([(User(username="ghost"), None)], InvalidRecipient, "has not been saved"),
    (["andy"], InvalidMessage, "must be a (user, mail_mode) pair"),
])
def test_bad_recipients_raise_clear_errors(db, recipients, error, text):
    with pytest.raises(error) as info:
        Message.emit_notification(None, None, "system", hello, recipients)
    assert text in str(info.value)
    assert isinstance(info.value, NotifyError)


def test_unknown_choices_and_fields_are_refused(users):
    with pytest.raises(UnknownChoice, match="'gossip' is not a valid MessageTypes value"):
        Message.emit_notification(None, None, "gossip", hello, [(users["andy"], None)])
    with pytest.raises(UnknownChoice, match="'hourly' is not a valid MailModes value"):
        Message.emit_notification(None, None, "system", hello, [(users["andy"], "hourly")])
    with pytest.raises(InvalidMessage, match="unknown message fields: colour"):
        Message.emit_notification(None, None, "system", hello, [(users["andy"], None)], colour="red")


def test_an_emit_is_all_or_nothing(users):
    before = Message.objects.count()

    def too_long_for_bert(user, mode):
        return ("x" * 251 if user.username == "bert" else "fine"), ""

    with pytest.raises(InvalidMessage, match="Subject has 251 characters, at most 250 fit"):
        Message.emit_notification(None, None, "system", too_long_for_bert, [(users["andy"], None),
                                                                            (users["bert"], None)])
    assert Message.objects.count() == before


def test_unsaved_owner_is_refused(users):
    with pytest.raises(InvalidMessage, match="must be saved"):
        Message.emit_notification(None, Group(name="new"), "system", hello, [(users["andy"], None)])


def test_the_signal_is_sent_once_after_commit(users, on_commit):
    received = []

    def receiver(sender, messages, **kwargs):
        received.append([m.user.username for m in messages])

    messages_created.connect(receiver)
    try:
        with on_commit():
            Message.emit_notification(None, None, "system", hello, [(users["andy"], None), (users["bert"], None)])
            assert received == []
        assert received == [["andy", "bert"]]
    finally:
        messages_created.disconnect(receiver)


@pytest.mark.parametrize("count", [1, 1000])
def test_query_count_does_not_grow_with_recipients(db, count):
    User.objects.bulk_create(User(username=f"r{i:04d}") for i in range(count))
    recipients = [(u, "often") for u in User.objects.filter(username__regex=r"^r\d{4}$")]
    assert len(recipients) == count
    with CaptureQueriesContext(connection) as ctx:
        sent = Message.emit_notification(None, None, "system", hello, recipients)
    assert len(sent) == count
    # preferences, then INSERT ... RETURNING (inside the test's transaction: no savepoint)
    assert len(ctx.captured_queries) == 2, [q["sql"][:60] for q in ctx.captured_queries]


def test_create_message_skips_when_an_unseen_message_about_the_owner_exists(users):
    group = Group.objects.get(name="Harry Potter")
    assert Message.create_message(users["chloe"], group, subject="one") is not None
    assert Message.create_message(users["chloe"], group, subject="two") is None
    Message.objects.filter(user=users["chloe"]).update(seen="2024-04-06 06:00:00Z")
    assert Message.create_message(users["chloe"], group, subject="three") is not None


def test_create_message_validates_its_input(db):
    with pytest.raises(InvalidRecipient):
        Message.create_message("andy", subject="x")
    with pytest.raises(UnknownChoice):
        Message.create_message(None, subject="x", mail_mode="sometimes")
    with pytest.raises(InvalidMessage):
        Message.create_message(None, subject="x" * 300)


def test_one_message_per_user_whatever_the_modes_given(users):
    sent = Message.emit_notification(None, None, "system", hello, [(users["andy"], None), (users["andy"], "daily")])
    assert [(m.user.username, m.mail_mode) for m in sent] == [("andy", "often")]


def test_translation_state_is_restored_even_after_deactivate_all(users):
    translation.deactivate_all()
    try:
        Message.emit_notification(None, None, "system", hello, [(users["andy"], None)])
        assert translation.get_language() is None
    finally:
        translation.activate("en")


def test_quietly_is_decided_when_the_messages_are_created(users, on_commit):
    from notify.signals import quietly

    received = []

    def receiver(sender, messages, **kwargs):
        received.append(messages)

    messages_created.connect(receiver)
    try:
        with on_commit():
            with quietly():
                [quiet] = Message.emit_notification(None, None, "system", hello, [(users["andy"], None)])
            [loud] = Message.emit_notification(None, None, "system", hello, [(users["bert"], None)])
        assert [[m.pk for m in batch] for batch in received] == [[loud.pk]]
        assert Message.objects.get(pk=quiet.pk).pushed is not None  # the push outbox leaves it alone
        assert Message.objects.get(pk=loud.pk).pushed is None
    finally:
        messages_created.disconnect(receiver)


def test_create_message_follows_the_users_mail_mode(users):
    Preferences.objects.filter(user=users["bert"]).update(mail_mode="daily")
    Preferences.objects.filter(user=users["chloe"]).update(mail_mode="silent")
    assert Message.create_message(users["bert"], subject="x").mail_mode == "daily"
    assert Message.create_message(users["chloe"], subject="x") is None
    assert Message.create_message(users["chloe"], subject="x", mail_mode="never").mail_mode == "never"


def test_preferences_selected_with_the_users_cost_no_query(db):
    users = list(User.objects.select_related("notify_preferences").order_by("username"))
    with CaptureQueriesContext(connection) as ctx:
        sent = Message.emit_notification(users[0], None, "system", hello, [(u, None) for u in users])
    assert [m.user.username for m in sent] == ["bert", "chloe", "robin"]  # andy acts and is left out
    assert len(ctx.captured_queries) == 1  # the INSERT


def test_a_message_keeps_the_user_whose_action_caused_it(users):
    bert, robin = users["bert"], users["robin"]
    [by_robin] = Message.emit_notification(ActionRequest(robin), None, "system", lambda u, m: ("Hi", ""),
                                           [(bert, "often")])
    [by_system] = Message.emit_notification(None, None, "system", lambda u, m: ("Hi", ""), [(bert, "often")])
    assert (by_robin.actor, by_system.actor) == (robin, None)
    assert Message.objects.get(pk=by_robin.pk).actor == robin
    assert Message.objects.get(pk=by_system.pk).actor is None
    assert Message.create_message(bert, subject="Direct", actor=robin).actor == robin
    robin.delete()
    assert Message.objects.get(pk=by_robin.pk).actor is None  # the message stays


def test_model_defaults_follow_default_mail_mode(db):
    from django.test import override_settings

    with override_settings(NOTIFY={"default_mail_mode": "daily"}):
        assert Message(subject="x").mail_mode == "daily"
        assert Preferences().mail_mode == "daily"
    assert Message(subject="x").mail_mode == "often"


def test_a_failing_receiver_neither_fails_the_commit_nor_starves_the_others(users, on_commit, caplog):
    heard = []

    def broken(sender, messages, **kwargs):
        raise RuntimeError("receiver down")

    def listening(sender, messages, **kwargs):
        heard.extend(m.subject for m in messages)

    messages_created.connect(broken)
    messages_created.connect(listening)
    try:
        with on_commit():
            Message.emit_notification(None, None, "system", hello, [(users["bert"], "often")])
    finally:
        messages_created.disconnect(broken)
        messages_created.disconnect(listening)
    assert heard == ["Hello bert"]
    assert "receiver down" in caplog.text


def test_the_assertions_mixin_and_capture_inside_quietly(users):
    from notify.api import emit, quietly
    from notify.testing import NotifyAssertionsMixin, captured_messages

    case = NotifyAssertionsMixin()
    with captured_messages() as outer, captured_messages() as inner, quietly():
        emit([users["bert"]], "Quiet news", actor=users["andy"])
    assert [m.subject for m in outer] == [m.subject for m in inner] == ["Quiet news"]
    assert case.assertNotified(users["bert"], messages=outer, subject="Quiet news", count=1)
    case.assertNotNotified(users["andy"], messages=outer)
    with pytest.raises(AssertionError, match="No message to chloe"):
        case.assertNotified(users["chloe"], messages=outer)
