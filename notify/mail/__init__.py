"""E-mail notifications: one e-mail per user per mail mode, sent by scheduled jobs.

See :doc:`/topics/mail` for how it works and how to run it.
"""

from .compose import compose_email, email_subject, render_html, render_text, reply_to_address
from .html import html_to_text, sanitize_html
from .send import (
    pending_emails,
    send_pending_emails_daily,
    send_pending_emails_often,
    send_pending_emails_weekly,
    send_summary_emails,
)

__all__ = [
    "compose_email",
    "email_subject",
    "html_to_text",
    "pending_emails",
    "render_html",
    "render_text",
    "reply_to_address",
    "sanitize_html",
    "send_pending_emails_daily",
    "send_pending_emails_often",
    "send_pending_emails_weekly",
    "send_summary_emails",
]
