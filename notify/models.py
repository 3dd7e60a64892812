"""Database models: messages, per-user preferences, subscriptions and watchers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .choicelists import MailModes, MessageTypes
from .conf import notify_settings
from .emit import SUBJECT_MAX, MsgFunc, create_message, emit_notification
from .push.endpoints import MAX_ENDPOINT
from .querysets import MessageQuerySet
from .text import plain_line

# The delivery functions behind Lino's method names, bound late: mail and live delivery import the models.
SEND_SUMMARY_EMAILS = "notify.mail.send.send_summary_emails"
SEND_BROWSER_MESSAGE = "notify.live.send.send_browser_message"
SEND_TO_ALL_BROWSERS = "notify.live.send.send_browser_message_for_all_users"


def default_mail_mode() -> str:
    """Return the mail mode of a user who never chose one: ``NOTIFY['default_mail_mode']``."""
    return str(notify_settings.default_mail_mode)




class Preferences(models.Model):
    """Store how one user wants to be notified."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notify_preferences",
        verbose_name=_("User"),
    )
    nickname = models.CharField(_("Nickname"), max_length=50, blank=True)
    mail_mode = models.CharField(
        _("Notification mode"), max_length=20, choices=MailModes.field_choices, default=default_mail_mode
    )
    notify_myself = models.BooleanField(_("Notify myself"), default=False)
    language = models.CharField(_("Language"), max_length=15, blank=True)
    time_zone = models.CharField(_("Time zone"), max_length=63, blank=True)

    class Meta:
        verbose_name = _("Notification preferences")
        verbose_name_plural = _("Notification preferences")

    def __str__(self) -> str:
        return str(self.user)


