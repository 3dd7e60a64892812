"""Give every doc page and test a fresh copy of the seeded demo database.

A template database is built once (migrate + seed, in a subprocess) and kept
while the migrations and the seed stay the same. The working database that
Django uses is reset from it before every page and after every test that
commits. SQLite copies a file; PostgreSQL clones a database from a template.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".pytest_cache" / "notify"
SETTINGS = "demo.chatter.settings"


#: The kinds of file of the app and the demo that can change the seeded database.
SOURCES = {".py", ".po", ".mo", ".html", ".eml", ".txt", ".json", ".js", ".css"}


def _sources() -> list[Path]:
    """Return the files of the app and the demo (code, templates, translations), not caches or databases."""
    return sorted(path for top in ("notify", "demo") for path in (ROOT / top).rglob("*")
                  if path.suffix in SOURCES and "__pycache__" not in path.parts and path.is_file())


def _fingerprint() -> str:
    """Hash everything that can change the seeded database: the app, the demo and the installed packages."""
    from importlib.metadata import distributions

    digest = hashlib.sha256()
    for path in _sources():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    digest.update(" ".join(sorted(f"{d.metadata['Name']}={d.version}" for d in distributions())).encode())
    return digest.hexdigest()[:12]


def _build(url: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE=SETTINGS)
    code = f"import notify.lino; notify.lino.startup({SETTINGS!r})"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)


def _quiesce() -> None:
    """Wait for the background pusher (it must not write while the database is replaced) and disconnect."""
    from django.db import connections

    from notify.push.worker import worker

    worker.wait_idle(10)
    connections.close_all()


class SeededDatabase:
    """Build the template once and reset the working database from it."""

    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url
        self.vendor = "postgresql" if base_url and base_url.startswith(("postgres", "pgsql")) else "sqlite"
        self.key = _fingerprint()
        CACHE.mkdir(parents=True, exist_ok=True)
        if self.vendor == "sqlite":
            self.template = CACHE / f"template-{self.key}.sqlite3"
            self.work = CACHE / f"work-{os.getpid()}.sqlite3"
            self.url = f"sqlite:///{self.work}"
        else:
            parts = urlsplit(base_url)
            self.admin_url = base_url
            self.template = f"notify_tmpl_{self.key}"
            self.work = f"notify_work_{os.getpid()}"
            self.url = urlunsplit(parts._replace(path=f"/{self.work}"))
            self.template_url = urlunsplit(parts._replace(path=f"/{self.template}"))

    def settings(self) -> dict[str, Any]:
        """Return the Django ``DATABASES`` entry of the working database."""
        import dj_database_url

        entry: dict[str, Any] = dj_database_url.parse(self.url, conn_max_age=0)
        if self.vendor == "sqlite":
            entry["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20,
                                "init_command": "PRAGMA synchronous=NORMAL"}
        return entry

    def prepare(self) -> str:
        """Build the template if needed, create the working database and return its URL."""
        if self.vendor == "sqlite":
            if not self.template.exists():
                for old in CACHE.glob("template-*.sqlite3"):
                    old.unlink(missing_ok=True)
                # A build of its own (another pytest may build the same template now), then an atomic rename.
                tmp = self.template.with_suffix(f".{os.getpid()}.building")
                tmp.unlink(missing_ok=True)
                _build(f"sqlite:///{tmp}")
                os.replace(tmp, self.template)
        else:
            with self._admin() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.template])
                exists = cur.fetchone()
                if not exists:
                    cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'notify_tmpl_%%'")
                    for (name,) in cur.fetchall():
                        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    cur.execute(f'CREATE DATABASE "{self.template}"')
            if not exists:
                try:
                    _build(self.template_url)
                except Exception:
                    with self._admin() as cur:
                        cur.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
                    raise
        self.reset(close=False)
        return self.url

    def _admin(self):
        import contextlib

        import psycopg

        @contextlib.contextmanager
        def cursor():
            parts = urlsplit(self.admin_url)
            conninfo = urlunsplit(parts._replace(scheme="postgresql"))
            with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
                yield cur

        return cursor()

    dirty = False

    def ensure_clean(self) -> None:
        """Reset the working database if something may have committed changes to it."""
        if self.dirty:
            self.reset()

    def reset(self, close: bool = True) -> None:
        """Put the working database back into the seeded state."""
        self.dirty = False
        if close:
            _quiesce()
        if self.vendor == "sqlite":
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{self.work}{suffix}").unlink(missing_ok=True)
            # A new file (a new inode), not a copy over the old one: a connection that some thread
            # still holds keeps the old file and its write-ahead log, and cannot damage the new one.
            fresh = Path(f"{self.work}.{os.getpid()}.fresh")
            shutil.copyfile(self.template, fresh)
            os.replace(fresh, self.work)
        else:
            with self._admin() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.work}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{self.work}" TEMPLATE "{self.template}"')

    def drop(self) -> None:
        """Remove the working database."""
        _quiesce()
        if self.vendor == "sqlite":
            Path(self.work).unlink(missing_ok=True)
        else:
            with self._admin() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.work}" WITH (FORCE)')


_working: SeededDatabase | None = None


def working_database() -> SeededDatabase:
    """Return this test process's database (a copy of the seeded template); child processes share it."""
    global _working
    if _working is None:
        _working = SeededDatabase(os.environ.get("NOTIFY_TEST_BASE_URL", os.environ.get("DATABASE_URL")))
        if os.environ.get("NOTIFY_TEST_DATABASE_URL"):  # a child of the test process: use its parent's copy
            _working.url = os.environ["NOTIFY_TEST_DATABASE_URL"]
        os.environ["NOTIFY_TEST_BASE_URL"] = _working.base_url or ""
        os.environ["NOTIFY_TEST_DATABASE_URL"] = os.environ["DATABASE_URL"] = _working.url
    return _working
