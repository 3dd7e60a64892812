"""System checks of the notify app (ids ``notify.E0xx`` and ``notify.W0xx``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from .choicelists import MailModes
from .conf import DEFAULTS, notify_settings


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check the ``NOTIFY`` setting's keys and the kinds of their values."""
    errors: list[checks.CheckMessage] = []
    from django.conf import settings

    value = getattr(settings, "NOTIFY", {})
    if not isinstance(value, dict):
        return [checks.Error("NOTIFY must be a dict.", hint="Write NOTIFY = {'remove_after': 14, ...}.",
                             id="notify.E001")]
    for key in notify_settings.unknown_keys():
        errors.append(checks.Error(
            f"NOTIFY has an unknown key {key!r}.",
            hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.", id="notify.E002"))
    remove_after = value.get("remove_after", DEFAULTS["remove_after"])
    if remove_after is not None and (isinstance(remove_after, bool) or not isinstance(remove_after, (int, float))
                                     or remove_after < 0):
        errors.append(checks.Error(
            f"NOTIFY['remove_after'] must be a number of days or None, not {remove_after!r}.",
            hint="Use 14 to remove messages after two weeks, None or 0 to keep them.", id="notify.E003"))
    mode = value.get("default_mail_mode", DEFAULTS["default_mail_mode"])
    if mode not in {item.value for item in MailModes.items()}:
        errors.append(checks.Error(
            f"NOTIFY['default_mail_mode'] is {mode!r}, which is not a mail mode.",
            hint=f"Use one of: {', '.join(i.value for i in MailModes.items())}.", id="notify.E004"))
    return errors
