"""Make message bodies safe for e-mail (both halves live in :mod:`notify.text`)."""

from ..text import html_to_text, plain_line, sanitize_html

__all__ = ["html_to_text", "plain_line", "sanitize_html"]
