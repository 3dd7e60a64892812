"""The demo's notifying action: "Notify the members" on a group page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notify.api import NotifyingAction, NotifyingView, user_of

from .models import Group


class NotifyMembers(NotifyingAction):
    """Send a message of your own to the members of a group."""

    label = gettext_lazy("Notify the members")

    def get_notify_subject(self, ar: Any, obj: Group) -> str:
        """Propose "News from {group}"."""
        return _("News from {group}").format(group=obj)

    def get_notify_owner(self, ar: Any, obj: Group) -> Group:
        """Let the messages be about the group."""
        return obj

    def get_notify_recipients(self, ar: Any, obj: Group) -> Iterable[tuple[Any, Any]]:
        """Notify every member (the sender is left out unless they want to hear themselves)."""
        for user in obj.members.select_related("notify_preferences").order_by("username"):
            yield user, None

    def has_permission(self, ar: Any, obj: Group) -> bool:
        """Let members of the group and staff run it."""
        user = user_of(ar)
        if user is None:
            return False
        return user.is_staff or obj.memberships.filter(user=user).exists()


notify_members = NotifyMembers()



class NotifyMembersView(NotifyingView):
    """The page at ``groups/<pk>/notify/``: the dialog, then back to the group."""

    action = notify_members
    model = Group
    template_name = "chatter/group_notify.html"

    def get_success_url(self) -> str:
        """Go back to the group's page."""
        return reverse("group", args=[self.object.pk])


notify_members_view = NotifyMembersView.as_view()
