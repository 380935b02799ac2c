"""bot.screens.show: the pressed message is edited where it can be, else a new one is sent."""

from __future__ import annotations

import pytest
from aiogram import F, Router
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.screens import send, show
from tests.handlers.conftest import Harness, in_front

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go",
                                                                       callback_data=data)]])


@pytest.fixture
def screens(harness: Harness) -> Router:
    router = Router(name="screens")

    @router.callback_query(F.data == "s:edit")
    async def edit(callback: CallbackQuery) -> None:
        await show(callback, "Second screen", reply_markup=keyboard("s:edit"))
        await callback.answer()

    @router.callback_query(F.data == "s:menu")
    async def menu(callback: CallbackQuery) -> None:
        await show(callback, "Main menu", reply_markup=ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="📚 Courses")]], resize_keyboard=True))
        await callback.answer()

    @router.callback_query(F.data == "s:new")
    async def new(callback: CallbackQuery) -> None:
        await send(callback, "Kept the old one")
        await callback.answer()

    in_front(harness, router)
    return router


async def test_a_text_message_is_edited_in_place_and_a_double_tap_costs_nothing(
    harness: Harness, screens: Router
) -> None:
    ann = harness.person(6001, "Ann", "en")
    await ann.send("/start")
    before = len(ann.texts)
    sent = await harness.bot.send_message(ann.id, "First screen", reply_markup=keyboard("s:edit"))
    await ann.press("Go")
    assert ann.texts[before:] == ["Second screen"]
    last = ann.handle.last_bot_message
    assert last is not None and last.message_id == sent.message_id and last.edited
    await ann.press("Go")  # the same screen again: "not modified", no error, no new message
    assert ann.texts[before:] == ["Second screen"]


async def test_an_unchanged_screen_is_not_sent_again(harness: Harness, screens: Router) -> None:
    """A double tap on a screen that would not change makes no edit call at all (Telegram
    would refuse it, "message is not modified"); a changed one is still edited."""
    ann = harness.person(6003, "Ann", "en")
    await ann.send("/start")
    await harness.bot.send_message(ann.id, "First screen", reply_markup=keyboard("s:edit"))
    await ann.press("Go")
    calls = len(harness.emulator.requests)
    await ann.press("Go")
    made = [r.method for r in harness.emulator.requests[calls:] if r.method != "getUpdates"]
    assert made == ["answerCallbackQuery"]
    assert [r for r in harness.emulator.requests if r.status != 200] == []
    await harness.bot.send_message(ann.id, "<b>Second screen</b>", reply_markup=keyboard("s:edit"))
    calls = len(harness.emulator.requests)
    await ann.press("Go")  # same words, but bold: an edit
    made = [r.method for r in harness.emulator.requests[calls:] if r.method != "getUpdates"]
    assert made == ["editMessageText", "answerCallbackQuery"]


async def test_a_photo_or_a_reply_keyboard_gets_a_new_message(
    harness: Harness, screens: Router
) -> None:
    ann = harness.person(6002, "Ann", "en")
    await ann.send("/start")
    before = len(ann.texts)
    await harness.bot.send_photo(ann.id, BufferedInputFile(PNG, "p.png"), caption="A photo",
                                 reply_markup=keyboard("s:edit"))
    await ann.press("Go")
    assert ann.texts[-1] == "Second screen" and len(ann.texts) == before + 2
    await harness.bot.send_message(ann.id, "Pick", reply_markup=keyboard("s:menu"))
    await ann.press("Go")
    assert ann.last == "Main menu" and ann.menu == ["📚 Courses"]
    await harness.bot.send_message(ann.id, "Keep me", reply_markup=keyboard("s:new"))
    await ann.press("Go")
    assert ann.texts[-2:] == ["Keep me", "Kept the old one"]
