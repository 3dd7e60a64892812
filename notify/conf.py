"""Read the ``NOTIFY`` setting through one object with documented defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings

from .exceptions import ImproperlyConfigured

#: Every key of the ``NOTIFY`` setting with its default value.
DEFAULTS: dict[str, Any] = {
    # Remove notification messages older than this many days (None or 0: never).
    "remove_after": 14,
    # Keep unseen messages when removing old ones.
    "keep_unseen": True,
    # Mark a message as seen when it has been sent by e-mail.
    "mark_seen_when_sent": False,
    # Base URL that makes relative links absolute in e-mails, e.g. "https://example.org" (None: keep them).
    "site_url": None,
    # Reply-To address of an e-mail about a message with a reply_to object, a str.format pattern with
    # {app_label}, {model} and {id}, e.g. "reply+{model}-{id}@example.org" (None: no Reply-To header).
    "mail_reply_to": None,
    # Seconds without a heartbeat after which a job run counts as dead and its claims are free (a run
    # renews its heartbeat every quarter of it; a dead process on the same host is noticed at once).
    "claim_timeout": 120,
    # Seconds to wait for the SMTP server when the project sets no EMAIL_TIMEOUT.
    "mail_timeout": 30,
    # Schedule: seconds between two "often" mail runs; local time ("HH:MM") of the daily and weekly
    # runs; weekday of the weekly run (0 = Monday).
    "mail_often_every": 10,
    "mail_daily_at": "07:00",
    "mail_weekly_at": "07:00",
    "mail_weekly_day": 0,
    # Deliver desktop notifications through the Push API.
    "use_push_api": False,
    # The site's VAPID credentials (no defaults are shipped on purpose).
    "vapid_private_key": None,
    "vapid_public_key": None,
    "vapid_admin_email": None,
    # Accept push endpoints on loopback/private addresses and over plain http (tests, local demos only).
    "push_allow_private_endpoints": False,
    # Seconds a push service keeps an undelivered push; older messages are not pushed at all.
    "push_ttl": 86400,
    # Urgency header of pushes: "very-low", "low", "normal" or "high".
    "push_urgency": "normal",
    # Seconds one push may take in all (connecting, sending, the answer); a later one is retried.
    "push_timeout": 10,
    # Attempts per push when the service answers 413, 429, 5xx or cannot be reached.
    "push_max_attempts": 3,
    # Seconds before the first retry; doubled for every further one.
    "push_retry_delay": 1.0,
    # Pushes in flight at the same time.
    "push_workers": 64,
    # Subscriptions kept per user; a new one beyond that replaces the user's oldest.
    "push_max_subscriptions": 10,
    # Seconds between two scheduled runs of the push outbox, which also sends the retries that are due.
    "push_pending_every": 30,
    # Time of day of the daily clear_seen_messages() run.
    "cleanup_at": "03:30",
    # Where background jobs run: "thread" (a thread of the web process pushes new messages; the
    # scheduler runs jobs in its own process: development), "cron" (nothing in the web process; cron or
    # a timer runs `notify_scheduler --once`), "tasks" (Django's task framework, e.g. a django-tasks-db
    # worker), "celery" (a Celery worker; beat ticks the schedule), or "auto": "tasks" when TASKS names
    # a backend other than the ImmediateBackend, else "thread".
    "job_backend": "auto",
    # Seconds before a job that failed is tried again.
    "job_retry_after": 60,
    # The mail mode of a user who never chose one.
    "default_mail_mode": "often",
    # Live delivery: Redis URL that all server processes share (None: deliver within one process).
    "live_redis_url": None,
    # Live delivery: the Redis publish/subscribe channel (give each site sharing a Redis its own).
    "live_redis_channel": "notify-live",
    # Live delivery: dotted path of a Broker class to use instead (None: chosen by live_redis_url).
    "live_broker": None,
    # Live delivery: seconds between keep-alive comments on an idle stream.
    "live_keepalive": 15,
    # Template that the notify pages extend; it must define the blocks "title" and "content".
    "base_template": "notify/base.html",
}


def is_positive_number(value: Any) -> bool:
    """Tell whether a setting's value is a number above zero (True and False are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def import_error(path: Any) -> str | None:
    """Return why the dotted path of a setting cannot be imported, or None when it can."""
    from django.utils.module_loading import import_string

    try:
        import_string(str(path))
    except ImportError as exc:
        return str(exc)
    return None


class NotifySettings:
    """Give attribute access to the ``NOTIFY`` setting, falling back to defaults."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in DEFAULTS:
            raise AttributeError(f"NOTIFY has no setting {name!r}")
        if name not in self._cache:
            self._cache[name] = self.configured().get(name, DEFAULTS[name])
        return self._cache[name]

    def configured(self) -> dict[str, Any]:
        """Return the project's ``NOTIFY`` dict (empty when unset); raise ImproperlyConfigured if not a dict."""
        value = getattr(django_settings, "NOTIFY", None)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ImproperlyConfigured("The NOTIFY setting must be a dict.")
        return value

    def is_valid(self) -> bool:
        """Tell whether ``NOTIFY`` is a dict (the other checks have nothing to check otherwise)."""
        try:
            self.configured()
        except ImproperlyConfigured:
            return False
        return True

    def unknown_keys(self) -> list[str]:
        """Return the keys of ``NOTIFY`` that this app does not know."""
        return sorted(set(self.configured()) - set(DEFAULTS))

    def reload(self) -> None:
        """Forget cached values so that changed settings are read again."""
        self._cache.clear()


notify_settings = NotifySettings()


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Forget the cached values when a test changes ``NOTIFY`` (connected by the app's ``ready()``)."""
    if setting == "NOTIFY":
        notify_settings.reload()

