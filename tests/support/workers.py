"""Real worker processes for tests: db_worker, Celery worker and beat, management commands.

Each process is started in a session of its own (``Popen(start_new_session=True)``), writes its
output to a log file under the test's ``tmp_path`` and gets the test database's URL through its
environment. :class:`Workers` stops them by PID (SIGTERM, a wait, then SIGKILL) when the test
ends; the fixtures that use it depend on ``transactional_db`` so the workers are gone before the
database is reset; tests name that fixture last, so the workers also stop before the SMTP server,
push service and broker fixtures end (a worker must not re-create what a broker flush removed).
:func:`wait_for` polls a condition and fails with the logs attached.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.smtpserver import Inbox, Received, SMTPServer

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CELERY = str(Path(sys.executable).with_name("celery"))


def require_celery() -> None:
    """Skip the test, saying why, when Celery's command is not installed beside this Python."""
    if not Path(CELERY).exists():
        pytest.skip(f"Celery is not installed ({CELERY} is missing; pip install 'django-notify-kit[celery]')")
#: The Redis database number of these tests (flushed after each test that used it).
REDIS_DB = 11
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@dataclass
class Worker:
    """One started process and its log file."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.process.pid

    def alive(self) -> bool:
        """Tell whether the process still runs."""
        return self.process.poll() is None

    def output(self) -> str:
        """Return what the process wrote so far."""
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def send(self, sig: int) -> None:
        """Send signal ``sig`` to the process (not to its session: children go with their parent)."""
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process and reap it (so no zombie looks alive)."""
        self.send(signal.SIGKILL)
        self.process.wait(10)

    def wait(self, timeout: float) -> int:
        """Wait for the process to end; return its exit code (fail with its log when it does not end)."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not exit within {timeout:g} s\n{self.describe()}")

    def stop(self, grace: float = 15.0) -> int | None:
        """Stop the process: SIGTERM, wait ``grace`` seconds, then SIGKILL its whole session."""
        if self.alive():
            self.send(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        return self.process.returncode

    def describe(self) -> str:
        """Return the process's command line, state and log, for a failure report."""
        state = "running" if self.alive() else f"exited with {self.process.returncode}"
        return f"--- {self.name} (pid {self.pid}, {state}): {' '.join(self.argv)}\n{self.output()}"


def base_env(**extra: Any) -> dict[str, str]:
    """Return the environment of a worker: this process's, the test database, unbuffered output."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="demo.chatter.settings", PYTHONUNBUFFERED="1")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    env.update({key: str(value) for key, value in extra.items()})
    return env


def smtp_env(port: int) -> dict[str, str]:
    """Return the environment variables that make the demo send e-mail to 127.0.0.1:``port``."""
    return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port)}


class Workers:
    """Start processes for one test and stop them all (by PID) at the end."""

    def __init__(self, tmp_path: Path, **env: Any) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[Worker] = []

    def start(self, name: str, argv: list[str], **env: Any) -> Worker:
        """Start ``argv`` with this test's environment plus ``env``; its output goes to ``<name>.log``."""
        log = self.tmp_path / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env=base_env(**{**self.env, **env}), stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        worker = Worker(name, argv, log, process)
        self.started.append(worker)
        return worker

    def command(self, name: str, *args: str, **env: Any) -> Worker:
        """Start ``python -m demo <args>`` (a management command of the demo)."""
        return self.start(name, [PYTHON, "-m", "demo", *args], **env)

    def db_worker(self, name: str = "db-worker", queue: str = "default", **env: Any) -> Worker:
        """Start a django-tasks-db worker that polls ``queue`` every 0.1 s."""
        return self.command(name, "db_worker", "--queue-name", queue, "--interval", "0.1", "--no-reload",
                            "--no-startup-delay", "--worker-id", f"{name}-{uuid.uuid4().hex[:8]}",
                            NOTIFY_JOB_BACKEND="tasks", **env)

    def celery_worker(self, name: str, queue: str, pool: str = "solo", concurrency: int = 1, **env: Any) -> Worker:
        """Start a Celery worker of the demo's app that consumes ``queue`` only."""
        require_celery()
        argv = [CELERY, "-A", "demo.chatter", "worker", "-Q", queue, "--pool", pool, "-c", str(concurrency),
                "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h", "-l", "info", "--without-gossip", "--without-mingle"]
        return self.start(name, argv, NOTIFY_JOB_BACKEND="celery", CELERY_TASK_DEFAULT_QUEUE=queue, **env)

    def celery_beat(self, name: str, queue: str, every: float = 1.0, **env: Any) -> Worker:
        """Start Celery beat with a private schedule file, ticking ``notify.run_due`` every ``every`` s."""
        require_celery()
        argv = [CELERY, "-A", "demo.chatter", "beat", "-l", "info", "-s", str(self.tmp_path / f"{name}-schedule"),
                "--pidfile", str(self.tmp_path / f"{name}.pid")]
        return self.start(name, argv, NOTIFY_JOB_BACKEND="celery", CELERY_TASK_DEFAULT_QUEUE=queue,
                          NOTIFY_BEAT_EVERY=every, **env)

    def logs(self) -> str:
        """Return every process's command line, state and log."""
        return "\n".join(worker.describe() for worker in self.started)

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str = "") -> Any:
        """Wait until ``predicate()`` is true and return its value; fail with the logs otherwise."""
        return wait_for(predicate, timeout, self.logs, what)

    def stop_all(self) -> None:
        """Stop every process that still runs: all get SIGTERM at once, then each is waited for."""
        for worker in self.started:
            if worker.alive():
                worker.send(signal.SIGTERM)
        for worker in self.started:
            worker.stop()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        # pytest shows what a test printed only when it failed: the logs, for the post-mortem.
        print(self.logs())


