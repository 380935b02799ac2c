"""What a replica has in hand when it is told to stop (SIGTERM), so it can finish that.

`InHand` is the dispatcher's outer middleware on updates: it knows which updates are
being handled. On SIGTERM the replica stops taking updates (webhook: answers 503, which
nginx and Telegram send elsewhere or again; polling: no more getUpdates) and waits up to
STOP_GRACE_SECONDS for those in hand. One cut short at the bound comes again in webhook
mode (it never got its 200); in polling mode it is lost: aiogram confirms an update to
Telegram (the next getUpdates' offset) as soon as it starts handling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

log = logging.getLogger(__name__)


class InHand(BaseMiddleware):
    """Counts the updates being handled; `finish()` waits for them, bounded."""

    def __init__(self) -> None:
        self.stopping = False  # set on SIGTERM: take no new updates
        self.running: set[int] = set()  # update ids being handled
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        self.running.add(event.update_id)
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.running.discard(event.update_id)
            if not self.running:
                self._idle.set()

    async def finish(self, grace: float, *, again: bool) -> int:
        """Wait up to `grace` seconds for the updates in hand; how many were cut short
        (`again`: Telegram sends those again)."""
        self.stopping = True
        if self.running:
            log.info("Stopping: no new updates; finishing %d in hand (at most %g s).",
                     len(self.running), grace)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        if self.running:
            log.warning("Stopping: %d updates still unfinished after %g s (%s); %s",
                        len(self.running), grace, ", ".join(map(str, sorted(self.running))),
                        "Telegram sends them again" if again else "they are lost")
        return len(self.running)
