"""The job schedule: due times, catch-up, one dispatch across schedulers, recovery, commands and checks."""

from __future__ import annotations

import datetime
import logging
import subprocess
import sys
import threading
import time
import zoneinfo
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

BRUSSELS = zoneinfo.ZoneInfo("Europe/Brussels")


def at(*args, tz=BRUSSELS):
    return datetime.datetime(*args, tzinfo=tz)


def names(now, **kwargs):
    from notify import jobs

    ran = []
    jobs.run_due(now, dispatch=ran.append, **kwargs)
    return ran


def test_latest_due_time_of_each_kind_of_schedule():
    from notify.jobs import Schedule, parse_time

    with override_settings(TIME_ZONE="Europe/Brussels"):
        daily = Schedule(at=parse_time("07:00"))
        assert daily.latest(at(2024, 3, 30, 6, 59)) == at(2024, 3, 29, 7, 0)
        assert daily.latest(at(2024, 3, 30, 7, 0)) == at(2024, 3, 30, 7, 0)
        # Across the change to summer time (31 March 2024) the local time stays 07:00.
        assert daily.latest(at(2024, 3, 31, 12, 0)) == at(2024, 3, 31, 7, 0)
        weekly = Schedule(at=parse_time("07:00"), weekday=0)
        assert weekly.latest(at(2024, 4, 6, 12, 0)) == at(2024, 4, 1, 7, 0)  # Saturday -> Monday before
        assert weekly.latest(at(2024, 4, 8, 6, 0)) == at(2024, 4, 1, 7, 0)
        assert str(weekly) == "weekly on Monday at 07:00"
    every = Schedule(every=10.0)
    assert every.latest(at(2024, 4, 6, 12, 0, 19, tz=datetime.UTC)) == at(2024, 4, 6, 12, 0, 10, tz=datetime.UTC)
    assert str(every) == "every 10 s"
    with pytest.raises(Exception, match="not a time of day"):
        parse_time("seven")


def test_each_job_is_dispatched_once_per_due_time(db):
    from notify.models import JobState

    now = at(2024, 4, 6, 12, 0, 1, tz=datetime.UTC)
    assert names(now) == ["mail_often", "mail_daily", "mail_weekly", "push", "cleanup"]  # never ran: catch up
    assert names(now) == []
    assert names(now + datetime.timedelta(seconds=10)) == []  # still dispatched, not finished
    JobState.objects.update(finished=now, started=now)
    assert names(now + datetime.timedelta(seconds=10)) == ["mail_often"]
    JobState.objects.update(finished=now, started=now)
    assert names(now + datetime.timedelta(seconds=30)) == ["mail_often", "push"]


def test_a_daily_run_missed_while_nothing_ran_goes_out_at_the_next_tick(db):
    from notify.models import JobState

    with override_settings(TIME_ZONE="Europe/Brussels"):
        names(at(2024, 4, 5, 12, 0))
        JobState.objects.update(finished=at(2024, 4, 5, 12, 0), started=at(2024, 4, 5, 12, 0))
        # Down from 06:50 to 07:30: the 07:00 digests go at the first tick after the restart.
        assert "mail_daily" not in names(at(2024, 4, 6, 6, 50))
        JobState.objects.update(finished=at(2024, 4, 6, 6, 50))
        assert "mail_daily" in names(at(2024, 4, 6, 7, 30))
        JobState.objects.update(finished=at(2024, 4, 6, 7, 30))
        assert "mail_daily" not in names(at(2024, 4, 6, 7, 31))
        # A clock set back an hour does not run it again.
        assert "mail_daily" not in names(at(2024, 4, 6, 6, 31))


def test_two_schedulers_that_tick_at_once_dispatch_each_job_once(transactional_db):
    from django.db import connections

    from notify import jobs

    now = timezone.now()
    got, barrier = [], threading.Barrier(4)

    def tick():
        try:
            barrier.wait(5)
            for _ in range(3):
                jobs.run_due(now, dispatch=got.append)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(got) == sorted(jobs.schedule())


