"""SIGTERM with an update in flight, for the real process in webhook and polling mode: the
update in hand is finished (within STOP_GRACE_SECONDS), no new one is taken, the outbox
rows the sender held are given back, and the process exits 0.

The update is held in flight by Telegram itself being slow: the emulator's sendMessage to
one chat waits until the test lets it go."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from emulator import Emulator
from models.communities import Community
from models.db import create_engine, create_sessionmaker
from models.outbox import OutboxMessage, OutboxStatus
from services import broadcasts
from services.access import Access
from services.broadcasts import Audience
from services.clock import SystemClock
from tests.e2e.conftest import BotProcess
from tests.e2e.steps import TIMEOUT, showing_log
from tests.e2e.test_broadcasts import TEXT, copies, seed, wait_until
from tests.e2e.test_district import START_WITHIN, until_serving
from tests.e2e.test_webhook import free_port, webhook_env

pytestmark = pytest.mark.e2e

HELD, LATER = 3301, 3302  # the person whose answer is in flight; one writing after SIGTERM


class SlowTelegram:
    """The emulator's sendMessage to one chat, held until `release` is set."""

    def __init__(self, emulator: Emulator, chat_id: int) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        handlers = emulator.methods.handlers
        original = handlers["sendmessage"]

        async def held(params: dict[str, Any]) -> Any:
            if params.get("chat_id") == chat_id and not self.release.is_set():
                self.entered.set()
                await self.release.wait()
            return await original(params)

        handlers["sendmessage"] = held


def pending_from(emulator: Emulator, user_id: int) -> list[int]:
    """Update ids of `user_id` that the emulator still holds (not taken by the bot)."""
    return [u.update_id for u in emulator.state.updates
            if (u.payload.get("from") or {}).get("id") == user_id]


async def broadcast_under_way(db_url: str, emulator: Emulator, people: list[int]) -> None:
    """An announcement to everyone seeded, sent slowly (OUTBOX_RATE), a few delivered."""
    engine = create_engine(db_url)
    async with create_sessionmaker(engine)() as session:
        community_id = (await session.execute(select(Community.id))).scalar_one()
        await broadcasts.create_broadcast(
            session, access=Access(user_id=1, is_admin=True), clock=SystemClock(),
            community_id=community_id, text=TEXT, audience=Audience("all"))
    await engine.dispose()
    await wait_until(lambda: sum(copies(emulator, p) for p in people) >= 3, 30,
                     "the first deliveries")


async def outbox_rows(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    async with create_sessionmaker(engine)() as session:
        rows = (await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
        leased = (await session.execute(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.lease_owner).is_not(None)))).scalar_one()
    await engine.dispose()
    return {**{str(status): n for status, n in rows}, "pending_leased": leased}


async def stop_with_one_in_flight(
    emulator: Emulator, bot: BotProcess, slow: SlowTelegram, db_url: str, people: list[int],
) -> int:
    """SIGTERM while HELD's answer is in flight and a broadcast goes out; LATER writes after
    it; then Telegram answers. Returns the exit status."""
    await broadcast_under_way(db_url, emulator, people)
    held = emulator.user(HELD, "Ann", language_code="en")
    await held.send("/start")
    await asyncio.wait_for(slow.entered.wait(), TIMEOUT)
    bot.process.send_signal(signal.SIGTERM)
    await wait_until(lambda: "Stopping: no new updates" in bot.output, TIMEOUT, "stopping")
    later = emulator.user(LATER, "Bo", language_code="en")
    await later.send("/start")
    await asyncio.sleep(0.5)  # time to take it, were it taken
    assert bot.process.returncode is None  # still finishing HELD's update
    slow.release.set()
    return await asyncio.wait_for(bot.process.wait(), TIMEOUT)


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_sigterm_finishes_the_update_in_hand_takes_no_new_one_and_gives_rows_back(
    emulator: Emulator, start_bot: Callable[..., Any], bot_db_url: str, mode: str,
) -> None:
    people = await seed(bot_db_url, emulator, 30, blocked=0)
    slow = SlowTelegram(emulator, HELD)
    env = {"OUTBOX_RATE": "2", "STOP_GRACE_SECONDS": "20"}
    port = free_port()
    bot = await start_bot(**(webhook_env(port, **env) if mode == "webhook" else env))
    async with showing_log(bot):
        if mode == "webhook":
            await until_serving(bot, port)
        else:
            await wait_until(lambda: "running (long polling)" in bot.output, START_WITHIN,
                             "start")
        assert await stop_with_one_in_flight(emulator, bot, slow, bot_db_url, people) == 0
        assert "Bot stopped." in bot.output
    # The update in hand was finished: its answer reached the person, and Telegram was
    # told it was done (webhook: the 200; polling: the closing getUpdates' offset).
    held = emulator.user(HELD)
    assert any("Privacy notice" in m.content for m in held.bot_messages)
    assert pending_from(emulator, HELD) == []
    # The update sent after SIGTERM was not taken: it waits for the next replica.
    assert len(pending_from(emulator, LATER)) == 1
    assert emulator.user(LATER).bot_messages == []
    # The sender gave back what it held: nothing left "sending" or leased, nothing lost.
    rows = await outbox_rows(bot_db_url)
    delivered = sum(copies(emulator, p) for p in people)
    assert rows.get("sending", 0) == 0 and rows["pending_leased"] == 0, rows
    assert rows.get("sent", 0) == delivered and delivered + rows.get("pending", 0) == 30, rows
    assert [str(v) for v in emulator.violations] == []


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_an_update_that_outlasts_the_grace_is_cut_and_comes_again(
    emulator: Emulator, start_bot: Callable[..., Any], mode: str,
) -> None:
    """Bounded: Telegram never answers; after STOP_GRACE_SECONDS the process exits 0 anyway.
    In webhook mode the update stays Telegram's to post again (it never got its 200); in
    polling mode aiogram confirmed it when it took it, so it is lost, and the log says so."""
    slow = SlowTelegram(emulator, HELD)
    env = {"STOP_GRACE_SECONDS": "1"}
    port = free_port()
    bot = await start_bot(**(webhook_env(port, **env) if mode == "webhook" else env))
    try:
        async with showing_log(bot):
            if mode == "webhook":
                await until_serving(bot, port)
            else:
                await wait_until(lambda: "running (long polling)" in bot.output,
                                 START_WITHIN, "start")
            await emulator.user(HELD, "Ann", language_code="en").send("/start")
            await asyncio.wait_for(slow.entered.wait(), TIMEOUT)
            bot.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.process.wait(), TIMEOUT) == 0
            assert "1 updates still unfinished" in bot.output
        if mode == "webhook":
            assert "Telegram sends them again" in bot.output
            assert len(pending_from(emulator, HELD)) == 1
        else:
            assert "they are lost" in bot.output
            assert pending_from(emulator, HELD) == []
    finally:
        slow.release.set()
