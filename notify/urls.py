"""URLs of the notify pages, JSON endpoints and live stream; include them with ``namespace="notify"``."""

from django.urls import path, register_converter

from . import views
from .live.stream import stream

app_name = "notify"


class MessageId:
    """A message id in a URL: at most 18 digits, so it fits a 64-bit column (a longer one is a 404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        """Return the id as a number."""
        return int(value)

    def to_url(self, value: int) -> str:
        """Return the id as text."""
        return str(value)


register_converter(MessageId, "message_id")

urlpatterns = [
    path("messages/", views.my_messages, name="my-messages"),
    path("messages/all/", views.all_messages, name="all-messages"),
    path("messages/<message_id:pk>/", views.message_detail, name="message"),
    path("messages/<message_id:pk>/seen/", views.mark_seen, name="mark-seen"),
    path("messages/<message_id:pk>/unseen/", views.clear_seen, name="clear-seen"),
    path("messages/seen/", views.mark_all_seen, name="mark-all-seen"),
    path("api/messages/", views.messages_json, name="api-messages"),
    path("api/messages/<message_id:pk>/", views.message_json, name="api-message"),
    path("api/unread/", views.unread_json, name="api-unread"),
    path("live/", stream, name="stream"),
]
