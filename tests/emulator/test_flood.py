"""Flood limits (429 with a correct retry_after), send statistics, injected failures."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError

from emulator import Emulator, FloodLimits

from .conftest import make_bot


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_per_chat_limit_and_stats() -> None:
    clock = FakeClock()
    emu = Emulator(flood=FloodLimits(per_chat_per_second=1.0, per_chat_burst=3), clock=clock)
    await emu.start()
    bot = make_bot(emu)
    try:
        user = emu.user(1001)
        await user.send("/start")
        for i in range(3):
            await bot.send_message(1001, f"burst {i}")
        with pytest.raises(TelegramRetryAfter) as error:
            await bot.send_message(1001, "one too many")
        assert error.value.retry_after == 1
        assert emu.requests[-1].description == "Too Many Requests: retry after 1"
        clock.now += 1.0  # exactly retry_after later the send goes through
        await bot.send_message(1001, "after waiting")
        clock.now += 0.5
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(1001, "too soon")
        stats = emu.send_stats()
        assert stats.total_sends == 4
        assert stats.max_sends_in_one_second == 3
        assert stats.per_chat_max_in_one_second == {1001: 3}
        assert stats.too_many_requests == 2
        # Other chats have their own allowance.
        other = emu.user(1002)
        await other.send("/start")
        await bot.send_message(1002, "fine")
    finally:
        await bot.session.close()
        await emu.stop()


async def test_global_limit_set_at_run_time(emu: Emulator) -> None:
    clock = FakeClock()
    emu.clock = clock
    emu.flood = FloodLimits(global_per_second=30.0, global_burst=5)
    bot = make_bot(emu)
    try:
        for user_id in range(1, 7):
            await emu.user(user_id).send("/start")
        for user_id in range(1, 6):
            await bot.send_message(user_id, "news")
        with pytest.raises(TelegramRetryAfter) as error:
            await bot.send_message(6, "news")
        assert error.value.retry_after == 1
        emu.flood = None
        await bot.send_message(6, "news")
    finally:
        await bot.session.close()


async def test_group_limit_retry_after_counts_down() -> None:
    from emulator.flood import FloodControl

    clock = FakeClock()
    control = FloodControl(FloodLimits(group_per_minute=20), clock)
    for _ in range(20):
        assert control.check(-100123) is None
        clock.now += 0.5
    # The first send was 10 s ago: 50 s until the window has room.
    assert control.check(-100123) == 50


async def test_fail_next(emu: Emulator) -> None:
    bot = make_bot(emu)
    try:
        await emu.user(1001).send("/start")
        await emu.user(1002).send("/start")
        emu.fail_next(
            "sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, chat_id=1002
        )
        emu.fail_next("SENDMESSAGE", 502, "Bad Gateway", times=2)
        with pytest.raises(TelegramServerError):
            await bot.send_message(1001, "a")
        with pytest.raises(TelegramRetryAfter) as error:
            await bot.send_message(1002, "b")
        assert error.value.retry_after == 7
        with pytest.raises(TelegramServerError):
            await bot.send_message(1002, "c")
        await bot.send_message(1002, "d")
        assert emu.send_stats().too_many_requests == 1
    finally:
        await bot.session.close()


async def test_paid_broadcast_has_its_own_budget() -> None:
    from emulator.flood import FloodControl

    clock = FakeClock()
    control = FloodControl(FloodLimits(global_per_second=30.0, global_burst=2), clock)
    assert control.check(1) is None
    assert control.check(2) is None
    assert control.check(3) == 1
    assert control.check(3, paid=True) is None  # allow_paid_broadcast: up to 1000/s
