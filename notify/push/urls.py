"""URLs of desktop notifications; include them with ``path("notify/push/", include("notify.push.urls"))``."""

from django.urls import path

from . import views

app_name = "notify_push"

urlpatterns = [
    path("config/", views.config, name="config"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("unsubscribe/", views.unsubscribe, name="unsubscribe"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("push.js", views.page_script, name="page_script"),
]
