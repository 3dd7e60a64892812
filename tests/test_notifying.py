"""NotifyingAction: run it, as a form and view, and as an admin action."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory

from notify.exceptions import InvalidMessage
from notify.lino.requests import login
from notify.models import Message
from notify.notifying import NotifyingAction, NotifyingForm, NotifyingView


@pytest.fixture
def group(db):
    from demo.chatter.models import Group

    return Group.objects.get(name="Harry Potter")  # andy and bert


@pytest.fixture
def action():
    from demo.chatter.notifying import notify_members

    return notify_members


def test_run_notifies_the_members_but_the_sender(group, action):
    messages = action.run(login("andy"), group, "Meeting", "Bring <b>towels</b>.\n\nAnd tea.")
    assert [(m.user.username, m.subject) for m in messages] == [("bert", "Meeting")]
    msg = Message.objects.get(pk=messages[0].pk)
    assert msg.body == "<p>Bring &lt;b&gt;towels&lt;/b&gt;.</p>\n\n<p>And tea.</p>"
    assert msg.owner == group
    assert msg.message_type == "system"


def test_silent_notifies_nobody_but_writes_the_system_note(group, action):
    notes = []
    group.emit_system_note = lambda ar, subject, body: notes.append((subject, body))
    assert action.run(login("andy"), group, "Quiet", "", silent=True) == []
    assert notes == [("Quiet", "")]
    action.run(login("andy"), group, "Loud", "x")
    assert notes[-1] == ("Loud", "<p>x</p>")


def test_permission_and_subject_are_checked(group, action):
    with pytest.raises(PermissionDenied):
        action.run(login("chloe"), group, "Hi")  # not a member
    with pytest.raises(PermissionDenied):
        action.run(None, group, "Hi")
    with pytest.raises(InvalidMessage, match="needs a subject"):
        action.run(login("andy"), group, "  ")
    assert action.run(login("robin"), group, "From the staff")  # staff may


def test_form_defaults_and_validation(group, action):
    form = action.get_form(login("andy"), group)
    assert form.initial == {"notify_subject": "News from Harry Potter", "notify_body": ""}
    assert list(form.fields) == ["notify_subject", "notify_body", "notify_silent"]
    assert [str(f.label) for f in form] == ["Summary", "Description", "Don't notify others"]
    bad = action.get_form(login("andy"), group, {"notify_subject": "x" * 251})
    with pytest.raises(InvalidMessage, match="errors"):
        action.run_form(login("andy"), group, bad)
    good = NotifyingForm({"notify_subject": "Hello", "notify_body": "", "notify_silent": "on"})
    assert action.run_form(login("andy"), group, good) == []


def test_default_recipients_are_the_change_observers(group):
    class Plain(NotifyingAction):
        pass

    recipients = [u.username for u, _mode in Plain().get_notify_recipients(login("andy"), group)]
    assert recipients == ["andy", "bert"]
    assert Plain().get_notify_owner(None, group) is None
    assert list(Plain().get_notify_recipients(None, object())) == []


def test_view_shows_and_runs_the_dialog(group):
    client = Client(SERVER_NAME="localhost")
    url = f"/groups/{group.pk}/notify/"
    assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(get_user_model().objects.get(username="andy"))
    page = client.get(url)
    assert page.status_code == 200
    assert b'value="News from Harry Potter"' in page.content
    assert b"Don&#x27;t notify others" in page.content
    response = client.post(url, {"notify_subject": "Tonight", "notify_body": "At eight."}, follow=True)
    assert response.redirect_chain == [(f"/groups/{group.pk}/", 302)]
    assert b"1 notification sent." in response.content
    assert Message.objects.filter(subject="Tonight", user__username="bert").count() == 1
    assert client.post(url, {"notify_subject": ""}).status_code == 400  # shown again with the error
    refused = client.post(url, {"notify_subject": "<b></b>"})
    assert refused.status_code == 400 and b"The summary needs some text." in refused.content
    client.force_login(get_user_model().objects.get(username="chloe"))
    assert client.get(url).status_code == 403


def test_generic_view_with_the_default_template(group, action):
    view = NotifyingView.as_view(action=action, model=type(group), success_url="/done/")
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="bert")
    response = view(request, pk=group.pk)
    response.render()
    assert b"<h1>Notify the members: Harry Potter</h1>" in response.content
    request = RequestFactory().post("/", {"notify_subject": "Hi"})
    request.user = get_user_model().objects.get(username="bert")
    assert view(request, pk=group.pk)["Location"] == "/done/"
    assert Message.objects.filter(subject="Hi", user__username="andy").exists()


def test_as_view_needs_an_action(group):
    view = NotifyingView.as_view(model=type(group))
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="bert")
    with pytest.raises(TypeError, match="needs an action"):
        view(request, pk=group.pk)


def test_admin_action_asks_then_runs(group, action):
    from demo.chatter.models import Group

    admin_action = action.as_admin_action()
    assert admin_action.__name__ == "notify_notifymembers"
    assert str(admin_action.short_description) == "Notify the members"
    model_admin = admin.ModelAdmin(Group, admin.site)
    model_admin.actions = [admin_action]
    robin = get_user_model().objects.get(username="robin")
    queryset = Group.objects.filter(name__in=["Harry Potter", "Star Trek"])
    listing = RequestFactory().get("/admin/chatter/group/")
    listing.user = robin
    assert admin_action.__name__ in model_admin.get_actions(listing)  # offered in the change list

    request = RequestFactory().post("/admin/chatter/group/", {"action": admin_action.__name__})
    request.user = robin
    response = admin_action(model_admin, request, queryset)
    response.render()
    assert b'name="notify_subject"' in response.content and b"Star Trek" in response.content

    request = RequestFactory().post("/admin/chatter/group/", {"notify_apply": "1", "notify_subject": "Audit"})
    request.user, request._messages = robin, CookieStorage(request)
    assert admin_action(model_admin, request, queryset) is None
    assert [str(m) for m in request._messages] == ["3 notifications sent."]
    assert sorted(Message.objects.filter(subject="Audit").values_list("user__username", flat=True)) == [
        "andy", "bert", "chloe"]
