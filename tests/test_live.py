"""Live delivery: brokers, the per-user stream (server-sent events) and the Redis backend."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import queue
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from notify.live import LocalBroker, get_broker, message_event, reset_broker
from notify.live.events import encode, plain_text


def session_cookie(username: str) -> dict[str, str]:
    """Sign ``username`` in (a real session in the database) and return the cookie for a live server."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return {"sessionid": client.cookies["sessionid"].value}


class EventReader:
    """Read a server-sent-events stream in a thread and hand the parsed events over a queue."""

    def __init__(self, url: str, cookies: dict[str, str] | None = None, headers: dict[str, str] | None = None):
        parts = urlsplit(url)
        self.events: queue.Queue[tuple[float, str, Any]] = queue.Queue()
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = dict(headers or {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.thread = threading.Thread(target=self._read, daemon=True)
        if self.status == 200:
            self.thread.start()

    def _read(self) -> None:
        kind, data = "message", []
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\n")
                if line == "":
                    if data:
                        self.events.put((time.monotonic(), kind, json.loads("\n".join(data))))
                    kind, data = "message", []
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
        except (OSError, ValueError, AttributeError, http.client.HTTPException):  # the stream was closed
            return

    def next(self, kind: str | None = None, timeout: float = 2.0) -> tuple[float, str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            item = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if kind is None or item[1] == kind:
                return item

    def nothing(self, kind: str, within: float) -> bool:
        try:
            self.next(kind, within)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        if self.conn.sock is not None:
            with contextlib.suppress(OSError):
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()
        self.thread.join(timeout=2) if self.thread.is_alive() else None


def comment(username: str, group: str, body: str) -> list[Any]:
    from django.contrib.auth import get_user_model

    from demo.chatter.models import Comment, Group

    author = get_user_model().objects.get(username=username)
    obj = Comment.objects.create(group=Group.objects.get(name=group), author=author, body=body)
    return obj.notify_members()


def last_id() -> int:
    from notify.models import Message

    return Message.objects.order_by("-pk").values_list("pk", flat=True).first()


# -- units -------------------------------------------------------------------------------------------


def test_plain_text_drops_markup_and_script():
    assert plain_text("<p>Hi <b>there</b> &amp; <script>alert(1)</script>you</p>") == "Hi there & you"
    assert plain_text("x" * 400, 10) == "xxxxxxxxx…"


def test_encode_gives_message_events_an_id_for_reconnecting():
    frame = encode({"type": "message", "id": 7, "subject": "Hi"}).decode()
    assert frame.startswith("id: 7\nevent: message\ndata: {")
    assert frame.endswith("\n\n")
    assert not encode({"type": "count", "unread": 3}).decode().startswith("id:")


def test_message_event(db):
    from notify.models import Message

    msg = Message.objects.filter(user__username="bert", reply_to_id__isnull=False).first()
    event = message_event(msg)
    assert event["type"] == "message" and event["id"] == msg.pk
    assert event["subject"] == msg.subject
    assert event["url"] == f"/notify/messages/{msg.pk}/"
    assert event["broadcast"] is False and event["seen"] is False
    assert "<" not in event["body"]
    assert event["reply_to"] == str(msg.reply_to)
    assert event["reply_url"] == msg.reply_to.get_absolute_url()


def test_events_of_fresh_messages_need_no_query(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    [msg] = comment("andy", "Harry Potter", "<p>Quick</p>")
    with CaptureQueriesContext(connection) as ctx:
        event = message_event(msg)
    assert ctx.captured_queries == []
    assert event["reply_to"] == str(msg.reply_to) and event["reply_url"].startswith("/groups/")


def test_local_broker_delivers_to_the_users_pages_and_broadcasts_to_all():
    async def scenario() -> tuple[list, list, int]:
        broker = LocalBroker()
        assert not broker.wants(1) and not broker.wants(None)
        a = await broker.subscribe(1)
        b = await broker.subscribe(2)
        assert broker.wants(1) and broker.wants(None) and not broker.wants(3)
        broker.publish(1, {"type": "count", "unread": 1})
        # from another thread, as a synchronous view would
        threading.Thread(target=broker.publish, args=(None, {"type": "count", "unread": 2})).start()
        got_a = [await a.get(1), await a.get(1)]
        got_b = [await b.get(1), await b.get(0.05)]
        broker.unsubscribe(a)
        broker.unsubscribe(b)
        return got_a, got_b, broker.connection_count()

    got_a, got_b, count = asyncio.run(scenario())
    assert [e["unread"] for e in got_a] == [1, 2]
    assert got_b == [{"type": "count", "unread": 2}, None]
    assert count == 0


def test_a_slow_page_overflows_instead_of_growing_without_bound():
    async def scenario():
        broker = LocalBroker()
        sub = await broker.subscribe(1)
        for i in range(sub.queue.maxsize + 5):
            broker.publish(1, {"type": "count", "unread": i})
        return sub.queue.qsize(), sub.overflowed, sub.queue.maxsize

    size, overflowed, maxsize = asyncio.run(scenario())
    assert size == maxsize and overflowed


def test_send_browser_message_without_pages_publishes_nothing(db):
    from notify.live import send_browser_message, send_browser_message_for_all_users
    from notify.models import Message

    msg = Message.objects.filter(user__isnull=False).first()
    assert send_browser_message(msg.user, msg) is False
    assert send_browser_message_for_all_users(Message.objects.filter(user__isnull=True).first()) is False


def test_settings_choose_the_broker():
    from django.test import override_settings

    from notify.live.redis import RedisBroker

    try:
        with override_settings(NOTIFY={"live_redis_url": "redis://127.0.0.1:6379/0", "live_redis_channel": "x"}):
            broker = get_broker()
            assert isinstance(broker, RedisBroker) and broker.channel == "x"
        with override_settings(NOTIFY={"live_broker": "notify.live.LocalBroker"}):
            assert type(get_broker()) is LocalBroker
        with override_settings(NOTIFY={"live_broker": "notify.live.Nothing"}):
            from notify.exceptions import ImproperlyConfigured

            with pytest.raises(ImproperlyConfigured, match="cannot be imported"):
                get_broker()
    finally:
        reset_broker()
    assert type(get_broker()) is LocalBroker


# -- the stream, served by uvicorn -------------------------------------------------------------------


def test_the_stream_needs_a_session(asgi_server):
    response = requests.get(asgi_server.url + "/notify/live/", timeout=3)
    assert response.status_code == 403
    assert "Sign in" in response.json()["error"]
    stranger = requests.get(asgi_server.url + "/notify/live/", cookies={"sessionid": "forged"}, timeout=3)
    assert stranger.status_code == 403
    bad = requests.get(asgi_server.url + "/notify/live/?after=x", cookies=session_cookie("bert"), timeout=3)
    assert bad.status_code == 400


def test_a_comment_reaches_the_members_stream_within_a_second(asgi_server):
    bert = EventReader(asgi_server.url + f"/notify/live/?after={last_id()}", session_cookie("bert"))
    chloe = EventReader(asgi_server.url + f"/notify/live/?after={last_id()}", session_cookie("chloe"))
    try:
        assert bert.response.getheader("Content-Type") == "text/event-stream"
        assert bert.next("count")[2]["unread"] == 28
        chloe.next("count")
        start = time.monotonic()
        comment("andy", "Harry Potter", "<p>Live!</p>")
        when, _kind, event = bert.next("message", 2)
        assert when - start < 1.0
        assert event["subject"] == "Andy commented on Harry Potter"
        assert event["body"] == "Live!"
        assert chloe.nothing("message", 0.3)
    finally:
        bert.close()
        chloe.close()


def test_a_reconnecting_page_gets_what_it_missed(asgi_server):
    after = last_id()
    comment("andy", "Harry Potter", "<p>while you were away</p>")
    for headers, query in (({"Last-Event-ID": str(after)}, ""), ({}, f"?after={after}")):
        reader = EventReader(asgi_server.url + "/notify/live/" + query, session_cookie("bert"), headers)
        try:
            _when, _kind, event = reader.next("message")
            assert event["id"] > after and event["body"] == "while you were away"
            assert reader.next("count")[2]["unread"] == 29
        finally:
            reader.close()


def test_broadcasts_reach_every_signed_in_page(asgi_server):
    from notify.models import Message

    readers = [EventReader(asgi_server.url + "/notify/live/", session_cookie(u)) for u in ("bert", "chloe")]
    try:
        for reader in readers:
            reader.next("count")
        Message.create_message(None, subject="Maintenance at noon", body="Back soon.")
        for reader in readers:
            event = reader.next("message")[2]
            assert event["subject"] == "Maintenance at noon" and event["broadcast"] is True
    finally:
        for reader in readers:
            reader.close()


def test_marking_seen_updates_the_count_on_the_users_other_pages(asgi_server):
    cookies = session_cookie("bert")
    reader = EventReader(asgi_server.url + "/notify/live/", cookies)
    try:
        assert reader.next("count")[2]["unread"] == 28
        with requests.Session() as http:
            http.cookies.update(cookies)
            page = http.get(asgi_server.url + "/notify/messages/", timeout=3)
            token = http.cookies["csrftoken"]
            answer = http.post(asgi_server.url + "/notify/messages/seen/", data={"csrfmiddlewaretoken": token},
                               headers={"Accept": "application/json", "Referer": page.url}, timeout=3)
        assert answer.json() == {"changed": 28, "unread": 0}
        assert reader.next("count")[2]["unread"] == 0
    finally:
        reader.close()


# -- several processes, through Redis ----------------------------------------------------------------


def post_comment(base: str, cookies: dict[str, str], group_pk: int, body: str) -> requests.Response:
    """Write a comment through the group page's form (with its CSRF token), as a browser would."""
    with requests.Session() as http:
        http.cookies.update(cookies)
        page = http.get(f"{base}/groups/{group_pk}/", timeout=5)
        token = http.cookies["csrftoken"]
        return http.post(page.url, data={"csrfmiddlewaretoken": token, "body": body},
                         headers={"Referer": page.url}, timeout=5, allow_redirects=False)


@pytest.mark.slow
def test_two_processes_deliver_through_redis(transactional_db):
    from demo.chatter.models import Group
    from tests.browser.servers import RedisCluster, redis_skip_reason

    reason = redis_skip_reason()
    if reason:
        pytest.skip(reason)
    harry = Group.objects.get(name="Harry Potter").pk
    with RedisCluster(2) as (one, two):
        bert = EventReader(two.url + f"/notify/live/?after={last_id()}", session_cookie("bert"))
        chloe = EventReader(one.url + f"/notify/live/?after={last_id()}", session_cookie("chloe"))
        try:
            bert.next("count", 5)
            chloe.next("count", 5)
            start = time.monotonic()
            answer = post_comment(one.url, session_cookie("andy"), harry, "Across processes")
            assert answer.status_code == 302
            when, _kind, event = bert.next("message", 2)
            assert when - start < 1.0
            assert event["subject"] == "Andy commented on Harry Potter" and event["body"] == "Across processes"
            assert chloe.nothing("message", 0.3)
        finally:
            bert.close()
            chloe.close()


def test_the_redis_broker_delivers_in_process_and_survives_garbage():
    from tests.browser.servers import redis_skip_reason

    reason = redis_skip_reason()
    if reason:
        pytest.skip(reason)
    from notify.live.redis import RedisBroker

    async def scenario():
        broker = RedisBroker("redis://127.0.0.1:6379/0", f"notify-unit-{time.monotonic_ns()}")
        sub = await broker.subscribe(5)
        await asyncio.to_thread(broker._sync_client().publish, broker.channel, b"not json")
        await asyncio.to_thread(broker.publish_many, [(5, {"type": "count", "unread": 1}),
                                                      (6, {"type": "count", "unread": 2}),
                                                      (None, {"type": "count", "unread": 3})])
        got = [await sub.get(2), await sub.get(2), await sub.get(0.1)]
        broker.unsubscribe(sub)
        await asyncio.sleep(0)
        broker.close()
        return got

    got = asyncio.run(scenario())
    assert [e and e["unread"] for e in got] == [1, 3, None]