def test_a_failing_job_is_logged_with_its_cause_and_tried_again_later(db, caplog):
    from notify import jobs
    from notify.models import JobState

    now = timezone.now()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=9,
                           EMAIL_HOST="127.0.0.1"), caplog.at_level(logging.ERROR, logger="notify"):
        assert "mail_often" in jobs.run_due(now, dispatch=jobs.dispatcher("cron"))
    assert "Job mail_often failed" in caplog.text and "ConnectionRefusedError" in caplog.text
    state = JobState.objects.get(name="mail_often")
    assert state.error.startswith("DeliveryFailed: cannot connect to the mail server")
    # A daily job that failed is tried again after job_retry_after (60 s), not only the next day.
    JobState.objects.filter(name="mail_daily").update(error="DeliveryFailed: ...", finished=now)
    assert "mail_daily" not in names(now + datetime.timedelta(seconds=59))
    assert "mail_daily" in names(now + datetime.timedelta(seconds=61))


def test_a_job_that_cannot_be_enqueued_is_logged_and_tried_at_the_next_tick(db, caplog):
    from notify import jobs
    from notify.models import JobState

    def broker_down(name):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    now = timezone.now()
    with caplog.at_level(logging.ERROR, logger="notify.jobs"):
        assert jobs.run_due(now, dispatch=broker_down) == []
    assert "Cannot start job mail_often: ConnectionError: Error 111" in caplog.text
    assert JobState.objects.get(name="mail_often").error.startswith("not started")
    assert "mail_often" in names(now + datetime.timedelta(seconds=61))


def test_a_job_whose_worker_died_is_dispatched_again(db):
    from notify import jobs
    from notify.models import JobState, Lease

    now = timezone.now()
    names(now)
    # A worker took mail_daily and was SIGKILLed: a lease of a process that is gone, never finished.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    Lease.objects.create(token="1" * 32, job="mail_daily", host=jobs.leases.HOST, pid=dead.pid)
    JobState.objects.filter(name="mail_daily").update(started=now, token="1" * 32)
    # One still running, with a live lease, is left alone.
    Lease.objects.create(token="2" * 32, job="mail_weekly", host=jobs.leases.HOST, pid=__import__("os").getpid())
    JobState.objects.filter(name="mail_weekly").update(started=now, token="2" * 32)
    assert names(now + datetime.timedelta(seconds=1)) == ["mail_daily"]
    assert not Lease.objects.filter(token="1" * 32).exists()


def test_a_task_lost_before_it_started_is_dispatched_again_after_the_claim_timeout(db):
    now = timezone.now()
    names(now)
    assert "mail_weekly" not in names(now + datetime.timedelta(seconds=119))
    assert "mail_weekly" in names(now + datetime.timedelta(seconds=121))


def test_run_job_records_the_run(db, smtp_server):
    from notify import jobs
    from notify.models import JobState, Lease

    names(timezone.now())
    assert jobs.run_job("mail_often") == 4
    state = JobState.objects.get(name="mail_often")
    assert state.started <= state.finished and state.error == ""
    assert not Lease.objects.exists()
    with pytest.raises(ValueError, match="There is no job 'nope'"):
        jobs.execute("nope")


def test_the_scheduler_thread_sends_the_often_mails(transactional_db, smtp_server):
    from notify import scheduler
    from notify.models import Message

    with override_settings(NOTIFY={"mail_often_every": 1, "job_backend": "cron"}):
        thread, stop = scheduler.start(every=0.05)
        try:
            deadline = time.monotonic() + 10
            while len(smtp_server.received) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.2)  # a few more runs, which must send nothing
        finally:
            stop.set()
            thread.join(10)
    assert len(smtp_server.received) == 4
    assert not Message.objects.filter(mail_mode="often", sent__isnull=True).exists()


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


def test_command_notify_send_pending_fails_clearly_when_the_server_is_down(db):
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=9,
                           EMAIL_HOST="127.0.0.1"), pytest.raises(CommandError) as failure:
        call_command("notify_send_pending", "--mode", "often", "-v", "0")
    assert str(failure.value).startswith("Job mail_often failed: cannot connect to the mail server")
    assert "the rest stays pending" in str(failure.value)


