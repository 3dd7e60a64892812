"""The notify app's configuration."""

from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    """Register the system checks of the notify app."""

    name = "notify"
    label = "notify"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, jobchecks  # noqa: F401  (register the checks)
        from .live import receivers  # noqa: F401  (connects live delivery to messages_created)
        from .mail import checks as mail_checks  # noqa: F401  (registers the e-mail checks)
        from .push import checks as push_checks  # noqa: F401  (registers the push checks)
        from .push.receivers import on_messages_created
        from .signals import messages_created

        messages_created.connect(on_messages_created, dispatch_uid="notify.push")
        if apps.is_installed("django_tasks_db"):
            from .signals import lease_reaped
            from .tasks import fail_dead_tasks

            lease_reaped.connect(fail_dead_tasks, dispatch_uid="notify.tasks")
