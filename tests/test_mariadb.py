"""The code paths that only MariaDB takes (bulk_create with ids, SKIP LOCKED claims), on the local MariaDB server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER = ("127.0.0.1", 3306)

SCRIPT = """
import notify.lino
notify.lino.startup("demo.chatter.settings")
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import override_settings
from notify.api import Message, emit, mark_all_seen, send_pending_emails_often, unread_count

User = get_user_model()
assert connection.vendor == "mysql", connection.vendor
print("seeded", Message.objects.count())
User.objects.bulk_create([User(username=f"maria{i:04d}", email=f"maria{i:04d}@example.org") for i in range(1000)])
andy = User.objects.get(username="andy")
messages = emit(User.objects.filter(username__startswith="maria"), "Hello", "<p>Body</p>", actor=andy)
stored = dict(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("pk", "user__username"))
assert len(messages) == len(stored) == 1000, (len(messages), len(stored))
assert all(stored[m.pk] == m.user.username for m in messages)
print("emitted", len(messages))
with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
    print("mailed", send_pending_emails_often())
print("seen", mark_all_seen(andy) > 0, unread_count(andy))
"""


def _reachable() -> bool:
    try:
        socket.create_connection(SERVER, timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def mariadb_url():
    pymysql = pytest.importorskip("pymysql", reason="PyMySQL is not installed")
    if not _reachable():
        pytest.skip("MariaDB does not answer on 127.0.0.1:3306 (.ci/run starts it)")
    name = f"notify_test_{os.getpid()}"
    server = pymysql.connect(host=SERVER[0], port=SERVER[1], user="root")
    try:
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        yield f"mysql://root@{SERVER[0]}:{SERVER[1]}/{name}"
    finally:
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        server.close()


def test_the_demo_emits_mails_and_marks_seen_on_mariadb(mariadb_url):
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = mariadb_url
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.split("\n")
    assert "emitted 1000" in lines
    assert "seeded 79" in lines
    assert "mailed 1004" in lines  # the four demo users' digests and one e-mail for each new user
    assert "seen True 0" in lines


def test_a_database_without_ids_from_bulk_inserts_is_refused(db):
    from django.db import NotSupportedError, connection

    from notify.bulk import _bulk_create
    from notify.models import Message

    with mock.patch.object(type(connection.features), "can_return_rows_from_bulk_insert", False), \
            pytest.raises(NotSupportedError, match="returns the ids of a bulk insert"):
        _bulk_create(Message, ["subject"], [["x"]], {}, "default")
