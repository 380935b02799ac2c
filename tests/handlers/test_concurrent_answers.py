"""A tap's answer goes out while its handler goes on (bot.middlewares.retry,
ConcurrentAnswerMiddleware): the handler does not wait for it before editing the screen,
a second answer still fails as Telegram refuses it, and one that fails is logged."""

from __future__ import annotations

import logging

import pytest
from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.screens import show
from tests.handlers.conftest import Harness, in_front


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text="Go", callback_data=data)]])


@pytest.fixture
def seen(harness: Harness) -> list[str]:
    """What the handlers saw; their router stands in front of the bot's own."""
    router = Router(name="answers")
    seen: list[str] = []

    def answers() -> int:
        return sum(1 for r in harness.emulator.requests if r.method == "answerCallbackQuery")

    @router.callback_query(F.data == "a:edit")
    async def answer_then_edit(callback: CallbackQuery) -> None:
        before = answers()
        await callback.answer()
        seen.append(f"answers made before the edit: {answers() - before}")
        await show(callback, "Second screen", reply_markup=keyboard("a:edit2"))

    @router.callback_query(F.data == "a:twice")
    async def answer_twice(callback: CallbackQuery) -> None:
        await callback.answer()
        try:
            await callback.answer("again", show_alert=True)
        except TelegramBadRequest as error:
            seen.append(error.message)

    in_front(harness, router)
    return seen


async def test_the_screen_is_edited_without_waiting_for_the_answer(
    harness: Harness, seen: list[str],
) -> None:
    ann = harness.person(6101, "Ann", "en")
    await ann.send("/start")
    await harness.bot.send_message(ann.id, "First screen", reply_markup=keyboard("a:edit"))
    await ann.press("Go")
    # the answer was on its way, not made, when the handler went on to the edit …
    assert seen == ["answers made before the edit: 0"]
    assert ann.last == "Second screen"
    # … and made by the time the update's handling ended (the harness checks none is left)
    assert [r.ok for r in harness.emulator.requests if r.method == "answerCallbackQuery"] \
        == [True]


async def test_a_second_answer_waits_for_the_first_and_fails_as_before(
    harness: Harness, seen: list[str],
) -> None:
    ann = harness.person(6102, "Ann", "en")
    await ann.send("/start")
    await harness.bot.send_message(ann.id, "Twice", reply_markup=keyboard("a:twice"))
    await ann.press("Go")
    assert len(seen) == 1 and "query is too old" in seen[0]
    assert [r.params.get("text") for r in harness.emulator.requests
            if r.method == "answerCallbackQuery" and r.ok] == [None]


async def test_an_answer_that_fails_is_logged_and_the_screen_still_shown(
    harness: Harness, seen: list[str], caplog: pytest.LogCaptureFixture,
) -> None:
    ann = harness.person(6103, "Ann", "en")
    await ann.send("/start")
    await harness.bot.send_message(ann.id, "First screen", reply_markup=keyboard("a:edit"))
    harness.emulator.fail_next("answerCallbackQuery", 400, "Bad Request: something odd")
    with caplog.at_level(logging.WARNING):
        await ann.press("Go")
    assert ann.last == "Second screen"
    assert any("answerCallbackQuery made while its handler went on" in r.getMessage()
               and "something odd" in r.getMessage() for r in caplog.records)
    # the failed answer is not retried: the press is answered again below, by the test
    query = next(q for q in harness.emulator.state.callback_queries.values()
                 if q.user_id == ann.id)
    await harness.bot.answer_callback_query(query.id)
