"""Ticking grids on and off (an audience of several grids)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.keyboards.builder import InlineKeyboardBuilder
from models.communities import Grid


def grid_picker(
    grids: Iterable[Grid], chosen: Iterable[int], *, toggle: Callable[[int], CallbackData],
    done: CallbackData,
) -> InlineKeyboardMarkup:
    """Two grids a row, ✅ on the chosen ones, and a Done button."""
    picked = set(chosen)
    builder = InlineKeyboardBuilder()
    for grid in grids:
        mark = "✅ " if grid.id in picked else "▫️ "
        builder.button(text=mark + grid.name, callback_data=toggle(grid.id or 0))
    builder.adjust(2)
    builder.row(InlineKeyboardButton(text=_("Done"), callback_data=done.pack()))
    return builder.as_markup()
