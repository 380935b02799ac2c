"""Replies to a person's own tap wait out a short 429 instead of being lost."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Retry a request Telegram refused with 429, when the wait is short.

    A quick tapper can outrun Telegram's ~1 message/second per chat; the
    answer then arrives a second late rather than never. Long waits are
    raised to the caller. The outbox sender uses a bot without this
    middleware: it paces itself and must see every 429 to pause.
    """

    def __init__(self, *, max_wait: float = 5.0, attempts: int = 3) -> None:
        self.max_wait = max_wait
        self.attempts = attempts

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_wait:
                    raise
                log.info("%s: 429, retrying in %s s", type(method).__name__, error.retry_after)
                await asyncio.sleep(error.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover



class ExpiredQueryMiddleware(BaseRequestMiddleware):
    """An answer to a button press that Telegram no longer takes is not an error.

    Telegram refuses to answer a callback query twice, or after ~15 s. Both happen
    to a correct bot: a replica that answered the tap and died before finishing is
    sent the same update again, and a slow moment can pass 15 s. The rest of the
    handler (the message the person is waiting for) must still run.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            if not isinstance(method, AnswerCallbackQuery) or "query is too old" not in str(error):
                raise
            log.info("answerCallbackQuery: the query was already answered or expired")
            return cast(Response[TelegramType], Response[bool](ok=True, result=True))
