"""Exceptions raised by django-notify-kit; all derive from :class:`NotifyError`, and from Django's where they fit."""

from django.core import exceptions as django_exceptions


class NotifyError(Exception):
    """Root of every exception that this app raises on purpose."""


class UnknownChoice(NotifyError, LookupError):
    """Raised when a value is not an item of a choicelist."""


class InvalidRecipient(NotifyError, TypeError):
    """Raised when a recipient is not a user."""


class InvalidMessage(NotifyError, ValueError):
    """Raised when a message would not fit its fields."""


class ImproperlyConfigured(NotifyError, django_exceptions.ImproperlyConfigured):
    """Raised when a ``NOTIFY`` setting has a value of the wrong kind."""


class InvalidSubscription(NotifyError, ValueError):
    """Raised when a push subscription sent by a browser is malformed or its endpoint is refused."""


class InvalidVapidKey(ImproperlyConfigured, ValueError):
    """Raised when a VAPID key setting is missing, malformed or does not match its partner."""


class NotMailedMode(NotifyError, ValueError):
    """Raised when asked to e-mail the messages of a mail mode that sends no e-mail (silent, never)."""


class DeliveryFailed(NotifyError):
    """Raised by a job when it could not deliver at all (the mail server is unreachable); nothing was lost."""


class JobInterrupted(NotifyError):
    """Raised by a job that a signal stopped before it was done; the next tick goes on with the rest."""


class WorkerLost(JobInterrupted):
    """Recorded as the error of a task whose worker died before it finished (the job itself runs again)."""
