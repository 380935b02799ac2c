"""Several replicas: a conversation whose updates reach different dispatchers goes on
(its state is in Redis), and the flood limit is one limit across them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.factory import create_bot, create_dispatcher, create_storage
from bot.middlewares.flood import SharedFlood, Verdict
from emulator import Emulator
from services.clock import ManualClock
from tests.handlers.conftest import Harness


class Replicas(Harness):
    """Updates handled in turn as by two replicas, each with its own connection to the
    FSM storage (aiogram's routers belong to one dispatcher per process, so the
    "replicas" share the routers and differ in what they keep: their storage)."""

    def __init__(self, emulator: Emulator, bot: Bot, dp: Dispatcher, clock: ManualClock,
                 storages: list[BaseStorage]) -> None:
        super().__init__(emulator, bot, dp, clock)
        self.storages = storages
        self.turn = 0

    async def settle(self) -> None:
        while True:
            updates = await self.bot.get_updates(offset=self.offset, timeout=0)
            if not updates:
                return
            for update in updates:
                self.offset = update.update_id + 1
                self.turn += 1
                self.dp.fsm.storage = self.storages[self.turn % len(self.storages)]
                await self.dp.feed_update(self.bot, update)


@pytest.fixture
async def replicas(
    emulator: Emulator, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock, redis_url: str,
) -> AsyncIterator[Replicas]:
    shared = settings.model_copy(update={"redis_url": redis_url})
    bot = create_bot(shared, token=emulator.token, api_url=emulator.base_url)
    storages = [create_storage(shared) for _ in range(2)]
    dp = create_dispatcher(shared, sessionmaker=sessionmaker, clock=clock, storage=storages[0])
    yield Replicas(emulator, bot, dp, clock, storages)
    for storage in storages:
        await storage.close()
    await bot.session.close()
    assert [str(v) for v in emulator.violations] == []
    assert emulator.unanswered_callback_queries() == []


async def test_onboarding_goes_on_across_replicas(replicas: Replicas) -> None:
    admin = replicas.person(900, "Director")
    await admin.send("/start")
    await admin.press("✅ I agree")
    await admin.tap("🛠 Manage community")
    await admin.press("➕ New community")
    assert "name" in admin.last  # this step ran on one replica…
    await admin.send("Sunny Garden")  # …and the name, typed in that state, reaches the other
    assert "Community created" in admin.last

    ann = replicas.person(3001, "Ann")
    await ann.send("/start")
    await ann.press("✅ I agree")
    assert "Which community" in ann.last
    await ann.send("Sunny")  # a search: only in the "choose a community" state
    await ann.press("Sunny Garden")
    assert any("All set" in text for text in ann.texts[-2:])  # then "what would you like first?"


async def test_the_flood_limit_is_one_limit_across_replicas(
    redis_url: str, clock: ManualClock
) -> None:
    """Two replicas, each with its own Redis client: 2 updates a second between them,
    not 2 each; the first one dropped is answered, the rest of the burst is not."""
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    floods = [SharedFlood(client, prefix="t") for client in clients]

    async def take(replica: int, user_id: int = 1) -> Verdict:
        now = clock.now().timestamp()
        return await floods[replica].take(user_id, now=now, interval=0.5, window=1.0)

    assert [await take(i % 2) for i in range(4)] == [
        Verdict.PASS, Verdict.PASS, Verdict.WARN, Verdict.DROP]
    clock.advance(seconds=0.5)  # half a window: one more, on either replica
    assert [await take(1), await take(0)] == [Verdict.PASS, Verdict.WARN]
    assert await take(0, user_id=2) is Verdict.PASS  # another user has their own
    clock.advance(hours=-4)  # a clock set back locks no one out
    assert await take(1) is Verdict.PASS
    for client in clients:
        await client.aclose()


async def test_a_tap_delivered_twice_is_not_an_error(harness: Harness) -> None:
    """A replica answers a button and dies before its HTTP answer; Telegram sends the
    update again to another, whose answerCallbackQuery Telegram then refuses ("query
    is too old"). The person still gets the next step, and no error."""
    ann = harness.person(3001, "Ann")
    await ann.send("/start")
    await ann.handle.press_text("✅ I agree")
    updates = await harness.bot.get_updates(offset=harness.offset, timeout=0)
    assert len(updates) == 1
    harness.offset = updates[0].update_id + 1
    await harness.dp.feed_update(harness.bot, updates[0])
    first = ann.last
    assert first.startswith("Thank you!")
    await harness.dp.feed_update(harness.bot, updates[0])  # the same update, again
    # The person is told where they are, not given an apology.
    assert ann.last == "You have already agreed. Here is the main menu."
    assert not [t for t in ann.texts if "went wrong" in t]
