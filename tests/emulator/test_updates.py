"""getUpdates long polling, a real aiogram Dispatcher, and webhook delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiohttp import web

from emulator import Emulator
from emulator.state import Notifier, wait_event

from .conftest import call


async def test_get_updates_offset_limit_and_long_poll(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    user = emu.user(1001)
    for text in ("one", "two", "three"):
        await user.send(text)
    _, body = await call(http, emu, "getUpdates", json={"limit": 2})
    first, second = body["result"]
    assert [first["message"]["text"], second["message"]["text"]] == ["one", "two"]
    assert second["update_id"] == first["update_id"] + 1
    # Updates below offset are confirmed and dropped for good.
    _, body = await call(http, emu, "getUpdates", json={"offset": second["update_id"] + 1})
    assert [u["message"]["text"] for u in body["result"]] == ["three"]
    last = body["result"][0]["update_id"]
    _, body = await call(http, emu, "getUpdates", json={"offset": last + 1, "timeout": 0})
    assert body["result"] == []

    # A long poll returns as soon as an update arrives.
    async def later() -> None:
        await asyncio.sleep(0.05)
        await user.send("four")

    sender = asyncio.create_task(later())
    started = asyncio.get_running_loop().time()
    _, body = await call(http, emu, "getUpdates", json={"offset": last + 1, "timeout": 5})
    await sender
    assert [u["message"]["text"] for u in body["result"]] == ["four"]
    assert asyncio.get_running_loop().time() - started < 2


async def test_second_poll_terminates_the_first(emu: Emulator, http: aiohttp.ClientSession) -> None:
    first = asyncio.create_task(call(http, emu, "getUpdates", json={"timeout": 5}))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(call(http, emu, "getUpdates", json={"timeout": 0}))
    status, body = await first
    assert status == 409 and body["description"].startswith("Conflict: terminated by other")
    assert (await second)[0] == 200


async def test_commands_get_bot_command_entities(emu: Emulator, bot: Bot) -> None:
    user = emu.user(1001)
    await user.send("/start invite_42")
    updates = await bot.get_updates()
    message = updates[0].message
    assert message is not None and message.text == "/start invite_42"
    assert message.entities is not None
    assert (message.entities[0].type, message.entities[0].offset, message.entities[0].length) == (
        "bot_command",
        0,
        6,
    )


async def test_dispatcher_polling_round_trip(emu: Emulator, bot: Bot) -> None:
    dp = Dispatcher()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Volunteer", callback_data="vol:yes")]]
    )

    @dp.message(CommandStart(deep_link=True))
    async def start(message: Message, command: CommandObject) -> None:
        assert message.from_user is not None
        await message.answer(
            f"Welcome, {message.from_user.first_name}! Invite: {command.args}",
            reply_markup=keyboard,
        )

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"You said: {message.text}")

    @dp.callback_query(F.data == "vol:yes")
    async def volunteer(query: CallbackQuery) -> None:
        await query.answer("Thank you!")
        assert isinstance(query.message, Message)
        await query.message.edit_text("You are a volunteer now")

    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    try:
        user = emu.user(2001, first_name="Li", language_code="zh-hans")
        await user.send("/start abc")
        welcome = await user.wait_for("Welcome, Li!")
        assert "Invite: abc" in welcome.content
        assert welcome.inline_keyboard == [[("Volunteer", "vol:yes")]]
        await user.send("hello")
        await user.wait_for("You said: hello")
        await user.press_text("Volunteer")
        edited = await user.wait_for("volunteer now")
        assert edited.edited and edited.message_id == welcome.message_id
        assert [a.text for a in user.callback_answers] == ["Thank you!"]
    finally:
        await dp.stop_polling()
        await polling
    assert emu.violations == []
    assert emu.unanswered_callback_queries() == []


@pytest.fixture
async def webhook_server() -> AsyncIterator[tuple[str, list[tuple[str | None, dict[str, Any]]]]]:
    """A local webhook that records updates and answers with a sendMessage call."""
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), update))
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "pong"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hook", received
    await runner.cleanup()


async def test_webhook_delivery(
    emu: Emulator,
    bot: Bot,
    webhook_server: tuple[str, list[tuple[str | None, dict[str, Any]]]],
) -> None:
    url, received = webhook_server
    assert await bot.set_webhook(url, secret_token="s3cret-token")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    user = emu.user(3001)
    await user.send("ping")
    await user.wait_for("pong")
    assert received[0][0] == "s3cret-token"
    assert received[0][1]["message"]["text"] == "ping"
    info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 0
    assert await bot.delete_webhook()
    await user.send("after")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["after"]


async def test_webhook_must_stay_local(emu: Emulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="loopback"):
        await bot.set_webhook("https://example.org/hook")
    assert emu.violations[-1].param == "url"
    assert emu.webhook is None


async def test_webhook_delivers_users_at_once_and_each_user_in_order(
    emu: Emulator, bot: Bot
) -> None:
    """As Telegram: up to max_connections requests at once, but one user's updates one
    after another, in order; an update refused with 500 comes again."""
    at_once = 0
    most = 0
    seen: list[tuple[int, str]] = []
    fail_once = {"boom"}

    async def hook(request: web.Request) -> web.Response:
        nonlocal at_once, most
        update = await request.json()
        text, who = update["message"]["text"], update["message"]["from"]["id"]
        if text in fail_once:
            fail_once.discard(text)
            return web.Response(status=500)
        at_once += 1
        most = max(most, at_once)
        await asyncio.sleep(0.05)
        seen.append((who, text))
        at_once -= 1
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        assert await bot.set_webhook(url, max_connections=5)
        users = [emu.user(4000 + i) for i in range(8)]
        for n in range(3):
            for user in users:
                await user.send("boom" if (n, user.id) == (1, 4000) else f"{n}")
        for _ in range(200):
            if len(seen) == 24:
                break
            await asyncio.sleep(0.05)
    finally:
        await bot.delete_webhook()
        await runner.cleanup()
    assert len(seen) == 24 and 2 <= most <= 5
    for user in users:
        mine = [text for who, text in seen if who == user.id]
        assert mine == (["0", "boom", "2"] if user.id == 4000 else ["0", "1", "2"])


async def test_a_wait_cancelled_as_its_event_fires_ends_cancelled() -> None:
    """A task cancelled in the same turn of the loop as the event it waits for fires must
    still end cancelled. On Python 3.11 asyncio.wait_for returned the result instead
    (gh-86296): the bench's reply watcher, stopped as a reply came in, went on polling
    for ever and its benchmark stalled."""
    changed = Notifier()
    waiter = asyncio.create_task(wait_event(changed.current(), 10))
    await asyncio.sleep(0)  # the waiter is waiting
    changed.notify()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert waiter.cancelled()


async def test_a_wait_returns_whether_its_event_fired() -> None:
    changed = Notifier()
    assert await wait_event(changed.current(), 0.01) is False
    event = changed.current()
    asyncio.get_running_loop().call_soon(changed.notify)
    assert await wait_event(event, 10) is True
    assert await wait_event(event, 0) is True  # already set
