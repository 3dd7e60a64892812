"""Choicelists, tables, settings, system checks, start-up and the demo shell."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from notify.choicelists import ChoiceList, MailModes
from notify.conf import notify_settings
from notify.exceptions import NotifyError, UnknownChoice
from notify.lino.tables import AllMessages, render, resolve
from notify.models import Message

ROOT = Path(__file__).resolve().parent.parent


def test_choicelists_can_be_extended_but_not_twice():
    class Colours(ChoiceList):
        pass

    red = Colours.add_item("red", "Red")
    assert Colours.red is red and Colours.get("red") is red and red == "red"
    with pytest.raises(ValueError, match="already has an item 'red'"):
        Colours.add_item("red", "Rot")
    with pytest.raises(ValueError, match="cannot be an item name"):
        Colours.add_item("x-y", "Bad")
    with pytest.raises(UnknownChoice):
        Colours.get(MailModes.often)


def test_render_prints_an_empty_table_with_its_borders():
    assert render(["a", "bb"], []).splitlines() == ["=== ====", " a   bb", "--- ----", "=== ===="]


@pytest.mark.parametrize("extra", [0, 921])
def test_all_messages_needs_two_queries_whatever_its_length(db, extra):
    from demo.chatter.models import Comment

    comment = Comment.objects.get(pk=7)
    andy = comment.author
    for i in range(extra):
        Message.objects.create(user=andy, subject=f"extra {i}", reply_to=comment)
    AllMessages.to_text()  # fills the per-process cache of content types
    with CaptureQueriesContext(connection) as ctx:
        text = AllMessages.to_text()
    assert len(text.splitlines()) == 79 + extra + 4
    assert len(ctx.captured_queries) == 2


def test_unknown_table_names_are_listed(db):
    with pytest.raises(NotifyError, match="No table or choicelist named 'notify.Nope'.*notify.AllMessages"):
        resolve("notify.Nope")


def test_settings_fall_back_to_defaults_and_follow_overrides():
    assert notify_settings.remove_after == 14
    with override_settings(NOTIFY={"remove_after": 3}):
        assert notify_settings.remove_after == 3
        assert notify_settings.keep_unseen is True
    assert notify_settings.remove_after == 14
    with pytest.raises(AttributeError, match="NOTIFY has no setting 'remove_afer'"):
        notify_settings.remove_afer  # noqa: B018


@pytest.mark.parametrize("value, ids", [
    ({"remove_after": 14}, []),
    ({"remove_afer": 14}, ["notify.E002"]),
    ({"remove_after": "14"}, ["notify.E003"]),
    ({"default_mail_mode": "hourly"}, ["notify.E004"]),
    ([], ["notify.E001"]),
    ({"keep_unseen": "yes", "mark_seen_when_sent": 1}, ["notify.E005", "notify.E005"]),
    ({"base_template": "nowhere/base.html"}, ["notify.E006"]),
    ({"base_template": ""}, ["notify.E006"]),
])
def test_system_checks(value, ids):
    from notify.checks import check_settings

    with override_settings(NOTIFY=value):
        found = check_settings()
    assert [e.id for e in found] == ids
    assert all(e.hint for e in found)
    assert all(isinstance(e, checks.Error) for e in found)


def test_startup_refuses_to_switch_settings():
    import notify.lino

    with pytest.raises(NotifyError, match="cannot switch"):
        notify.lino.startup("other.settings")


def _run(code: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, **kwargs)


def test_the_three_lines_print_the_spec_table(db):
    done = _run("import notify.lino; notify.lino.startup('demo.chatter.settings'); from notify.lino.doctest import *; "
                "rt.show('notify.AllMessages')")
    assert done.returncode == 0, done.stderr
    assert " Welcome on board, Chloe.                                       Chloe Cleoment" in done.stdout


def test_startup_builds_a_missing_demo_database(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path}/fresh.sqlite3")
    done = subprocess.run(
        [sys.executable, "-c", "import notify.lino; notify.lino.startup('demo.chatter.settings'); "
         "from notify.models import Message; print(Message.objects.count())"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "79"


def test_startup_works_inside_a_running_event_loop(db):
    code = ("import asyncio\n"
            "async def main():\n"
            "    import notify.lino; notify.lino.startup('demo.chatter.settings')\n"
            "    from notify.models import Message; print(Message.objects.count())\n"
            "asyncio.run(main())\n")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "79"


def test_demo_shell_has_the_doctest_namespace(db):
    done = subprocess.run([sys.executable, "-m", "demo", "shell"], cwd=ROOT, capture_output=True, text=True,
                          input="rt.show('notify.MailModes')\nprint(dd.today())\n", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Daily email digest" in done.stdout
    assert "2024-04-06" in done.stdout


def test_message_str_and_broadcast(db):
    broadcast = Message.objects.get(user__isnull=True)
    assert str(broadcast) == "Broadcast message" and broadcast.is_broadcast


@pytest.mark.parametrize("value, ids", [
    ({}, []),
    ({"live_redis_url": "http://127.0.0.1:6379"}, ["notify.E050"]),
    ({"live_redis_channel": " "}, ["notify.E051"]),
    ({"live_broker": "nowhere.Broker"}, ["notify.E052"]),
    ({"live_keepalive": 0}, ["notify.E053"]),
])
def test_live_delivery_checks(value, ids):
    from notify.live.checks import check_live_settings

    with override_settings(NOTIFY=value):
        assert [e.id for e in check_live_settings()] == ids


def test_every_notify_key_has_a_check(db):
    """Each key of NOTIFY, set to a value of the wrong kind, makes some system check complain."""
    from django.core.checks import run_checks

    wrong = {"remove_after": "x", "keep_unseen": "x", "mark_seen_when_sent": "x", "site_url": "x",
             "mail_reply_to": "x", "claim_timeout": "x", "mail_timeout": "x", "mail_often_every": "x",
             "mail_daily_at": "x", "mail_weekly_at": "x", "mail_weekly_day": "x", "use_push_api": "x",
             "push_allow_private_endpoints": "x", "push_ttl": "x", "push_urgency": "x", "push_timeout": "x",
             "push_max_attempts": "x", "push_retry_delay": "x", "push_workers": "x", "push_max_subscriptions": "x",
             "push_pending_every": "x", "cleanup_at": "x", "job_backend": "x", "job_retry_after": "x",
             "default_mail_mode": "x", "live_redis_url": "x", "live_redis_channel": "", "live_broker": "x",
             "live_keepalive": "x", "base_template": "", "vapid_private_key": "x", "vapid_public_key": "x",
             "vapid_admin_email": "x"}
    from notify.conf import DEFAULTS

    assert set(DEFAULTS) - set(wrong) <= {"demo_date", "demo_builder"}, set(DEFAULTS) - set(wrong)
    baseline = {(m.id, m.msg) for m in run_checks()}
    for key, value in wrong.items():
        extra = {"use_push_api": True} if key.startswith(("vapid", "push")) else {}
        with override_settings(NOTIFY={**extra, key: value}):
            found = [m for m in run_checks() if (m.id, m.msg) not in baseline and m.id.startswith("notify.")]
        assert any(repr(value) in m.msg or key in m.msg for m in found), (key, [m.msg for m in found])
