"""WSGI entry point of the chatter demo."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.chatter.settings")
application = get_wsgi_application()
