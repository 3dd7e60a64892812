"""Connect live delivery to :data:`notify.signals.messages_created` (imported by the app's ``ready()``)."""

from ..signals import messages_created
from .send import on_messages_created

messages_created.connect(on_messages_created, dispatch_uid="notify.live")
