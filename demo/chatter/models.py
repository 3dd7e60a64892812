"""Groups, memberships and comments of the chatter demo."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notify.api import ChangeNotifier, ChangeSet, Message, MessageTypes, acting_name, display_name

COMMENT = MessageTypes.add_item("comment", gettext_lazy("Comment"))


class Group(ChangeNotifier):
    """A group of users who talk to each other; its members (and its watchers) hear of its changes."""

    name = models.CharField(max_length=100, unique=True)
    members: models.ManyToManyField[Any, Membership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="chatter_groups"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_change_observers(self, ar: Any = None) -> Any:
        """Yield the members and the watchers of this group, in one query."""
        watching = self.get_change_watchers().values("user_id")
        users = get_user_model()._default_manager.filter(
            models.Q(chatter_groups=self) | models.Q(pk__in=watching)
        ).distinct().select_related("notify_preferences").order_by("username")
        for user in users:
            yield user, None


class Membership(models.Model):
    """Say that a user belongs to a group."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="chatter_member_once")]


class Comment(ChangeNotifier):
    """A comment written in a group; its creation notifies the group's members, so does an edit."""

    change_watched_fields = ("body",)

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"Comment #{self.pk}"

    def get_change_owner(self) -> Group:
        """Tell the group's observers about changes of this comment."""
        return self.group

    def get_change_subject(self, ar: Any, cw: ChangeSet | None) -> str | None:
        """Say "{user} modified comment on {group}" (creating a comment notifies through notify_members)."""
        if cw is None:
            return None
        return _("{user} modified comment on {group}").format(user=acting_name(ar), group=self.group)

    def get_change_body(self, ar: Any, cw: ChangeSet | None) -> str:
        """Return the comment's new text."""
        return self.body

    def notify_members(self, ar: Any = None) -> list[Message]:
        """Notify every member of the group except the author (or ``ar``'s user) about this comment."""
        ar = ar or self.author
        members = self.group.members.select_related("notify_preferences").order_by("username")
        author = display_name(self.author)

        def msg_func(user: Any, mail_mode: Any) -> tuple[str, str]:
            return _("{author} commented on {group}").format(author=author, group=self.group), self.body

        return Message.emit_notification(
            ar, self.group, COMMENT, msg_func, [(user, None) for user in members],
            reply_to=self, created=self.created,
        )