def test_command_notify_scheduler_lists_and_runs_its_jobs(db, smtp_server):
    out = StringIO()
    call_command("notify_scheduler", "--list", stdout=out)
    assert "mail_often: every 10 s (never ran)" in out.getvalue()
    assert "mail_weekly: weekly on Monday at 07:00 (never ran)" in out.getvalue()
    # Both ticks see one clock: real ones could straddle a 30 s boundary and find mail_often and push due again.
    start = timezone.now().timestamp()
    frozen = datetime.datetime.fromtimestamp(start - start % 30 + 0.001, datetime.UTC)
    with mock.patch.object(timezone, "now", return_value=frozen):
        out = StringIO()
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            call_command("notify_scheduler", "--once", stdout=out)
        assert out.getvalue().strip() == "Dispatched mail_often, mail_daily, mail_weekly, push, cleanup."
        out = StringIO()
        call_command("notify_scheduler", "--once", stdout=out)
        assert out.getvalue().strip() == "Dispatched no jobs."


def test_command_notify_push(db):
    out = StringIO()
    call_command("notify_push", stdout=out)
    assert out.getvalue().startswith("messages ")
    with override_settings(NOTIFY={"use_push_api": False}), pytest.raises(CommandError, match="push is off"):
        call_command("notify_push")


def test_every_command_has_a_one_line_help():
    from django.core.management import get_commands, load_command_class

    for name, app in get_commands().items():
        if app == "notify":
            help_text = load_command_class(app, name).help
            assert help_text and "\n" not in help_text and len(help_text) < 100, name


def test_the_tasks_of_django_s_task_framework(db, smtp_server):
    import notify.tasks as tasks

    assert tasks.AVAILABLE
    immediate = "django.tasks.backends.immediate.ImmediateBackend" if "django.tasks" in sys.modules \
        else "django_tasks.backends.immediate.ImmediateBackend"
    with override_settings(TASKS={"default": {"BACKEND": immediate}}):
        result = tasks.send_pending_emails_often.enqueue()
        assert result.status == "SUCCESSFUL" and result.return_value == 4
        assert tasks.clear_seen_messages.enqueue().status == "SUCCESSFUL"
        assert tasks.push_pending.enqueue().return_value["messages"] >= 0
        due = tasks.run_due.enqueue().return_value
    assert due == ["mail_often", "mail_daily", "mail_weekly", "push", "cleanup"]


def test_system_checks_of_the_job_settings():
    from django.conf import settings

    from notify.jobchecks import check_jobs

    assert [e.id for e in check_jobs()] == ["notify.W041"]  # the tests' "cron", with live delivery in-process
    demo = {**settings.NOTIFY, "job_backend": "thread"}  # the demo's engine
    with override_settings(NOTIFY=demo):
        assert check_jobs() == []
    with override_settings(NOTIFY={**demo, "job_backend": "rq"}):
        assert [e.id for e in check_jobs()] == ["notify.E040"]
    with override_settings(NOTIFY={**demo, "claim_timeout": 0, "job_retry_after": "1 min"}):
        assert [e.id for e in check_jobs()] == ["notify.E041", "notify.E041"]
    with override_settings(DEBUG=False, NOTIFY=demo):
        assert [e.id for e in check_jobs()] == ["notify.W040"]
    with override_settings(NOTIFY={**demo, "job_backend": "celery"}):
        assert [e.id for e in check_jobs()] == ["notify.W041"]
    with override_settings(NOTIFY={**demo, "job_backend": "tasks", "live_redis_url": "redis://x"}, TASKS={}):
        assert [e.id for e in check_jobs()] == ["notify.W042"]


def test_system_checks_of_the_mail_settings():
    from django.conf import settings

    from notify.mail.checks import check_mail_settings

    assert check_mail_settings() == []
    bad = {**settings.NOTIFY, "mail_reply_to": "reply+{pk}", "mail_daily_at": "7 am", "mail_weekly_day": 7,
           "mail_often_every": 0, "site_url": "example.org"}
    with override_settings(NOTIFY=bad):
        ids = [error.id for error in check_mail_settings()]
    assert ids == ["notify.E030", "notify.E031", "notify.E032", "notify.E033", "notify.E034"]


