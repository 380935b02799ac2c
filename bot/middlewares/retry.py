"""Replies to a person's own tap wait out a short 429 or one 5xx instead of being lost."""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter, TelegramServerError
from aiogram.methods import AnswerCallbackQuery, GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)

# Requests the interactive bot made in this task (one update is handled in one task).
_requests: ContextVar[int] = ContextVar("requests", default=0)


def replies_sent() -> int:
    """How many requests (answers, edits, sends) this task made so far: compare two."""
    return _requests.get()


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Retry a request Telegram refused with 429, when the wait is short, or with a 5xx,
    once, after `server_error_wait` seconds.

    A quick tapper can outrun Telegram's ~1 message/second per chat; the
    answer then arrives a second late rather than never. Long waits are
    raised to the caller. A 5xx is Telegram's own hiccup: one more try usually
    goes through (if the first did reach the chat, the person sees the answer
    twice, which beats an apology). The outbox sender uses a bot without this
    middleware: it paces itself, must see every 429 to pause, and retries with
    its own backoff.
    """

    def __init__(self, *, max_wait: float = 5.0, attempts: int = 3,
                 server_error_wait: float = 0.5) -> None:
        self.max_wait = max_wait
        self.attempts = attempts
        self.server_error_wait = server_error_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not isinstance(method, GetUpdates):
            _requests.set(_requests.get() + 1)
        server_errors = 0
        for attempt in range(1, self.attempts + 2):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt >= self.attempts or error.retry_after > self.max_wait:
                    raise
                log.info("%s: 429, retrying in %s s", type(method).__name__, error.retry_after)
                await asyncio.sleep(error.retry_after)
            except TelegramServerError as error:
                server_errors += 1
                if server_errors > 1 or isinstance(method, GetUpdates):
                    raise
                log.info("%s: %s, retrying once in %g s", type(method).__name__, error.message,
                         self.server_error_wait)
                await asyncio.sleep(self.server_error_wait)
        raise AssertionError("unreachable")  # pragma: no cover


# Callback queries this update's handling answered (reset for each update by
# bot.logs.UpdateContextMiddleware); None outside an update.
_answered: ContextVar[set[str] | None] = ContextVar("answered", default=None)


def begin_update() -> None:
    """A new update is being handled: it has answered no button yet."""
    _answered.set(set())


class ExpiredQueryMiddleware(BaseRequestMiddleware):
    """A button press answered before this update's handling began is not an error.

    Telegram refuses to answer a callback query twice, or after ~15 s. Both happen
    to a correct bot: a replica that answered the tap and died before finishing is
    sent the same update again, and a slow moment can pass 15 s. The rest of the
    handler (the message the person is waiting for) must still run. A second answer
    within one handling (an apology after the first answer) still fails, so the
    caller knows it reached no one.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        query_id = method.callback_query_id if isinstance(method, AnswerCallbackQuery) else None
        if query_id is None:
            return await make_request(bot, method)
        mine = _answered.get()
        ours_before = mine is not None and query_id in mine
        try:
            response = await make_request(bot, method)
        except TelegramBadRequest as error:
            if ours_before or "query is too old" not in str(error):
                raise
            log.info("answerCallbackQuery: answered before this update's handling, or expired")
            response = cast(Response[TelegramType], Response[bool](ok=True, result=True))
        if mine is not None:
            mine.add(query_id)
        return response
