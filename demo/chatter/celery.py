"""The chatter demo's Celery app: ``celery -A demo.chatter worker`` and ``celery -A demo.chatter beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.chatter.settings")

app = Celery("chatter")
app.config_from_object("django.conf:settings", namespace="CELERY")
