"""The browser's side: the key, subscribe and unsubscribe (JSON, session and CSRF), the service worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from ..conf import notify_settings
from ..exceptions import InvalidSubscription
from .subscriptions import subscribe as store_subscription
from .subscriptions import unsubscribe as delete_subscription

STATIC = Path(__file__).resolve().parent.parent / "static" / "notify"
MAX_BODY = 8192


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _json_api(view: Callable[[HttpRequest, dict[str, Any]], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Require push on, a signed-in user and a JSON object body of reasonable size."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        if not notify_settings.use_push_api:
            return _error(404, "Desktop notifications are turned off on this site.")
        if not request.user.is_authenticated:
            return _error(401, "Sign in to manage desktop notifications.")
        if len(request.body) > MAX_BODY:
            return _error(413, "The request body is too large.")
        try:
            data = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _error(400, "The request body must be JSON, nested at most a few levels.")
        if not isinstance(data, dict):
            return _error(400, "The request body must be a JSON object.")
        return view(request, data)

    return csrf_protect(require_POST(never_cache(wrapper)))


@require_GET
@never_cache
@ensure_csrf_cookie
def config(request: HttpRequest) -> JsonResponse:
    """Tell the page script and the service worker the key, the URLs and a CSRF token."""
    enabled = bool(notify_settings.use_push_api and notify_settings.vapid_public_key)
    return JsonResponse({
        "enabled": enabled,
        "publicKey": notify_settings.vapid_public_key if enabled else None,
        "signedIn": request.user.is_authenticated,
        "subscribeUrl": reverse("notify_push:subscribe"),
        "unsubscribeUrl": reverse("notify_push:unsubscribe"),
        "csrfToken": get_token(request),
    })


@_json_api
def subscribe(request: HttpRequest, data: dict[str, Any]) -> JsonResponse:
    """Store the POSTed ``PushSubscription`` JSON for the signed-in user (again: update and move it)."""
    old = data.pop("oldEndpoint", None)
    try:
        with transaction.atomic():
            # The renewed subscription replaces the old one first, so it never counts against the cap.
            if old is not None and old != data.get("endpoint"):
                delete_subscription(request.user, old)
            sub = store_subscription(request.user, data, user_agent=request.headers.get("User-Agent", ""),
                                     lang=getattr(request, "LANGUAGE_CODE", ""))
    except InvalidSubscription as exc:
        return _error(400, str(exc))
    return JsonResponse({"id": sub.pk, "endpoint": sub.endpoint}, status=201)


@_json_api
def unsubscribe(request: HttpRequest, data: dict[str, Any]) -> JsonResponse:
    """Delete the signed-in user's subscription with the POSTed ``endpoint``."""
    try:
        deleted = delete_subscription(request.user, data.get("endpoint"))
    except InvalidSubscription as exc:
        return _error(400, str(exc))
    if not deleted:
        return _error(404, "You have no subscription with this endpoint.")
    return JsonResponse({"deleted": True})


@lru_cache(maxsize=2)
def _script(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _javascript(name: str) -> HttpResponse:
    response = HttpResponse(_script(name), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Serve the service worker, allowed to control the whole site (scope ``/``)."""
    response = _javascript("sw.js")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def page_script(request: HttpRequest) -> HttpResponse:
    """Serve the page script of the control (also without a static files server)."""
    return _javascript("push.js")
