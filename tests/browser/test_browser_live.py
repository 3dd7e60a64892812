"""Real chromium: sign in as andy, bert and chloe, comment, and watch notifications arrive live."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.browser import screenshot

pytestmark = pytest.mark.browser

#: Replaces the Notification API with a recorder that says permission was granted.
NOTIFICATION_STUB = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({title: title, body: options && options.body,
                                                              tag: options && options.tag}); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


def sign_in(browser: Any, base: str, username: str) -> Any:
    """Open a fresh context (like a private window) with a session of ``username`` and return its page.

    The session is created directly (hashing the demo password costs a second); one test signs in
    through the sign-in page instead.
    """
    from tests.test_live import session_cookie

    context = browser.new_context()
    context.set_default_timeout(5000)
    context.add_init_script(NOTIFICATION_STUB)
    context.add_cookies([{"name": "sessionid", "value": session_cookie(username)["sessionid"], "url": base}])
    page = context.new_page()
    page.goto(base + "/groups/", wait_until="domcontentloaded")
    return page


def wait_live(page: Any) -> None:
    """Wait until the page's live stream is open."""
    page.wait_for_selector('html[data-notify-live="open"]', state="attached")


def unread(page: Any) -> int:
    return int(page.text_content("header [data-notify-unread]"))


def open_group(page: Any, base: str, group: str) -> None:
    page.goto(base + "/groups/", wait_until="domcontentloaded")
    page.click(f"text={group}", no_wait_after=True)
    page.wait_for_selector("textarea[name=body]")


def post_comment(page: Any, body: str) -> float:
    """Post a comment on the open group page; return when the button was pressed."""
    page.fill("textarea[name=body]", body)
    start = time.monotonic()
    page.click("button:has-text('Post comment')")
    return start


def write_comment(page: Any, base: str, group: str, body: str) -> None:
    open_group(page, base, group)
    post_comment(page, body)
    page.wait_for_selector(".flash")


def scenario(browser: Any, andy_base: str, bert_base: str, chloe_base: str, tag: str) -> None:
    """Andy comments in Harry Potter; bert sees it live and marks it seen; chloe hears nothing."""
    andy = sign_in(browser, andy_base, "andy")
    bert = sign_in(browser, bert_base, "bert")
    chloe = sign_in(browser, chloe_base, "chloe")
    try:
        bert.goto(bert_base + "/notify/messages/", wait_until="domcontentloaded")
        wait_live(bert)
        wait_live(chloe)
        before, chloe_before = unread(bert), unread(chloe)

        open_group(andy, andy_base, "Harry Potter")
        start = post_comment(andy, "Has anybody seen my <b>wand</b>?")
        toast = bert.wait_for_selector(".notify-toast:has-text('Andy commented on Harry Potter')", timeout=2000)
        elapsed = time.monotonic() - start
        assert elapsed < 2.0, f"bert saw andy's comment {elapsed:.2f} s after andy pressed the button"
        andy.wait_for_selector(".flash")
        screenshot(andy, f"{tag}-1-andy-commented")
        assert "Has anybody seen my wand?" in toast.text_content()
        bert.wait_for_function(f"Number(document.querySelector('[data-notify-unread]').textContent) === {before + 1}",
                               timeout=2000)
        row = bert.locator("[data-notify-list] tr").first
        assert "Has anybody seen my wand?" in row.text_content()  # the body, not the subject
        assert row.locator("a:has-text('Comment #')").get_attribute("href").startswith("/groups/")
        notes = bert.evaluate("window.__notifications")
        assert [n["title"] for n in notes] == ["Andy commented on Harry Potter"]
        assert notes[0]["tag"].startswith("notify-message-")
        screenshot(bert, f"{tag}-2-bert-received")

        row.locator("button:has-text('Mark seen')").click()
        bert.wait_for_function(f"Number(document.querySelector('[data-notify-unread]').textContent) === {before}",
                               timeout=2000)
        row.locator("button:has-text('Mark unseen')").wait_for()
        screenshot(bert, f"{tag}-3-bert-marked-seen")

        chloe.wait_for_timeout(300)
        assert chloe.locator(".notify-toast").count() == 0
        assert unread(chloe) == chloe_before
        assert chloe.evaluate("window.__notifications") == []
        screenshot(chloe, f"{tag}-4-chloe-nothing")
        if tag == "live":
            hostile_comment_is_inert(andy, bert, bert_base)
    finally:
        for page in (andy, bert, chloe):
            page.context.close()


