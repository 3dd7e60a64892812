"""Send the pending messages of a mail mode: one e-mail per user, over one SMTP connection."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import leases, shutdown
from ..choicelists import Choice, MailModes
from ..conf import notify_settings
from ..exceptions import DeliveryFailed, JobInterrupted, NotMailedMode
from ..models import BroadcastMail, Message, SeenBroadcast
from ..querysets import mailable
from ..users import _cached_preferences
from . import claims
from .compose import compose_email, email_address

logger = logging.getLogger("notify.mail")

#: Mail modes that never send e-mail.
UNMAILED = frozenset({"silent", "never"})


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
        wanted |= mailable()
    users = get_user_model()._default_manager.filter(wanted).select_related("notify_preferences")
    return {user.pk: user for user in users}


def envelopes(messages: Iterable[Message], users: dict[int, Any],
              mailed: Collection[tuple[int, int]] = ()) -> list[Envelope]:
    """Group messages by recipient; broadcasts go to every user of ``users`` who wants them.

    ``mailed`` holds the (message id, user id) pairs of broadcasts that a user already got.
    """
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
                todo = [m for m in broadcasts if (m.pk, pk) not in mailed]
                if todo:
                    env = by_user.get(pk) or by_user.setdefault(pk, Envelope(user, _cached_preferences(user)))
                    env.broadcasts = todo
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
    """One run of :func:`send_summary_emails` for one mail mode.

    Every e-mail is recorded (its messages marked as sent) before the next one goes out, so a
    run killed at any moment sends at most the e-mail in flight again. A run stops after the
    current e-mail when SIGTERM asks it to (see :mod:`notify.shutdown`).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.mark_seen = bool(notify_settings.mark_seen_when_sent)
        self.messages: list[Message] = []
        self.broadcasts: list[Message] = []
        self.refused: list[Any] = []
        self.complete = False
        self.complete_for_broadcasts = True
        #: Why the run could not deliver (the connection failed), or "".
        self.failure = ""
        #: Whether a signal stopped the run before every e-mail went out.
        self.interrupted = False
        self.sent = 0
        self.recorded = 0
        self.lease: leases.Held | None = None

    def execute(self) -> int:
        """Claim, send and record; return the number of e-mails sent."""
        leases.reap()
        with leases.held(f"mail_{self.mode}") as self.lease:
            if not claims.claim(self.mode, self.lease.token):
                return 0
            try:
                claims.relax_commits(True)
                self.messages = list(claims.claimed(self.lease.token))
                self.broadcasts = [m for m in self.messages if m.user_id is None]
                done = claims.mailed_broadcasts(self.broadcasts)
                todo = envelopes(self.messages, recipients(self.messages), done)
                self.deliver(todo)
                self.finish()
            finally:
                claims.relax_commits(False)
                if self.recorded < len(self.messages):
                    claims.release(self.lease.token)
        return self.sent

    def deliver(self, todo: list[Envelope]) -> None:
        """Send one e-mail per envelope over one connection, stopping when the connection fails."""
        if not todo:
            self.complete = True
            return
        try:
            connection = open_connection()
        except Exception as exc:
            self.failure = f"cannot connect to the mail server ({type(exc).__name__}: {exc})"
            logger.exception("Cannot connect to send %s e-mails; %d messages stay pending.", self.mode,
                             len(self.messages))
            return
        try:
            for env in todo:
                if shutdown.requested():
                    logger.warning("Mail run %s stopped on request after %d e-mails; the rest stays pending.",
                                   self.mode, self.sent)
                    self.interrupted = True
                    return
                if not self.send_one(connection, env):
                    return
                assert self.lease is not None
                self.lease.renew()
            self.complete = True
        finally:
            try:
                connection.close()
            except Exception:
                logger.warning("Closing the e-mail connection failed.", exc_info=True)

    def send_one(self, connection: Any, env: Envelope) -> bool:
        """Send and record the e-mail of one envelope; return False when the connection is unusable."""
        who = env.user.get_username()
        try:
            email: EmailMultiAlternatives = compose_email(env.user, env.messages, mode=self.mode, prefs=env.prefs,
                                                          connection=connection)
        except Exception:
            logger.exception("Cannot compose the %s e-mail to %s; its messages stay pending.", self.mode, who)
            self.missed(env, refused=False)
            return True
        try:
            ok = connection.send_messages([email]) == 1
        except Exception as exc:
            if _is_one_recipients_problem(exc):
                logger.warning("The %s e-mail to %s was refused (%s); its messages stay pending.",
                               self.mode, who, exc)
                self.missed(env, refused=True)
                return True
            self.failure = f"the mail server failed ({type(exc).__name__}: {exc})"
            logger.error("Sending %s e-mails failed at %s (%s); the rest stays pending.", self.mode, who, exc,
                         exc_info=True)
            return False
        if not ok:
            logger.warning("The backend did not send the %s e-mail to %s; its messages stay pending.",
                           self.mode, who)
            self.missed(env, refused=False)
            return True
        self.sent += 1
        self.record(env)
        return True

    def missed(self, env: Envelope, refused: bool) -> None:
        """Remember a user whose e-mail did not go: refused ones get copies of the broadcasts, others wait."""
        if env.broadcasts:
            if refused:
                self.refused.append(env.user)
            else:
                self.complete_for_broadcasts = False

    def record(self, env: Envelope) -> None:
        """Mark what one e-mail carried as sent (and seen): its messages, and its broadcasts for that user."""
        assert self.lease is not None
        now = timezone.now()
        self.recorded += len(env.personal)
        with transaction.atomic(savepoint=False):
            if env.personal:
                claims.mark_sent(self.lease.token, [m.pk for m in env.personal], now, mark_seen=self.mark_seen)
            if env.broadcasts:
                BroadcastMail.objects.bulk_create(
                    [BroadcastMail(message_id=m.pk, user_id=env.user.pk) for m in env.broadcasts],
                    ignore_conflicts=True)
                if self.mark_seen:
                    SeenBroadcast.objects.bulk_create(
                        [SeenBroadcast(message_id=m.pk, user_id=env.user.pk, seen=now) for m in env.broadcasts],
                        ignore_conflicts=True)

    def finish(self) -> None:
        """Once every user had their turn, close the broadcasts: copies for refused users, then sent."""
        if self.broadcasts and self.complete and self.complete_for_broadcasts:
            assert self.lease is not None
            now = timezone.now()
            ids = [m.pk for m in self.broadcasts]
            with transaction.atomic(savepoint=False):
                if self.refused:
                    self.copy_broadcasts(self.refused, now)
                claims.mark_sent(self.lease.token, ids, now)
            self.recorded += len(ids)
        if self.messages:
            logger.info("Mail run %s: %d e-mails sent; %d messages stay pending.", self.mode, self.sent,
                        len(self.messages) - self.recorded)

    def copy_broadcasts(self, users: list[Any], now: Any) -> None:
        """Give users whose e-mail was refused a pending copy of each broadcast."""
        fields = ("subject", "body", "owner_type_id", "owner_id", "reply_to_type_id", "reply_to_id",
                  "message_type", "mail_mode", "created")
        seen = {(row.message_id, row.user_id): row.seen
                for row in SeenBroadcast.objects.filter(message__in=self.broadcasts, user__in=users)}
        # A copy is for e-mail only: it keeps the user's seen state and is not pushed again.
        Message.objects.bulk_create([
            Message(user=user, seen=seen.get((msg.pk, user.pk)), pushed=msg.pushed or now,
                    **{f: getattr(msg, f) for f in fields})
            for msg in self.broadcasts for user in users])
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
    messages = list(claims.pending(mode).filter(claims.unclaimed()).select_related("actor", "reply_to_type")
                    .order_by("created", "id"))
    mailed = claims.mailed_broadcasts([m for m in messages if m.user_id is None])
    return [compose_email(env.user, env.messages, mode=mode, prefs=env.prefs)
            for env in envelopes(messages, recipients(messages), mailed)]


def run_mode(mm: Any) -> int:
    """Send the pending e-mails of ``mm`` as a job: raise :class:`DeliveryFailed` when the server failed."""
    run = MailRun(mailed_mode(mm).value)
    sent = run.execute()
    if run.failure:
        raise DeliveryFailed(f"{run.failure}; {sent} e-mails went out, the rest stays pending")
    if run.interrupted:
        raise JobInterrupted(f"stopped on request after {sent} e-mails; the rest stays pending")
    return sent


def send_pending_emails_often() -> int:
    """Send the pending e-mails of the "often" mail mode (run it every few seconds or minutes)."""
    return run_mode("often")


def send_pending_emails_daily() -> int:
    """Send the daily digests (run it once a day)."""
    return run_mode("daily")


def send_pending_emails_weekly() -> int:
    """Send the weekly digests (run it once a week)."""
    return run_mode("weekly")
