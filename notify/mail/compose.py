"""Build the e-mail that tells one user about their pending messages."""

from __future__ import annotations

import functools
import logging
import re
import zoneinfo
from collections.abc import Sequence
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone, translation
from django.utils.translation import ngettext
from markupsafe import Markup

from .. import jinja
from ..actors import Acting
from ..choicelists import MailModes
from ..conf import notify_settings
from ..exceptions import ImproperlyConfigured
from ..users import display_name, get_preferences, language_of
from .html import plain_line

logger = logging.getLogger("notify.mail")

#: Headers of every notification e-mail: it was sent by a machine, do not auto-reply (RFC 3834).
HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


def email_address(user: Any) -> str:
    """Return the user's e-mail address, or ``""`` when they have none."""
    field = get_user_model().get_email_field_name()
    return (getattr(user, field, "") or "").strip()


def time_zone_of(prefs: Any) -> Any:
    """Return the time zone to use for a user with these preferences (the site's when unknown)."""
    name = prefs.time_zone if prefs is not None else ""
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            logger.warning("Unknown time zone %r in the preferences of %s; using the site's.", name, prefs.user_id)
    return timezone.get_default_timezone()


def email_subject(messages: Sequence[Any]) -> str:
    """Return the subject of an e-mail about ``messages``, with the project's prefix, on one line."""
    if len(messages) == 1:
        subject = str(messages[0].subject)
    else:
        subject = ngettext("{n} notification", "{n} notifications", len(messages)).format(n=len(messages))
    return " ".join(f"{settings.EMAIL_SUBJECT_PREFIX}{subject}".split())


def reply_to_address(messages: Sequence[Any]) -> str | None:
    """Return the Reply-To address for ``messages``, or None.

    There is one when the ``mail_reply_to`` setting is set and every message
    that has a ``reply_to`` object has the same one.
    """
    pattern = notify_settings.mail_reply_to
    if not pattern:
        return None
    check_reply_pattern(pattern)  # a broken pattern fails every e-mail, not only those with one target
    targets = {(m.reply_to_type_id, m.reply_to_id) for m in messages if m.reply_to_id is not None}
    if len(targets) != 1:
        return None
    msg = next(m for m in messages if m.reply_to_id is not None)
    return reply_address(pattern, msg.reply_to_type.app_label, msg.reply_to_type.model, msg.reply_to_id)


@functools.lru_cache(maxsize=8)
def check_reply_pattern(pattern: str) -> None:
    """Raise ImproperlyConfigured when ``pattern`` (the ``mail_reply_to`` setting) gives no address."""
    reply_address(pattern, "app", "model", 1)


def reply_address(pattern: str, app_label: str, model: str, pk: Any) -> str:
    """Return the address that ``pattern`` (the ``mail_reply_to`` setting) gives for one object."""
    try:
        address = str(pattern).format(app_label=app_label, model=model, id=pk)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ImproperlyConfigured(
            f"NOTIFY['mail_reply_to'] = {pattern!r} is not a valid pattern ({exc!r}); "
            "use the names {app_label}, {model} and {id}.") from None
    address = "".join(address.split())
    if "@" not in address:
        raise ImproperlyConfigured(f"NOTIFY['mail_reply_to'] gives {address!r}, which is no e-mail address.")
    return address


def request_of(message: Any) -> Acting:
    """Return the action request that caused ``message``: its actor's (the system's when it has none)."""
    return Acting(message.actor)


def _context(user: Any, messages: Sequence[Any], mode: Any) -> dict[str, Any]:
    mode = MailModes.get(mode or messages[0].mail_mode)
    return {"user": user, "request_of": request_of, "messages": list(messages), "mode": str(mode.text),
            "language": translation.get_language() or settings.LANGUAGE_CODE, "subject": email_subject(messages),
            "time_zone": str(timezone.get_current_timezone())}


def _render(kind: str, context: dict[str, Any]) -> str:
    messages = context["messages"]
    if len(messages) == 1:
        content = jinja.render(f"notify/body.{kind}", dict(context, obj=messages[0], ar=request_of(messages[0])))
    else:
        content = jinja.render(f"notify/summary.{kind}", context)
    return jinja.render(f"notify/mail.{kind}", dict(context, content=Markup(content) if kind == "eml" else content))


def render_html(user: Any, messages: Sequence[Any], mode: Any = None) -> str:
    """Render the HTML part of an e-mail about ``messages`` in the active language and time zone."""
    return _render("eml", _context(user, messages, mode))


def render_text(user: Any, messages: Sequence[Any], mode: Any = None) -> str:
    """Render the plain-text part of an e-mail about ``messages`` in the active language and time zone."""
    return _tidy(_render("txt", _context(user, messages, mode)))


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip() + "\n"


def compose_email(user: Any, messages: Sequence[Any], *, mode: Any = None, prefs: Any = ...,
                  connection: Any = None) -> EmailMultiAlternatives:
    """Return the e-mail that tells ``user`` about ``messages``, in their language and time zone.

    It has a plain-text body and an HTML alternative. ``prefs`` are the
    user's preferences (looked up when not given); ``mode`` is the mail mode
    (by default that of the first message).
    """
    if not messages:
        raise ValueError("compose_email() needs at least one message")
    address = email_address(user)
    if not address:
        raise ValueError(f"User {user.get_username()!r} has no e-mail address")
    if prefs is ...:
        prefs = get_preferences(user)
    with translation.override(language_of(prefs)), timezone.override(time_zone_of(prefs)):
        context = _context(user, messages, mode)
        html, text = _render("eml", context), _render("txt", context)
        subject = context["subject"]
    reply_to = reply_to_address(messages)
    email = EmailMultiAlternatives(
        subject=subject, body=_tidy(text), to=[formataddr((plain_line(display_name(user)), address))],
        reply_to=[reply_to] if reply_to else None, headers=dict(HEADERS), connection=connection,
    )
    email.attach_alternative(html, "text/html")
    return email
