"""Extensible lists of choices: message types and mail modes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .exceptions import UnknownChoice


class Choice(str):
    """One item of a choicelist: a string equal to its stored value, with a Python name and a text.

    Being a string, an item goes wherever its value goes: ``filter(mail_mode=MailModes.often)``,
    ``__in`` lookups, ``update()``, JSON. ``str()`` gives its text, as in Lino.
    """

    choicelist: type[ChoiceList]
    value: str
    text: str | Promise
    name: str

    def __new__(cls, choicelist: type[ChoiceList], value: str, text: str | Promise, name: str) -> Choice:
        """Create the item of ``choicelist`` whose stored value is ``value``."""
        item = super().__new__(cls, value)
        item.choicelist, item.value, item.text, item.name = choicelist, str(value), text, name
        return item

    def __str__(self) -> str:
        return str(self.text)

    def __repr__(self) -> str:
        return f"<{self.choicelist.__name__}.{self.name}:{self.value}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Choice):
            return self.choicelist is other.choicelist and self.value == other.value
        return self.value == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.value)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (self.choicelist.get, (self.value,))

    def __deepcopy__(self, memo: dict[int, Any]) -> Choice:
        return self


class ChoiceList:
    """Base for a list of choices that other apps can extend with ``add_item``."""

    verbose_name: ClassVar[str | Promise] = ""
    max_length: ClassVar[int] = 20
    _items: ClassVar[dict[str, Choice]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._items = {}

    @classmethod
    def add_item(cls, value: str, text: str | Promise, name: str | None = None) -> Choice:
        """Add a choice to this list and return it."""
        name = name or value
        if not isinstance(value, str) or not value or len(value) > cls.max_length:
            raise ValueError(f"{cls.__name__}: value must be a string of 1 to {cls.max_length} characters")
        if value in cls._items:
            raise ValueError(f"{cls.__name__} already has an item {value!r}")
        if not name.isidentifier() or hasattr(ChoiceList, name):
            raise ValueError(f"{cls.__name__}: {name!r} cannot be an item name")
        item = Choice(cls, value, text, name)
        cls._items[value] = item
        setattr(cls, name, item)
        return item

    @classmethod
    def get(cls, value: str | Choice) -> Choice:
        """Return the item for a value (or item), or raise :class:`UnknownChoice`."""
        if isinstance(value, Choice):
            if value.choicelist is not cls:
                raise UnknownChoice(f"{value!r} is not an item of {cls.__name__}")
            return value
        try:
            return cls._items[value]
        except (KeyError, TypeError):
            known = ", ".join(cls._items)
            raise UnknownChoice(f"{value!r} is not a valid {cls.__name__} value (known: {known})") from None

    @classmethod
    def items(cls) -> Iterator[Choice]:
        """Yield the items in the order they were added."""
        yield from cls._items.values()

    @classmethod
    def field_choices(cls) -> list[tuple[str, str | Promise]]:
        """Return ``(value, text)`` pairs for a model field's ``choices``."""
        return [(item.value, item.text) for item in cls._items.values()]


class MessageTypes(ChoiceList):
    """The kinds of notification message (``Message.message_type``)."""

    verbose_name = _("Message type")


MessageTypes.add_item("system", _("System event"))
MessageTypes.add_item("change", _("Change"))


class MailModes(ChoiceList):
    """How a user wants to be told of notifications by e-mail."""

    verbose_name = _("Notification mode")


MailModes.add_item("silent", _("Silent"))
MailModes.add_item("never", _("No mails"))
MailModes.add_item("often", _("Mail often"))
MailModes.add_item("daily", _("Daily email digest"))
MailModes.add_item("weekly", _("Weekly email digest"))
