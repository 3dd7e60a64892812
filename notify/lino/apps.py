"""The Lino layer as a Django app: it pins the demo date and gives e-mail templates ``rt`` and ``dd``."""

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


class LinoLayerConfig(AppConfig):
    """Install Lino's vocabulary over the notify app (``INSTALLED_APPS += ["notify.lino"]``)."""

    name = "notify.lino"
    label = "notify_lino"
    verbose_name = "Notifications: Lino's vocabulary"

    def ready(self) -> None:
        """Register the checks, give templates ``rt`` and ``dd``, and pin the site's date to the demo's."""
        from notify import jinja

        from . import checks  # noqa: F401  (registers the checks)
        from .runtime import dd, rt

        jinja.add_globals(rt=rt, dd=dd)
        _pin()
        setting_changed.connect(_on_setting_changed, dispatch_uid="notify.lino.settings")


def _pin() -> None:
    from notify import clock

    from .conf import demo_date

    try:
        clock.pin(demo_date())
    except ValueError:
        clock.pin(None)  # check notify.E061 reports it


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "NOTIFY_LINO":
        _pin()
