"""Tables of messages and their plain-text rendering (``rt.show``)."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from ..actions import is_seen
from ..choicelists import Choice, ChoiceList
from ..exceptions import NotifyError
from ..models import Message
from ..users import display_name


@functools.cache
def _table_format() -> Any:
    """Return tabulate's format for ``=`` borders and a ``-`` line under the header."""
    import tabulate  # imported on first use: it costs start-up time and pulls in wcwidth

    line = tabulate.Line("", "=", " ", "")
    return tabulate.TableFormat(
        lineabove=line, linebelowheader=tabulate.Line("", "-", " ", ""), linebetweenrows=None,
        linebelow=line, headerrow=tabulate.DataRow("", " ", ""), datarow=tabulate.DataRow("", " ", ""),
        padding=1, with_header_hide=None,
    )


def format_cell(value: Any) -> str:
    """Return the text that a table shows for ``value``."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value).replace(tzinfo=None)
        return str(value)
    if isinstance(value, Model) and hasattr(value, "get_username"):
        return display_name(value)
    return str(value)


def render(headers: list[str], rows: Iterable[list[Any]]) -> str:
    """Return rows as a text table with ``=`` borders and a ``-`` line under the header."""
    cells = [[format_cell(v) for v in row] for row in rows]
    import tabulate

    old = tabulate.MIN_PADDING
    tabulate.MIN_PADDING = 0
    try:
        text = tabulate.tabulate(cells, headers=headers, tablefmt=_table_format(), disable_numparse=True)
    finally:
        tabulate.MIN_PADDING = old
    return "\n".join(line.rstrip() for line in text.splitlines())


class Column:
    """One column of a table: a header and how to get a row's value."""

    def __init__(self, header: Any, getter: str | Callable[[Any], Any]) -> None:
        self.header = header
        self.getter = getter

    def value(self, obj: Any) -> Any:
        """Return this column's value for ``obj``."""
        if callable(self.getter):
            return self.getter(obj)
        return getattr(obj, self.getter)


registry: dict[str, type[Table]] = {}


class Table:
    """Base of the tables that ``rt.show`` can print."""

    app_label: ClassVar[str] = ""
    columns: ClassVar[list[Column]] = []
    label: ClassVar[str | Promise] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.app_label:
            registry[f"{cls.app_label}.{cls.__name__}"] = cls

    @classmethod
    def get_queryset(cls, ar: Any) -> QuerySet | Iterable[Any]:
        """Return the rows that ``ar``'s user sees in this table."""
        raise NotImplementedError

    @classmethod
    def to_text(cls, ar: Any = None) -> str:
        """Return this table as text for ``ar``'s user."""
        headers = [str(c.header) for c in cls.columns]
        return render(headers, ([c.value(obj) for c in cls.columns] for obj in cls.get_queryset(ar)))


def _reply_to(msg: Message) -> Any:
    return msg.reply_to if msg.reply_to_id is not None else None


class Messages(Table):
    """Base for all tables of messages."""

    app_label = "notify"
    label = _("Notification messages")
    columns = [
        Column(_("Created"), "created"),
        Column(_("Subject"), "subject"),
        Column(_("Recipient"), "user"),
        Column(_("Reply to"), _reply_to),
        Column(_("seen"), "seen"),
        Column(_("sent"), "sent"),
    ]

    @classmethod
    def base_queryset(cls) -> QuerySet[Message]:
        """Return messages with what their columns show loaded in two queries."""
        return Message.objects.select_related("user__notify_preferences").prefetch_related("reply_to")

    @classmethod
    def get_queryset(cls, ar: Any) -> QuerySet[Message]:
        """Return all messages, oldest first."""
        return cls.base_queryset().order_by("created", "id")


class AllMessages(Messages):
    """The global list of all messages."""

    label = _("All messages")


#: Characters of a message's summary that the MyMessages table shows.
SUMMARY_WIDTH = 60


class MyMessages(Messages):
    """Show the messages emitted to me (and broadcasts), oldest first: the body, or the subject if no body."""

    label = _("My messages")
    columns = [
        Column(_("Created"), "created"),
        Column(_("Message"), lambda m: Truncator(m.summary).chars(SUMMARY_WIDTH)),
        Column(_("Reply to"), _reply_to),
        Column(_("seen"), lambda m: m.seen if m.user_id is not None else (_("yes") if is_seen(m) else None)),
    ]

    @classmethod
    def get_queryset(cls, ar: Any) -> QuerySet[Message]:
        """Return the messages that the acting user may see."""
        from ..actions import visible_to
        from ..actors import user_of

        return visible_to(user_of(ar)).select_related("user__notify_preferences").prefetch_related(
            "reply_to").order_by("created", "id")


def choicelist_text(choicelist: type[ChoiceList]) -> str:
    """Return a choicelist as a table of value, name and text."""
    return render(["value", "name", "text"], ([c.value, c.name, c.text] for c in choicelist.items()))


def _all_subclasses(cls: type) -> Iterable[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def choicelist_registry() -> dict[str, type[ChoiceList]]:
    from django.apps import apps

    found = {}
    for cls in _all_subclasses(ChoiceList):
        config = apps.get_containing_app_config(cls.__module__)
        if config is not None:
            found[f"{config.label}.{cls.__name__}"] = cls
    return found


def resolve(spec: Any) -> Callable[[Any], str]:
    """Return a function that renders ``spec`` (a label like ``'notify.AllMessages'`` or a class)."""
    if isinstance(spec, str):
        known = {**choicelist_registry(), **registry}
        if spec not in known:
            raise NotifyError(f"No table or choicelist named {spec!r} (known: {', '.join(sorted(known))})")
        spec = known[spec]
    if isinstance(spec, type) and issubclass(spec, Table):
        return spec.to_text
    if isinstance(spec, type) and issubclass(spec, ChoiceList):
        choicelist = spec

        def to_text(ar: Any = None) -> str:
            return choicelist_text(choicelist)

        return to_text
    raise NotifyError(f"Cannot show {spec!r}")


def show(spec: Any, ar: Any = None) -> None:
    """Print a table or choicelist."""
    print(resolve(spec)(ar))


__all__ = ["AllMessages", "Choice", "Column", "Messages", "MyMessages", "Table", "render", "show"]
