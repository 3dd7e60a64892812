"""System checks of the general ``NOTIFY`` keys (``notify.E001`` to ``notify.E009``)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from .choicelists import MailModes
from .conf import DEFAULTS, notify_settings

#: The keys whose value must be True or False.
FLAGS = ("keep_unseen", "mark_seen_when_sent", "use_push_api", "push_allow_private_endpoints")


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check the ``NOTIFY`` setting's keys and the kinds of their values."""
    if not notify_settings.is_valid():
        return [checks.Error("NOTIFY must be a dict.", hint="Write NOTIFY = {'remove_after': 14, ...}.",
                             id="notify.E001")]
    errors: list[checks.CheckMessage] = [
        checks.Error(f"NOTIFY has an unknown key {key!r}.", hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                     id="notify.E002") for key in notify_settings.unknown_keys()
    ]
    remove_after = notify_settings.remove_after
    if remove_after is not None and (isinstance(remove_after, bool) or not isinstance(remove_after, (int, float))
                                     or remove_after < 0):
        errors.append(checks.Error(
            f"NOTIFY['remove_after'] must be a number of days or None, not {remove_after!r}.",
            hint="Use 14 to remove messages after two weeks, None or 0 to keep them.", id="notify.E003"))
    mode = notify_settings.default_mail_mode
    if mode not in {item.value for item in MailModes.items()}:
        errors.append(checks.Error(
            f"NOTIFY['default_mail_mode'] is {mode!r}, which is not a mail mode.",
            hint=f"Use one of: {', '.join(i.value for i in MailModes.items())}.", id="notify.E004"))
    errors += [checks.Error(f"NOTIFY[{name!r}] is {getattr(notify_settings, name)!r}, not True or False.",
                            hint=f"The default is {DEFAULTS[name]!r}.", id="notify.E005")
               for name in FLAGS if not isinstance(getattr(notify_settings, name), bool)]
    template = notify_settings.base_template
    try:
        get_template(template) if isinstance(template, str) and template else None
    except TemplateDoesNotExist:
        errors.append(checks.Error(f"NOTIFY['base_template'] names {template!r}, a template that does not exist.",
                                   hint="Name a template with the blocks 'title' and 'content'.", id="notify.E006"))
    else:
        if not (isinstance(template, str) and template):
            errors.append(checks.Error(f"NOTIFY['base_template'] is {template!r}, not a template name.",
                                       hint=f"The default is {DEFAULTS['base_template']!r}.", id="notify.E006"))
    return errors
