"""Make message bodies safe for e-mail (plain text comes from :mod:`notify.text`)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import nh3

from ..conf import notify_settings
from ..text import html_to_text, plain_line

__all__ = ["html_to_text", "plain_line", "sanitize_html"]

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
