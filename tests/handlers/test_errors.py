"""One error router: a rule that says no is answered from bot/replies.py's table, in the
person's language, as an alert for a button and a message for a text."""

from __future__ import annotations

import pytest
from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.i18n import load_i18n
from bot.replies import REPLIES, reply_for
from services import volunteers as vol
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound
from tests.handlers.conftest import Harness, Person, in_front


@pytest.fixture
def refusing_router(harness: Harness) -> Router:
    router = Router(name="refusing")

    @router.callback_query(F.data == "test:full")
    async def full(callback: CallbackQuery) -> None:
        raise vol.ShiftUnavailable("full")

    @router.message(F.text == "a long title")
    async def too_long(message: Message) -> None:
        raise InvalidInput("title", "too_long", limit=60)

    @router.message(F.text == "boom")
    async def boom(message: Message) -> None:
        raise RuntimeError("a bug")

    in_front(harness, router)
    return router


async def onboarded(harness: Harness, tg_id: int, language: str) -> Person:
    person = harness.person(tg_id, "Ann", language)
    await person.send("/start")
    await person.press("✅ I agree" if language == "en" else "✅ 我同意")
    return person


async def test_a_refused_button_gets_the_tables_words_in_the_persons_language(
    harness: Harness, refusing_router: Router
) -> None:
    ann = await onboarded(harness, 5001, "en")
    assert await ann.forge("test:full") == "Sorry, this shift is full. Thank you for offering!"
    wang = await onboarded(harness, 5002, "zh")
    assert await wang.forge("test:full") == "抱歉，这个班次已满员。谢谢您的热心！"


async def test_a_refused_text_gets_a_message_with_the_limit(
    harness: Harness, refusing_router: Router
) -> None:
    ann = await onboarded(harness, 5003, "en")
    await ann.send("a long title")
    assert ann.last == "That is too long: at most 60 characters. Please send it again."


async def test_an_unexpected_error_still_gets_the_apology(
    harness: Harness, refusing_router: Router
) -> None:
    ann = await onboarded(harness, 5004, "en")
    await ann.send("boom")
    assert ann.last.startswith("Sorry, something went wrong on our side.")


def test_a_subclass_falls_back_to_its_parents_words() -> None:
    class Forged(NotFound):
        pass

    i18n = load_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert Forged not in REPLIES
        assert reply_for(Forged("x")) == "This button is out of date."
        assert reply_for(NotAllowed("x")) != reply_for(DomainError("x"))


def test_every_domain_error_of_the_services_has_words_of_its_own_or_a_parents() -> None:
    def subclasses(kind: type[DomainError]) -> set[type[DomainError]]:
        found = set(kind.__subclasses__())
        for sub in list(found):
            found |= subclasses(sub)
        return found

    generic = {DomainError}
    for kind in subclasses(DomainError):
        if not kind.__module__.startswith("services."):
            continue
        owner = next(k for k in kind.__mro__ if k in REPLIES)
        assert owner not in generic, f"{kind.__module__}.{kind.__name__} has only generic words"
