"""Staff-written titles (menu courses, sessions, volunteer tasks) in the reader's language:
their own title when staff gave one (services.titles), else the title as written."""

from __future__ import annotations

from collections.abc import Mapping

from bot.when import current_locale
from models.courses import CourseOrder
from services.text import cut
from services.titles import Titled, pick, title_in


def shown(row: Titled) -> str:
    """The row's title in the current reader's language."""
    return title_in(row, current_locale())


def shown_of(title: str, titles: Mapping[str, str] | None) -> str:
    """A title and its other-language titles (as carried by a view), for the reader."""
    return pick(title, titles, current_locale())


def topic_shown(order: CourseOrder) -> str:
    """An order's topic for the reader: a menu course's title in their language."""
    return shown_of(order.topic, order.titles)


def on_button(text: str, limit: int = 60) -> str:
    """A button's label with a title in it, cut at a character boundary with "…"."""
    return cut(text, limit)
