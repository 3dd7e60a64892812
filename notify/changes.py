"""Notify the watchers of an object when it changes: the :class:`ChangeNotifier` model mixin."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, ClassVar, NamedTuple, cast

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from .actors import user_of
from .exceptions import NotifyError
from .models import ChangeWatcher, Message
from .users import check_user, display_name

_UNKNOWN = object()


class FieldChange(NamedTuple):
    """One changed field: its name, its verbose name, the old and the new value."""

    name: str
    verbose_name: str
    old: Any
    new: Any


class ChangeSet:
    """Compare an object with the field values it had when it was loaded or last saved (the ``cw``)."""

    def __init__(self, instance: models.Model, original: dict[str, Any]) -> None:
        self.instance = instance
        self.original = original
        self._related: dict[tuple[type, Any], Any] | None = None

    def related_objects(self) -> dict[tuple[type, Any], Any]:
        """Return the objects that changed foreign keys point to (loaded once per change, not per language)."""
        if self._related is None:
            self._related = _related_objects(type(self.instance), self.get_updates())
        return self._related

    def get_updates(self) -> list[FieldChange]:
        """Return the watched fields whose value differs from the original, in field order."""
        changes = []
        for field in _watched_fields(self.instance):
            old = self.original.get(field.attname, _UNKNOWN)
            if old is _UNKNOWN:
                continue
            new = getattr(self.instance, field.attname)
            if old != new:
                changes.append(FieldChange(field.name, str(field.verbose_name), old, new))
        return changes

    def is_dirty(self) -> bool:
        """Tell whether any watched field has changed."""
        return bool(self.get_updates())

    def __repr__(self) -> str:
        return f"<ChangeSet of {self.instance!r}: {[c.name for c in self.get_updates()]}>"


def _watched_fields(instance: models.Model) -> list[models.Field]:
    names = getattr(instance, "change_watched_fields", None)
    ignored = set(getattr(instance, "change_ignored_fields", ()))
    fields = [f for f in instance._meta.concrete_fields if f.editable and not f.primary_key]
    if names is not None:
        fields = [f for f in fields if f.name in names]
    return [f for f in fields if f.name not in ignored]


def _snapshot(instance: models.Model) -> dict[str, Any]:
    deferred = instance.get_deferred_fields()
    return {
        f.attname: copy.deepcopy(instance.__dict__[f.attname])
        for f in _watched_fields(instance)
        if f.attname not in deferred and f.attname in instance.__dict__
    }


def acting_name(ar: Any) -> str:
    """Return how messages name the acting user of ``ar`` ("Somebody" for the system)."""
    return display_name(user_of(ar)) or _("Somebody")


def display_value(field: models.Field, value: Any, related: dict[tuple[type, Any], Any]) -> str:
    """Return how a change summary shows ``value`` of ``field``."""
    if value is None or value == "":
        return "—"
    if field.is_relation:
        model = field.related_model
        if isinstance(model, type) and (model, value) in related:
            return str(related[(model, value)])
        return f"#{value}"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


class ChangeNotifier(models.Model):
    """Model mixin: notify the watchers of an instance when it is created or modified.

    Save through :meth:`save_with_notification` (or call :meth:`notify_change`
    yourself) to emit one notification per save to every observer. Plain
    ``save()`` notifies nobody.
    """

    #: Names of the fields whose changes are reported (None: every editable field).
    change_watched_fields: ClassVar[Iterable[str] | None] = None
    #: Names of fields whose changes are never reported.
    change_ignored_fields: ClassVar[Iterable[str]] = ()
    #: The message type of change notifications.
    change_message_type: ClassVar[str] = "change"

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any, **kwargs: Any) -> ChangeNotifier:
        """Load an instance and remember its field values to compare them later."""
        # Django 6.1 passes fetch_mode; older versions pass nothing more.
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._change_original = _snapshot(instance)
        return instance

    def get_change_set(self) -> ChangeSet | None:
        """Return what changed since this instance was loaded or last saved (None for a new instance)."""
        if self._state.adding or self.pk is None:
            return None
        original = getattr(self, "_change_original", None)
        if original is None:
            raise NotifyError(f"{self!r} was not loaded from the database: its original values are unknown")
        return ChangeSet(self, original)

    def forget_changes(self) -> None:
        """Take the current field values as the new original ones."""
        self._change_original = _snapshot(self)

    def add_change_watcher(self, user: Any) -> ChangeWatcher:
        """Let ``user`` watch this object (nothing happens when they already do)."""
        check_user(user)
        owner = self.get_change_owner()
        if owner is None or owner.pk is None:
            raise NotifyError(f"{self!r} has no saved change owner to watch")
        content_type = ContentType.objects.get_for_model(owner, for_concrete_model=False)
        watcher, _created = ChangeWatcher.objects.get_or_create(
            content_type=content_type, object_id=owner.pk, user=user
        )
        return watcher

    def remove_change_watcher(self, user: Any) -> bool:
        """Stop ``user`` from watching this object; return whether they did."""
        deleted, _rows = self.get_change_watchers().filter(user=user).delete()
        return bool(deleted)

    def get_change_watchers(self) -> models.QuerySet[ChangeWatcher]:
        """Return the watcher rows of this object's change owner."""
        owner = self.get_change_owner()
        if owner is None or owner.pk is None:
            return ChangeWatcher.objects.none()
        content_type = ContentType.objects.get_for_model(owner, for_concrete_model=False)
        return ChangeWatcher.objects.filter(content_type=content_type, object_id=owner.pk)

    def get_change_observers(self, ar: Any = None) -> Iterable[tuple[Any, Any]]:
        """Yield ``(user, mail_mode)`` for everybody to notify; ``None`` means the user's own mode.

        The default asks the change owner when it is another change notifier,
        else reads the watchers of this object in one query.
        """
        owner = self.get_change_owner()
        if owner is not self and isinstance(owner, ChangeNotifier):
            yield from owner.get_change_observers(ar)
            return
        for watcher in self.get_change_watchers().select_related("user__notify_preferences"):
            yield watcher.user, None

    def get_change_owner(self) -> models.Model | None:
        """Return the object that change messages are about, whose watchers hear of them (default: self)."""
        return self

    def get_change_subject(self, ar: Any, cw: ChangeSet | None) -> str | None:
        """Return the subject of the message, or None (or "") to notify nobody.

        ``cw`` is None when the object has been created.
        """
        if cw is None:
            return _("{user} created {what}").format(user=acting_name(ar), what=self)
        return _("{user} modified {what}").format(user=acting_name(ar), what=self)

    def get_change_body(self, ar: Any, cw: ChangeSet | None) -> str:
        """Return the body of the message: the subject's sentence and a list of the changed fields."""
        if cw is None:
            return format_html("<p>{}</p>", _("{user} created {what}").format(user=acting_name(ar), what=self))
        intro = format_html("<p>{}:</p>", _("{user} modified {what}").format(user=acting_name(ar), what=self))
        return intro + self.get_change_summary(cw)

    def get_change_summary(self, cw: ChangeSet) -> str:
        """Return an HTML list "verbose name: old → new" of the changed fields ("" when none changed)."""
        updates = cw.get_updates()
        if not updates:
            return ""
        related = cw.related_objects()
        items = []
        for change in updates:
            # The changes come from the concrete fields (see _watched_fields), never from a reverse relation.
            field = cast(models.Field, self._meta.get_field(change.name))
            items.append((change.verbose_name[:1].upper() + change.verbose_name[1:],
                          display_value(field, change.old, related), display_value(field, change.new, related)))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {} → {}</li>", items))

    def notify_change(self, ar: Any, cw: ChangeSet | None) -> list[Message]:
        """Emit the change message to every observer, each in their language; return the messages."""
        observers = list(self.get_change_observers(ar))
        if not observers:
            return []
        _share_preferences(user_of(ar), observers)
        texts: dict[str, tuple[str, str] | None] = {}

        def msg_func(user: Any, mail_mode: Any) -> tuple[str, str] | None:
            language = translation.get_language() or ""
            if language not in texts:
                subject = self.get_change_subject(ar, cw)
                texts[language] = (subject, self.get_change_body(ar, cw)) if subject else None
            return texts[language]

        return Message.emit_notification(ar, self.get_change_owner(), self.change_message_type, msg_func, observers)

    def save_with_notification(self, ar: Any, **kwargs: Any) -> list[Message]:
        """Save this object and notify its observers once, in the same transaction; return the messages.

        Nothing is emitted when an existing object has no watched change.
        Keyword arguments go to ``save()``.
        """
        cw = self.get_change_set()
        if cw is not None and not cw.is_dirty():
            self.save(**kwargs)
            return []
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            self.save(**kwargs)
            messages = self.notify_change(ar, cw)
        self.forget_changes()
        return messages


