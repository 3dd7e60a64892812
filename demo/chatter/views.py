"""Pages of the chatter demo: sign in, groups and their comments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles.views import serve
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from notify.api import display_name, safe_html

from .forms import CommentForm
from .models import Group
from .seed import DEMO_PASSWORD, USERS

#: How many of a group's latest comments its page shows.
COMMENTS_SHOWN = 50


def _login_context() -> dict:
    return {
        "demo_users": [{"username": u, "name": nick or f"{first} {last}", "admin": admin}
                       for u, first, last, nick, admin in USERS],
        "demo_password": DEMO_PASSWORD,
    }


class LoginView(auth_views.LoginView):
    """Sign in; the page lists the demo users and their password."""

    template_name = "chatter/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict:
        """Add the demo users and the site's announcements."""
        return {**super().get_context_data(**kwargs), **_login_context()}


def static_file(request: HttpRequest, path: str) -> HttpResponse:
    """Serve a static file in one piece (under ASGI a streamed file would warn); for the demo only."""
    response = serve(request, path, insecure=True)
    if response.streaming:
        whole = HttpResponse(b"".join(response.streaming_content), status=response.status_code)
        for header in ("Content-Type", "Content-Length", "Last-Modified", "Content-Encoding"):
            if header in response:
                whole[header] = response[header]
        response.close()
        return whole
    return response


def index(request: HttpRequest) -> HttpResponse:
    """Send signed-in users to their groups; show the sign-in page to others."""
    if request.user.is_authenticated:
        return redirect("groups")
    return LoginView.as_view()(request)


@login_required
def groups(request: HttpRequest) -> HttpResponse:
    """List the groups, which of them the user belongs to, and how many comments each has."""
    rows = Group.objects.annotate(comment_count=Count("comments", distinct=True)).prefetch_related(
        "members__notify_preferences")
    items = [{"group": g, "members": [display_name(m) for m in g.members.all()],
              "is_member": any(m.pk == request.user.pk for m in g.members.all())} for g in rows]
    return render(request, "chatter/groups.html", {"items": items})


@login_required
def group(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a group's latest comments and let the user write one, which notifies the members."""
    group = get_object_or_404(Group, pk=pk)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        comment = form.save(commit=False)
        comment.group, comment.author = group, request.user
        with transaction.atomic():
            comment.save()
            notified = comment.notify_members(request)
        messages.success(request, f"Your comment was posted; {len(notified)} member(s) notified.")
        return redirect(f"{request.path}#comment-{comment.pk}")
    members = list(group.members.select_related("notify_preferences").order_by("username"))
    latest = list(group.comments.select_related("author__notify_preferences").order_by("-created", "-id")
                  [:COMMENTS_SHOWN])
    comments = [{"comment": c, "author": display_name(c.author), "body": safe_html(c.body)} for c in reversed(latest)]
    return render(request, "chatter/group.html", {
        "group": group, "comments": comments, "form": form, "members": [display_name(m) for m in members],
        "is_member": any(m.pk == request.user.pk for m in members),
        "total": group.comments.count(),
    }, status=400 if form.errors else 200)

