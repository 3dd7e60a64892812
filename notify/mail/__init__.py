"""E-mail notifications: one e-mail per user per mail mode, sent by scheduled jobs.

See :doc:`/topics/mail` for how it works and how to run it. The names below
load their module on first use, so that start-up does not pay for Jinja.
"""

from __future__ import annotations

from notify import lazy_names

_EXPORTS = {
    "compose_email": "compose",
    "email_subject": "compose",
    "render_html": "compose",
    "render_text": "compose",
    "reply_to_address": "compose",
    "html_to_text": "html",
    "sanitize_html": "html",
    "pending_emails": "send",
    "send_pending_emails_daily": "send",
    "send_pending_emails_often": "send",
    "send_pending_emails_weekly": "send",
    "send_summary_emails": "send",
}


__getattr__ = lazy_names(__name__, {name: f"{__name__}.{module}" for name, module in _EXPORTS.items()})
__all__ = sorted(_EXPORTS)
