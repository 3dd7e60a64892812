"""Signals that delivery channels (live, push) listen to."""

from django.dispatch import Signal

#: Sent once per emit after the transaction committed; ``messages`` is the list of new messages.
messages_created = Signal()
