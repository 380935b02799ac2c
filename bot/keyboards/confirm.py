"""The one way to give something up: ask once, with two big buttons.

Every action that gives something up (cancel my place, I can't come, withdraw from a
shift, withdraw a report or an order, leave a waiting list, cancel a session) is asked
once: the pressed card becomes the question, "Yes, …" does it, "No, …" puts the card
back. Both answers are whole-width rows, so an unsteady finger cannot hit the wrong one,
and the "No" names what is kept ("No, keep my place"), never a bare "No".
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup


def ask_once(*, yes: str, do: CallbackData | str, no: str, keep: CallbackData | str,
             ) -> InlineKeyboardMarkup:
    """Two rows: `yes` sends `do`, `no` sends `keep` (each packed if not a string)."""

    def packed(data: CallbackData | str) -> str:
        return data if isinstance(data, str) else data.pack()

    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=yes, callback_data=packed(do))],
        [InlineKeyboardButton(text=no, callback_data=packed(keep))],
    ])
