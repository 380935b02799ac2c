"""One database session per update; a database that blinks is waited for, not apologised for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.retry import replies_sent
from models.db import has_written

log = logging.getLogger(__name__)

# Waits between tries of an update the database could not serve: 30 s in all.
RETRY_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 14.5)


class DbSessionMiddleware(BaseMiddleware):
    """Opens a session for the update and closes it (rolling back anything unfinished).

    When the database cannot be reached (PostgreSQL restarting, a connection dropped),
    the update is handled again from the start, for up to 30 s, as long as nothing was
    answered and nothing written yet: so it is as if it had come a little later. A
    SQLite lock is waited for in begin_write itself (models/db.py).
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        waits = iter(RETRY_WAITS)
        while True:
            replied = replies_sent()
            wrote = False
            try:
                async with self.sessionmaker() as session:
                    data["session"] = session
                    try:
                        return await handler(event, data)
                    finally:
                        wrote = has_written(session)
            except (OperationalError, DBAPIError, OSError) as error:
                wait = next(waits, None)
                if (wait is None or wrote or replies_sent() != replied
                        or not _unreachable(error)):
                    raise
                update_id = event.update_id if isinstance(event, Update) else None
                log.warning("update %s: the database is unreachable (%s); trying again in "
                            "%g s", update_id, error, wait)
                await asyncio.sleep(wait)


def _unreachable(error: BaseException) -> bool:
    """A connection that failed or was lost; not a SQLite lock, already waited for."""
    if isinstance(error, DBAPIError):
        if "locked" in str(error.orig):
            return False
        return error.connection_invalidated or isinstance(error, OperationalError)
    return isinstance(error, ConnectionError | TimeoutError)
