"""Acting as users: pressing buttons, waiting, the HTTP control API and the console."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from emulator import ButtonNotFound, Emulator, EmulatorError, WaitTimeout
from emulator.console import Console, ConsoleState, render

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="poll:yes")]]
)


async def test_press_refuses_buttons_not_on_the_message(emu: Emulator, bot: Bot) -> None:
    user = emu.user(1001)
    await user.send("/start")
    plain = await bot.send_message(1001, "no buttons")
    with_buttons = await bot.send_message(1001, "vote", reply_markup=KEYBOARD)
    with pytest.raises(ButtonNotFound):
        await user.press(plain.message_id, "poll:yes")
    with pytest.raises(ButtonNotFound):
        await user.press(with_buttons.message_id, "poll:no")
    with pytest.raises(ButtonNotFound):
        await user.press(1, "poll:yes")  # the user's own message
    with pytest.raises(ButtonNotFound):
        await user.press_text("No")
    await user.press(with_buttons.message_id, "poll:yes")
    await bot.edit_message_reply_markup(chat_id=1001, message_id=with_buttons.message_id)
    with pytest.raises(ButtonNotFound):
        await user.press(with_buttons.message_id, "poll:yes")  # gone after the edit


async def test_wait_for_sees_only_changes_after_the_last_action(emu: Emulator, bot: Bot) -> None:
    user = emu.user(1001)
    await user.send("/start")
    await bot.send_message(1001, "old reply")
    await user.send("again")
    with pytest.raises(WaitTimeout, match="old reply"):  # the report shows the chat
        await user.wait_for("old reply", timeout=0.05)

    async def reply_later() -> None:
        await asyncio.sleep(0.02)
        await bot.send_message(1001, "new reply")

    task = asyncio.create_task(reply_later())
    message = await user.wait_for(lambda m: m.content.startswith("new"), timeout=2)
    await task
    assert message.text == "new reply" and message.sender == "bot"


async def test_blocked_user_cannot_write(emu: Emulator) -> None:
    user = emu.user(1001)
    await user.send("/start")
    user.block()
    with pytest.raises(EmulatorError):
        await user.send("hello?")
    user.unblock()
    await user.send("hello")


async def test_reset_forgets_everything(emu: Emulator, bot: Bot) -> None:
    user = emu.user(1001)
    await user.send("/start")
    await bot.send_message(1001, "hi")
    emu.reset()
    assert user.chat == [] and emu.requests == [] and emu.violations == []
    assert not user.record.started
    # An old handle keeps working after the reset.
    await user.send("/start")
    await bot.send_message(1001, "fresh start")
    assert (await user.wait_for("fresh", timeout=1)).message_id == 2


async def test_control_api(emu: Emulator, bot: Bot) -> None:
    base = f"{emu.base_url}/_emu"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/users", json={"id": 1001, "first_name": "Li"}) as resp:
            assert (await resp.json())["user"]["first_name"] == "Li"
        async with http.post(f"{base}/users/1001/send", json={"text": "/start"}) as resp:
            assert (await resp.json())["message"]["text"] == "/start"
        sent = await bot.send_message(1001, "vote", reply_markup=KEYBOARD)
        async with http.get(f"{base}/users/1001/chat") as resp:
            chat = await resp.json()
        assert chat["messages"][-1]["inline_keyboard"] == [[["Yes", "poll:yes"]]]
        async with http.post(f"{base}/users/1001/press", json={"text": "Yes"}) as resp:
            query_id = (await resp.json())["callback_query_id"]
        async with http.post(
            f"{base}/users/1001/press", json={"message_id": sent.message_id, "callback_data": "x"}
        ) as resp:
            assert resp.status == 404
        await bot.answer_callback_query(query_id, text="Noted")
        async with http.get(f"{base}/users/1001/chat") as resp:
            assert (await resp.json())["callback_answers"][0]["text"] == "Noted"
        async with http.post(f"{base}/users/1001/photo", json={"caption": "look"}) as resp:
            file_id = (await resp.json())["message"]["photo"]
        async with http.get(f"{base}/files/{file_id}") as resp:
            assert resp.status == 200 and (await resp.read()).startswith(b"\xff\xd8")
        await http.post(
            f"{emu.base_url}/bot{emu.token}/sendMessage", data={"chat_id": "1001", "text": ""}
        )
        async with http.get(f"{base}/violations") as resp:
            assert (await resp.json())["violations"][0]["param"] == "text"
        async with http.post(f"{base}/users/1001/block") as resp:
            assert (await resp.json())["blocked"] is True
        async with http.post(f"{base}/users/1001/send", json={"text": "hi"}) as resp:
            assert resp.status == 409
        async with http.post(f"{base}/reset") as resp:
            assert resp.status == 200
        async with http.get(f"{base}/users/1001/chat") as resp:
            assert resp.status == 404


class Out:
    """A stdout stand-in that wakes waiters on every write."""

    def __init__(self) -> None:
        self.text = ""
        self.written = asyncio.Event()

    def write(self, chunk: str) -> int:
        self.text += chunk
        self.written.set()
        return len(chunk)

    def flush(self) -> None:
        return None

    async def wait_for(self, needle: str) -> None:
        while needle not in self.text:
            self.written.clear()
            await self.written.wait()


async def updates_beyond(emu: Emulator, count: int) -> None:
    """Wait until the emulator has queued more than `count` updates for the bot."""
    while len(emu.state.updates) <= count:
        await emu.state.updates_changed.current().wait()


async def test_console_renders_and_presses(emu: Emulator, bot: Bot) -> None:
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    out = Out()
    console = Console(emu.base_url, 1001, out=out)  # type: ignore[arg-type]
    run = asyncio.create_task(console.run("Li", "en", lines))
    await asyncio.wait_for(out.wait_for("chatting as Li"), 2)
    await lines.put("/start")
    await asyncio.wait_for(updates_beyond(emu, 0), 2)
    await bot.send_message(1001, "vote", reply_markup=KEYBOARD)
    await asyncio.wait_for(out.wait_for("[1] Yes"), 2)
    await lines.put("1")
    await asyncio.wait_for(updates_beyond(emu, 1), 2)
    await lines.put("!quit")
    await asyncio.wait_for(run, 2)
    query = next(iter(emu.state.callback_queries.values()))
    assert query.data == "poll:yes"
    assert "bot: vote" in out.text


def test_render_marks_edits_and_deletions() -> None:
    state = ConsoleState()
    message = {
        "message_id": 2,
        "sender": "bot",
        "text": "hi",
        "caption": None,
        "inline_keyboard": [[["Go", "go"], ["Site", "https://x.org"]]],
        "reply_keyboard": None,
        "photo": None,
        "document": None,
        "document_name": None,
        "contact": None,
        "location": None,
        "edited": False,
        "version": 1,
    }
    view = {"messages": [message], "reply_keyboard": [["A", "B"]], "version": 1}
    lines = render(view, state)
    assert lines[0] == "[2] bot: hi"
    assert lines[1].split() == ["[1]", "Go", "[2]", "Site", "(https://x.org)"]
    assert lines[2] == "  keyboard: <k1> A  <k2> B"
    edited = json.loads(json.dumps(message)) | {"text": "bye", "edited": True, "version": 2}
    assert render({"messages": [edited], "reply_keyboard": None, "version": 2}, state)[0] == (
        "[2] bot (edited): bye"
    )
    assert render({"messages": [], "reply_keyboard": None, "version": 3}, state) == [
        "  (message 2 deleted)"
    ]


async def test_forged_press_reaches_the_bot(emu: Emulator, bot: Bot) -> None:
    user = emu.user(1001)
    await user.send("/start")
    sent = await bot.send_message(1001, "vote", reply_markup=KEYBOARD)
    await bot.get_updates(offset=-1)
    stale = await user.press(sent.message_id, "poll:expired", forged=True)
    missing = await user.press(77, "poll:yes", forged=True)
    updates = await bot.get_updates(offset=-2)
    queries = [u.callback_query for u in updates if u.callback_query]
    assert [q.id for q in queries] == [stale, missing]
    assert queries[0].data == "poll:expired"
    assert queries[1].message is not None and queries[1].message.date == 0  # inaccessible
    for query_id in (stale, missing):
        await bot.answer_callback_query(query_id, text="This button has expired")
