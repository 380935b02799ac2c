"""Slows down a user who floods the bot, with one friendly word."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _
from redis.asyncio import Redis

from services.clock import Clock


class FloodMiddleware(BaseMiddleware):
    """Allows `rate` updates per `window` seconds per user; drops the rest.

    A user may send `rate` updates at once, and then one every `window / rate`
    seconds (the generic cell rate algorithm: one number per user, the time at
    which their allowance is whole again). The first dropped update gets an answer
    so the person knows why the bot went quiet; later ones in the same burst are
    dropped silently (callback queries are still answered, as Telegram expects).
    Kept in memory, or with `redis` in Redis, one key per user, so several replicas
    share one limit (the same algorithm, run by a Lua script in one step).
    """

    def __init__(self, *, rate: int, window: float, clock: Clock,
                 redis: Redis | None = None, prefix: str = "flood") -> None:
        self.window = window
        self.clock = clock
        self.interval = window / rate
        self.shared = SharedFlood(redis, prefix=prefix) if redis is not None else None
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
        if self.shared is not None:
            verdict = await self.shared.take(tg_user.id, now=now, interval=self.interval,
                                             window=self.window)
            if verdict is Verdict.PASS:
                return await handler(event, data)
            return await self._refuse(event, first_drop=verdict is Verdict.WARN)
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
        return await self._refuse(event, first_drop=first_drop)

    @staticmethod
    async def _refuse(event: Update, *, first_drop: bool) -> None:
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


class Verdict(Enum):
    PASS = 1  # handle it
    WARN = 0  # drop it, and say why (the first of a burst)
    DROP = -1  # drop it quietly


# GCRA as above, on two keys: KEYS[1] holds when the allowance is whole again,
# KEYS[2] marks a warned user. ARGV: now, interval, window (seconds).
_TAKE = """
local now, interval, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local full_at = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if not (now <= full_at and full_at <= now + window) then full_at = now end
if full_at + interval - now <= window + 1e-9 then
  local ttl = math.ceil((full_at + interval - now) * 1000) + 1
  redis.call('SET', KEYS[1], tostring(full_at + interval), 'PX', ttl)
  redis.call('DEL', KEYS[2])
  return 1
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', math.ceil(window * 1000) + 1) then return 0 end
return -1
"""


class SharedFlood:
    """The flood limit's state in Redis, for all replicas; keys expire once whole."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self.prefix = prefix
        self.script = redis.register_script(_TAKE)

    async def take(self, user_id: int, *, now: float, interval: float, window: float) -> Verdict:
        keys = [f"{self.prefix}:{user_id}", f"{self.prefix}:{user_id}:warned"]
        result = await self.script(keys=keys, args=[repr(now), repr(interval), repr(window)])
        return Verdict(int(result))