def wait_for(predicate: Callable[[], Any], timeout: float, logs: str | Callable[[], str] = "",
             what: str = "", interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something true (returned); after ``timeout`` s fail with ``logs``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            text = logs() if callable(logs) else logs
            pytest.fail(f"Timed out after {timeout:g} s waiting for {what or predicate!r}\n{text}", pytrace=False)
        time.sleep(interval)


def ensure_task_tables() -> None:
    """Create django-tasks-db's table when the seeded database predates it (an old cached template)."""
    from django.core.management import call_command
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult._meta.db_table not in connection.introspection.table_names():
        call_command("migrate", "django_tasks_database", verbosity=0, interactive=False)


@pytest.fixture
def workers(transactional_db: None, tmp_path: Path) -> Iterator[Workers]:
    """Yield a :class:`Workers` on a committed database with django-tasks-db's table; stop them after."""
    if importlib.util.find_spec("django_tasks_db") is None:
        pytest.skip("django-tasks-db is not installed (pip install 'django-notify-kit[tasks]')")
    ensure_task_tables()
    with Workers(tmp_path) as started:
        yield started


@pytest.fixture
def smtp() -> Iterator[SlowSMTPServer]:
    """Yield a real SMTP server that takes its time over every e-mail (see :class:`SlowSMTPServer`)."""
    with SlowSMTPServer() as server:
        yield server


class RawReceived(Received):
    """A received e-mail kept as bytes and parsed when first read (parsing costs the server 3 ms)."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.content = content

    @functools.cached_property
    def message(self) -> email.message.EmailMessage:  # type: ignore[override]
        """Return the parsed message."""
        return email.message_from_bytes(self.content, policy=email.policy.default)  # type: ignore[return-value]


class SlowInbox(Inbox):
    """An inbox that takes ``delay`` seconds before accepting each e-mail (a slow mail server)."""

    delay = 0.0

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
            self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.stall & set(envelope.rcpt_tos):
            return await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.received.append(RawReceived(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class SlowSMTPServer(SMTPServer):
    """The test SMTP server with a :class:`SlowInbox`: set ``inbox.delay`` to slow it down."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        super().__init__()
        self.inbox = SlowInbox()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def count(self) -> int:
        """Return how many e-mails arrived."""
        with self.inbox.lock:
            return len(self.inbox.received)


def redis_broker() -> Iterator[str]:
    """Yield the URL of this suite's Redis database (skip when Redis is down); flush it afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not available at {REDIS_URL}: {exc}")
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


def rabbitmq_broker() -> Iterator[str]:
    """Yield the URL of the local RabbitMQ (skip when it is down)."""
    from kombu import Connection

    with Connection(RABBITMQ_URL, connect_timeout=2) as conn:
        try:
            conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:
            pytest.skip(f"RabbitMQ is not available at {RABBITMQ_URL}: {exc}")
    yield RABBITMQ_URL


def delete_queues(broker_url: str, *queues: str) -> None:
    """Delete the Celery queues a test used (on RabbitMQ; on Redis the flush does it)."""
    if not broker_url.startswith("amqp"):
        return
    from kombu import Connection

    with Connection(broker_url, connect_timeout=2) as conn:
        channel = conn.default_channel
        for queue in queues:
            try:
                channel.queue_delete(queue)
            except Exception:  # noqa: S110 - a queue that was never declared
                pass


def fresh_queue(prefix: str = "notify-test") -> str:
    """Return a queue name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
