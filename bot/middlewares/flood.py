"""Slows down a user who floods the bot, with one friendly word."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _

from services.clock import Clock


class FloodMiddleware(BaseMiddleware):
    """Allows `rate` updates per `window` seconds per user; drops the rest.

    A user may send `rate` updates at once, and then one every `window / rate`
    seconds (the generic cell rate algorithm: one number per user, the time at
    which their allowance is whole again). The first dropped update gets an answer
    so the person knows why the bot went quiet; later ones in the same burst are
    dropped silently (callback queries are still answered, as Telegram expects).
    Kept in memory: with several replicas, each one limits on its own, which is
    good enough for a courtesy limit.
    """

    def __init__(self, *, rate: int, window: float, clock: Clock) -> None:
        self.window = window
        self.clock = clock
        self.interval = window / rate
        # user → when their allowance is whole again; a user absent is whole.
        self.full_at: dict[int, float] = {}
        self.warned: set[int] = set()
        self.swept_at = 0.0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or not isinstance(event, Update):
            return await handler(event, data)
        if event.message is None and event.callback_query is None:
            return await handler(event, data)  # e.g. my_chat_member: not the user typing
        now = self.clock.now().timestamp()
        full_at = self.full_at.get(tg_user.id, now)
        if not now <= full_at <= now + self.window:  # whole again, or the clock went back
            full_at = now
        if full_at + self.interval - now <= self.window + 1e-9:
            self.full_at[tg_user.id] = full_at + self.interval
            self.warned.discard(tg_user.id)
            if len(self.full_at) > 10_000 and now - self.swept_at >= self.window:
                self._forget_whole(now)
            return await handler(event, data)
        first_drop = tg_user.id not in self.warned
        self.warned.add(tg_user.id)
        text = (_("You are going a little fast. Please wait a few seconds and try again.")
                if first_drop else None)
        if event.callback_query is not None:
            await event.callback_query.answer(text)
        elif text is not None and event.message is not None:
            await event.message.answer(text)
        return None

    def _forget_whole(self, now: float) -> None:
        """Drop users whose allowance is whole again: they are as if never seen."""
        self.swept_at = now
        whole = [uid for uid, full_at in self.full_at.items() if full_at <= now]
        for uid in whole:
            del self.full_at[uid]
            self.warned.discard(uid)
