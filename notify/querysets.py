"""The queries of messages that the app repeats, as methods of ``Message.objects``."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Exists, OuterRef, Q

if TYPE_CHECKING:
    from .models import Message  # noqa: F401  (named in the quoted base class of MessageQuerySet)


def mailable(prefix: str = "") -> Q:
    """Return a filter for users who can get e-mail: active, with an address (``prefix`` like ``user__``)."""
    model = get_user_model()
    q = Q(**{f"{prefix}{model.get_email_field_name()}__gt": ""})
    if any(f.name == "is_active" for f in model._meta.get_fields()):
        q &= Q(**{f"{prefix}is_active": True})
    return q


def visible_filter(user: Any) -> Q:
    """Return the filter of the messages ``user`` may see: their own and the broadcasts."""
    return Q(user=user) | Q(user__isnull=True)


def unseen_filter(user: Any) -> Q:
    """Return the filter, on :meth:`MessageQuerySet.visible_to` of ``user``, of the messages they have not seen."""
    return Q(user=user, seen__isnull=True) | Q(user__isnull=True, seen_by_me=False)


class MessageQuerySet(models.QuerySet["Message"]):
    """Messages, with the selections the app makes again and again."""

    def visible_to(self, user: Any) -> MessageQuerySet:
        """Return the messages ``user`` may see (their own and the broadcasts), annotated with ``seen_by_me``."""
        if user is None:
            return self.none()
        seen = apps.get_model("notify", "SeenBroadcast").objects.filter(message=OuterRef("pk"), user=user)
        return self.filter(visible_filter(user)).annotate(seen_by_me=Exists(seen))

    def unseen_by(self, user: Any) -> MessageQuerySet:
        """Return the messages that ``user`` may see and has not seen yet."""
        return self.visible_to(user).filter(unseen_filter(user))

    def pending_mail(self, mode: Any) -> MessageQuerySet:
        """Return the unsent messages of mail mode ``mode`` that can be e-mailed (claimed or not)."""
        return self.filter(mail_mode=mode, sent__isnull=True).filter(Q(user__isnull=True) | mailable("user__"))

    def for_display(self) -> MessageQuerySet:
        """Load what a list of messages shows (recipient, their nickname, what it replies to) in two queries."""
        return self.select_related("user__notify_preferences").prefetch_related("reply_to")

    def unpushed(self) -> MessageQuerySet:
        """Return the messages that the push outbox has not taken yet."""
        return self.filter(pushed__isnull=True)

    def removable(self, cutoff: datetime.datetime, keep_unseen: bool = True) -> MessageQuerySet:
        """Return the messages created before ``cutoff`` that may be removed.

        With ``keep_unseen``, a message to one user goes once its recipient has seen it, and a
        broadcast once every active user has seen it.
        """
        old = self.filter(created__lt=cutoff)
        if not keep_unseen:
            return old
        users = get_user_model()._default_manager.all()
        if any(f.name == "is_active" for f in get_user_model()._meta.concrete_fields):
            users = users.filter(is_active=True)
        seen = apps.get_model("notify", "SeenBroadcast").objects.filter(message=OuterRef(OuterRef("pk")),
                                                                        user=OuterRef("pk"))
        missed = users.exclude(Exists(seen))
        return old.filter(Q(user__isnull=False, seen__isnull=False) | Q(user__isnull=True) & ~Exists(missed))
