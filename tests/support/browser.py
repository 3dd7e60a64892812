"""Launch Debian's chromium through Playwright, or tell why the test is skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium_path() -> str | None:
    """Return the path of Debian's chromium, or None when it is not installed."""
    return os.environ.get("NOTIFY_CHROMIUM") or shutil.which("chromium")


def skip_reason() -> str | None:
    """Return why browser tests cannot run here, or None when they can."""
    if chromium_path() is None:
        return "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


def screenshot(page, name: str) -> Path:
    """Save a screenshot of ``page`` under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
