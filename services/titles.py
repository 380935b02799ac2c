"""Titles staff wrote in more than one language: a menu course, a session, a volunteer task
carries its `title` and, optionally, `titles` = {locale: title} for readers of another
language. Every display says `title_in(row, reader's locale)`; a message queued in the
outbox carries `outbox_title(row)` and the sender picks the recipient's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from models.users import LOCALES
from services import outbox
from services.errors import InvalidInput
from services.text import clean_text


class Titled(Protocol):
    title: str
    titles: dict[str, str]


def title_in(row: Titled, locale: str | None) -> str:
    """The row's title in `locale` when staff gave one, else its own title."""
    return pick(row.title, row.titles, locale)


def pick(title: str, titles: Mapping[str, str] | None, locale: str | None) -> str:
    return ((titles or {}).get(locale or "") or title) if locale else title


def other_locale(locale: str | None) -> str:
    """The language of the optional second title asked of someone writing in `locale`."""
    return "en" if locale == "zh" else "zh"


def clean_titles(titles: Mapping[str, str] | None, *, limit: int) -> dict[str, str]:
    """Other-language titles as typed, cleaned; blanks dropped, unknown languages refused."""
    out: dict[str, str] = {}
    for locale, text in (titles or {}).items():
        if locale not in LOCALES:
            raise InvalidInput("titles", "locale")
        cleaned = clean_text(text, field="titles", limit=limit, required=False)
        if cleaned:
            out[locale] = cleaned
    return out


def with_title(titles: Mapping[str, str] | None, locale: str, title: str | None, *,
               limit: int) -> dict[str, str]:
    """`titles` with the one in `locale` set to `title`, cleaned (None or a blank: removed)."""
    others = {k: v for k, v in (titles or {}).items() if k != locale}
    return {**others, **clean_titles({locale: title or ""}, limit=limit)}


def outbox_title(row: Titled) -> dict[str, Any]:
    """A title in a queued message's params, said when sent in the recipient's language
    (scheduler.outbox.say)."""
    return outbox.title(row.title, row.titles)
