"""System checks of the Lino layer's settings (``notify.E060`` to ``notify.E062``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from ..conf import import_error
from .conf import DEFAULTS, demo_date, lino_setting


@checks.register(checks.Tags.compatibility)
def check_lino_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check ``NOTIFY_LINO``: a dict with known keys, a date and an importable builder."""
    value = getattr(settings, "NOTIFY_LINO", None) or {}
    if not isinstance(value, dict):
        return [checks.Error("NOTIFY_LINO must be a dict.", hint="Write NOTIFY_LINO = {'demo_date': '2024-04-06'}.",
                             id="notify.E060")]
    errors: list[checks.CheckMessage] = [
        checks.Error(f"NOTIFY_LINO has an unknown key {key!r}.", hint=f"Known keys: {', '.join(DEFAULTS)}.",
                     id="notify.E060") for key in sorted(set(value) - set(DEFAULTS))
    ]
    try:
        demo_date()
    except ValueError:
        errors.append(checks.Error(f"NOTIFY_LINO['demo_date'] is {lino_setting('demo_date')!r}, not a date.",
                                   hint="Write it like '2024-04-06'.", id="notify.E061"))
    builder = lino_setting("demo_builder")
    problem = None if builder is None else import_error(builder)
    if problem:
        errors.append(checks.Error(f"NOTIFY_LINO['demo_builder'] is {builder!r}, which cannot be imported: {problem}.",
                                   hint="Name a callable by its dotted path.", id="notify.E062"))
    return errors
