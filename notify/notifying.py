"""Notifying actions: a dialog with a subject, a body and "don't notify others"."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django import forms
from django.contrib import messages as django_messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.html import linebreaks
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic.detail import SingleObjectMixin
from django.views.generic.edit import FormView

from .actors import Acting, user_of
from .emit import BODY_MAX, SUBJECT_MAX
from .exceptions import InvalidMessage
from .models import Message
from .text import plain_line


class NotifyingForm(forms.Form):
    """The dialog fields of a notifying action."""

    notify_subject = forms.CharField(label=_("Summary"), max_length=SUBJECT_MAX)
    notify_body = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 6}), required=False,
                                  max_length=BODY_MAX)
    notify_silent = forms.BooleanField(label=_("Don't notify others"), required=False)

    def clean_notify_subject(self) -> str:
        """Return the summary as the plain text that every channel shows; refuse one without text."""
        text = plain_line(self.cleaned_data["notify_subject"])
        if not text:
            raise forms.ValidationError(_("The summary needs some text."), code="empty")
        return text


class NotifyingAction:
    """Mixin for actions that ask for a subject and a body, then notify the recipients.

    Run it with :meth:`run` (or :meth:`run_form`), show it as a page with
    :meth:`as_view`, or offer it on an admin changelist with :meth:`as_admin_action`.
    """

    #: The text of the button or menu entry.
    label: ClassVar[str | Promise] = _("Notify")
    #: The message type of the messages it emits.
    message_type: ClassVar[str] = "system"
    #: The form that holds the dialog fields.
    form_class: ClassVar[type[forms.Form]] = NotifyingForm

    def get_notify_subject(self, ar: Any, obj: models.Model) -> str:
        """Return the default value of the ``notify_subject`` field."""
        return ""

    def get_notify_body(self, ar: Any, obj: models.Model) -> str:
        """Return the default value of the ``notify_body`` field."""
        return ""

    def get_notify_owner(self, ar: Any, obj: models.Model) -> models.Model | None:
        """Return the owner of the messages (what they are about); the default is None."""
        return None

    def get_notify_recipients(self, ar: Any, obj: models.Model) -> Iterable[tuple[Any, Any]]:
        """Yield ``(user, mail_mode)`` pairs to notify; the default asks a change notifier for its observers."""
        from .changes import ChangeNotifier

        if isinstance(obj, ChangeNotifier):
            yield from obj.get_change_observers(ar)

    def has_permission(self, ar: Any, obj: models.Model) -> bool:
        """Tell whether the acting user may run this action on ``obj`` (default: any signed-in user)."""
        return user_of(ar) is not None

    def get_form(self, ar: Any, obj: models.Model | None, data: Any = None) -> forms.Form:
        """Return the dialog, bound to ``data`` when given, else filled with the defaults for ``obj``."""
        if data is not None:
            return self.form_class(data)
        if obj is None:
            return self.form_class()
        return self.form_class(initial={"notify_subject": self.get_notify_subject(ar, obj),
                                        "notify_body": self.get_notify_body(ar, obj)})

    def run(self, ar: Any, obj: models.Model, subject: str, body: str = "", silent: bool = False) -> list[Message]:
        """Notify the recipients (unless ``silent``) and call ``obj.emit_system_note()`` if it exists.

        The body is plain text: it is escaped and its lines become paragraphs.
        Return the messages emitted.
        """
        if not self.has_permission(ar, obj):
            raise PermissionDenied(f"{user_of(ar)} may not run {type(self).__name__} on {obj!r}")
        subject = (subject or "").strip()
        if not subject:
            raise InvalidMessage("A notifying action needs a subject")
        html = linebreaks(body, autoescape=True) if body and body.strip() else ""
        emitted: list[Message] = []
        with transaction.atomic():
            if not silent:
                emitted = Message.emit_notification(
                    ar, self.get_notify_owner(ar, obj), self.message_type, lambda user, mode: (subject, html),
                    self.get_notify_recipients(ar, obj),
                )
            note = getattr(obj, "emit_system_note", None)
            if callable(note):
                note(ar, subject=subject, body=html)
        return emitted

    def run_form(self, ar: Any, obj: models.Model, form: forms.Form) -> list[Message]:
        """Run this action with the values of a valid dialog."""
        if not form.is_valid():
            raise InvalidMessage(f"The dialog has errors: {form.errors.as_text()}")
        data = form.cleaned_data
        return self.run(ar, obj, data["notify_subject"], data["notify_body"], data["notify_silent"])

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        """Return a view that shows the dialog for one object and runs the action on submit."""
        action = initkwargs.pop("action", None) or cls()
        return NotifyingView.as_view(action=action, **initkwargs)

    def as_admin_action(self, description: str | Promise | None = None) -> Callable[..., HttpResponse | None]:
        """Return an admin action that asks for the dialog fields, then runs on every selected object."""
        action = self

        def admin_action(modeladmin: Any, request: HttpRequest, queryset: models.QuerySet) -> HttpResponse | None:
            ar = Acting(request=request)
            if "notify_apply" in request.POST:
                form = action.get_form(ar, None, request.POST)
                if form.is_valid():
                    count = sum(len(action.run_form(ar, obj, form)) for obj in queryset)
                    modeladmin.message_user(request, _sent(count), django_messages.SUCCESS)
                    return None
            else:
                form = action.get_form(ar, queryset.first() if queryset.count() == 1 else None)
            context = {
                **modeladmin.admin_site.each_context(request),
                "title": action.label, "form": form, "objects": queryset,
                "opts": modeladmin.model._meta, "action_name": admin_action.__name__,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            }
            return TemplateResponse(request, "notify/admin/notifying_action.html", context)

        admin_action.__name__ = f"notify_{type(self).__name__.lower()}"
        # setattr: mypy does not model attributes set on a function.
        setattr(admin_action, "short_description", description or self.label)
        return admin_action


def _sent(count: int) -> str:
    return ngettext("%(count)d notification sent.", "%(count)d notifications sent.", count) % {"count": count}


class NotifyingView(LoginRequiredMixin, SingleObjectMixin, FormView):
    """Show a notifying action's dialog for one object and run it on submit."""

    action: NotifyingAction | None = None
    template_name = "notify/notifying_form.html"
    success_url: str | None = None

    def _require_action(self) -> NotifyingAction:
        if self.action is None:
            raise TypeError(f"{type(self).__name__} needs an action")
        return self.action

    def _setup_object(self) -> Any:
        action = self._require_action()
        self.object = self.get_object()
        self.ar = Acting(request=self.request)
        if not action.has_permission(self.ar, self.object):
            raise PermissionDenied
        return self.object

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Show the dialog with its default values."""
        self._setup_object()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Run the action when the dialog is valid, else show it again with its errors."""
        self._setup_object()
        return super().post(request, *args, **kwargs)

    def get_form(self, form_class: Any = None) -> forms.Form:
        """Return the action's dialog."""
        data = self.request.POST if self.request.method == "POST" else None
        return self._require_action().get_form(self.ar, self.object, data)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the action to the template context."""
        return super().get_context_data(action=self.action, **kwargs)

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        """Show the dialog again with its errors, answering 400 (Bad Request)."""
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def form_valid(self, form: forms.Form) -> HttpResponse:
        """Run the action, tell how many were notified and go back to the object."""
        emitted = self._require_action().run_form(self.ar, self.object, form)
        django_messages.success(self.request, _sent(len(emitted)), fail_silently=True)
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self) -> str:
        """Return ``success_url``, else the object's absolute URL, else this page."""
        if self.success_url:
            return str(self.success_url)
        if hasattr(self.object, "get_absolute_url"):
            return self.object.get_absolute_url()
        return self.request.path
