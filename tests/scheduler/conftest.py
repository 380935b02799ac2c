"""Fixtures for the outbox sender: the emulator, a real aiogram Bot on it, recipients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bot.config import Settings
from bot.factory import create_bot
from emulator import Emulator
from models.outbox import OutboxMessage, OutboxStatus
from models.users import User
from scheduler.outbox import OutboxSender, SendLimits
from services.clock import ManualClock

# Fast enough for tests; the pacing itself is what some tests check.
FAST = SendLimits(rate=200.0, private_interval=0.05, backoff=5.0)


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, default_locale="zh")  # type: ignore[call-arg]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    yield emulator
    await emulator.stop()
    assert [str(v) for v in emulator.violations] == []


@pytest.fixture
async def bot(emulator: Emulator, settings: Settings) -> AsyncIterator[Bot]:
    bot = create_bot(settings, token=emulator.token, api_url=emulator.base_url,
                     interactive=False)  # the sender must see every 429 itself
    yield bot
    await bot.session.close()


SenderFactory = Callable[..., Awaitable[OutboxSender]]


@pytest.fixture
async def make_sender(
    bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    settings: Settings,
) -> AsyncIterator[SenderFactory]:
    """Start senders on the test's database; all are stopped at the end."""
    started: list[OutboxSender] = []

    async def make(limits: SendLimits = FAST, *, owner: str | None = None,
                   maker: async_sessionmaker[AsyncSession] | None = None) -> OutboxSender:
        sender = OutboxSender(bot=bot, sessionmaker=maker or sessionmaker, clock=clock,
                              limits=limits, default_locale=settings.default_locale,
                              default_tz=settings.timezone, owner=owner)
        await sender.start()
        started.append(sender)
        return sender

    yield make
    for sender in started:
        await sender.stop()


async def recipients(
    session: AsyncSession, emulator: Emulator, clock: ManualClock, count: int, *,
    first_tg_id: int = 10_000, locale: str | None = None, **columns: Any,
) -> list[User]:
    """People who have started the bot in the emulator and are users in the database."""
    people = []
    for i in range(count):
        tg_id = first_tg_id + i
        await emulator.user(tg_id, f"P{i}", language_code=locale or "zh").send("/start")
        people.append(User(tg_id=tg_id, first_name=f"P{i}", locale=locale,
                           created_at=clock.now(), consented_at=clock.now(), **columns))
    session.add_all(people)
    await session.commit()
    return people


async def wait_until(condition: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll `condition` until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[OutboxStatus, int]:
    async with sessionmaker() as session:
        found = await session.execute(
            select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status)))
        return {OutboxStatus(status): int(n) for status, n in found.all()}


def settled(sessionmaker: async_sessionmaker[AsyncSession]) -> Callable[[], Awaitable[bool]]:
    """A condition: no row is pending or being sent."""

    async def check() -> bool:
        counts = await statuses(sessionmaker)
        return not counts.get(OutboxStatus.PENDING) and not counts.get(OutboxStatus.SENDING)

    return check
