"""◀ page ▶ rows for long lists."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton

from bot.keyboards.builder import InlineKeyboardBuilder

NOOP = "noop"  # a button that only shows a label (answered by handlers.fallback)


def add_pager(
    builder: InlineKeyboardBuilder, *, page: int, pages: int, make: Callable[[int], CallbackData]
) -> None:
    """Append a ◀ n/m ▶ row when there is more than one page."""
    if pages <= 1:
        return
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(text="◀", callback_data=make(page - 1).pack()))
    row.append(InlineKeyboardButton(text=f"{page + 1}/{pages}", callback_data=NOOP))
    if page < pages - 1:
        row.append(InlineKeyboardButton(text="▶", callback_data=make(page + 1).pack()))
    builder.row(*row)
