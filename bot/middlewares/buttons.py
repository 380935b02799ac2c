"""Button data no button of ours could carry is answered before any handler sees it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, TelegramObject

from bot.replies import answer_out_of_date

_NUMBER = re.compile(r"-?\d+")
_ID_MAX = 2**63 - 1  # ids are 64-bit integers in the database (and in Telegram)


class ForgedButtonMiddleware(BaseMiddleware):
    """A number beyond 64 bits in callback data (a forged press: our ids never are) gets
    the out-of-date answer; a database would raise OverflowError on it deep in a
    handler, which the person would see only as the generic apology."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, CallbackQuery) and event.data and any(
                abs(int(number)) > _ID_MAX for number in _NUMBER.findall(event.data)):
            await answer_out_of_date(event, use_menu=True)
            return None
        return await handler(event, data)
