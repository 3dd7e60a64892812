"""URLs of the notify pages, JSON endpoints and live stream; include them with ``namespace="notify"``."""

from django.urls import path

from . import views
from .live.stream import stream

app_name = "notify"

urlpatterns = [
    path("messages/", views.my_messages, name="my-messages"),
    path("messages/all/", views.all_messages, name="all-messages"),
    path("messages/<int:pk>/", views.message_detail, name="message"),
    path("messages/<int:pk>/seen/", views.mark_seen, name="mark-seen"),
    path("messages/<int:pk>/unseen/", views.clear_seen, name="clear-seen"),
    path("messages/seen/", views.mark_all_seen, name="mark-all-seen"),
    path("api/messages/", views.messages_json, name="api-messages"),
    path("api/messages/<int:pk>/", views.message_json, name="api-message"),
    path("api/unread/", views.unread_json, name="api-unread"),
    path("live/", stream, name="stream"),
]
