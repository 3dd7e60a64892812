"""The Jinja2 environment of e-mail templates (``notify/body.eml`` and friends).

Templates are looked up in the ``DIRS`` of every ``TEMPLATES`` backend, then in
the ``templates/`` directory of every installed app, in ``INSTALLED_APPS``
order: a project overrides ``notify/body.eml`` by putting its own copy in one
of its template directories (or in an app listed before ``notify``).
"""

from __future__ import annotations

import datetime
import functools
import re
import zoneinfo
from pathlib import Path
from typing import Any

import jinja2
from django.apps import apps
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import get_language, gettext, gettext_noop, ngettext, ngettext_lazy, pgettext
from markupsafe import Markup, escape

from .conf import notify_settings
from .text import html_to_text, sanitize_html

_BLOCK_END = re.compile(r"</(?:p|div|li|tr|table|ul|ol|pre|blockquote|h[1-6])>(?!\n)")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class HtmlBuilder:
    """Build HTML elements as safe markup: ``E.p("Hi ", E.b(name), class_="greeting")``.

    Text children are escaped, :class:`~markupsafe.Markup` children are kept as
    they are. A trailing underscore is dropped from attribute names (``class_``)
    and inner underscores become hyphens (``data_id``); attributes whose value
    is ``None`` or ``False`` are left out, ``True`` writes the bare name.
    """

    def element(self, tag: str, *children: Any, **attributes: Any) -> Markup:
        """Return the element ``tag`` with these children and attributes."""
        if not tag.isidentifier():
            raise ValueError(f"{tag!r} is not an HTML tag name")
        attrs = []
        for name, value in attributes.items():
            if value is None or value is False:
                continue
            name = name.rstrip("_").replace("_", "-")
            attrs.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
        start = f"<{tag}{''.join(attrs)}>"
        if tag in _VOID:
            return Markup(start)
        inner = "".join(str(escape(child)) for child in children if child is not None)
        return Markup(f"{start}{inner}</{tag}>")

    def raw(self, html: str) -> Markup:
        """Return ``html`` sanitized (scripts, styles and unknown markup removed) as safe markup."""
        return Markup(sanitize_html(html))

    def __getattr__(self, tag: str) -> Any:
        if tag.startswith("_"):
            raise AttributeError(tag)
        return functools.partial(self.element, tag)


#: The HTML builder that templates know as ``E``.
E = HtmlBuilder()

# makemessages does not read Jinja templates; these marks put their strings into the catalogs.
_TEMPLATE_STRINGS = (
    gettext_noop('You get this e-mail because your notification mode is "%(mode)s".'),
    ngettext_lazy("You have %(num)d new notification.", "You have %(num)d new notifications.", "num"),
)


def rich(html: Any) -> Markup:
    """Return rich text (a message body) sanitized, as markup a template may insert."""
    html = str(html or "")
    if "<" not in html and "&" not in html:
        return escape(html)
    return Markup(_sanitized(html, notify_settings.site_url))


def plain(html: Any) -> str:
    """Return rich text as readable plain text."""
    html = str(html or "")
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    return _plain(html, notify_settings.site_url)


@jinja2.pass_context
def format_datetime(context: Any, value: datetime.datetime | None, fmt: str = "DATETIME_FORMAT") -> str:
    """Return a timestamp in the recipient's time zone and language (``{{ obj.created|datetime }}``).

    The time zone and language are those active when the rendering started
    (``compose_email`` activates the recipient's).
    """
    if value is None:
        return ""
    tz = context.get("time_zone") or str(timezone.get_current_timezone())
    language = context.get("language") or get_language()
    return _formatted(value, fmt, tz, language)


# Digests repeat the same bodies and timestamps for many recipients: compute each once.
@functools.lru_cache(maxsize=2048)
def _sanitized(html: str, base: str | None) -> str:
    # A line break after each block keeps lines short: e-mail lines longer than 998
    # bytes force quoted-printable encoding, which costs time and size.
    return _BLOCK_END.sub(r"\g<0>\n", sanitize_html(html))


@functools.lru_cache(maxsize=2048)
def _plain(html: str, base: str | None) -> str:
    return html_to_text(_sanitized(html, base))


@functools.lru_cache(maxsize=4096)
def _formatted(value: datetime.datetime, fmt: str, tz: str, language: str | None) -> str:
    with translation.override(language):
        if timezone.is_aware(value):
            value = timezone.localtime(value, zoneinfo.ZoneInfo(tz))
        return formats.date_format(value, fmt)


def template_dirs() -> list[Path]:
    """Return the directories searched for e-mail templates, in order."""
    dirs = [Path(d) for backend in settings.TEMPLATES for d in backend.get("DIRS", [])]
    for config in apps.get_app_configs():
        path = Path(config.path) / "templates"
        if path.is_dir():
            dirs.append(path)
    return dirs


@functools.cache
def get_environment() -> jinja2.Environment:
    """Return the Jinja2 environment of e-mail templates (built once)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs()]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("eml", "html", "htm", "xml"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        auto_reload=False,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # The i18n extension adds this method when the environment is built; jinja2's types do not declare it.
    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext)  # type: ignore[attr-defined]
    env.filters.update(rich=rich, plain=plain, datetime=format_datetime)
    env.globals.update(E=E, settings=settings, **_globals)
    return env


_globals: dict[str, Any] = {}


def add_globals(**values: Any) -> None:
    """Make ``values`` available to every e-mail template (the Lino layer adds ``rt`` and ``dd``)."""
    _globals.update(values)
    get_environment.cache_clear()


def render(template_name: str, context: dict[str, Any]) -> str:
    """Render the e-mail template ``template_name`` with ``context``."""
    return get_environment().get_template(template_name).render(context)


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Forget the environment and cached renderings when a test changes a setting they depend on."""
    if setting in ("TEMPLATES", "INSTALLED_APPS"):
        get_environment.cache_clear()
    if setting in ("NOTIFY", "USE_TZ", "TIME_ZONE", "DATETIME_FORMAT", "USE_L10N", "LANGUAGE_CODE"):
        _sanitized.cache_clear()
        _plain.cache_clear()
        _formatted.cache_clear()