class Message(models.Model):
    """Store one notification message to one user, or to everybody (a broadcast)."""

    subject = models.CharField(_("Subject"), max_length=SUBJECT_MAX)
    body = models.TextField(_("Body"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notify_messages",
        verbose_name=_("Recipient"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("Actor"), help_text=_("The user whose action caused the message (none for the system)."),
    )
    owner_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        verbose_name=_("Owner type"),
    )
    owner_id = models.PositiveBigIntegerField(_("Owner id"), null=True, blank=True)
    owner = GenericForeignKey("owner_type", "owner_id")
    reply_to_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        verbose_name=_("Reply-to type"),
    )
    reply_to_id = models.PositiveBigIntegerField(_("Reply-to id"), null=True, blank=True)
    reply_to = GenericForeignKey("reply_to_type", "reply_to_id")
    message_type = models.CharField(
        _("Message type"), max_length=20, choices=MessageTypes.field_choices, default="system"
    )
    mail_mode = models.CharField(
        _("Notification mode"), max_length=20, choices=MailModes.field_choices, default=default_mail_mode
    )
    created = models.DateTimeField(_("Created"), default=timezone.now)
    sent = models.DateTimeField(_("sent"), null=True, blank=True)
    seen = models.DateTimeField(_("seen"), null=True, blank=True)
    mail_claim = models.CharField(_("Mail claim"), max_length=32, blank=True, editable=False)
    pushed = models.DateTimeField(_("Pushed"), null=True, blank=True, editable=False)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("Notification message")
        verbose_name_plural = _("Notification messages")
        ordering = ["created", "id"]
        indexes = [
            models.Index(fields=["user", "seen"], name="notify_msg_user_seen"),
            models.Index(fields=["created"], name="notify_msg_created"),
            models.Index(fields=["owner_type", "owner_id", "user"], name="notify_msg_owner"),
            models.Index(
                fields=["mail_mode", "user"], condition=Q(sent__isnull=True), name="notify_msg_pending_mail"
            ),
            models.Index(fields=["created"], condition=Q(pushed__isnull=True), name="notify_msg_pending_push"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def summary(self) -> str:
        """Return what "My messages" shows: the body as one line of plain text, else the subject."""
        return plain_line(self.body) or self.subject

    @property
    def is_broadcast(self) -> bool:
        """Tell whether this message goes to every user."""
        return self.user_id is None

    @classmethod
    def emit_notification(
        cls,
        ar: Any,
        owner: models.Model | None,
        message_type: Any,
        msg_func: MsgFunc,
        recipients: Iterable[tuple[Any, Any]],
        **fields: Any,
    ) -> list[Message]:
        """Create one message per recipient, respecting their preferences."""
        return emit_notification(ar, owner, message_type, msg_func, recipients, **fields)

    @classmethod
    def create_message(cls, user: Any, owner: models.Model | None = None, **kwargs: Any) -> Message | None:
        """Create a message unless that user has an unseen one about that owner."""
        return create_message(user, owner, **kwargs)

    @classmethod
    def send_summary_emails(cls, mm: Any) -> int:
        """Send one e-mail per user with everything pending for mail mode ``mm``."""
        send: Callable[[Any], int] = import_string(SEND_SUMMARY_EMAILS)
        return send(mm)

    def send_browser_message(self, user: Any) -> bool:
        """Send this message to the open pages of ``user``; tell whether an event was published."""
        send: Callable[[Any, Message], bool] = import_string(SEND_BROWSER_MESSAGE)
        return send(user, self)

    def send_browser_message_for_all_users(self, user: Any = None) -> bool:
        """Send this message to the open pages of every signed-in user (``user`` sends it, as in Lino)."""
        send: Callable[[Message], bool] = import_string(SEND_TO_ALL_BROWSERS)
        return send(self)


class SeenBroadcast(models.Model):
    """Remember that one user has seen one broadcast message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="seen_by")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen = models.DateTimeField(_("seen"), default=timezone.now)

    class Meta:
        verbose_name = _("Seen broadcast")
        verbose_name_plural = _("Seen broadcasts")
        constraints = [models.UniqueConstraint(fields=["user", "message"], name="notify_seen_broadcast_once")]


class Subscription(models.Model):
    """Store a browser's permission to receive desktop notifications (a push subscription)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_subscriptions",
        verbose_name=_("User"),
    )
    lang = models.CharField(_("Language"), max_length=15, blank=True)
    user_agent = models.CharField(_("User agent"), max_length=300, blank=True)
    endpoint = models.URLField(_("Endpoint"), max_length=MAX_ENDPOINT, unique=True)
    p256dh = models.CharField(_("Public key"), max_length=200)
    auth = models.CharField(_("Auth secret"), max_length=100)
    created = models.DateTimeField(_("Created"), default=timezone.now)
    last_success = models.DateTimeField(_("Last success"), null=True, blank=True)
    failure_count = models.PositiveIntegerField(_("Failures"), default=0)

    class Meta:
        verbose_name = _("Push subscription")
        verbose_name_plural = _("Push subscriptions")

    def __str__(self) -> str:
        return f"{self.user} @ {self.endpoint[:40]}"


class ChangeWatcher(models.Model):
    """Link a user who wants to hear of changes to the object they watch."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_watching",
        verbose_name=_("User"),
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    watched = GenericForeignKey("content_type", "object_id")
    created = models.DateTimeField(_("Created"), default=timezone.now)

    class Meta:
        verbose_name = _("Change watcher")
        verbose_name_plural = _("Change watchers")
        constraints = [
            models.UniqueConstraint(fields=["content_type", "object_id", "user"], name="notify_watch_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} watches {self.content_type.model} #{self.object_id}"


class Lease(models.Model):
    """Record that one running job holds the rows it claimed, with the process that runs it.

    A run renews its ``heartbeat`` while it works and deletes its lease when it ends. A lease
    whose heartbeat is older than ``NOTIFY['claim_timeout']``, or whose process on this host is
    gone, is stale: the next run deletes it and takes over the rows it held.
    """

    token = models.CharField(_("Token"), max_length=32, unique=True)
    job = models.CharField(_("Job"), max_length=50)
    host = models.CharField(_("Host"), max_length=255)
    pid = models.PositiveIntegerField(_("Process id"))
    started = models.DateTimeField(_("Started"), default=timezone.now)
    heartbeat = models.DateTimeField(_("Heartbeat"), default=timezone.now)

    class Meta:
        verbose_name = _("Job lease")
        verbose_name_plural = _("Job leases")

    def __str__(self) -> str:
        return f"{self.job} on {self.host}:{self.pid}"


class JobState(models.Model):
    """Remember the last scheduled run of one periodic job, so that missed runs are caught up."""

    name = models.CharField(_("Job"), max_length=50, unique=True)
    slot = models.DateTimeField(_("Last slot"), null=True, blank=True)
    dispatched = models.DateTimeField(_("Dispatched"), null=True, blank=True)
    started = models.DateTimeField(_("Started"), null=True, blank=True)
    finished = models.DateTimeField(_("Finished"), null=True, blank=True)
    token = models.CharField(_("Lease token"), max_length=32, blank=True)
    error = models.TextField(_("Last error"), blank=True)

    class Meta:
        verbose_name = _("Job state")
        verbose_name_plural = _("Job states")

    def __str__(self) -> str:
        return self.name


class BroadcastMail(models.Model):
    """Record that one user got one broadcast message by e-mail (so that a resumed run skips them)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("Broadcast e-mail")
        verbose_name_plural = _("Broadcast e-mails")
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="notify_broadcast_mail_once")]


class PushDelivery(models.Model):
    """One push of one message to one subscription that is waiting for its (next) attempt."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    attempts = models.PositiveSmallIntegerField(_("Attempts"), default=0)
    due = models.DateTimeField(_("Due"), default=timezone.now)
    claim = models.CharField(_("Claim"), max_length=32, blank=True)
    error = models.CharField(_("Last error"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("Push delivery")
        verbose_name_plural = _("Push deliveries")
        indexes = [models.Index(fields=["attempts", "due"], name="notify_push_due")]
        constraints = [
            models.UniqueConstraint(fields=["message", "subscription"], name="notify_push_delivery_once")
        ]
