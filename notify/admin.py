"""Admin pages for messages, preferences, subscriptions and watchers."""

from django.contrib import admin

from .models import ChangeWatcher, Message, Preferences, Subscription


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """List and search notification messages."""

    list_display = ("created", "subject", "user", "message_type", "mail_mode", "seen", "sent")
    list_filter = ("message_type", "mail_mode")
    search_fields = ("subject", "body")
    date_hierarchy = "created"
    raw_id_fields = ("user",)
    list_select_related = ("user",)


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    """Edit users' notification preferences."""

    list_display = ("user", "nickname", "mail_mode", "notify_myself", "language", "time_zone")
    list_select_related = ("user",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """List push subscriptions."""

    list_display = ("user", "user_agent", "created", "last_success", "failure_count")
    list_select_related = ("user",)


@admin.register(ChangeWatcher)
class ChangeWatcherAdmin(admin.ModelAdmin):
    """List who watches what."""

    list_display = ("user", "content_type", "object_id", "created")
    list_select_related = ("user", "content_type")
