"""The chatter pages and the notify endpoints: access, CSRF, sanitizing and query counts."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from demo.chatter.forms import sanitize
from notify.models import Message
from notify.testing import assert_not_notified, assert_notified, captured_messages


def client_for(username: str | None, csrf: bool = False) -> Client:
    """Return a test client (signed in as ``username``) that talks to the demo's allowed host."""
    from django.contrib.auth import get_user_model

    client = Client(enforce_csrf_checks=csrf, SERVER_NAME="127.0.0.1")
    if username:
        client.force_login(get_user_model().objects.get(username=username))
    return client


def message_of(username: str) -> Message:
    return Message.objects.filter(user__username=username).order_by("pk").last()


def group_pk(name: str) -> int:
    from demo.chatter.models import Group

    return Group.objects.get(name=name).pk


# -- pages --------------------------------------------------------------------------------------------


def test_the_sign_in_page_shows_the_demo_users_and_password(db):
    page = client_for(None).get("/").content.decode()
    for username in ("andy", "bert", "chloe", "robin"):
        assert f'data-demo-user="{username}"' in page
    assert '<code class="password">1234</code>' in page


def test_signing_in_with_the_demo_password_leads_to_the_groups(db):
    client = client_for(None)
    answer = client.post("/login/", {"username": "bert", "password": "1234"})
    assert answer.status_code == 302 and answer.url == "/groups/"
    page = client.get("/groups/").content.decode()
    assert "Harry Potter" in page and "you are a member" in page
    assert client.get("/").url == "/groups/"
    assert client_for(None).post("/login/", {"username": "bert", "password": "x"}).status_code == 200


@pytest.mark.parametrize("url", ["/groups/", "/groups/1/", "/notify/messages/", "/notify/messages/all/",
                                 "/notify/messages/8/"])
def test_pages_need_a_signed_in_user(db, url):
    answer = client_for(None).get(url)
    assert answer.status_code == 302 and answer.url.startswith("/login/?next=")


@pytest.mark.parametrize("url", ["/notify/api/unread/", "/notify/api/messages/", "/notify/api/messages/8/"])
def test_json_endpoints_need_a_signed_in_user(db, url):
    answer = client_for(None).get(url, HTTP_ACCEPT="application/json")
    assert answer.status_code == 403


def test_my_messages_shows_the_count_and_the_users_rows_only(db):
    from django.contrib.contenttypes.models import ContentType

    client = client_for("bert")
    ContentType.objects.clear_cache()  # the content type of reply_to is looked up once per process
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/notify/messages/").content.decode()
    assert 'data-notify-unread' in page and ">28</span>" in page
    assert "Welcome on board, Albert." in page and "Welcome on board, Andreas." not in page
    assert "Broadcast message" in page
    # session, user, page count, rows, reply_to content type + comments, unread count and last id of the header
    assert len(queries) == 7, [q["sql"] for q in queries.captured_queries]


def test_all_messages_is_for_the_administrator(db):
    assert client_for("andy").get("/notify/messages/all/").status_code == 403
    page = client_for("robin").get("/notify/messages/all/?page=2").content.decode()
    assert "Welcome on board, Andreas." in page and "Welcome on board, Albert." in page
    assert 'href="/notify/messages/all/"' in page
    assert 'href="/notify/messages/all/"' not in client_for("andy").get("/groups/").content.decode()


def test_a_group_page_lists_comments_and_posting_notifies_the_members(db, on_commit):
    client = client_for("andy")
    pk = group_pk("Harry Potter")
    page = client.get(f"/groups/{pk}/").content.decode()
    assert 'id="comment-54"' in page and "Members: Andy, Bert." in page
    with on_commit(), captured_messages() as new:
        answer = client.post(f"/groups/{pk}/", {"body": "Who read the new one?"})
    assert answer.status_code == 302 and "#comment-" in answer.url
    bert, andy = (get_user_model().objects.get(username=name) for name in ("bert", "andy"))
    assert_notified(bert, count=1, messages=new, subject="Andy commented on Harry Potter",
                    body="<p>Who read the new one?</p>", actor=andy)
    assert_not_notified(andy, messages=new)
    assert len(new) == 1
    assert client.post(f"/groups/{pk}/", {"body": "   "}).status_code == 400
    assert client.get("/groups/999/").status_code == 404


# -- another user's messages: 404 everywhere ----------------------------------------------------------


@pytest.mark.parametrize(("method", "pattern"), [
    ("get", "/notify/messages/{}/"),
    ("get", "/notify/api/messages/{}/"),
    ("post", "/notify/messages/{}/seen/"),
    ("post", "/notify/messages/{}/unseen/"),
])
def test_another_users_message_is_not_found(db, method, pattern):
    andys = message_of("andy")
    url = pattern.format(andys.pk)
    answer = getattr(client_for("bert"), method)(url, HTTP_ACCEPT="application/json")
    assert answer.status_code == 404
    assert getattr(client_for("bert"), method)(pattern.format(10**9)).status_code == 404
    assert getattr(client_for("andy"), method)(url, HTTP_ACCEPT="application/json").status_code == 200
    andys.refresh_from_db()
    if method == "post" and pattern.endswith("/seen/"):
        assert andys.seen is not None


