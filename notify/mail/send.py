"""Send the pending messages of a mail mode: one e-mail per user, over one SMTP connection."""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..choicelists import Choice, MailModes
from ..conf import notify_settings
from ..exceptions import NotMailedMode
from ..models import Message, SeenBroadcast
from ..users import _cached_preferences
from . import claims
from .compose import compose_email, email_address

logger = logging.getLogger("notify.mail")

#: Mail modes that never send e-mail.
UNMAILED = frozenset({"silent", "never"})
#: Seconds between two writes of the messages delivered so far during a long run.
FLUSH_EVERY = 5.0


def mailed_mode(mm: Any) -> Choice:
    """Return the mail mode ``mm`` as a choice; raise :class:`NotMailedMode` for silent and never."""
    mode = MailModes.get(mm)
    if mode.value in UNMAILED:
        raise NotMailedMode(f"Mail mode {mode.value!r} sends no e-mail")
    return mode


@dataclass
class Envelope:
    """The messages that go to one user in one e-mail."""

    user: Any
    prefs: Any
    personal: list[Message] = field(default_factory=list)
    broadcasts: list[Message] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        """Return all messages of this e-mail, oldest first."""
        return sorted(self.personal + self.broadcasts, key=lambda m: (m.created, m.pk))


def wants_broadcasts(user: Any) -> bool:
    """Tell whether ``user`` gets broadcasts by e-mail (their mail mode is not silent or never)."""
    prefs = _cached_preferences(user)
    return (prefs.mail_mode if prefs is not None else notify_settings.default_mail_mode) not in UNMAILED


def recipients(messages: list[Message]) -> dict[int, Any]:
    """Load, in one query, the users that ``messages`` go to, with their preferences.

    When there is a broadcast among the messages, this includes every active
    user with an e-mail address.
    """
    user_ids = {m.user_id for m in messages if m.user_id is not None}
    wanted = Q(pk__in=user_ids)
    if any(m.user_id is None for m in messages):
        wanted |= claims.mailable()
    users = get_user_model()._default_manager.filter(wanted).select_related("notify_preferences")
    return {user.pk: user for user in users}


def envelopes(messages: Iterable[Message], users: dict[int, Any]) -> list[Envelope]:
    """Group messages by recipient; broadcasts go to every user of ``users`` who wants them."""
    by_user: dict[int, Envelope] = {}
    broadcasts = []
    for msg in messages:
        if msg.user_id is None:
            broadcasts.append(msg)
            continue
        env = by_user.get(msg.user_id)
        if env is None:
            user = users[msg.user_id]
            env = by_user[msg.user_id] = Envelope(user, _cached_preferences(user))
        msg.user = env.user
        env.personal.append(msg)
    if broadcasts:
        for pk, user in users.items():
            if email_address(user) and getattr(user, "is_active", True) and wants_broadcasts(user):
                env = by_user.get(pk) or by_user.setdefault(pk, Envelope(user, _cached_preferences(user)))
                env.broadcasts = broadcasts
    return [by_user[pk] for pk in sorted(by_user) if email_address(by_user[pk].user)]


def _is_one_recipients_problem(exc: Exception) -> bool:
    if isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, ValueError)):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421


def open_connection() -> Any:
    """Return an open connection of the project's e-mail backend, with a timeout."""
    options = {"timeout": notify_settings.mail_timeout} if getattr(settings, "EMAIL_TIMEOUT", None) is None else {}
    connection = get_connection(fail_silently=False, **options)
    connection.open()
    return connection


