"""Drive the real dispatcher (real routers and middlewares) with real updates.

The bot talks to the in-process emulator: a person's message becomes an
update there, the harness fetches it with a real getUpdates call and feeds it
to the dispatcher, and the bot's replies land in the emulator's chat, where
the test reads them. Every test also checks that the bot broke no API rule
and left no button press unanswered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from emulator import ChatMessage, Emulator, UserHandle
from models.communities import Community
from models.users import Role, User
from services import users
from services.access import Access
from services.clock import ManualClock
from tests.factories import grant
from tests.handlers import witness

ADMIN_TG_ID = 900


class Person:
    """One Telegram user as the tests play them."""

    def __init__(self, harness: Harness, handle: UserHandle) -> None:
        self.harness = harness
        self.handle = handle
        self.id = handle.id

    async def send(self, text: str) -> ChatMessage | None:
        """Type a message (or a command); returns the bot's last message after it."""
        self.harness.clock.advance(seconds=1)  # people take a moment between taps
        await self.handle.send(text)
        await self.harness.settle()
        return self.handle.last_bot_message

    async def press(self, label: str) -> ChatMessage | None:
        """Press an inline button by its label."""
        self.harness.clock.advance(seconds=1)
        await self.handle.press_text(label)
        await self.harness.settle()
        return self.handle.last_bot_message

    async def tap(self, label: str) -> ChatMessage | None:
        """Tap a reply-keyboard (main menu) button."""
        self.harness.clock.advance(seconds=1)
        await self.handle.press_reply(label)
        await self.harness.settle()
        return self.handle.last_bot_message

    async def forge(self, callback_data: str, message_id: int | None = None) -> str:
        """Press a button that is not there, as a modified client can; returns the answer."""
        self.harness.clock.advance(seconds=1)
        last = self.handle.last_bot_message
        target = message_id or (last.message_id if last else 1)
        await self.handle.press(target, callback_data, forged=True)
        await self.harness.settle()
        return self.alerts[-1]

    @property
    def last(self) -> str:
        message = self.handle.last_bot_message
        return message.content if message else ""

    @property
    def texts(self) -> list[str]:
        return [m.content for m in self.handle.bot_messages]

    @property
    def menu(self) -> list[str]:
        return [label for row in self.handle.reply_keyboard or [] for label in row]

    @property
    def alerts(self) -> list[str]:
        return [a.text or "" for a in self.handle.callback_answers]


class Harness:
    """The bot, its dispatcher and the emulator, stepped one update at a time."""

    def __init__(self, emulator: Emulator, bot: Bot, dp: Dispatcher, clock: ManualClock) -> None:
        self.emulator = emulator
        self.clock = clock
        self.bot = bot
        self.dp = dp
        self.offset = 0

    def person(self, tg_id: int, name: str = "Ann", language: str | None = "en") -> Person:
        return Person(self, self.emulator.user(tg_id, name, language_code=language))

    async def settle(self) -> None:
        """Handle every pending update, as polling would, until none is left."""
        while True:
            updates = await self.bot.get_updates(offset=self.offset, timeout=0)
            if not updates:
                return
            for update in updates:
                self.offset = update.update_id + 1
                await self.dp.feed_update(self.bot, update)


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, admin_ids=frozenset({ADMIN_TG_ID}),  # type: ignore[call-arg]
                    default_locale="zh")


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def harness(
    emulator: Emulator, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> AsyncIterator[Harness]:
    bot = create_bot(settings, token=emulator.token, api_url=emulator.base_url)
    dp = create_dispatcher(settings, sessionmaker=sessionmaker, clock=clock)
    misrouted = witness.watch(dp)  # routing early must choose what plain aiogram would
    harness = Harness(emulator, bot, dp, clock)
    yield harness
    await bot.session.close()
    assert misrouted == []
    assert [str(v) for v in emulator.violations] == []
    assert emulator.unanswered_callback_queries() == []


# --- What many tests do: onboard a person, find their row, read what the bot wrote ------


async def onboard(person: Person, community: str | None = None, grid: str | None = None) -> None:
    """/start, agree (in the person's language), choose the community (and grid), or
    "Choose later" when none is named."""
    await person.send("/start")
    labels = person.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await person.press("✅ I agree" if "✅ I agree" in labels else "✅ 我同意")
    last = person.handle.last_bot_message
    if community:
        await person.press(community)
        if grid:
            await person.press(grid)
    elif last and "Choose later" in last.button_labels:
        await person.press("Choose later")
    elif last and "以后再选" in last.button_labels:
        await person.press("以后再选")


async def user_of(session: AsyncSession, person: Person) -> User:
    """The person's row, as the bot left it."""
    await session.commit()
    user = await users.get_by_tg_id(session, tg_id=person.id)
    assert user is not None
    return user


async def member(harness: Harness, session: AsyncSession, clock: ManualClock,
                 community: Community, tg_id: int, name: str,
                 role: Role | None = None, language: str = "en") -> tuple[Person, Access]:
    """A person onboarded into `community`, with `role` granted (none: a resident)."""
    person = harness.person(tg_id, name, language)
    await onboard(person, community.name)
    user = await user_of(session, person)
    access = (await grant(session, clock, user, role, community) if role
              else Access(user_id=user.id or 0))
    return person, access


async def rows(session: AsyncSession, model: type, *where: object) -> list[Any]:
    """The rows of `model` (matching `where`, by id) as the bot left them."""
    await session.commit()  # a fresh snapshot: the bot wrote through other connections
    query = (select(model).where(*where).order_by(model.id)  # type: ignore[attr-defined]
             .execution_options(populate_existing=True))
    return list((await session.execute(query)).scalars().all())


def in_front(harness: Harness, router: Router) -> None:
    """Put a test's router in front of the bot's own."""
    router._parent_router = harness.dp  # type: ignore[assignment]
    harness.dp.sub_routers.insert(0, router)
