"""System checks of the e-mail settings (ids ``notify.E030`` to ``notify.E034``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from ..conf import DEFAULTS, is_positive_number, notify_settings
from ..exceptions import ImproperlyConfigured


def _setting(name: str) -> Any:
    return getattr(notify_settings, name)


@checks.register(checks.Tags.compatibility)
def check_mail_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check the ``NOTIFY`` keys that concern e-mail and the scheduler."""
    from ..jobs import parse_time
    from .compose import check_reply_pattern

    if not notify_settings.is_valid():
        return []
    errors: list[checks.CheckMessage] = []
    pattern = _setting("mail_reply_to")
    if pattern is not None:
        try:
            check_reply_pattern(pattern)
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), hint="For example 'reply+{model}-{id}@example.org'.",
                                       id="notify.E030"))
    for name in ("mail_daily_at", "mail_weekly_at", "cleanup_at"):
        try:
            parse_time(_setting(name))
        except ImproperlyConfigured:
            errors.append(checks.Error(f"NOTIFY[{name!r}] is {_setting(name)!r}, which is not a time of day.",
                                       hint="Write it like '07:00'.", id="notify.E031"))
    day = _setting("mail_weekly_day")
    if isinstance(day, bool) or day not in range(7):
        errors.append(checks.Error(f"NOTIFY['mail_weekly_day'] is {day!r}, not a weekday number.",
                                   hint="Use 0 for Monday to 6 for Sunday.", id="notify.E032"))
    for name in ("mail_often_every", "claim_timeout", "mail_timeout", "push_pending_every"):
        if not is_positive_number(_setting(name)):
            errors.append(checks.Error(f"NOTIFY[{name!r}] is {_setting(name)!r}, not a positive number of seconds.",
                                       hint=f"The default is {DEFAULTS[name]!r}.", id="notify.E033"))
    site_url = _setting("site_url")
    if site_url is not None and not str(site_url).startswith(("http://", "https://")):
        errors.append(checks.Error(f"NOTIFY['site_url'] is {site_url!r}, not an http(s) URL.",
                                   hint="For example 'https://example.org'.", id="notify.E034"))
    return errors