class MailRun:
    """One run of :func:`send_summary_emails` for one mail mode."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.started = time.time()
        self.token = claims.new_token(self.started)
        self.deadline = self.started + 0.8 * float(notify_settings.claim_timeout)
        self.mark_seen = bool(notify_settings.mark_seen_when_sent)
        self.messages: list[Message] = []
        self.broadcasts: list[Message] = []
        self.broadcast_users: list[Any] = []
        self.broadcast_done: set[int] = set()
        self.delivered: set[int] = set()
        self.flushed: set[int] = set()
        self.last_flush = time.monotonic()
        self.sent = 0

    def execute(self) -> int:
        """Claim, send and record; return the number of e-mails sent."""
        if not claims.claim(self.mode, self.token, self.started):
            return 0
        try:
            self.messages = list(claims.claimed(self.token))
            self.broadcasts = [m for m in self.messages if m.user_id is None]
            todo = envelopes(self.messages, recipients(self.messages))
            self.broadcast_users = [env.user for env in todo if env.broadcasts]
            self.deliver(todo)
        finally:
            self.finish()
        return self.sent

    def deliver(self, todo: list[Envelope]) -> None:
        """Send one e-mail per envelope over one connection, stopping when the connection fails."""
        if not todo:
            return
        try:
            connection = open_connection()
        except Exception:
            logger.exception("Cannot connect to send %s e-mails; %d messages stay pending.", self.mode,
                             len(self.messages))
            return
        try:
            for env in todo:
                if time.time() > self.deadline:
                    logger.warning("Mail run %s is near its claim timeout; the rest waits for the next run.",
                                   self.token)
                    break
                if not self.send_one(connection, env):
                    break
        finally:
            try:
                connection.close()
            except Exception:
                logger.warning("Closing the e-mail connection failed.", exc_info=True)

    def send_one(self, connection: Any, env: Envelope) -> bool:
        """Send the e-mail of one envelope; return False when the connection is unusable."""
        who = env.user.get_username()
        try:
            email: EmailMultiAlternatives = compose_email(env.user, env.messages, mode=self.mode, prefs=env.prefs,
                                                          connection=connection)
        except Exception:
            logger.exception("Cannot compose the %s e-mail to %s; its messages stay pending.", self.mode, who)
            return True
        try:
            ok = connection.send_messages([email]) == 1
        except Exception as exc:
            if _is_one_recipients_problem(exc):
                logger.warning("The %s e-mail to %s was refused (%s); its messages stay pending.",
                               self.mode, who, exc)
                return True
            logger.error("Sending %s e-mails failed at %s (%s); the rest stays pending.", self.mode, who, exc,
                         exc_info=True)
            return False
        if not ok:
            logger.warning("The backend did not send the %s e-mail to %s; its messages stay pending.",
                           self.mode, who)
            return True
        self.sent += 1
        self.delivered.update(m.pk for m in env.personal)
        if env.broadcasts:
            self.broadcast_done.add(env.user.pk)
        if time.monotonic() - self.last_flush > FLUSH_EVERY:
            claims.mark_sent(self.token, self.delivered, timezone.now(), mark_seen=self.mark_seen)
            self.flushed |= self.delivered
            self.delivered = set()
            self.last_flush = time.monotonic()
        return True

    def finish(self) -> None:
        """Record what was sent, copy broadcasts for users who missed them, and free the rest."""
        now = timezone.now()
        broadcast_ids = {m.pk for m in self.broadcasts} if self.broadcast_done else set()
        done = self.delivered | broadcast_ids
        keep = {m.pk for m in self.messages} - done - self.flushed
        missed = [u for u in self.broadcast_users if u.pk not in self.broadcast_done] if broadcast_ids else []
        if missed:
            self.copy_broadcasts(missed, done, now)
        elif done and len(keep) <= min(len(done), claims.CHUNK):
            claims.mark_all_sent_except(self.token, keep, now, mark_seen=self.mark_seen)
        elif done:
            claims.mark_sent(self.token, done, now, mark_seen=self.mark_seen)
        if keep:
            claims.release(self.token)
        if broadcast_ids and self.mark_seen:
            SeenBroadcast.objects.bulk_create(
                [SeenBroadcast(message_id=pk, user_id=uid, seen=now) for pk in sorted(broadcast_ids)
                 for uid in sorted(self.broadcast_done)], ignore_conflicts=True)
        if self.messages:
            logger.info("Mail run %s: %d e-mails sent; %d messages stay pending.", self.mode, self.sent, len(keep))

    def copy_broadcasts(self, users: list[Any], done: set[int], now: Any) -> None:
        """Give users who missed the broadcasts a pending copy each, and record the broadcasts as sent."""
        fields = ("subject", "body", "owner_type_id", "owner_id", "reply_to_type_id", "reply_to_id",
                  "message_type", "mail_mode", "created")
        seen = {(row.message_id, row.user_id): row.seen
                for row in SeenBroadcast.objects.filter(message__in=self.broadcasts, user__in=users)}
        # A copy is for e-mail only: it keeps the user's seen state and is not pushed again.
        copies = [Message(user=user, seen=seen.get((msg.pk, user.pk)), pushed=msg.pushed or now,
                          **{f: getattr(msg, f) for f in fields})
                  for msg in self.broadcasts for user in users]
        with transaction.atomic(savepoint=False):
            Message.objects.bulk_create(copies)
            claims.mark_sent(self.token, done, now, mark_seen=self.mark_seen)
        logger.warning("%d users missed %d broadcast messages; they got pending copies.", len(users),
                       len(self.broadcasts))


def send_summary_emails(mm: Any) -> int:
    """Send the pending messages of mail mode ``mm``: one e-mail per user; return how many e-mails went out.

    Messages whose e-mail could not be sent stay pending for the next run.
    """
    return MailRun(mailed_mode(mm).value).execute()


def pending_emails(mm: Any) -> list[EmailMultiAlternatives]:
    """Return the e-mails that :func:`send_summary_emails` would send now, without sending or claiming."""
    mode = mailed_mode(mm).value
    messages = list(claims.pending(mode).filter(claims.unclaimed()).select_related("reply_to_type")
                    .order_by("created", "id"))
    return [compose_email(env.user, env.messages, mode=mode, prefs=env.prefs)
            for env in envelopes(messages, recipients(messages))]


def send_pending_emails_often() -> int:
    """Send the pending e-mails of the "often" mail mode (run it every few seconds or minutes)."""
    return send_summary_emails("often")


def send_pending_emails_daily() -> int:
    """Send the daily digests (run it once a day)."""
    return send_summary_emails("daily")


def send_pending_emails_weekly() -> int:
    """Send the weekly digests (run it once a week)."""
    return send_summary_emails("weekly")
