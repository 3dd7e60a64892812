"""The namespace of documentation pages: ``from notify.doctest import *``."""

from django.conf import settings
from django.utils import timezone, translation

from .choicelists import MailModes, MessageTypes
from .runtime import dd, rt

__all__ = ["MailModes", "MessageTypes", "dd", "rt", "settings", "timezone", "translation"]
