"""Pages and JSON endpoints of a user's notification messages, and the seen-state actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from .actions import ClearSeen, MarkAllSeen, MarkSeen, SeenAction, is_seen, unseen_for, visible_to
from .actors import Acting
from .conf import notify_settings
from .live.events import message_event
from .live.send import send_unread_count
from .models import Message
from .text import safe_html
from .users import display_name

#: Messages per page on the HTML lists.
PAGE_SIZE = 50


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let only signed-in users in: JSON callers get 403, browsers go to the sign-in page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if _wants_json(request) or request.method != "GET":
                return JsonResponse({"error": "Sign in first."}, status=403)
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def _visible(request: HttpRequest, pk: int) -> Message:
    try:
        return visible_to(request.user).get(pk=pk)
    except Message.DoesNotExist:
        raise Http404("No such message.") from None


def _row(message: Message) -> dict[str, Any]:
    reply_to = message.reply_to if message.reply_to_id is not None else None
    return {
        "message": message,
        "seen": is_seen(message),
        "body": safe_html(message.body),
        "reply_to": reply_to,
        "recipient": display_name(message.user) if message.user_id is not None else "",
        "reply_url": getattr(reply_to, "get_absolute_url", lambda: None)(),
    }


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
@signed_in
def my_messages(request: HttpRequest) -> HttpResponse:
    """Show the signed-in user's messages (MyMessages), newest first, with the seen actions."""
    queryset = Message.objects.visible_to(request.user).for_display().order_by("-created", "-id")
    page = _page(request, queryset)
    return render(request, "notify/my_messages.html", {
        "base_template": notify_settings.base_template, "page": page,
        "rows": [_row(m) for m in page], "title": _("My messages"),
    })


@require_GET
@signed_in
def all_messages(request: HttpRequest) -> HttpResponse:
    """Show every message of the site (AllMessages), newest first; for administrators only."""
    if not request.user.is_staff:
        raise PermissionDenied("Only administrators see all messages.")
    page = _page(request, Message.objects.for_display().order_by("-created", "-id"))
    return render(request, "notify/all_messages.html", {
        "base_template": notify_settings.base_template, "page": page,
        "rows": [_row(m) for m in page], "title": _("All messages"),
    })


@require_GET
@signed_in
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one of the user's messages."""
    message = _visible(request, pk)
    return render(request, "notify/message.html", {
        "base_template": notify_settings.base_template, "row": _row(message), "title": message.subject,
    })


@require_GET
@signed_in
def message_json(request: HttpRequest, pk: int) -> JsonResponse:
    """Return one of the user's messages as JSON (body as plain text and as sanitized HTML)."""
    message = _visible(request, pk)
    data = message_event(message, seen=is_seen(message))
    data["html"] = str(safe_html(message.body))
    return JsonResponse(data)


@require_GET
@signed_in
def messages_json(request: HttpRequest) -> JsonResponse:
    """Return the user's messages with an id above ``?after=`` (oldest first, at most 100)."""
    try:
        after = int(request.GET.get("after") or 0)
    except ValueError:
        return JsonResponse({"error": "'after' must be a message id (a whole number)."}, status=400)
    rows = visible_to(request.user).filter(pk__gt=after).prefetch_related("reply_to").order_by("pk")[:100]
    return JsonResponse({"messages": [message_event(m, seen=is_seen(m)) for m in rows],
                         "unread": unseen_for(request.user).count()})


@require_GET
@signed_in
def unread_json(request: HttpRequest) -> JsonResponse:
    """Return how many messages the user has not seen yet."""
    return JsonResponse({"unread": unseen_for(request.user).count()})


def _after_action(request: HttpRequest, changed: int) -> HttpResponse:
    unread = unseen_for(request.user).count()
    send_unread_count(request.user, unread)
    if _wants_json(request):
        return JsonResponse({"changed": changed, "unread": unread})
    target = request.POST.get("next") or request.headers.get("Referer") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()) and \
            (target.startswith("/") or "//" in target):
        return HttpResponseRedirect(target)
    return redirect("notify:my-messages")


def _run(action: type[SeenAction], request: HttpRequest, pk: int | None = None) -> HttpResponse:
    try:
        changed = action.run(Acting(request.user, request), pk)
    except Message.DoesNotExist:
        raise Http404("No such message.") from None
    return _after_action(request, changed)


@require_POST
@signed_in
def mark_seen(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's messages as seen."""
    return _run(MarkSeen, request, pk)


@require_POST
@signed_in
def clear_seen(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's messages as not seen."""
    return _run(ClearSeen, request, pk)


@require_POST
@signed_in
def mark_all_seen(request: HttpRequest) -> HttpResponse:
    """Mark all of the user's messages as seen."""
    return _run(MarkAllSeen, request)
