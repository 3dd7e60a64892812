"""The chatter demo: users in groups write comments that notify the other members."""

from .celery import app as celery_app

__all__ = ["celery_app"]
