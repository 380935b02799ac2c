"""Webhook mode answers a pressed button inside the HTTP response (WEBHOOK_ANSWER_IN_RESPONSE):
one Bot API request fewer per tap, and the person sees exactly what they saw before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emulator import Emulator, UserHandle
from tests.e2e.steps import showing_log, step, stop_cleanly
from tests.e2e.test_broadcasts import wait_until
from tests.e2e.test_district import until_serving
from tests.e2e.test_webhook import free_port, webhook_env

pytestmark = pytest.mark.e2e

# Long enough for these handlers on two loaded cores (under load a handler has taken
# more than the default 1 s after answering, and its answer then rightly went as a call;
# tests/deploy/test_in_response.py tests the hold itself).
HOLD = "10"
# A press no button of ours could send (a number past 64 bits): the alert that the
# button is out of date, from ForgedButtonMiddleware.
FORGED = "x:99999999999999999999"


async def tap_through(user: UserHandle) -> list[tuple[str, ...]]:
    """Onboarding's first taps and a forged press; what the person saw, in order."""
    await step(user, user.send("/start"), "Privacy notice")
    await step(user, user.press_text("✅ I agree"), "No communities have been set up yet")
    last = user.last_bot_message
    assert last is not None
    await user.press(last.message_id, FORGED, forged=True)
    await wait_until(lambda: len(user.callback_answers) == 2, 20, "both presses answered")
    seen: list[tuple[str, ...]] = [("message", m.content) for m in user.bot_messages]
    seen += [("answer", a.text or "", str(a.show_alert)) for a in user.callback_answers]
    return seen


def answers(emulator: Emulator, user: UserHandle) -> list[bool]:
    """For each answerCallbackQuery to `user`'s presses: whether it came in a response."""
    queries = {q.id for q in emulator.state.callback_queries.values() if q.user_id == user.id}
    return [r.in_response for r in emulator.requests
            if r.method == "answerCallbackQuery" and r.params.get("callback_query_id") in queries]


@pytest.mark.parametrize("in_response", [True, False])
async def test_a_buttons_answer_rides_in_the_webhook_response(
    emulator: Emulator, start_bot: Callable[..., Any], in_response: bool
) -> None:
    port = free_port()
    bot = await start_bot(**webhook_env(
        port, WEBHOOK_ANSWER_IN_RESPONSE="true" if in_response else "false",
        WEBHOOK_ANSWER_HOLD_SECONDS=HOLD))
    async with showing_log(bot):
        await until_serving(bot, port)
        ann = emulator.user(3101, "Ann", language_code="en")
        seen = await tap_through(ann)
    # Each press answered once, in the response (no request of its own) or as a call.
    assert answers(emulator, ann) == [in_response, in_response]
    assert all(r.ok for r in emulator.requests if r.method == "answerCallbackQuery")
    assert seen[-2:] == [("answer", "", "False"),
                         ("answer", "This button is out of date. Please use the menu below.",
                          "True")]
    await stop_cleanly(bot, emulator)


async def test_what_a_person_sees_is_the_same_with_answers_in_the_response_or_not(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    seen: dict[bool, list[tuple[str, ...]]] = {}
    calls: dict[bool, int] = {}
    for n, in_response in enumerate((False, True)):
        port = free_port()
        bot = await start_bot(**webhook_env(
            port, WEBHOOK_ANSWER_IN_RESPONSE="true" if in_response else "false",
            WEBHOOK_ANSWER_HOLD_SECONDS=HOLD))
        async with showing_log(bot):
            await until_serving(bot, port)
            before = sum(not r.in_response for r in emulator.requests)
            seen[in_response] = await tap_through(
                emulator.user(3200 + n, "Bo", language_code="en"))
            calls[in_response] = sum(not r.in_response for r in emulator.requests) - before
        await stop_cleanly(bot, emulator)
    assert seen[True] == seen[False]
    # Two presses: two requests fewer reached the Bot API.
    assert calls[False] - calls[True] == 2, calls
