"""URLs of the chatter demo."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from . import views
from .notifying import notify_members_view

urlpatterns = [
    path("", views.index, name="index"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("groups/", views.groups, name="groups"),
    path("groups/<int:pk>/", views.group, name="group"),
    path("groups/<int:pk>/notify/", notify_members_view, name="group-notify"),
    path("notify/", include("notify.urls")),
    path("notify/push/", include("notify.push.urls")),
    path("admin/", admin.site.urls),
    # The demo serves its own static files, also under uvicorn and with DEBUG off (use a web server in production).
    re_path(r"^static/(?P<path>.*)$", views.static_file),
]
