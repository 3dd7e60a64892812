"""System checks of live delivery (``notify.E050`` to ``notify.E053``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from ..conf import DEFAULTS, import_error, is_positive_number, notify_settings


@checks.register(checks.Tags.compatibility)
def check_live_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check ``live_redis_url``, ``live_redis_channel``, ``live_broker`` and ``live_keepalive``."""
    if not notify_settings.is_valid():
        return []
    errors: list[checks.CheckMessage] = []
    url = notify_settings.live_redis_url
    if url is not None and not (isinstance(url, str) and url.startswith(("redis://", "rediss://", "unix://"))):
        errors.append(checks.Error(f"NOTIFY['live_redis_url'] is {url!r}, not a Redis URL or None.",
                                   hint="For example 'redis://127.0.0.1:6379/0'.", id="notify.E050"))
    channel = notify_settings.live_redis_channel
    if not (isinstance(channel, str) and channel.strip()):
        errors.append(checks.Error(f"NOTIFY['live_redis_channel'] is {channel!r}, not a channel name.",
                                   hint=f"The default is {DEFAULTS['live_redis_channel']!r}.", id="notify.E051"))
    path = notify_settings.live_broker
    problem = None if path is None else import_error(path)
    if problem:
        errors.append(checks.Error(f"NOTIFY['live_broker'] is {path!r}, which cannot be imported: {problem}.",
                                   hint="Name a Broker class by its dotted path, or None.", id="notify.E052"))
    keepalive = notify_settings.live_keepalive
    if not is_positive_number(keepalive):
        errors.append(checks.Error(f"NOTIFY['live_keepalive'] is {keepalive!r}, not a positive number of seconds.",
                                   hint=f"The default is {DEFAULTS['live_keepalive']!r}.", id="notify.E053"))
    return errors
