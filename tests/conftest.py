"""Fixtures of the test modules (the project-wide ones live in the top-level conftest.py)."""

from tests.support.smtpserver import silent_server, smtp_server
from tests.support.workers import smtp, workers

__all__ = ["silent_server", "smtp", "smtp_server", "workers"]
