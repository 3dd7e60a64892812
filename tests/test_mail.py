"""E-mail notifications over real SMTP (aiosmtpd on 127.0.0.1), parsed with the stdlib e-mail parser."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.support.smtpserver import free_port, smtp_settings

#: On PostgreSQL a run takes the claim's advisory lock in one more statement.
ADVISORY_LOCK = 1 if connection.vendor == "postgresql" else 0
#: Statements of every run that sends: take a lease (reap the dead ones, insert), claim, read the
#: claimed messages and their recipients, drop the lease (on PostgreSQL also relax the commits and
#: reset them). Then one UPDATE per e-mail.
RUN = 6 + ADVISORY_LOCK * 3
#: With broadcasts: read who already got them, close them; per e-mail one INSERT more.
BROADCAST = 2

ADDRESSES = ["andy@chatter.localhost", "bert@chatter.localhost", "chloe@chatter.localhost",
             "robin@chatter.localhost"]


def pending_count(mode="often"):
    from notify.models import Message

    return Message.objects.filter(mail_mode=mode, sent__isnull=True).count()


def expected_counts():
    """Return {address: number of messages} that the seeded "often" run must deliver."""
    from notify.models import Message

    counts = {}
    for address in ADDRESSES:
        mine = Message.objects.filter(user__email=address, mail_mode="often", sent__isnull=True).count()
        counts[address] = mine + 1  # + the broadcast
    return counts


def test_often_run_sends_one_digest_per_user_and_nothing_twice(db, smtp_server, django_assert_num_queries):
    import notify
    from notify.models import Message

    expected = expected_counts()
    with django_assert_num_queries(RUN + BROADCAST + 4 * 2):
        assert notify.send_pending_emails_often() == 4
    assert smtp_server.inbox.connections == 1
    got = smtp_server.by_recipient()
    assert sorted(got) == ADDRESSES
    for address, mails in got.items():
        assert len(mails) == 1
        msg = mails[0].message
        assert msg["Subject"] == f"[chatter] {expected[address]} notifications"
        assert msg["From"] == "chatter@localhost"
        assert address in msg["To"]
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg.get_content_type() == "multipart/alternative"
        assert "The database has been initialized." in mails[0].text()
        assert "<h3" in mails[0].html()
    assert pending_count() == 0
    assert not Message.objects.exclude(mail_claim="").exists()
    assert notify.send_pending_emails_often() == 0
    assert len(smtp_server.received) == 4


def test_digest_text_is_readable_and_html_sanitized(db, smtp_server):
    from notify.mail import send_summary_emails
    from notify.models import Message

    with override_settings(NOTIFY={"site_url": "https://chatter.example"}):
        send_summary_emails("often")
    bert = smtp_server.by_recipient()["bert@chatter.localhost"][0]
    text, html = bert.text(), bert.html()
    assert "Monday | Reading" in text
    assert "- Don't panic" in text
    assert "Star Trek <https://chatter.example/groups/2/>" in text
    assert "Größe & «Anführungszeichen» <3" in text
    assert "<" not in text.replace("<3", "").replace("<https", "")
    assert 'href="https://chatter.example/groups/2/"' in html
    assert "mso-fareast" not in html and "MsoNormal" not in html
    assert Message.objects.filter(sent__isnull=True).count() == 0


def test_one_message_keeps_its_subject_which_cannot_inject_headers(db, smtp_server):
    from demo.chatter.models import Comment
    from notify.mail import send_summary_emails
    from notify.models import Message

    chloe = Message.objects.filter(user__username="chloe").first().user
    Message.create_message(chloe, subject="Hi\r\nBcc: evil@example.org\nX-Evil: 1", body="<p>body</p>",
                           mail_mode="daily", reply_to=Comment.objects.get(pk=7))
    with override_settings(NOTIFY={"mail_reply_to": "reply+{app_label}.{model}-{id}@chatter.localhost"}):
        assert send_summary_emails("daily") == 1
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["chloe@chatter.localhost"]
    assert mail.message["Subject"] == "[chatter] Hi Bcc: evil@example.org X-Evil: 1"
    assert mail.message["Bcc"] is None and mail.message["X-Evil"] is None
    assert mail.message["Reply-To"] == "reply+chatter.comment-7@chatter.localhost"


def test_language_and_time_zone_of_the_recipient(db, smtp_server):
    from notify.mail import send_summary_emails
    from notify.models import Message, Preferences

    Preferences.objects.filter(user__username="robin").update(language="fr", time_zone="Europe/Brussels")
    robin = Preferences.objects.get(user__username="robin").user
    Message.create_message(robin, subject="Salut", mail_mode="weekly", created=Message.objects.first().created)
    assert send_summary_emails("weekly") == 1
    text = smtp_server.received[0].text()
    assert "6 avril 2024 07:48" in text


def test_weekly_digest_really_goes_out(db, smtp_server):
    import notify
    from notify.models import Message

    users = {m.user for m in Message.objects.filter(user__isnull=False)}
    for user in users:
        for n in range(2):
            Message.create_message(user, subject=f"Weekly {n}", mail_mode="weekly")
    assert notify.send_pending_emails_weekly() == 4
    assert {m.message["Subject"] for m in smtp_server.received} == {"[chatter] 2 notifications"}
    assert pending_count("weekly") == 0
    assert notify.send_pending_emails_daily() == 0


def test_refused_recipient_stays_pending_and_gets_the_broadcast_once(db, smtp_server, caplog):
    from notify.actions import MarkSeen
    from notify.lino.requests import login
    from notify.mail import send_summary_emails
    from notify.models import Message

    bert_pending = Message.objects.filter(user__username="bert", sent__isnull=True).count()
    MarkSeen.run(login("bert"), Message.objects.get(user__isnull=True))
    smtp_server.inbox.refuse.add("bert@chatter.localhost")
    with caplog.at_level(logging.WARNING, logger="notify.mail"):
        assert send_summary_emails("often") == 3
    assert "refused" in caplog.text
    assert "bert@chatter.localhost" not in smtp_server.by_recipient()
    assert Message.objects.get(user__isnull=True).sent is not None
    bert = Message.objects.filter(user__username="bert", sent__isnull=True)
    assert bert.count() == bert_pending + 1
    copy = bert.get(subject="Broadcast message")
    assert copy.seen is not None and copy.pushed is not None  # no new unread message, no second push
    smtp_server.inbox.refuse.clear()
    assert send_summary_emails("often") == 1
    (mail,) = smtp_server.by_recipient()["bert@chatter.localhost"]
    assert mail.text().count("The database has been initialized.") == 1
    assert pending_count() == 0


def test_smtp_down_leaves_everything_pending(db, caplog):
    from notify.mail import send_summary_emails
    from notify.models import Message

    before = pending_count()
    with override_settings(**smtp_settings(free_port())), caplog.at_level(logging.ERROR, logger="notify.mail"):
        assert send_summary_emails("often") == 0
    assert "Cannot connect" in caplog.text
    assert pending_count() == before
    assert not Message.objects.exclude(mail_claim="").exists()


def test_smtp_server_that_never_answers_times_out(db, silent_server, caplog):
    import time

    from notify.mail import send_summary_emails

    before = pending_count()
    start = time.monotonic()
    with override_settings(**smtp_settings(silent_server, timeout=0.3)), caplog.at_level(logging.ERROR):
        assert send_summary_emails("often") == 0
    assert time.monotonic() - start < 3
    assert pending_count() == before


def test_timeout_in_the_middle_keeps_the_rest_for_the_next_run(db, smtp_server, caplog):
    from notify.mail import send_summary_emails
    from notify.models import Message

    smtp_server.inbox.stall.add("chloe@chatter.localhost")
    smtp_server.inbox.stall_seconds = 1.5
    with override_settings(EMAIL_TIMEOUT=0.3), caplog.at_level(logging.ERROR, logger="notify.mail"):
        assert send_summary_emails("often") == 2
    assert sorted(smtp_server.by_recipient()) == ADDRESSES[:2]
    assert "the rest stays pending" in caplog.text
    left = Message.objects.filter(sent__isnull=True, mail_mode="often")
    # The broadcast (no user) waits for chloe and robin; andy and bert have theirs.
    assert set(left.values_list("user__username", flat=True)) == {"chloe", "robin", None}
    assert not Message.objects.exclude(mail_claim="").exists()
    smtp_server.inbox.stall.clear()
    assert send_summary_emails("often") == 2
    got = smtp_server.by_recipient()
    assert sorted(got) == ADDRESSES and all(len(mails) == 1 for mails in got.values())
    assert all("The database has been initialized." in got[a][0].text() for a in ADDRESSES)
    assert pending_count() == 0
    assert Message.objects.filter(user__isnull=False, subject__contains="initialized").count() == 0


def test_a_broken_template_setting_logs_and_keeps_messages(db, smtp_server, caplog):
    from notify.mail import send_summary_emails

    before = pending_count()
    with override_settings(NOTIFY={"mail_reply_to": "reply+{nope}@x"}), caplog.at_level(logging.ERROR):
        assert send_summary_emails("often") == 0
    assert "mail_reply_to" in caplog.text
    assert pending_count() == before


def test_mark_seen_when_sent(db, smtp_server):
    from notify.mail import send_summary_emails
    from notify.models import Message, SeenBroadcast

    pending = list(Message.objects.filter(user__isnull=False, sent__isnull=True).values_list("pk", flat=True))
    with override_settings(NOTIFY={"mark_seen_when_sent": True}), CaptureQueriesContext(connection) as ctx:
        send_summary_emails("often")
    # Per e-mail: the UPDATE, the broadcast's INSERT and its seen INSERT.
    assert len(ctx.captured_queries) == RUN + BROADCAST + 4 * 3
    assert not Message.objects.filter(pk__in=pending, seen__isnull=True).exists()
    broadcast = Message.objects.get(user__isnull=True)
    assert broadcast.seen is None
    assert SeenBroadcast.objects.filter(message=broadcast).count() == 4


def test_users_without_address_keep_their_messages_pending(db, smtp_server):
    from django.contrib.auth import get_user_model

    from notify.mail import send_summary_emails
    from notify.models import Message

    get_user_model().objects.filter(username="bert").update(email="")
    get_user_model().objects.filter(username="chloe").update(is_active=False)
    assert send_summary_emails("often") == 2
    assert sorted(smtp_server.by_recipient()) == ["andy@chatter.localhost", "robin@chatter.localhost"]
    left = set(Message.objects.filter(sent__isnull=True).values_list("user__username", flat=True))
    assert left == {"bert", "chloe"}


def test_modes_that_send_no_mail_are_refused(db):
    from notify.exceptions import NotMailedMode, UnknownChoice
    from notify.mail import send_summary_emails

    with pytest.raises(NotMailedMode):
        send_summary_emails("never")
    with pytest.raises(UnknownChoice):
        send_summary_emails("hourly")


def test_a_claim_held_by_a_live_run_is_skipped_and_a_dead_one_is_taken_over(db):
    import datetime

    from django.utils import timezone

    from notify import leases
    from notify.mail import claims
    from notify.models import Lease

    first = leases.Held("mail_often")
    assert claims.claim("often", first.token) == pending_count()
    assert claims.claim("often", leases.Held("mail_often").token) == 0
    assert leases.reap() == []
    # No heartbeat for longer than the claim timeout: the lease is reaped and its claims are free.
    Lease.objects.filter(token=first.token).update(heartbeat=timezone.now() - datetime.timedelta(seconds=121))
    assert leases.reap() == [first.token]
    assert claims.claim("often", leases.Held("mail_often").token) == pending_count()


def test_the_project_can_override_the_templates(db, tmp_path):
    from django.conf import settings

    from notify.mail import compose_email
    from notify.models import Message

    (tmp_path / "notify").mkdir()
    (tmp_path / "notify" / "body.eml").write_text("<p>Custom: {{ obj.subject }} for {{ user.username }}</p>")
    (tmp_path / "notify" / "body.txt").write_text("Custom text: {{ obj.subject }}")
    templates = [dict(settings.TEMPLATES[0], DIRS=[str(tmp_path)])]
    msg = Message.objects.filter(user__username="andy").first()
    with override_settings(TEMPLATES=templates):
        email = compose_email(msg.user, [msg])
    assert f"<p>Custom: {msg.subject} for andy</p>" in email.alternatives[0][0]
    assert f"Custom text: {msg.subject}" in email.body
    assert "Custom" not in compose_email(msg.user, [msg]).body


def test_send_many_messages_in_constant_queries(db):
    from django.contrib.auth import get_user_model
    from django.core import mail

    from notify.mail import send_summary_emails
    from notify.models import Message

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"many{i:03d}", email=f"many{i:03d}@example.org") for i in range(100))
    users = list(get_user_model().objects.filter(username__startswith="many"))
    Message.emit_notification(None, None, "system", lambda u, m: (f"Hi {u.username}", "<p>x</p>"),
                              [(u, "daily") for u in users])
    for n in range(9):
        Message.emit_notification(None, None, "system", lambda u, m, n=n: (f"#{n}", "<p>y</p>"),
                                  [(u, "daily") for u in users])
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        mail.outbox = []
        with CaptureQueriesContext(connection) as ctx:
            assert send_summary_emails("daily") == 100
    assert len(ctx.captured_queries) == RUN + 100
    assert {m.subject for m in mail.outbox} == {"[chatter] 10 notifications"}


def test_html_to_text_and_sanitize():
    from notify.mail import html_to_text, sanitize_html

    assert sanitize_html('<p onclick="x()" style="color:red">Hi<script>alert(1)</script></p>') == "<p>Hi</p>"
    assert html_to_text("<ol><li>one</li><li>two</li></ol><p>a&nbsp;b <a href='http://x.org/'>x</a></p>") == (
        "1. one\n2. two\n\na b x <http://x.org/>")
    assert html_to_text("<pre>a\n  b</pre>") == "a\n  b"
    assert html_to_text("plain   text") == "plain text"
