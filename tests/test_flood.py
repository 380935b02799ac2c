"""bot.middlewares.flood: what it keeps per user (the dropping itself is tested through the
dispatcher in tests/handlers/test_common.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram.types import Chat, Message, Update
from aiogram.types import User as TgUser

from bot.middlewares.flood import FloodMiddleware
from services.clock import ManualClock

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Handled:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, _event: Any, _data: dict[str, Any]) -> str:
        self.count += 1
        return "handled"


def _update(user_id: int) -> tuple[Update, dict[str, Any]]:
    user = TgUser(id=user_id, is_bot=False, first_name="Ann")
    message = Message(message_id=1, date=START, chat=Chat(id=user_id, type="private"),
                      from_user=user, text="/menu")
    return Update(update_id=1, message=message), {"event_from_user": user}


async def _send(flood: FloodMiddleware, handled: Handled, user_id: int = 1) -> bool:
    before = handled.count
    update, data = _update(user_id)
    await flood(handled, update, data)
    return handled.count > before


async def test_steady_users_are_not_slowed_and_whole_ones_are_forgotten() -> None:
    clock = ManualClock(START)
    flood, handled = FloodMiddleware(rate=2, window=1.0, clock=clock), Handled()
    for _ in range(20):  # exactly the allowed pace, for ten seconds
        assert await _send(flood, handled)
        clock.advance(seconds=0.5)
    for user_id in range(100, 10_102):
        await _send(flood, handled, user_id)
    # The first sweep (past 10,000 users) forgot only user 1, steady and whole again.
    assert len(flood.full_at) == 10_002 and 1 not in flood.full_at

    clock.advance(seconds=1.0)
    await _send(flood, handled, user_id=7)
    assert list(flood.full_at) == [7]


async def test_a_clock_set_back_does_not_lock_anyone_out() -> None:
    clock = ManualClock(START)
    flood, handled = FloodMiddleware(rate=2, window=1.0, clock=clock), Handled()
    clock.advance(hours=4)
    assert [await _send(flood, handled) for _ in range(2)] == [True, True]
    clock.advance(hours=-2)  # the wall clock was corrected back
    assert await _send(flood, handled)
