"""bot/web.py's answers in the webhook response, for handlers the bot's own do not cover:
one that is still working after the hold, one that fails, one that answers twice. A real
aiohttp server on 127.0.0.1 takes the emulator's webhook posts, with a tiny router."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery
from aiohttp import web

from bot.web import AnswerInResponse, ReadingRequestHandler
from emulator import Emulator, UserHandle
from tests.e2e.test_broadcasts import wait_until
from tests.e2e.test_webhook import free_port

SECRET = "in-response"


@dataclass
class Hook:
    emulator: Emulator
    router: Router

    def user(self, user_id: int) -> UserHandle:
        return self.emulator.user(user_id, "Ann", language_code="en")

    def answered(self, user: UserHandle) -> list[tuple[str | None, bool]]:
        """(text, came in a response) of each answerCallbackQuery the emulator applied."""
        queries = {q.id for q in self.emulator.state.callback_queries.values()
                   if q.user_id == user.id}
        return [(r.params.get("text"), r.in_response) for r in self.emulator.requests
                if r.method == "answerCallbackQuery" and r.ok
                and r.params.get("callback_query_id") in queries]


@pytest.fixture
async def hook(request: pytest.FixtureRequest) -> AsyncIterator[Hook]:
    """The webhook, holding each response `request.param` seconds (default 0.05) for an
    answer to put in it."""
    emulator = Emulator()
    await emulator.start()
    router = Router()
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot(emulator.token, session=AiohttpSession(
        api=TelegramAPIServer.from_base(emulator.base_url)))
    bot.session.middleware(AnswerInResponse())
    app = web.Application()
    ReadingRequestHandler(dispatcher, bot, secret_token=SECRET, answer_in_response=True,
                          hold=getattr(request, "param", 0.05)).register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token=SECRET)
    try:
        yield Hook(emulator, router)
    finally:
        await runner.cleanup()
        await bot.session.close()
        await emulator.stop()


Handler = Callable[[CallbackQuery], Awaitable[None]]


# A long hold: the first update of a process (building aiogram's types on first use) or a
# garbage collection in a loaded suite can outlast 0.05 s, and the answer is then a call.
@pytest.mark.parametrize("hook", [5.0], indirect=True)
async def test_a_quick_handlers_answer_comes_in_the_response(hook: Hook) -> None:
    @hook.router.callback_query(F.data == "go")
    async def quick(callback: CallbackQuery) -> None:
        await callback.answer("done")

    ann = hook.user(4001)
    await ann.press(1, "go", forged=True)
    await wait_until(lambda: bool(ann.callback_answers), 10, "the answer")
    assert hook.answered(ann) == [("done", True)]


async def test_a_handler_still_working_after_the_hold_has_its_answer_sent_at_once(
    hook: Hook,
) -> None:
    """The person's spinner stops when the handler answers, not when it ends: the handler
    here waits until the answer has reached the emulator, so holding it would never end."""
    reached = asyncio.Event()

    @hook.router.callback_query(F.data == "slow")
    async def slow(callback: CallbackQuery) -> None:
        await callback.answer("working on it")
        await wait_until(lambda: bool(ann.callback_answers), 10, "the answer, mid-handler")
        reached.set()

    ann = hook.user(4002)
    await ann.press(1, "slow", forged=True)
    await asyncio.wait_for(reached.wait(), 10)
    assert hook.answered(ann) == [("working on it", False)]


async def test_a_handler_that_fails_after_answering_still_answers(hook: Hook) -> None:
    """A 500: the emulator (as Telegram) posts the update again; the answer made stands."""
    tries = 0

    @hook.router.callback_query(F.data == "boom")
    async def boom(callback: CallbackQuery) -> None:
        nonlocal tries
        tries += 1
        if tries == 1:
            await callback.answer("first try")
            raise RuntimeError("a bug")

    ann = hook.user(4003)
    await ann.press(1, "boom", forged=True)
    await wait_until(lambda: tries >= 2, 10, "the update posted again")
    await wait_until(lambda: bool(ann.callback_answers), 10, "the answer")
    assert hook.answered(ann) == [("first try", False)]


async def test_a_second_answer_goes_after_the_first_as_calls(hook: Hook) -> None:
    """Telegram takes one answer per press: the first is made, then the second is tried
    and refused, as without answers in the response."""
    refused: list[str] = []

    @hook.router.callback_query(F.data == "twice")
    async def twice(callback: CallbackQuery) -> None:
        await callback.answer("one")
        try:
            await callback.answer("two")
        except TelegramBadRequest as error:
            refused.append(error.message)

    ann = hook.user(4004)
    await ann.press(1, "twice", forged=True)
    await wait_until(lambda: bool(ann.callback_answers), 10, "the answer")
    await wait_until(lambda: bool(refused), 10, "the second refused")
    assert hook.answered(ann) == [("one", False)]
    assert [a.text for a in ann.callback_answers] == ["one"]