def test_auto_job_backend_follows_the_tasks_setting():
    from notify.jobs import job_backend

    database = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    immediate = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(NOTIFY={"job_backend": "auto"}, TASKS=database):
        assert job_backend() == "tasks"
    with override_settings(NOTIFY={"job_backend": "auto"}, TASKS=immediate):
        assert job_backend() == "thread"
    with override_settings(NOTIFY={"job_backend": "auto"}, TASKS={}):
        assert job_backend() == "thread"
    with override_settings(NOTIFY={"job_backend": "celery"}, TASKS=database):
        assert job_backend() == "celery"


def test_a_run_stopped_by_a_signal_is_not_finished_and_goes_on_at_the_next_tick(db, smtp_server):
    from notify import jobs, shutdown
    from notify.exceptions import JobInterrupted
    from notify.models import JobState

    now = timezone.now()
    names(now)
    shutdown.request()  # what SIGTERM does while the run works
    with pytest.raises(JobInterrupted, match="stopped on request after 0 e-mails"):
        jobs.run_job("mail_often")
    assert not shutdown.requested()
    state = JobState.objects.get(name="mail_often")
    assert state.started is not None and state.finished is None
    assert "mail_often" in names(now + datetime.timedelta(seconds=1))
    assert jobs.run_job("mail_often") == 4


def test_a_local_time_that_the_clocks_repeat_or_skip_is_due_once():
    from notify.jobs import Schedule, parse_time

    utc = datetime.UTC
    with override_settings(TIME_ZONE="Europe/Brussels"):
        night = Schedule(at=parse_time("02:30"))
        # 27 October 2024: 02:30 happens twice (00:30 and 01:30 UTC); only the first one counts.
        assert night.latest(at(2024, 10, 27, 1, 45, tz=utc)) == at(2024, 10, 27, 0, 30, tz=utc)
        # 31 March 2024: 02:30 does not exist; the due time is never after now.
        now = at(2024, 3, 31, 1, 15, tz=utc)
        assert night.latest(now) <= now
        assert night.latest(at(2024, 3, 31, 2, 0, tz=utc)) == at(2024, 3, 31, 1, 30, tz=utc)


def test_an_interval_job_goes_on_after_the_clock_went_back(db):
    from notify.models import JobState

    late = at(2024, 4, 6, 8, 0, 1, tz=datetime.UTC)
    names(late)
    JobState.objects.update(finished=late, started=late)
    early = late - datetime.timedelta(hours=2)
    assert names(early) == ["mail_often", "push"]  # not idle for two hours
    JobState.objects.update(finished=early, started=early)
    assert names(early + datetime.timedelta(seconds=1)) == []
    assert names(early + datetime.timedelta(seconds=10)) == ["mail_often"]


def test_a_tick_stopped_by_a_signal_gives_back_the_jobs_it_did_not_start(db):
    from notify import jobs, shutdown

    now = timezone.now()
    started = []

    def dispatch(name):
        started.append(name)
        shutdown.request()  # SIGTERM while the first job runs

    try:
        assert jobs.run_due(now, dispatch=dispatch) == ["mail_often"]
    finally:
        shutdown._requested.clear()
    assert "mail_daily" in names(now + datetime.timedelta(seconds=1))


def test_a_long_job_keeps_its_lease_alive(transactional_db):
    from notify import leases

    with override_settings(NOTIFY={"claim_timeout": 0.4}):
        with leases.Held("cleanup") as lease, lease.kept_alive():
            time.sleep(0.8)
            assert leases.reap() == []
        assert leases.reap() == []


def test_command_notify_scheduler_once_fails_when_a_job_cannot_be_enqueued(db, caplog):
    from django.conf import settings

    broken = {"default": {"BACKEND": "nowhere.Backend"}}
    with override_settings(NOTIFY={**settings.NOTIFY, "job_backend": "tasks"}, TASKS=broken), \
            pytest.raises(CommandError, match="Job mail_often failed: not started"):
        call_command("notify_scheduler", "--once", stdout=StringIO())


@pytest.mark.parametrize("every", ["0", "-1"])
def test_command_notify_scheduler_refuses_a_tick_that_is_not_positive(db, every):
    with pytest.raises(CommandError, match=f"--every must be a positive number of seconds, not {every}"):
        call_command("notify_scheduler", "--every", every)
