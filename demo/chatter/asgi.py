"""ASGI entry point of the chatter demo."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.chatter.settings")
application = get_asgi_application()
