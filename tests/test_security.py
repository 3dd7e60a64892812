"""The hostile inputs that the hardening issue listed, each one as a test with the input that failed."""

from __future__ import annotations

import json
import socket

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from notify.exceptions import InvalidMessage, InvalidSubscription
from notify.models import Message, Subscription
from notify.push.endpoints import canonical_host, check_endpoint, is_public_address, parse_ipv4, resolve_public
from notify.push.subscriptions import subscribe
from tests.support.pushservice import browser_keys

KEYS = browser_keys()


def production(**changes):
    """The settings of a real site: DEBUG off, private endpoints refused."""
    return override_settings(DEBUG=False, NOTIFY={**settings.NOTIFY, "push_allow_private_endpoints": False,
                                                  **changes})


@pytest.mark.parametrize("host", [
    "127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433", "0x7f000001", "0", "127.0.0.1.", "localhost.",
    "１２７.０.０.１", "١٢٧.٠.٠.١", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::a00:1]",
    "[2002:a00:1::1]", "[2002:7f00:1::]", "[::1]", "[fe80::1]", "[fc00::1]", "169.254.169.254", "100.64.0.1",
    "192.0.2.1", "198.51.100.1", "203.0.113.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "10.0.0.1",
    "kubernetes.default.svc", "redis.cluster.local", "metadata.google.internal", "db.lan", "intranet",
    "printer.home.arpa",
])
def test_aliases_of_private_addresses_are_refused_at_subscribe_time(host):
    with pytest.raises(InvalidSubscription, match="not on the public internet|not a valid"):
        check_endpoint(f"https://{host}/push/x")


@pytest.mark.parametrize("url", [
    "https://fcm.googleapis.com/fcm/send/a b", "https://fcm.googleapis.com/fcm/send/a\r\nX-Evil: 1",
    "https://fcm.googleapis.com/fcm/send/a\x00", "https://fcm.googleapis.com/fcm/send/\ud800",
    "https://fcm.googleapis.com@127.0.0.1/x", "https://a@fcm.googleapis.com/x", "https://fcm..googleapis.com/x",
    "https://" + "a" * 64 + ".com/x", "https://1.2.3.4.5/x", "https://fcm.googleapis.com/" + "x" * 1000,
])
def test_malformed_endpoints_are_refused(url):
    with pytest.raises(InvalidSubscription):
        check_endpoint(url)


def test_canonical_forms():
    assert [str(parse_ipv4(h)) for h in ("127.1", "0x7f.1", "017700000001", "2130706433", "10.1.2")] == \
        ["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1", "10.1.0.2"]
    assert parse_ipv4("256.1.1.1") is None and parse_ipv4("fcm.googleapis.com") is None
    assert canonical_host("FCM.GoogleAPIs.com.") == "fcm.googleapis.com"
    assert canonical_host("bücher.example") == "xn--bcher-kva.example"
    assert canonical_host("１２７.０.０.１") == "127.0.0.1"
    for address in ("::ffff:10.0.0.1", "::10.0.0.1", "64:ff9b::10.0.0.1", "2002:0a00:0001::1"):
        assert not is_public_address(address), address  # IPv4 carried in IPv6 counts as itself
    assert is_public_address("::ffff:8.8.8.8") and is_public_address("2a00:1450:4001:80b::200e")


def test_a_public_name_that_resolves_to_a_private_address_is_refused():
    def rebinding(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    def public(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("142.250.185.10", port))]

    def unknown(host, port, **kwargs):
        raise socket.gaierror("Name or service not known")

    url = "https://push.example.org/x"
    with pytest.raises(InvalidSubscription, match="resolves to an address that is not on the public internet"):
        resolve_public(url, rebinding)
    with pytest.raises(InvalidSubscription, match="cannot be resolved"):
        resolve_public(url, unknown)
    assert resolve_public(url, public) == ["142.250.185.10"]


def test_subscribe_resolves_before_storing(db):
    user = get_user_model().objects.get(username="andy")

    def rebinding(host, port, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:192.168.1.1", port, 0, 0))]

    with production(), pytest.raises(InvalidSubscription, match="not on the public internet"):
        subscribe(user, {"endpoint": "https://push.example.org/x", "keys": KEYS}, resolver=rebinding)
    assert not Subscription.objects.exists()


@pytest.fixture
def andy(db) -> Client:
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="andy"))
    return client


