"""The scheduler, the management commands and the task wrappers of the e-mail runs."""

from __future__ import annotations

import datetime
import logging
import threading
import time
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

BRUSSELS = zoneinfo.ZoneInfo("Europe/Brussels")


def at(*args):
    return datetime.datetime(*args, tzinfo=BRUSSELS).timestamp()


def test_next_time_daily_and_weekly():
    from notify.scheduler import next_time

    seven = datetime.time(7, 0)
    assert next_time(at(2024, 4, 6, 6, 0), seven, tz=BRUSSELS) == at(2024, 4, 6, 7, 0)
    assert next_time(at(2024, 4, 6, 7, 0), seven, tz=BRUSSELS) == at(2024, 4, 7, 7, 0)
    # 2024-04-06 is a Saturday; the next Monday is the 8th
    assert next_time(at(2024, 4, 6, 6, 0), seven, 0, tz=BRUSSELS) == at(2024, 4, 8, 7, 0)
    assert next_time(at(2024, 4, 8, 7, 30), seven, 0, tz=BRUSSELS) == at(2024, 4, 15, 7, 0)
    # across the change to summer time (2024-03-31 in Brussels) 07:00 stays 07:00 local
    assert next_time(at(2024, 3, 30, 8, 0), seven, tz=BRUSSELS) == at(2024, 3, 31, 7, 0)


def test_a_failing_job_is_logged_and_the_others_still_run(caplog):
    from notify.scheduler import Scheduler

    scheduler = Scheduler()
    calls = []

    def boom():
        raise RuntimeError("SMTP exploded")

    scheduler.register("boom", boom, every=60)
    scheduler.register("fine", lambda: calls.append(1), every=60)
    with caplog.at_level(logging.ERROR, logger="notify.scheduler"):
        assert scheduler.run_pending() == ["boom", "fine"]
    assert "Job boom failed" in caplog.text and "SMTP exploded" in caplog.text
    assert calls == [1]
    assert scheduler.run_pending() == []
    assert scheduler.jobs[0].failures == 1 and 59 < scheduler.seconds_to_next() <= 60


def test_register_checks_its_arguments():
    from notify.exceptions import ImproperlyConfigured
    from notify.scheduler import Scheduler

    scheduler = Scheduler()
    scheduler.register("x", print, every=5)
    with pytest.raises(ValueError, match="already registered"):
        scheduler.register("x", print, every=5)
    scheduler.register("x", print, every=1, replace=True)
    with pytest.raises(ValueError, match="either every"):
        scheduler.register("y", print)
    with pytest.raises(ValueError, match="weekday"):
        scheduler.register("y", print, at="07:00", weekday=7)
    with pytest.raises(ImproperlyConfigured, match="time of day"):
        scheduler.register("y", print, at="seven")
    with pytest.raises(TypeError):
        scheduler.register("y", "print", every=1)


def test_the_default_scheduler_has_the_mail_jobs_and_takes_more():
    from notify.scheduler import get_scheduler, register

    names = [job.name for job in get_scheduler().jobs]
    assert names[:3] == ["mail-often", "mail-daily", "mail-weekly"]
    job = register("test-extra", lambda: None, every=30)
    try:
        assert job in get_scheduler().jobs
    finally:
        get_scheduler().unregister("test-extra")


def test_the_scheduler_thread_sends_the_often_mails(transactional_db, smtp_server):
    from notify.models import Message
    from notify.scheduler import Scheduler, add_mail_jobs

    scheduler = Scheduler()
    with override_settings(NOTIFY={"mail_often_every": 0.1}):
        add_mail_jobs(scheduler)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while len(smtp_server.received) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # a few more runs, which must send nothing
    finally:
        scheduler.stop()
    assert len(smtp_server.received) == 4
    assert scheduler.jobs[0].runs >= 2
    assert not Message.objects.filter(mail_mode="often", sent__isnull=True).exists()


def test_run_forever_stops_on_its_event():
    from notify.scheduler import Scheduler

    scheduler = Scheduler()
    ran = threading.Event()
    scheduler.register("tick", ran.set, every=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(stop,))
    thread.start()
    assert ran.wait(5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_command_notify_send_pending(db, smtp_server):
    out = StringIO()
    call_command("notify_send_pending", mode="often", dry_run=True, stdout=out)
    assert "Would send 4 often e-mails." in out.getvalue()
    assert "Andy <andy@chatter.localhost>: [chatter] " in out.getvalue()
    assert smtp_server.received == []
    out = StringIO()
    call_command("notify_send_pending", "--mode", "often", stdout=out)
    assert out.getvalue().strip() == "Sent 4 often e-mails."
    assert len(smtp_server.received) == 4


def test_command_notify_scheduler_lists_its_jobs(db):
    out = StringIO()
    call_command("notify_scheduler", "--list", stdout=out)
    assert "mail-often: every 10 s" in out.getvalue()
    assert "mail-weekly: on Mondays at 07:00" in out.getvalue()


def test_tasks_module_imports_without_django_tasks():
    import notify.tasks as tasks

    if tasks.AVAILABLE:
        assert hasattr(tasks.send_pending_emails_often, "enqueue")
    else:
        with pytest.raises(AttributeError, match="django.tasks"):
            tasks.send_pending_emails_often  # noqa: B018


def test_system_checks_of_the_mail_settings():
    from django.conf import settings

    from notify.mail.checks import check_mail_settings

    assert check_mail_settings() == []
    bad = {**settings.NOTIFY, "mail_reply_to": "reply+{pk}", "mail_daily_at": "7 am", "mail_weekly_day": 7,
           "mail_often_every": 0, "site_url": "example.org"}
    with override_settings(NOTIFY=bad):
        ids = [error.id for error in check_mail_settings()]
    assert ids == ["notify.E030", "notify.E031", "notify.E032", "notify.E033", "notify.E034"]
