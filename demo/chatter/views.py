"""Pages of the chatter demo."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from notify.tables import AllMessages


def index(request: HttpRequest) -> HttpResponse:
    """Show all notification messages as a table."""
    return render(request, "chatter/index.html", {"table": AllMessages.to_text()})
