"""Hostile and malformed input against every endpoint: never a 500, and nothing stored when refused."""

from __future__ import annotations

import json
import socket
from typing import Any
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notify.models import Message, SeenBroadcast, Subscription
from tests.support.pushservice import browser_keys

KEYS = browser_keys()

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Any character, lone surrogates and NUL included.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=60)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12)
HOSTILE_HOSTS = [
    "127.0.0.1", "127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433", "0", "127.0.0.1.", "localhost.",
    "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::a00:1]", "[2002:a00:1::1]",
    "１２７.０.０.１", "١٢٧.٠.٠.١", "10.0.0.1", "169.254.169.254", "100.64.0.1", "192.0.2.1", "224.0.0.1",
    "kubernetes.default.svc", "redis.cluster.local", "metadata.google.internal", "intranet", "db.lan",
]
ENDPOINTS = st.one_of(
    st.sampled_from([f"https://{host}/push/x" for host in HOSTILE_HOSTS]),
    st.builds(lambda a, b: f"https://{a}/{b}", ANY_TEXT, ANY_TEXT),
    ANY_TEXT,
)
IDS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str), ANY_TEXT.map(json.dumps),
                st.sampled_from(["99999999999999999999", "0", "-1", "1e3", "١", " 1", "1/"]))


def counts() -> tuple[int, int, int]:
    return Message.objects.count(), Subscription.objects.count(), SeenBroadcast.objects.count()


def refused_without_trace(response: Any, before: tuple[int, int, int]) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert counts() == before, response.content[:300]


@pytest.fixture
def andy(db) -> Client:
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="andy"))
    return client


@pytest.mark.parametrize("url", ["/notify/push/subscribe/", "/notify/push/unsubscribe/"])
@FUZZ
@given(body=JSON_VALUES)
def test_subscribe_and_unsubscribe_with_any_json(andy, url, body):
    before = counts()
    refused_without_trace(andy.post(url, json.dumps(body), content_type="application/json"), before)


@FUZZ
@given(endpoint=ENDPOINTS, old=st.none() | ANY_TEXT)
def test_subscribe_with_hostile_endpoints(andy, endpoint, old):
    body = {"endpoint": endpoint, "keys": KEYS, **({"oldEndpoint": old} if old is not None else {})}
    before = counts()
    # A real site's settings; names resolve to a public address without asking a DNS server.
    production = override_settings(DEBUG=False, NOTIFY={**django_settings.NOTIFY,
                                                        "push_allow_private_endpoints": False})
    with production, mock.patch("socket.getaddrinfo", side_effect=lambda host, port, **kw: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]):
        response = andy.post("/notify/push/subscribe/", json.dumps(body), content_type="application/json")
    refused_without_trace(response, before)
    if response.status_code == 201:
        assert not any(host in endpoint for host in HOSTILE_HOSTS[:24]), endpoint


@FUZZ
@given(raw=st.binary(max_size=200))
def test_json_endpoints_with_any_bytes(andy, raw):
    for url in ("/notify/push/subscribe/", "/notify/push/unsubscribe/"):
        before = counts()
        refused_without_trace(andy.post(url, raw, content_type="application/json"), before)


def test_deeply_nested_json_is_a_400(andy):
    body = "[" * 3000 + "]" * 3000
    for url in ("/notify/push/subscribe/", "/notify/push/unsubscribe/"):
        response = andy.post(url, body, content_type="application/json")
        assert response.status_code == 400 and "JSON" in response.json()["error"]


@FUZZ
@given(pk=IDS)
def test_message_endpoints_with_any_id(andy, pk):
    for method, template in (("post", "/notify/messages/{}/seen/"), ("post", "/notify/messages/{}/unseen/"),
                             ("get", "/notify/messages/{}/"), ("get", "/notify/api/messages/{}/")):
        before = counts()
        response = getattr(andy, method)(template.format(pk))
        refused_without_trace(response, before)


@FUZZ
@given(after=ANY_TEXT | IDS)
def test_lists_with_any_after(andy, after):
    before = counts()
    refused_without_trace(andy.get("/notify/api/messages/", {"after": after}), before)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_live_stream_answers_other_methods_with_405(andy, method):
    response = getattr(andy, method)("/notify/live/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD" or response["Allow"] == "GET"


@FUZZ
@given(subject=ANY_TEXT, body=st.text(max_size=100) | st.just("x" * 20_001), silent=st.booleans())
def test_the_notifying_dialog_with_any_text(andy, subject, body, silent):
    from demo.chatter.models import Group

    pk = Group.objects.get(name="Harry Potter").pk
    before = counts()
    response = andy.post(f"/groups/{pk}/notify/", {"notify_subject": subject, "notify_body": body,
                                                  "notify_silent": "on" if silent else ""})
    refused_without_trace(response, before)
    if len(body) > 20_000:
        assert response.status_code == 400


@FUZZ
@given(body=st.text(st.characters(codec="utf-8"), max_size=200),
       nxt=st.text(st.characters(codec="utf-8"), max_size=40)
       | st.sampled_from(["//evil.example/", "https://evil.example/x", "/notify/messages/", "0", ":"]))
def test_comments_and_marking_all_seen_with_any_text(andy, body, nxt):
    from demo.chatter.models import Group

    pk = Group.objects.get(name="Harry Potter").pk
    before = counts()
    refused_without_trace(andy.post(f"/groups/{pk}/", {"body": body}), before)
    response = andy.post("/notify/messages/seen/", {"next": nxt})
    assert response.status_code < 500
    if response.status_code in (301, 302):
        location = response["Location"]
        assert location.startswith("/") and not location.startswith("//") or "://127.0.0.1/" in location, location
