"""Domain refusals reach the error router inside the middlewares.

aiogram's own ErrorsMiddleware is the outermost of all: by the time it sees an
error, the person's database session is closed and their language is no longer
set. This middleware, the innermost of ours, hands a `DomainError` to the same
error observers (`router.errors(ExceptionTypeFilter(DomainError))`) while both
are still there, so the refusal is answered in the person's language. Any other
error goes on up to aiogram's, and to handlers/errors.py's last line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import ErrorEvent, TelegramObject, Update

from services.errors import DomainError


class RefusalMiddleware(BaseMiddleware):
    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except DomainError as error:
            if not isinstance(event, Update):
                raise
            answered = await self.router.propagate_event(
                update_type="error", event=ErrorEvent(update=event, exception=error), **data)
            if answered is UNHANDLED:
                raise
            return answered
