"""The namespace of documentation pages: ``from notify.lino.doctest import *``."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from ..choicelists import MailModes, MessageTypes
from .runtime import dd, rt
from .utils import is_devserver

User = get_user_model()

__all__ = ["MailModes", "MessageTypes", "User", "dd", "is_devserver", "rt", "settings", "timezone", "translation"]
