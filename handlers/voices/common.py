"""What the voices modules share that bot/screens.py does not offer."""

from __future__ import annotations

from contextlib import suppress

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message


async def drop_buttons(callback: CallbackQuery) -> None:
    """Take the buttons off the pressed message (a finished step), if it can be edited;
    an old or already bare message is left as it is."""
    if isinstance(callback.message, Message) and callback.message.reply_markup is not None:
        # Too old to edit, or already bare: nothing to take off.
        with suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=None)
