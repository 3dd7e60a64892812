"""Desktop notifications: keys, checks, endpoint guard, payloads, subscriptions and views."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings

from notify.exceptions import InvalidSubscription, InvalidVapidKey
from notify.models import Message, Subscription
from notify.push.checks import check_push_settings
from notify.push.endpoints import REFUSED_MARK, check_endpoint
from notify.push.keys import check_pair, generate_keys
from notify.push.payload import PAYLOAD_LIMIT, build_payload
from notify.push.subscriptions import subscribe, unsubscribe
from notify.text import html_to_text
from tests.support.pushservice import PushService


def notify(**changes):
    return override_settings(NOTIFY={**settings.NOTIFY, **changes})


def user(name):
    return get_user_model().objects.get(username=name)


# Keys and system checks ------------------------------------------------------------------------------

def test_generated_keys_belong_together():
    keys = generate_keys()
    assert len(keys.private_key) == 43 and len(keys.public_key) == 87
    assert check_pair(keys.private_key, keys.public_key) == keys
    with pytest.raises(InvalidVapidKey, match="does not belong"):
        check_pair(keys.private_key, generate_keys().public_key)
    with pytest.raises(InvalidVapidKey, match="malformed"):
        check_pair("not+base64/", keys.public_key)


def test_management_command_prints_settings_lines():
    out = io.StringIO()
    call_command("notify_vapid_keys", stdout=out)
    entries = json.loads("{" + out.getvalue().strip().rstrip(",").replace(",\n", ",") + "}")
    assert check_pair(entries["vapid_private_key"], entries["vapid_public_key"])
    out = io.StringIO()
    call_command("notify_vapid_keys", "--json", stdout=out)
    assert set(json.loads(out.getvalue())) == {"vapid_private_key", "vapid_public_key"}


def ids():
    return [e.id for e in check_push_settings()]


def test_checks_accept_the_demo_and_ignore_push_off():
    assert ids() == []
    with notify(use_push_api=False, vapid_private_key=None, vapid_public_key=None, vapid_admin_email=None):
        assert ids() == []


def test_checks_report_missing_malformed_and_mismatched_keys():
    keys, other = generate_keys(), generate_keys()
    with notify(vapid_private_key=None, vapid_public_key=None, vapid_admin_email=None):
        assert ids() == ["notify.E011", "notify.E012", "notify.E015"]
        assert all(e.hint for e in check_push_settings())
    with notify(vapid_private_key="abc", vapid_public_key=keys.public_key[:-2]):
        assert ids() == ["notify.E013", "notify.E013"]
    with notify(vapid_private_key=keys.private_key, vapid_public_key=other.public_key):
        assert ids() == ["notify.E014"]
    for contact in ("admin@chatter.localhost", "http://chatter.localhost/", "mailto:nobody", ""):
        with notify(vapid_admin_email=contact):
            assert ids() == ["notify.E015"], contact
    with notify(vapid_admin_email="https://chatter.example.com/contact"):
        assert ids() == []
    with notify(push_workers=0, push_urgency="urgent"):
        assert ids() == ["notify.E016", "notify.E017"]
    for limit in (0, "3", True, 2.5):
        with notify(push_max_subscriptions=limit):
            assert ids() == ["notify.E018"], limit
    with notify(push_max_subscriptions=1):
        assert ids() == []


# The endpoint guard ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x",
    "https://web.push.apple.com/QO", "https://8.8.8.8/push",
])
def test_public_https_endpoints_are_accepted(url):
    assert check_endpoint(url) == url


@pytest.mark.parametrize("url", [
    "http://fcm.googleapis.com/fcm/send/abc", "https://127.0.0.1/x", "https://localhost:8443/x",
    "https://10.1.2.3/x", "https://192.168.0.1/x", "https://169.254.169.254/latest/meta-data",
    "https://[::1]/x", "https://[::ffff:127.0.0.1]/x", "https://[fd00::1]/x", "https://printer.local/x",
    "https://intranet/x", "https://user:pw@fcm.googleapis.com/x", "ftp://fcm.googleapis.com/x",
    "https://fcm.googleapis.com:99999/x", "", "javascript:alert(1)",
])
def test_private_or_odd_endpoints_are_refused(url):
    with pytest.raises(InvalidSubscription):
        check_endpoint(url)


def test_private_endpoints_need_the_setting():
    assert check_endpoint("http://127.0.0.1:8080/push/x", allow_private=True)
    with pytest.raises(InvalidSubscription):
        check_endpoint("http://fcm.googleapis.com/x", allow_private=True)


def test_guarded_connection_refuses_private_addresses_before_sending():
    import asyncio

    from notify.push.endpoints import RefusedAddress
    from notify.push.transport import Connections

    with PushService() as service:
        url = f"{service.origin}/push/unknown"
        with pytest.raises(RefusedAddress, match=REFUSED_MARK):
            asyncio.run(Connections(allow_private=False).post(url, b"x", {}))
        with pytest.raises(RefusedAddress, match=REFUSED_MARK):  # a name that resolves to loopback
            asyncio.run(Connections(allow_private=False).post(url.replace("127.0.0.1", "localhost"), b"x", {}))
        answer = asyncio.run(Connections(allow_private=True).post(url, b"x", {}))
        assert answer.status == 404
        assert [r.error for r in service.received] == ["unknown subscriber"]


# Payloads --------------------------------------------------------------------------------------------

def test_rich_html_becomes_plain_text():
    html = ("<p>Hello <b>world</b> &amp; friends</p><table><tr><td>a</td><td>b</td></tr></table>"
            "<ul><li>one</li><li>two</li></ul><script>alert(1)</script><style>p{}</style>"
            "<p style='margin:0'>Größe &lt;3&nbsp;ok</p>")
    assert html_to_text(html) == "Hello world & friends\n\na | b\n\n- one\n- two\n\nGröße <3 ok"
    assert html_to_text("Tom & Jerry <3") == "Tom & Jerry <3"
    assert html_to_text("&amp;lt;") == "&lt;"


def test_payload_has_subject_plain_body_url_and_id(db):
    msg = Message.objects.filter(reply_to_id=7).first()
    data = json.loads(build_payload(msg))
    assert data == {"subject": "Andy commented on Harry Potter", "body": html_to_text(msg.body),
                    "url": f"/groups/{msg.owner_id}/", "id": msg.pk}


@pytest.mark.parametrize("word", ["lorem", "Größe", "👩‍👩‍👧", "e\u0301"])
def test_long_bodies_are_cut_cleanly_under_the_limit(db, word):
    msg = Message(pk=5, subject="<b>Long</b> one", body="<p>" + " ".join([word] * 3000) + "</p>")
    raw = build_payload(msg, url="/x/")
    assert len(raw) <= PAYLOAD_LIMIT < 4096
    body = json.loads(raw)["body"]
    assert body.endswith("…") and body[:-1].endswith(word)
    assert set(body[:-1].split(" ")) == {word}


# Subscriptions ---------------------------------------------------------------------------------------

def browser_subscription(endpoint="https://fcm.googleapis.com/fcm/send/abc"):
    keys = generate_keys()  # any P-256 point does as a browser key
    return {"endpoint": endpoint, "expirationTime": None,
            "keys": {"p256dh": keys.public_key, "auth": "AAECAwQFBgcICQoLDA0ODw"}}


def test_subscribing_again_updates_the_row_and_moves_it(db):
    data = browser_subscription()
    first = subscribe(user("andy"), data, user_agent="Firefox", lang="en")
    data["keys"]["p256dh"] = generate_keys().public_key
    again = subscribe(user("bert"), data, user_agent="Chromium", lang="de")
    assert again.pk == first.pk and Subscription.objects.count() == 1
    row = Subscription.objects.get()
    assert (row.user.username, row.user_agent, row.lang, row.p256dh) == ("bert", "Chromium", "de",
                                                                        data["keys"]["p256dh"])
    assert row.created == first.created


def test_a_user_keeps_at_most_push_max_subscriptions_the_newest(db):
    import datetime

    from django.utils import timezone

    from notify.models import Message, PushDelivery

    endpoints = [f"https://fcm.googleapis.com/fcm/send/{i}" for i in range(5)]
    start = timezone.now() - datetime.timedelta(hours=1)
    for i, endpoint in enumerate(endpoints[:3]):
        sub = subscribe(user("andy"), browser_subscription(endpoint))
        Subscription.objects.filter(pk=sub.pk).update(created=start + datetime.timedelta(minutes=i))
    subscribe(user("bert"), browser_subscription("https://fcm.googleapis.com/fcm/send/bert"))
    PushDelivery.objects.create(message=Message.objects.first(), subscription=Subscription.objects.get(
        endpoint=endpoints[0]))

    def andys():
        return sorted(Subscription.objects.filter(user=user("andy")).values_list("endpoint", flat=True))

    with notify(push_max_subscriptions=3):
        subscribe(user("andy"), browser_subscription(endpoints[1]))  # again: still three
        assert andys() == endpoints[:3]
        subscribe(user("andy"), browser_subscription(endpoints[3]))  # a fourth replaces the oldest
        assert andys() == endpoints[1:4] and not PushDelivery.objects.exists()
        with notify(push_max_subscriptions=1):
            subscribe(user("andy"), browser_subscription(endpoints[4]))
        assert andys() == endpoints[4:]
    assert Subscription.objects.filter(user=user("bert")).count() == 1


def test_the_subscription_limit_and_the_new_one_are_stored_together(db, monkeypatch):
    from notify.push import subscriptions

    with notify(push_max_subscriptions=1):
        subscribe(user("andy"), browser_subscription("https://fcm.googleapis.com/fcm/send/old"))

        def failing(subscription):
            raise RuntimeError("interrupted")

        monkeypatch.setattr(subscriptions, "_keep_newest", failing)
        with pytest.raises(RuntimeError):
            subscribe(user("andy"), browser_subscription("https://fcm.googleapis.com/fcm/send/new"))
    assert list(Subscription.objects.values_list("endpoint", flat=True)) == ["https://fcm.googleapis.com/fcm/send/old"]


def test_a_user_cannot_remove_another_users_subscription(db):
    subscribe(user("andy"), browser_subscription())
    assert unsubscribe(user("bert"), "https://fcm.googleapis.com/fcm/send/abc") is False
    assert Subscription.objects.count() == 1
    assert unsubscribe(user("andy"), "https://fcm.googleapis.com/fcm/send/abc") is True
    assert Subscription.objects.count() == 0


@pytest.mark.parametrize("change, error", [
    ({"keys": None}, "keys must be"),
    ({"keys": {"p256dh": "AAAA", "auth": "AAECAwQFBgcICQoLDA0ODw"}}, "65 bytes"),
    ({"keys": {"p256dh": "B" + "A" * 86, "auth": "AAECAwQFBgcICQoLDA0ODw"}}, "not a P-256"),
    ({"endpoint": "https://10.0.0.1/push"}, "not on the public internet"),
    ({"endpoint": "x" * 1001}, "at most 1000"),
])
def test_malformed_subscriptions_are_refused(db, change, error):
    data = {**browser_subscription(), **change}
    with notify(push_allow_private_endpoints=False), pytest.raises(InvalidSubscription, match=error):
        subscribe(user("andy"), data)


# Views -----------------------------------------------------------------------------------------------

def anonymous_client(**kwargs):
    return Client(HTTP_HOST="127.0.0.1", **kwargs)


def signed_in(name, csrf=True):
    client = Client(enforce_csrf_checks=csrf, HTTP_HOST="127.0.0.1")
    client.force_login(user(name))
    config = client.get("/notify/push/config/").json()
    return client, config


def post(client, url, data, token):
    return client.post(url, json.dumps(data), content_type="application/json", headers={"X-CSRFToken": token})


def test_config_gives_the_key_urls_and_a_token(db):
    client, config = signed_in("andy")
    assert config["enabled"] and config["signedIn"]
    assert config["publicKey"] == settings.NOTIFY["vapid_public_key"]
    assert config["subscribeUrl"] == "/notify/push/subscribe/"
    assert anonymous_client().get("/notify/push/config/").json()["signedIn"] is False


def test_subscribe_needs_session_and_csrf(db):
    data = browser_subscription()
    anonymous = anonymous_client()
    assert anonymous.post("/notify/push/subscribe/", data, content_type="application/json").status_code == 401
    client, config = signed_in("andy")
    assert client.post("/notify/push/subscribe/", data, content_type="application/json").status_code == 403
    assert client.get("/notify/push/subscribe/").status_code == 405
    assert post(client, "/notify/push/subscribe/", data, "wrong" * 8).status_code == 403
    response = post(client, "/notify/push/subscribe/", data, config["csrfToken"])
    assert response.status_code == 201, response.content
    assert Subscription.objects.get().user.username == "andy"


def test_subscribe_refuses_bad_input(db):
    client, config = signed_in("andy")
    for body in ("{not json", "[1]"):
        response = client.post("/notify/push/subscribe/", body, content_type="application/json",
                               headers={"X-CSRFToken": config["csrfToken"]})
        assert response.status_code == 400
    response = post(client, "/notify/push/subscribe/", browser_subscription("https://127.0.0.1/x"),
                    config["csrfToken"])
    assert response.status_code == 201  # the demo allows private endpoints, explicitly
    with notify(push_allow_private_endpoints=False):
        response = post(client, "/notify/push/subscribe/", browser_subscription("https://127.0.0.2/x"),
                        config["csrfToken"])
    assert response.status_code == 400 and "public internet" in response.json()["error"]


def test_subscribe_with_old_endpoint_replaces_it(db):
    client, config = signed_in("andy")
    post(client, "/notify/push/subscribe/", browser_subscription("https://fcm.googleapis.com/old"),
         config["csrfToken"])
    new = {**browser_subscription("https://fcm.googleapis.com/new"), "oldEndpoint": "https://fcm.googleapis.com/old"}
    assert post(client, "/notify/push/subscribe/", new, config["csrfToken"]).status_code == 201
    assert list(Subscription.objects.values_list("endpoint", flat=True)) == ["https://fcm.googleapis.com/new"]


def test_renewing_a_subscription_at_the_cap_keeps_the_other_ones(db):
    client, config = signed_in("andy")
    with notify(push_max_subscriptions=2):
        for name in ("laptop", "phone"):
            post(client, "/notify/push/subscribe/", browser_subscription(f"https://fcm.googleapis.com/{name}"),
                 config["csrfToken"])
        renewed = {**browser_subscription("https://fcm.googleapis.com/phone2"),
                   "oldEndpoint": "https://fcm.googleapis.com/phone"}
        assert post(client, "/notify/push/subscribe/", renewed, config["csrfToken"]).status_code == 201
        bad = {**browser_subscription("ftp://x"), "oldEndpoint": "https://fcm.googleapis.com/phone2"}
        assert post(client, "/notify/push/subscribe/", bad, config["csrfToken"]).status_code == 400
    assert sorted(Subscription.objects.values_list("endpoint", flat=True)) == [
        "https://fcm.googleapis.com/laptop", "https://fcm.googleapis.com/phone2"]


def test_unsubscribe_only_own_subscriptions(db):
    subscribe(user("andy"), browser_subscription())
    client, config = signed_in("bert")
    body = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc"}
    assert post(client, "/notify/push/unsubscribe/", body, config["csrfToken"]).status_code == 404
    assert Subscription.objects.count() == 1
    client, config = signed_in("andy")
    assert client.post("/notify/push/unsubscribe/", body, content_type="application/json").status_code == 403
    assert post(client, "/notify/push/unsubscribe/", body, config["csrfToken"]).json() == {"deleted": True}
    assert Subscription.objects.count() == 0


def test_push_off_hides_the_api(db):
    client, config = signed_in("andy")
    with notify(use_push_api=False):
        assert anonymous_client().get("/notify/push/config/").json()["enabled"] is False
        assert post(client, "/notify/push/subscribe/", browser_subscription(), config["csrfToken"]).status_code == 404


def test_service_worker_is_served_for_the_root_scope(db):
    response = anonymous_client().get("/notify/push/sw.js")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Content-Type"].startswith("text/javascript")
    assert b"notificationclick" in response.content and b"pushsubscriptionchange" in response.content
    assert anonymous_client().get("/notify/push/push.js").status_code == 200


def test_the_control_is_on_the_demo_pages(db):
    client, _config = signed_in("andy", csrf=False)
    html = client.get("/groups/").content.decode()
    assert 'data-notify-push' in html and "/notify/push/push.js" in html