def post_json(client, url, data):
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(url, body, content_type="application/json")


@pytest.mark.parametrize("endpoint", ["https://127.1/x", "https://[::ffff:127.0.0.1]/x", "https://x.svc/x",
                                      "https://fcm.googleapis.com/a\r\nb", "https://fcm.googleapis.com/ x"])
def test_the_subscribe_endpoint_answers_400_with_a_reason(andy, endpoint):
    with production():
        response = post_json(andy, "/notify/push/subscribe/", {"endpoint": endpoint, "keys": KEYS})
    assert response.status_code == 400 and response.json()["error"]
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000, '{"a":' * 2000 + "1" + "}" * 2000])
def test_deeply_nested_json_is_a_400_not_a_500(andy, body):
    assert len(body) < 10_000 or True
    with override_settings(NOTIFY={**settings.NOTIFY}):
        response = andy.post("/notify/push/subscribe/", body, content_type="application/json")
    assert response.status_code in (400, 413)


@pytest.mark.parametrize("field, value", [("endpoint", "https://fcm.googleapis.com/\ud800"),
                                          ("endpoint", "https://fcm.googleapis.com/\x00"),
                                          ("oldEndpoint", "\ud800"), ("oldEndpoint", "a\x00b"),
                                          ("keys", {"p256dh": "\x00", "auth": "\ud800"})])
def test_lone_surrogates_and_nul_are_refused(andy, field, value):
    data = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": KEYS, field: value}
    response = andy.post("/notify/push/subscribe/", json.dumps(data), content_type="application/json")
    assert response.status_code == 400, response.content
    assert not Subscription.objects.exists()
    response = andy.post("/notify/push/unsubscribe/", json.dumps({"endpoint": value}),
                         content_type="application/json")
    assert response.status_code in (400, 404)


@pytest.mark.parametrize("pk", ["99999999999999999999", "9223372036854775808", "1" * 40])
def test_huge_message_ids_are_a_404(andy, pk):
    for url in (f"/notify/messages/{pk}/seen/", f"/notify/messages/{pk}/unseen/"):
        assert andy.post(url).status_code == 404
    assert andy.get(f"/notify/messages/{pk}/").status_code == 404
    assert andy.get(f"/notify/api/messages/{pk}/").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_live_stream_only_answers_get(andy, method):
    assert getattr(andy, method)("/notify/live/").status_code == 405


def test_the_dialog_caps_the_body_like_comments(andy):
    from demo.chatter.models import Group

    pk = Group.objects.get(name="Harry Potter").pk
    before = Message.objects.count()
    response = andy.post(f"/groups/{pk}/notify/", {"notify_subject": "Big", "notify_body": "x" * 2_000_000})
    assert response.status_code == 400
    assert Message.objects.count() == before


@pytest.mark.parametrize("subject", ["<b></b>", "<script>alert(1)</script>", "   ", "<p>&nbsp;</p>"])
def test_a_subject_of_markup_alone_is_refused(db, subject):
    from notify.api import emit

    bert = get_user_model().objects.get(username="bert")
    with pytest.raises(InvalidMessage, match="has no text"):
        emit([bert], subject)


def test_a_subject_reads_the_same_in_every_channel(db):
    from notify.api import emit
    from notify.live.events import message_event
    from notify.mail.compose import compose_email
    from notify.push.payload import build_payload

    bert = get_user_model().objects.get(username="bert")
    [message] = emit([bert], "Tom &amp; <b>Jerry</b> &lt;3", "<p>Body</p>")
    assert message.subject == "Tom & Jerry <3"
    email = compose_email(bert, [message])
    assert email.subject.endswith("Tom & Jerry <3")
    assert "Tom &amp; Jerry &lt;3" in email.alternatives[0][0] and "Tom & Jerry <3" in email.body
    assert message_event(message)["subject"] == "Tom & Jerry <3"
    assert json.loads(build_payload(message))["subject"] == "Tom & Jerry <3"


@pytest.mark.parametrize("target", ["0", ":", "notify:my-messages", "//evil.example/x", "https://evil.example/"])
def test_a_strange_next_after_marking_goes_to_my_messages(andy, target):
    response = andy.post("/notify/messages/seen/", {"next": target})
    assert (response.status_code, response["Location"]) == (302, "/notify/messages/")
