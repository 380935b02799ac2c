"""Text a person typed: cleaned and measured in one place.

Telegram counts a text's length in UTF-16 code units (an emoji is two), so every
limit here is in those units; `len()` counts code points and lets a text of emoji
through that Telegram then refuses.
"""

from __future__ import annotations

from services.errors import InvalidInput


def utf16_len(text: str) -> int:
    """The length Telegram measures: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def clean_text(raw: str | None, *, field: str, limit: int, required: bool = True,
               multiline: bool = False) -> str:
    """A typed text trimmed (runs of spaces and, unless `multiline`, line breaks folded to
    one space) and checked: InvalidInput(field, "empty") when required and blank,
    InvalidInput(field, "too_long", limit=limit) when over `limit` UTF-16 units."""
    text = (raw or "").strip() if multiline else " ".join((raw or "").split())
    if required and not text:
        raise InvalidInput(field, "empty")
    if utf16_len(text) > limit:
        raise InvalidInput(field, "too_long", limit=limit)
    return text


def cut(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-16 units, cut at a character boundary with "…"."""
    if utf16_len(text) <= limit:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit - 1:
            return text[:index].rstrip() + "…"
    return text


def like_pattern(query: str) -> str:
    """A LIKE pattern for a substring: Chinese has no spaces, so words are no use."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