def test_the_messages_list_never_contains_others_messages(db):
    data = client_for("bert").get("/notify/api/messages/?after=0").json()
    users = set(Message.objects.filter(pk__in=[m["id"] for m in data["messages"]]).values_list("user__username",
                                                                                               flat=True))
    assert users == {"bert", None}
    assert data["unread"] == 28
    assert client_for("bert").get("/notify/api/messages/?after=x").status_code == 400


# -- the seen actions ---------------------------------------------------------------------------------


def test_mark_seen_clear_seen_and_mark_all_seen(db):
    client = client_for("bert")
    msg = message_of("bert")
    answer = client.post(f"/notify/messages/{msg.pk}/seen/", HTTP_ACCEPT="application/json")
    assert answer.json() == {"changed": 1, "unread": 27}
    assert client.post(f"/notify/messages/{msg.pk}/unseen/", HTTP_ACCEPT="application/json").json() == {
        "changed": 1, "unread": 28}
    broadcast = Message.objects.get(user__isnull=True)
    assert client.post(f"/notify/messages/{broadcast.pk}/seen/", HTTP_ACCEPT="application/json").json() == {
        "changed": 1, "unread": 27}
    assert client.get("/notify/api/unread/").json() == {"unread": 27}
    assert client.post("/notify/messages/seen/", HTTP_ACCEPT="application/json").json() == {
        "changed": 27, "unread": 0}
    assert client_for("andy").get("/notify/api/unread/").json()["unread"] > 0


def test_without_javascript_the_actions_redirect_back(db):
    client = client_for("bert")
    msg = message_of("bert")
    answer = client.post(f"/notify/messages/{msg.pk}/seen/", {"next": "/notify/messages/?page=2"})
    assert answer.status_code == 302 and answer.url == "/notify/messages/?page=2"
    answer = client.post("/notify/messages/seen/", {"next": "https://evil.example/"})
    assert answer.url == "/notify/messages/"


def test_the_actions_only_accept_post(db):
    client = client_for("bert")
    msg = message_of("bert")
    assert client.get(f"/notify/messages/{msg.pk}/seen/").status_code == 405
    assert client.get("/notify/messages/seen/").status_code == 405


@pytest.mark.parametrize("url", ["/notify/messages/{pk}/seen/", "/notify/messages/{pk}/unseen/",
                                 "/notify/messages/seen/", "/groups/{group}/", "/logout/"])
def test_every_post_needs_the_csrf_token(db, url):
    client = client_for("bert", csrf=True)
    url = url.format(pk=message_of("bert").pk, group=group_pk("Harry Potter"))
    assert client.post(url, {"body": "hi"}, HTTP_ACCEPT="application/json").status_code == 403
    client.get("/notify/messages/")
    token = client.cookies["csrftoken"].value
    answer = client.post(url, {"body": "hi", "csrfmiddlewaretoken": token}, HTTP_ACCEPT="application/json")
    assert answer.status_code in (200, 302)


# -- sanitizing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "expected"), [
    ("Hello\n\nWorld & you\nand me", "<p>Hello</p><p>World &amp; you<br>and me</p>"),
    ("3 < 4 is <b>true</b>", "3 &lt; 4 is <b>true</b>"),
    ("<p>x<script>alert(1)</script></p>", "<p>x</p>"),
    ('<img src="x" onerror="alert(1)"><b onclick="alert(1)">b</b>', "<b>b</b>"),
    ('<a href="javascript:alert(1)">link</a>', '<a rel="noopener noreferrer">link</a>'),
    ('<a href="https://example.org/">ok</a>', '<a href="https://example.org/" rel="noopener noreferrer">ok</a>'),
    ('<p style="color:red" class="x">styled</p>', "<p>styled</p>"),
])
def test_sanitize(given, expected):
    assert sanitize(given) == expected


def test_a_hostile_comment_is_stored_and_shown_inert(db, on_commit):
    client = client_for("andy")
    pk = group_pk("Harry Potter")
    hostile = ('<p>Hi<script>document.title="pwned"</script><img src=x onerror="alert(1)">'
               '<a href="javascript:alert(1)">click</a></p>')
    with on_commit():
        client.post(f"/groups/{pk}/", {"body": hostile})
    msg = message_of("bert")
    for text in (msg.body, client.get(f"/groups/{pk}/").content.decode(),
                 client_for("bert").get(f"/notify/messages/{msg.pk}/").content.decode()):
        assert "<script>document" not in text and "onerror" not in text and "javascript:" not in text
    assert client_for("bert").get(f"/notify/api/messages/{msg.pk}/").json()["body"] == "Hiclick"


def test_message_pages_sanitize_bodies_from_anywhere(db):
    from django.contrib.auth import get_user_model

    bert = get_user_model().objects.get(username="bert")
    msg = Message.objects.create(user=bert, subject="<b>s</b>", body='<script>x()</script><p onclick="y()">p</p>')
    page = client_for("bert").get(f"/notify/messages/{msg.pk}/").content.decode()
    assert "<script>x()" not in page and "onclick" not in page and "<p>p</p>" in page
    assert "&lt;b&gt;s&lt;/b&gt;" in page