def test_a_comment_arrives_live_in_another_browser_and_hostile_markup_stays_inert(asgi_server, browser):
    scenario(browser, asgi_server.url, asgi_server.url, asgi_server.url, "live")


@pytest.mark.slow
def test_a_comment_arrives_live_across_two_processes_through_redis(transactional_db, browser):
    from tests.browser.servers import RedisCluster, redis_skip_reason

    reason = redis_skip_reason()
    if reason:
        pytest.skip(reason)
    with RedisCluster(2) as (one, two):
        scenario(browser, one.url, two.url, two.url, "redis")


def hostile_comment_is_inert(andy: Any, bert: Any, base: str) -> None:
    """Andy's comment with a script, an onerror handler and a javascript: link runs nothing at bert's."""
    dialogs: list[str] = []
    bert.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = ('<p>Look <script>window.__xss = "script"</script>'
               '<img src="/nothing.png" onerror="window.__xss = \'onerror\'"> '
               '<a id="evil" href="javascript:window.__xss=\'link\'">here</a></p>')
    write_comment(andy, base, "Harry Potter", hostile)
    toast = bert.wait_for_selector(".notify-toast:has-text('Look here')", timeout=2000)
    assert "<script" not in toast.inner_html() and "<img" not in toast.inner_html()
    toast.query_selector("a").click()
    bert.wait_for_url("**/notify/messages/*/")
    body = bert.inner_html("article .body")
    assert "script" not in body and "onerror" not in body and "javascript:" not in body
    bert.click("text=Comment #")
    comment = bert.wait_for_selector(".comment:target")
    assert "onerror" not in comment.inner_html() and "<script" not in comment.inner_html()
    bert.locator(".comment:target a", has_text="here").click()
    bert.wait_for_timeout(100)
    assert bert.evaluate("window.__xss") is None
    assert dialogs == []
    screenshot(bert, "live-5-hostile-comment-inert")


def test_the_page_reconnects_after_a_server_restart_without_losing_messages(transactional_db, browser):
    from django.core.asgi import get_asgi_application

    from tests.support.server import ThreadedServer
    from tests.test_live import comment

    server = ThreadedServer(get_asgi_application()).start()
    bert = sign_in(browser, server.url, "bert")
    try:
        bert.goto(server.url + "/notify/messages/")
        wait_live(bert)
        before = unread(bert)
        server.stop()
        bert.wait_for_selector('html:not([data-notify-live="open"])', state="attached", timeout=5000)
        comment("andy", "Harry Potter", "<p>Written while the server was down</p>")
        server = ThreadedServer(get_asgi_application(), port=server.port).start()
        bert.wait_for_selector(".notify-toast:has-text('Andy commented on Harry Potter')", timeout=8000)
        bert.wait_for_function(f"Number(document.querySelector('[data-notify-unread]').textContent) === {before + 1}")
        screenshot(bert, "reconnect-after-restart")
    finally:
        bert.context.close()
        server.stop()


def test_pages_are_usable_on_a_phone_and_with_the_keyboard(asgi_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(asgi_server.url + "/")
        page.keyboard.press("Tab")  # skip link
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.type("bert")
        page.keyboard.press("Tab")
        page.keyboard.type("1234")
        page.keyboard.press("Enter")
        page.wait_for_url("**/groups/")
        page.goto(asgi_server.url + "/notify/messages/")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways ({width}px)"
        screenshot(page, "phone-my-messages")
    finally:
        context.close()
