"""Build what a push carries: JSON with subject, plain-text body, URL and id, under the size limit."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from ..text import html_to_text

#: Push services accept 4096 bytes of encrypted record; aes128gcm adds an 86-byte header,
#: a 16-byte tag and one padding delimiter byte, which leaves this much for the JSON.
PAYLOAD_LIMIT = 4096 - 86 - 16 - 1
ELLIPSIS = "…"

def _size(data: dict[str, Any]) -> int:
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _joined(text: str, index: int) -> bool:
    """Tell whether cutting before ``text[index]`` would split a character from its marks or joiner."""
    return unicodedata.combining(text[index]) > 0 or text[index] in "\u200d\ufe0f" or text[index - 1] == "\u200d"


def _clean_cut(text: str, length: int) -> str:
    while 0 < length < len(text) and _joined(text, length):
        length -= 1
    cut = text[:length]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > 0 and space >= len(cut) - 40:
        cut = cut[:space]
    return cut.rstrip(" \n.,;:-") + ELLIPSIS


def fit(data: dict[str, Any], field: str, limit: int = PAYLOAD_LIMIT) -> dict[str, Any]:
    """Shorten ``data[field]`` at a word boundary, ending with "…", until the JSON fits in ``limit`` bytes."""
    if _size(data) <= limit:
        return data
    text = data[field]
    if _size({**data, field: ELLIPSIS}) > limit:
        raise ValueError(f"the payload does not fit in {limit} bytes even without its {field}")
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _size({**data, field: text[:middle] + ELLIPSIS}) <= limit:
            low = middle
        else:
            high = middle - 1
    return {**data, field: _clean_cut(text, low)}


def message_url(message: Any) -> str:
    """Return the URL of what the message is about: its owner's, else its reply-to's, else the site root."""
    for name in ("owner", "reply_to"):
        if getattr(message, f"{name}_id", None) is None:
            continue
        target = getattr(message, name, None)
        get_url = getattr(target, "get_absolute_url", None)
        if get_url is not None:
            return get_url()
    return "/"


def build_payload(message: Any, url: str | None = None, limit: int = PAYLOAD_LIMIT) -> bytes:
    """Return the UTF-8 JSON that a push for ``message`` carries: ``{subject, body, url, id}``."""
    data = {
        "subject": str(message.subject),
        "body": html_to_text(str(message.body or "")),
        "url": message_url(message) if url is None else url,
        "id": message.pk,
    }
    data = fit(data, "body", limit)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def push_headers(message: Any, urgency: str) -> dict[str, str]:
    """Return the Urgency and Topic headers of a push (a newer push with the same topic replaces it)."""
    if message.owner_type_id is not None and message.owner_id is not None:
        topic = f"o{message.owner_type_id}-{message.owner_id}"
    else:
        topic = f"m{message.pk}"
    return {"Urgency": urgency, "Topic": topic[:32]}
