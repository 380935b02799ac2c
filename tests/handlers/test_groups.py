"""Groups, supergroups and channels: no update there reaches a handler; the bot points to
private chat.

The emulator has only private chats, so these updates are fed to the real dispatcher
as Telegram would send them, and what the bot sends to a group is caught on the way out.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterator
from enum import Enum
from typing import Any

import pytest
from aiogram import Bot, Router
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Message, Update
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import bot.callback_data
from bot.i18n import load_i18n, translations_of
from bot.keyboards.menu import MENU
from models.users import User
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import ADMIN_TG_ID, Harness

GROUP = {"id": -555, "type": "group", "title": "Neighbours"}
SUPERGROUP = {"id": -100123, "type": "supergroup", "title": "Sunny Court residents"}
CHANNEL = {"id": -100999, "type": "channel", "title": "Sunny Court news"}


class Outgoing(BaseRequestMiddleware):
    """Records every request; those to a group or to a made-up callback never reach the emulator."""

    def __init__(self) -> None:
        self.calls: list[TelegramMethod[Any]] = []

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        self.calls.append(method)
        chat_id = getattr(method, "chat_id", None)
        if isinstance(method, AnswerCallbackQuery) and method.callback_query_id.startswith("g"):
            return Response[bool](ok=True, result=True)  # type: ignore[return-value]
        if isinstance(chat_id, int) and chat_id < 0:
            assert isinstance(method, SendMessage), f"{type(method).__name__} to a group"
            chat = next(c for c in (GROUP, SUPERGROUP, CHANNEL) if c["id"] == chat_id)
            sent = Message.model_validate(
                {"message_id": 1, "date": 0, "chat": chat, "text": method.text},
                context={"bot": bot})
            return Response[Message](ok=True, result=sent)  # type: ignore[return-value]
        return await make_request(bot, method)

    def to(self, chat: dict[str, Any]) -> list[str]:
        return [m.text for m in self.calls
                if isinstance(m, SendMessage) and m.chat_id == chat["id"]]


def handlers_of(router: Router) -> Iterator[HandlerObject]:
    for observer in router.observers.values():
        yield from observer.handlers
    for sub in router.sub_routers:
        yield from handlers_of(sub)


def spy_on_handlers(harness: Harness) -> list[str]:
    """Every handler of every router records its name when it runs."""
    ran: list[str] = []
    for handler in handlers_of(harness.dp):
        original = handler.callback

        async def spy(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            ran.append(__original.__qualname__)
            result = __original(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        handler.callback = spy
        handler.awaitable = True
    return ran


def every_command(harness: Harness) -> set[str]:
    commands = {"start", "mydata", "deleteme"}
    for handler in handlers_of(harness.dp):
        for event_filter in handler.filters or ():
            if isinstance(event_filter.callback, Command):
                commands |= {str(c) for c in event_filter.callback.commands}
    return commands


def every_menu_word() -> set[str]:
    i18n = load_i18n("zh")
    words = set()
    for locale in ("zh", "en"):
        with i18n.context(), i18n.use_locale(locale):
            words |= {i18n.gettext(item.label) for item in MENU}
    return words


def a_press_of_every_button() -> list[str]:
    """One callback_data of every CallbackData class, fields filled with plausible values."""
    presses = []
    for _name, cls in inspect.getmembers(bot.callback_data, inspect.isclass):
        if not issubclass(cls, CallbackData) or cls is CallbackData:
            continue
        values: dict[str, Any] = {}
        for field, info in cls.model_fields.items():
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, Enum):
                values[field] = next(iter(kind))
            elif not info.is_required():
                continue
            elif kind is int:
                values[field] = 1
            elif kind is bool:
                values[field] = True
            else:
                values[field] = "en" if field == "code" else "1"
        presses.append(cls(**values).pack())
    return presses


class GroupWorld:
    """Feeds updates from groups to the harness's real dispatcher."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.ids = itertools.count(10_000)

    async def feed(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self.ids)
        await self.harness.dp.feed_update(
            self.harness.bot, Update.model_validate(update, context={"bot": self.harness.bot}))

    async def say(self, chat: dict[str, Any], user: dict[str, Any] | None, text: str) -> None:
        message: dict[str, Any] = {"message_id": next(self.ids), "date": 0, "chat": chat,
                                   "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        if user is None:
            message["sender_chat"] = chat
            await self.feed({"channel_post": message})
        else:
            message["from"] = user
            await self.feed({"message": message})

    async def press(self, chat: dict[str, Any], user: dict[str, Any], data: str) -> None:
        bot_user = {"id": self.harness.emulator.bot_id, "is_bot": True, "first_name": "Bot",
                    "username": self.harness.emulator.username}
        await self.feed({"callback_query": {
            "id": f"g{next(self.ids)}", "from": user, "chat_instance": "ci", "data": data,
            "message": {"message_id": 1, "date": 0, "chat": chat, "from": bot_user,
                        "text": "a message of the bot"}}})


def tg_user(tg_id: int, name: str, language: str = "en") -> dict[str, Any]:
    return {"id": tg_id, "is_bot": False, "first_name": name, "language_code": language}


@pytest.fixture
def outgoing(harness: Harness) -> Outgoing:
    recorder = Outgoing()
    harness.bot.session.middleware(recorder)
    return recorder


async def test_no_update_from_a_group_or_channel_reaches_any_handler(
    harness: Harness, outgoing: Outgoing, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Sunny Court")
    for tg_id, name in ((3101, "Ann"), (ADMIN_TG_ID, "Director")):
        person = harness.person(tg_id, name, "en")  # known, consented people with data
        await person.send("/start")
        await person.press("✅ I agree")
    outgoing.calls.clear()
    ran = spy_on_handlers(harness)
    world = GroupWorld(harness)
    words = {f"/{c}" for c in every_command(harness)} | every_menu_word() | {"hello"}
    assert {"/mydata", "/deleteme", "/menu", "📢 Announcements", "🛠 Manage community"} <= words

    for chat in (GROUP, SUPERGROUP):
        for who in (tg_user(3101, "Ann"), tg_user(ADMIN_TG_ID, "Director"),
                    tg_user(3199, "Stranger", "zh")):
            for word in sorted(words):
                await world.say(chat, who, word)
            for data in a_press_of_every_button():
                await world.press(chat, who, data)
    for word in sorted(words):
        await world.say(CHANNEL, None, word)

    assert ran == []
    sent = {type(m).__name__ for m in outgoing.calls}
    assert sent <= {"SendMessage", "AnswerCallbackQuery", "GetMe"}, sent
    link = f"https://t.me/{harness.emulator.username}?start=group"
    for chat in (GROUP, SUPERGROUP, CHANNEL):
        (notice,) = outgoing.to(chat)  # said once per chat, however often addressed
        assert link in notice
    answers = [m for m in outgoing.calls if isinstance(m, AnswerCallbackQuery)]
    assert len(answers) == 2 * 3 * len(a_press_of_every_button())
    alert = translations_of("I only work in a private chat with you. Please open the bot.")
    assert all(a.show_alert and a.text in alert for a in answers)
    # Nobody became a user by writing in a group.
    await session.commit()
    ids = set((await session.execute(select(User.tg_id))).scalars())
    assert 3199 not in ids


async def test_in_a_group_the_bot_is_silent_unless_addressed(
    harness: Harness, outgoing: Outgoing
) -> None:
    world = GroupWorld(harness)
    await world.say(SUPERGROUP, tg_user(3101, "Ann"), "anyone for tai chi tomorrow?")
    assert outgoing.to(SUPERGROUP) == []
    await world.say(SUPERGROUP, tg_user(3101, "Ann"),
                    f"@{harness.emulator.username} what can you do?")
    (notice,) = outgoing.to(SUPERGROUP)
    assert notice.startswith("I work only in a private chat")
    await world.say(SUPERGROUP, tg_user(3102, "Bo", "zh"), "/start")
    assert len(outgoing.to(SUPERGROUP)) == 1


async def test_the_link_left_in_a_group_starts_the_bot_plainly(harness: Harness) -> None:
    ann = harness.person(3101, "Ann", "en")
    await ann.send("/start group")
    assert "Privacy notice" in ann.last
    await ann.press("✅ I agree")
    assert not any("not one I know" in text for text in ann.texts)


async def test_the_bot_removed_from_a_group_does_not_silence_a_private_chat(
    harness: Harness, outgoing: Outgoing, session: AsyncSession
) -> None:
    ann = harness.person(3101, "Ann", "en")
    await ann.send("/start")
    await ann.press("✅ I agree")
    world = GroupWorld(harness)
    bot_user = {"id": harness.emulator.bot_id, "is_bot": True, "first_name": "Bot",
                "username": harness.emulator.username}
    for chat in (GROUP, SUPERGROUP):
        for old, new in (("left", "member"), ("member", "left"), ("member", "kicked")):
            await world.feed({"my_chat_member": {
                "chat": chat, "from": tg_user(3101, "Ann"), "date": 0,
                "old_chat_member": {"status": old, "user": bot_user},
                "new_chat_member": {"status": new, "user": bot_user, "until_date": 0}
                if new == "kicked" else {"status": new, "user": bot_user}}})
    await session.commit()
    row = (await session.execute(select(User).where(User.tg_id == 3101))).scalar_one()
    assert row.blocked_at is None
    await ann.send("/menu")
    assert ann.last  # still answered
    ann.handle.block()  # the private chat's own status still counts
    await harness.settle()
    await session.commit()
    row = (await session.execute(
        select(User).where(User.tg_id == 3101).execution_options(populate_existing=True)
    )).scalar_one()
    assert row.blocked_at is not None
