"""Real chromium: a member opens "Notify the members" on a group, sends, and the other member reads it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import screenshot

pytestmark = pytest.mark.browser


def _page_as(browser: Any, base: str, username: str) -> Any:
    from tests.test_live import session_cookie

    context = browser.new_context()
    context.set_default_timeout(5000)
    context.add_cookies([{"name": "sessionid", "value": session_cookie(username)["sessionid"], "url": base}])
    return context.new_page()


def _group_pk(name: str) -> int:
    from demo.chatter.models import Group

    return Group.objects.get(name=name).pk


def test_notify_the_members_of_a_group(asgi_server, browser):
    base = asgi_server.url
    pk = _group_pk("Harry Potter")
    andy = _page_as(browser, base, "andy")
    bert = _page_as(browser, base, "bert")
    try:
        andy.goto(f"{base}/groups/{pk}/", wait_until="domcontentloaded")
        andy.click("text=Notify the members")
        andy.wait_for_url(f"{base}/groups/{pk}/notify/")
        assert andy.input_value("input[name=notify_subject]") == "News from Harry Potter"
        assert andy.is_visible("text=Don't notify others")
        andy.fill("input[name=notify_subject]", "Reading night")
        andy.fill("textarea[name=notify_body]", "Friday at <8>.\n\nBring snacks.")
        screenshot(andy, "notifying-dialog")
        andy.click("button:has-text('Notify the members')")
        andy.wait_for_url(f"{base}/groups/{pk}/")
        assert andy.is_visible("text=1 notification sent.")
        screenshot(andy, "notifying-sent")

        bert.goto(f"{base}/notify/messages/", wait_until="domcontentloaded")
        assert bert.is_visible("text=Friday at <8>. Bring snacks.")  # the body, the subject is its title
        assert bert.get_attribute("a:has-text('Bring snacks')", "title") == "Reading night"

        andy.goto(f"{base}/groups/{pk}/notify/", wait_until="domcontentloaded")
        andy.fill("input[name=notify_subject]", "Only a note")
        andy.check("input[name=notify_silent]")
        andy.click("button:has-text('Notify the members')")
        andy.wait_for_url(f"{base}/groups/{pk}/")
        assert andy.is_visible("text=0 notifications sent.")

        andy.goto(f"{base}/groups/{pk}/notify/", wait_until="domcontentloaded")
        andy.fill("input[name=notify_subject]", "")
        andy.click("button:has-text('Notify the members')")
        assert andy.is_visible("[role=alert]")
    finally:
        andy.context.close()
        bert.context.close()

    from notify.models import Message

    sent = Message.objects.get(subject="Reading night")
    assert sent.user.username == "bert"
    assert sent.body == "<p>Friday at &lt;8&gt;.</p>\n\n<p>Bring snacks.</p>"
    assert not Message.objects.filter(subject="Only a note").exists()


def test_a_non_member_is_refused(asgi_server, browser):
    base = asgi_server.url
    chloe = _page_as(browser, base, "chloe")
    try:
        response = chloe.goto(f"{base}/groups/{_group_pk('Harry Potter')}/notify/", wait_until="domcontentloaded")
        assert response.status == 403
    finally:
        chloe.context.close()
