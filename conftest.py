"""Run the doc pages (through sybil) and the tests on a fresh seeded demo database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE
from typing import Any

import pytest
from sybil import Sybil
from sybil.parsers.rest import DocTestParser, PythonCodeBlockParser, SkipParser

from tests.support.database import SETTINGS, SeededDatabase

os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
# Playwright's sync API keeps an event loop running in the main thread, where
# Django would then refuse synchronous database access in every later test.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
_database = SeededDatabase(os.environ.get("DATABASE_URL"))


def pytest_configure(config: pytest.Config) -> None:
    """Build the seeded template, point Django at a working copy and set Django up."""
    os.environ["DATABASE_URL"] = _database.prepare()
    import django

    django.setup()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the working database."""
    _database.drop()


def _fresh_page(namespace: dict[str, Any]) -> None:
    _database.reset()


def _close_page(namespace: dict[str, Any]) -> None:
    from django.db import connections

    connections.close_all()
    _database.dirty = True


pytest_collect_file = Sybil(
    parsers=[
        DocTestParser(optionflags=ELLIPSIS | NORMALIZE_WHITESPACE),
        PythonCodeBlockParser(),
        SkipParser(),
    ],
    patterns=["*.rst"],
    path="docs",
    excludes=["_build/*"],
    setup=_fresh_page,
    teardown=_close_page,
).pytest()


@pytest.fixture
def db() -> Iterator[None]:
    """Run the test inside a transaction that is rolled back, on the seeded data."""
    from django.db import connections, transaction

    _database.ensure_clean()
    # Start on a new connection: one opened before a reset may point at a dropped
    # PostgreSQL database (a reset that ran while Playwright's event loop was
    # alive saw asgiref's per-context connections, not this one).
    connections.close_all()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def on_commit() -> Any:
    """Return a context manager that runs ``on_commit`` callbacks when it exits (inside ``db``)."""
    from django.test import TestCase

    return lambda: TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def transactional_db() -> Iterator[None]:
    """Let the test commit for real, then restore the seeded database."""
    from django.db import connections

    _database.ensure_clean()
    connections.close_all()
    yield
    _database.reset()


@pytest.fixture
def seeded_database() -> SeededDatabase:
    """Return the object that resets the working database."""
    return _database


@pytest.fixture
def live_server(transactional_db: None) -> Iterator[Any]:
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

    Module-scoped: Playwright's sync API keeps an event loop running until it
    stops, and later tests that call ``asyncio.run`` need it gone.
    """
    from tests.support.browser import CHROMIUM_ARGS, chromium_path, skip_reason

    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
