"""A real SMTP server on 127.0.0.1 (aiosmtpd in a thread) that keeps what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One e-mail as the server got it: envelope and parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    def text(self) -> str:
        """Return the plain-text part."""
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")

    def html(self) -> str:
        """Return the HTML part."""
        return self.message.get_body(("html",)).get_content().replace("\r\n", "\n")


class Inbox:
    """The aiosmtpd handler: store e-mails, refuse some recipients, stall on others."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.stall: set[str] = set()
        self.stall_seconds = 3.0
        self.connections = 0
        self.lock = threading.Lock()

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
            self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> list[str]:
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
            self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
            self, server: Any, session: Any, envelope: Any) -> str:
        if self.stall & set(envelope.rcpt_tos):
            await asyncio.sleep(self.stall_seconds)
            return "451 4.3.0 Too slow"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SMTPServer:
    """Run an aiosmtpd server on a free port of 127.0.0.1; use as a context manager."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        """Return the e-mails received so far."""
        with self.inbox.lock:
            return list(self.inbox.received)

    def by_recipient(self) -> dict[str, list[Received]]:
        """Return the received e-mails grouped by envelope recipient."""
        result: dict[str, list[Received]] = {}
        for item in self.received:
            for rcpt in item.rcpt_tos:
                result.setdefault(rcpt, []).append(item)
        return result

    def settings(self, timeout: float = 2.0) -> dict[str, Any]:
        """Return Django settings that send e-mail to this server."""
        return smtp_settings(self.port, timeout)


def smtp_settings(port: int, timeout: float = 2.0) -> dict[str, Any]:
    """Return Django settings that send e-mail by SMTP to 127.0.0.1:``port``."""
    return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": port, "EMAIL_TIMEOUT": timeout, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False,
            "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""}


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """Start an SMTP server and point Django's e-mail settings at it for the test."""
    from django.test import override_settings

    with SMTPServer() as server, override_settings(**server.settings()):
        yield server


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Listen on a port but never answer (an SMTP server that hangs); yield the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]
