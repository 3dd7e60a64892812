"""Forms of the chatter demo: writing a comment (its rich text is sanitized)."""

from __future__ import annotations

import html
import re

import nh3
from django import forms

from notify.api import BODY_MAX

from .models import Comment

#: The tags a comment may use; everything else (script, style, iframe, event handlers...) is removed.
ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "i", "li", "ol", "p", "pre", "s", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"}}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_LENGTH = BODY_MAX
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<!--")


def sanitize(markup: str) -> str:
    """Return rich text that cannot run script: plain text becomes paragraphs, unknown markup goes."""
    markup = markup.strip()
    if not _TAG.search(markup):
        paragraphs = [p.strip() for p in markup.replace("\r\n", "\n").split("\n\n") if p.strip()]
        markup = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return nh3.clean(markup, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES).strip()


class CommentForm(forms.ModelForm):
    """Write a comment: plain text, or simple HTML (links, lists, emphasis, tables)."""

    class Meta:
        model = Comment
        fields = ["body"]
        labels = {"body": "Your comment"}
        help_texts = {"body": "Plain text, or simple HTML: <p>, <b>, <i>, <a href>, lists and tables."}
        widgets = {"body": forms.Textarea(attrs={"rows": 4, "maxlength": MAX_LENGTH})}

    def clean_body(self) -> str:
        """Sanitize the body and refuse one that is empty once sanitized."""
        body = self.cleaned_data["body"]
        if len(body) > MAX_LENGTH:
            raise forms.ValidationError(f"A comment has at most {MAX_LENGTH:,} characters.")
        body = sanitize(body)
        if not nh3.clean(body, tags=set()).strip():
            raise forms.ValidationError("This comment has no text once unsafe markup is removed.")
        return body
