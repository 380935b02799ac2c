"""Slows down a user who floods the bot, with one friendly word."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _

from services.clock import Clock


class FloodMiddleware(BaseMiddleware):
    """Allows `rate` updates per `window` seconds per user; drops the rest.

    The first dropped update gets an answer so the person knows why the bot
    went quiet; later ones in the same window are dropped silently (callback
    queries are still answered, as Telegram expects). Kept in memory: with
    several replicas, each one limits on its own, which is good enough for a
    courtesy limit.
    """

    def __init__(self, *, rate: int, window: float, clock: Clock) -> None:
        self.rate = rate
        self.window = window
        self.clock = clock
        self.seen: dict[int, deque[float]] = {}
        self.warned: set[int] = set()

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
        stamps = self.seen.setdefault(tg_user.id, deque())
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) < self.rate:
            stamps.append(now)
            self.warned.discard(tg_user.id)
            if len(self.seen) > 10_000:
                self._forget_idle(now)
            return await handler(event, data)
        first_drop = tg_user.id not in self.warned
        self.warned.add(tg_user.id)
        text = _("You are going a little fast. Please wait a few seconds and try again.")
        if event.callback_query is not None:
            await event.callback_query.answer(text if first_drop else None)
        elif first_drop and event.message is not None:
            await event.message.answer(text)
        return None

    def _forget_idle(self, now: float) -> None:
        idle = [uid for uid, s in self.seen.items() if not s or s[-1] <= now - self.window]
        for uid in idle:
            del self.seen[uid]
            self.warned.discard(uid)
