"""The test suite on pytest-django: every test and doc page starts from the seeded demo database.

pytest-django sets Django up with ``tests.settings`` (the demo's settings on a working copy of the
seeded template). ``django_db_setup`` builds the template once and copies it; pytest-django's ``db``
runs a test in a transaction that is rolled back. A test that commits (``transactional_db``, which
real worker processes and servers need) and every doc page get a fresh copy of the template instead
of pytest-django's flush, which would empty the seeded tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE
from typing import Any

import pytest
from sybil import Sybil
from sybil.parsers.rest import DocTestParser, PythonCodeBlockParser, SkipParser

from tests.support.database import SeededDatabase, working_database
from tests.support.smtpserver import silent_server, smtp_server
from tests.support.workers import smtp, workers

#: Fixtures that live with their helpers, shared by every test module.
__all__ = ["silent_server", "smtp", "smtp_server", "workers"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker: Any) -> Iterator[None]:
    """Build the seeded template (once per fingerprint) and the working copy that the settings name."""
    with django_db_blocker.unblock():
        working_database().prepare()
    yield
    with django_db_blocker.unblock():
        working_database().drop()


@pytest.fixture(autouse=True)
def _seeded_state(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """Start each database test from the seeded state, on a fresh connection."""
    wants = {"db", "transactional_db", "asgi_server"} & set(request.fixturenames)
    if wants:
        request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            working_database().ensure_clean()
            _close_connections()
    yield


def _close_connections() -> None:
    # A connection opened before a reset may point at a dropped PostgreSQL database or an old SQLite file.
    from django.db import connections

    connections.close_all()


@pytest.fixture
def transactional_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Let the test commit for real, then restore the seeded database (instead of flushing it)."""
    with django_db_blocker.unblock():
        yield
        working_database().reset()


@pytest.fixture(scope="module")
def doc_page(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Give a doc page (all its examples: the page is the module) the seeded database and database access."""
    with django_db_blocker.unblock():
        working_database().reset()
        yield
        _close_connections()
        working_database().dirty = True


pytest_collect_file = Sybil(
    parsers=[
        DocTestParser(optionflags=ELLIPSIS | NORMALIZE_WHITESPACE),
        PythonCodeBlockParser(),
        SkipParser(),
    ],
    patterns=["*.rst"],
    path="docs",
    excludes=["_build/*"],
    fixtures=["doc_page"],
).pytest()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Any:
    """Return a context manager that runs ``on_commit`` callbacks when it exits (inside ``db``)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def seeded_database() -> SeededDatabase:
    """Return the object that resets the working database."""
    return working_database()


@pytest.fixture
def asgi_server(transactional_db: None) -> Iterator[Any]:
    """Serve the demo (ASGI, uvicorn in a thread) on a free port; the database is reset afterwards."""
    from django.core.asgi import get_asgi_application

    from tests.support.server import ThreadedServer

    server = ThreadedServer(get_asgi_application()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Launch Debian's chromium headless through Playwright (skip with the reason when impossible).

    Module-scoped: Playwright's sync API keeps an event loop running until it stops, and later
    tests that call ``asyncio.run`` need it gone. While it runs, Django must allow synchronous
    database access in the main thread, whose running loop it would otherwise take for async code.
    """
    import os

    from tests.support.browser import CHROMIUM_ARGS, chromium_path, skip_reason

    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                 args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
