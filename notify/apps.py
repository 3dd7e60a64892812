"""The notify app's configuration: every signal connection and system check is wired here."""

from django.apps import AppConfig, apps
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    """Register the system checks and connect the delivery channels and setting caches."""

    name = "notify"
    label = "notify"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the receivers and register the checks."""
        from . import checks, conf, jinja, jobchecks  # noqa: F401  (checks and jobchecks register checks)
        from .live import broker
        from .live import checks as live_checks  # noqa: F401  (registers the live delivery checks)
        from .live.send import on_messages_created as live_receiver
        from .mail import checks as mail_checks  # noqa: F401  (registers the e-mail checks)
        from .push import checks as push_checks  # noqa: F401  (registers the push checks)
        from .push.receivers import on_messages_created as push_receiver
        from .signals import lease_reaped, messages_created

        messages_created.connect(live_receiver, dispatch_uid="notify.live")
        messages_created.connect(push_receiver, dispatch_uid="notify.push")
        for module in (conf, jinja, broker):
            setting_changed.connect(module.on_setting_changed, dispatch_uid=f"{module.__name__}.settings")
        if apps.is_installed("django_tasks_db"):
            from .tasks import fail_dead_tasks

            lease_reaped.connect(fail_dead_tasks, dispatch_uid="notify.tasks")
