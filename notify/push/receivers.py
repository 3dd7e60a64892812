"""Connect background pushing to :data:`notify.signals.messages_created` (imported by the app config)."""

from ..signals import messages_created
from .worker import on_messages_created

messages_created.connect(on_messages_created, dispatch_uid="notify.push")
