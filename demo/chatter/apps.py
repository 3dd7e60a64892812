"""The chatter demo app."""

from django.apps import AppConfig


class ChatterConfig(AppConfig):
    """Configure the chatter demo app."""

    name = "demo.chatter"
    label = "chatter"
    verbose_name = "Chatter"
    default_auto_field = "django.db.models.BigAutoField"
