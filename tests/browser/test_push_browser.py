"""Desktop notifications in Debian's chromium: the control, the service worker, a push and a click."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone

from notify.models import Message, Subscription
from notify.push.payload import build_payload
from notify.push.worker import worker
from notify.text import html_to_text
from tests.support.browser import screenshot
from tests.support.pushservice import PushService

pytestmark = pytest.mark.browser

# Chromium's own push service is Google's and unreachable here: the page gets a subscription of the
# local push service instead, with the same shape as a real PushSubscription.
FAKE_PUSH_MANAGER = """
(() => {
  const info = %s;
  let current = null;
  const make = (options) => ({
    endpoint: info.endpoint, expirationTime: null, options,
    toJSON: () => info,
    unsubscribe: async () => { current = null; return true; },
  });
  PushManager.prototype.getSubscription = async function () { return current; };
  PushManager.prototype.subscribe = async function (options) {
    window.notifyTestSubscribeOptions = options;
    current = make(options);
    return current;
  };
})();
"""


def session_cookie(username):
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=username))
    return client.cookies["sessionid"].value


def sign_in(context, asgi_server, username):
    context.add_cookies([{"name": "sessionid", "value": session_cookie(username), "url": asgi_server.url}])


def registration_id(page, cdp, scope, timeout=10):
    registrations = {}
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: registrations.update({r["scopeURL"]: r["registrationId"] for r in event["registrations"]}))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + timeout
    while scope not in registrations:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no service worker registration for {scope}: {registrations}")
        page.wait_for_timeout(50)  # lets Playwright deliver the protocol's events
    return registrations[scope]


def test_enable_control_subscribes_and_a_comment_is_pushed(asgi_server, browser):
    Message.objects.update(pushed=timezone.now())
    with PushService(settings.NOTIFY["vapid_public_key"]) as service:
        sub = service.subscriber()
        context = browser.new_context()
        context.grant_permissions(["notifications"], origin=asgi_server.url)
        sign_in(context, asgi_server, "bert")
        context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(sub.info()))
        page = context.new_page()
        try:
            page.goto(f"{asgi_server.url}/groups/")
            control = page.locator("[data-notify-push][data-ready=true]")
            control.wait_for(timeout=10_000)
            button = control.locator("button")
            assert button.inner_text() == "Enable desktop notifications"
            button.click()
            page.locator("[data-notify-push][data-state=on]").wait_for(timeout=10_000)
            assert button.inner_text() == "Disable desktop notifications"
            key = page.evaluate("Array.from(new Uint8Array(window.notifyTestSubscribeOptions.applicationServerKey))")
            assert bytes(key) == _b64(settings.NOTIFY["vapid_public_key"])
            row = Subscription.objects.get()
            assert (row.user.username, row.endpoint) == ("bert", sub.endpoint)
            screenshot(page, "push-control-on")

            from demo.chatter.models import Comment, Group

            pk = max(Comment.objects.values_list("pk", flat=True)) + 1
            comment = Comment.objects.create(pk=pk, group=Group.objects.get(name="Harry Potter"),
                                             author=get_user_model().objects.get(username="andy"),
                                             body="<p>Pushed <em>through</em> the browser's subscription</p>")
            with override_settings(NOTIFY={**settings.NOTIFY, "job_backend": "thread"}):  # the demo's pusher
                comment.notify_members()
                service.wait_for(1)
                assert worker.wait_idle(10)
            [payload] = service.payloads(sub)
            assert payload["subject"] == "Andy commented on Harry Potter"
            assert payload["body"] == "Pushed through the browser's subscription"

            button.click()
            page.locator("[data-notify-push][data-state=off]").wait_for(timeout=10_000)
            assert not Subscription.objects.exists()
        finally:
            context.close()


def _b64(text):
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_service_worker_shows_a_pushed_message_and_a_click_opens_its_page(asgi_server, browser):
    context = browser.new_context()
    context.grant_permissions(["notifications"], origin=asgi_server.url)
    sign_in(context, asgi_server, "bert")
    page = context.new_page()
    try:
        page.goto(f"{asgi_server.url}/groups/")
        page.locator("[data-notify-push][data-ready=true]").wait_for(timeout=10_000)
        cdp = context.new_cdp_session(page)
        reg = registration_id(page, cdp, f"{asgi_server.url}/")
        done = []
        cdp.on("BackgroundService.backgroundServiceEventReceived", lambda event: done.append(event))
        cdp.send("BackgroundService.startObserving", {"service": "pushMessaging"})
        cdp.send("BackgroundService.setRecording", {"shouldRecord": True, "service": "pushMessaging"})
        message = Message.objects.filter(reply_to_id=9, user__username="bert").get()
        data = build_payload(message).decode()
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": asgi_server.url, "registrationId": reg, "data": data})
        deadline = time.monotonic() + 10
        while not any(e["backgroundServiceEvent"]["eventName"] == "Push event completed" for e in done):
            assert time.monotonic() < deadline, done
            page.wait_for_timeout(50)
        shown = page.evaluate("""navigator.serviceWorker.ready.then(r => r.getNotifications())
            .then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))""")
        group_url = f"{asgi_server.url}/groups/{message.owner_id}/"
        assert shown == [{"title": "Chloe Cleoment commented on Harry Potter", "body": html_to_text(message.body),
                          "tag": f"notify-message-{message.pk}", "data": {"url": group_url, "id": message.pk}}]
        assert "\nMonday | Reading\n" in shown[0]["body"]  # the seeded table, as plain text
        screenshot(page, "push-notification-shown")

        # Headless chromium has no notification to click on: dispatch the click event in the worker.
        [sw] = context.service_workers
        sw.evaluate("""async () => {
            const [notification] = await self.registration.getNotifications();
            self.dispatchEvent(new NotificationEvent('notificationclick', {notification}));
        }""")
        page.wait_for_url(group_url, timeout=10_000)
        assert page.locator("h1").first.inner_text() == "Harry Potter"
        assert page.evaluate("navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.length)") == 0
    finally:
        context.close()
