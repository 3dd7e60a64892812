"""Several mail workers at the same moment send every e-mail exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

WORKERS = 4


def test_concurrent_workers_send_each_email_once(transactional_db, smtp_server):
    from django.contrib.auth import get_user_model

    from notify.mail import send_summary_emails
    from notify.models import Message

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"w{i:03d}", email=f"w{i:03d}@example.org") for i in range(40))
    users = list(get_user_model().objects.filter(username__startswith="w"))
    # Desktop pushes off: their background thread would lock the new rows, which a run then skips.
    with override_settings(NOTIFY={**settings.NOTIFY, "use_push_api": False, "job_backend": "cron"}):
        for n in range(3):
            Message.emit_notification(None, None, "system", lambda u, m, n=n: (f"#{n}", "<p>x</p>"),
                                      [(u, "often") for u in users])
    barrier = threading.Barrier(WORKERS)
    results, errors = [], []

    def work():
        try:
            barrier.wait(timeout=10)
            results.append(send_summary_emails("often"))
        except Exception as exc:  # the assertion below shows it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(results) == 44
    got = smtp_server.by_recipient()
    assert len(got) == 44
    assert all(len(mails) == 1 for mails in got.values())
    assert not Message.objects.filter(sent__isnull=True, mail_mode="often").exists()
    assert not Message.objects.exclude(mail_claim="").exists()


def test_claims_take_turns_on_postgresql_and_wait_for_a_locked_row(db):
    from notify.mail import claims

    with CaptureQueriesContext(connection) as ctx:
        claims.claim("often", "0" * 32)
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert sqls[-1].startswith("UPDATE") and "SKIP LOCKED" not in sqls[-1]
    if connection.vendor == "postgresql":
        assert "pg_advisory_xact_lock" in sqls[-2]


def test_a_message_that_the_push_outbox_holds_is_claimed_once_it_is_free(transactional_db):
    """A claim waits for a row another transaction holds, instead of leaving it for the next run."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    from django.db import transaction

    from notify.mail import claims
    from notify.models import Message

    pending = claims.pending("often").filter(claims.unclaimed())
    total = pending.count()
    victim = pending.order_by("pk").first()
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Message.objects.filter(pk=victim.pk).update(pushed=victim.created)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    threading.Timer(0.5, release.set).start()
    try:
        assert claims.claim("often", "1" * 32) == total
    finally:
        release.set()
        holder.join(10)
    assert Message.objects.filter(mail_claim="1" * 32).count() == total
