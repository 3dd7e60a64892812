"""Rich text of messages (bodies, subjects): sanitized HTML for pages and e-mails, and readable plain text."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urljoin

import nh3
from django.utils.safestring import SafeString, mark_safe

from .conf import notify_settings

_PARAGRAPH = {"p", "table", "ul", "ol", "dl", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
              "figure", "details"}
_LINE = {"div", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "nav", "aside", "caption",
         "figcaption", "summary", "hgroup", "address", "center"}
_HIDDEN = {"head", "title", "style", "script", "template"}


_URL_ATTRIBUTES = {"href", "src", "cite"}


def _absolute_links(base: str) -> Callable[[str, str, str], str | None]:
    def absolute(element: str, attribute: str, value: str) -> str | None:
        if attribute in _URL_ATTRIBUTES and not value.startswith(("#", "mailto:")):
            return urljoin(base, value)
        return value

    return absolute


def sanitize_html(html: str) -> str:
    """Return ``html`` with scripts, styles and unknown markup removed and links made absolute.

    Relative links become absolute when the ``site_url`` setting is set, because
    a link in an e-mail has no page to be relative to.
    """
    if not html:
        return ""
    base = notify_settings.site_url
    return nh3.clean(str(html), attribute_filter=_absolute_links(base) if base else None,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


class _TextWriter(HTMLParser):
    """Collect the text of an HTML document with line breaks where blocks end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.breaks = 0
        self.line_start = True
        self.hidden = 0
        self.pre = 0
        self.lists: list[int | None] = []
        self.cells = 0
        self.links: list[tuple[str, int]] = []

    def want_break(self, count: int) -> None:
        self.breaks = max(self.breaks, count)

    def write(self, text: str, raw: bool = False) -> None:
        if not raw:
            words = " ".join(text.split())
            lead = " " if text[:1].isspace() else ""
            trail = " " if text[-1:].isspace() and words else ""
            text = f"{lead}{words}{trail}"
            if self.line_start or self.breaks or (self.parts and self.parts[-1].endswith(" ")):
                text = text.lstrip()
            if not text:
                return
        if self.breaks and self.parts:
            self.parts.append("\n" * self.breaks)
        self.breaks = 0
        self.parts.append(text)
        self.line_start = text.endswith("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
            self.line_start = True
        elif tag == "hr":
            self.want_break(2)
            self.write("-" * 20, raw=True)
            self.want_break(2)
        elif tag in ("ul", "ol"):
            self.want_break(1 if self.lists else 2)
            self.lists.append(0 if tag == "ol" else None)
        elif tag == "li":
            self.want_break(1)
            indent = "  " * (len(self.lists) - 1)
            counter = self.lists[-1] if self.lists else None
            if counter is None:
                self.write(f"{indent}- ", raw=True)
            else:
                self.lists[-1] = counter + 1
                self.write(f"{indent}{counter + 1}. ", raw=True)
        elif tag in ("td", "th"):
            if self.cells:
                self.write(" | ", raw=True)
            self.cells += 1
        elif tag == "tr":
            self.want_break(1)
            self.cells = 0
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.write(f"[{alt}]")
        elif tag in _PARAGRAPH:
            self.want_break(2)
            if tag == "pre":
                self.pre += 1
        elif tag in _LINE:
            self.want_break(1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.want_break(1 if self.lists else 2)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.parts[start:]).strip()
            if href and not href.startswith("#") and href.removeprefix("mailto:") != text:
                self.write(f" <{href}>", raw=True)
        elif tag in _PARAGRAPH:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.want_break(2)
        elif tag in _LINE:
            self.want_break(1)

    def handle_data(self, data: str) -> None:
        if self.hidden or not data:
            return
        if self.pre:
            self.write(data, raw=True)
        else:
            self.write(data)

    def text(self) -> str:
        lines = [line.rstrip() for line in "".join(self.parts).splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def html_to_text(html: str) -> str:
    """Return the readable plain text of an HTML fragment or document.

    Paragraphs are separated by blank lines, list items start with ``-`` (or
    their number), table cells are separated by ``|`` and a link shows its
    address after its text.
    """
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    writer = _TextWriter()
    writer.feed(str(html))
    writer.close()
    return writer.text()


def plain_line(text: str) -> str:
    """Return ``text`` as one line of plain text: markup removed, line breaks and runs of spaces collapsed."""
    return " ".join(html_to_text(str(text)).split())


def safe_html(markup: str) -> SafeString:
    """Return rich text with anything that could run script removed, ready to put in a page."""
    return mark_safe(sanitize_html(markup or ""))  # noqa: S308 - nh3 removed scripts, handlers and javascript: links