def _related_objects(model: type[models.Model], updates: list[FieldChange]) -> dict[tuple[type, Any], Any]:
    """Load the related objects that changed foreign keys point to, one query per related model."""
    wanted: dict[type[models.Model], set[Any]] = {}
    for change in updates:
        field = model._meta.get_field(change.name)
        if field.is_relation:
            related_model = field.related_model
            if not isinstance(related_model, type):
                raise NotifyError(f"{model.__name__}.{change.name} points to an unresolved model: {related_model!r}")
            wanted.setdefault(related_model, set()).update(v for v in (change.old, change.new) if v is not None)
    found: dict[tuple[type, Any], Any] = {}
    for related_model, ids in wanted.items():
        for pk, obj in related_model._default_manager.in_bulk(ids).items():
            found[(related_model, pk)] = obj
    return found


def _share_preferences(sender: Any, observers: list[tuple[Any, Any]]) -> None:
    """Give the acting user the preferences already loaded with an observer (saves a query for its name)."""
    if sender is None:
        return
    accessor = type(sender).notify_preferences
    if accessor.related.is_cached(sender):
        return
    for user, _mode in observers:
        if user.pk == sender.pk and accessor.related.is_cached(user):
            accessor.related.set_cached_value(sender, accessor.related.get_cached_value(user))
            return
