"""Route early (bot/routing.py): every handler stays reachable by what it filters on, a
button of one feature is tried only against that feature's handlers, and an update
tries few handlers. (tests/handlers/witness.py checks, on every update any handler
test sends, that the handler that runs is the one plain aiogram would run.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import MenuButton
from bot.metrics import HANDLERS_TRIED
from bot.routing import ROUTED, LeanObserver, RouterGate, _OrFilter, _states, original, routers_in
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, onboard
from tests.test_callback_data import largest

PERSON = User(id=1, is_bot=False, first_name="Ann")
CHAT = Chat(id=1, type="private")
# The routers that may take anything (a catch-all, or a check of the person, not of
# the update); every feature router must be keyed, or it is tried for every update.
OPEN = {"handlers.gate", "handlers.fallback"}


def press(data: str) -> CallbackQuery:
    return CallbackQuery(id="1", from_user=PERSON, chat_instance="1", data=data)


def message(text: str) -> Message:
    return Message(message_id=1, date=datetime.now(UTC), chat=CHAT, from_user=PERSON, text=text)


def callback_filters(target: Any) -> Iterator[CallbackQueryFilter]:
    if isinstance(target, CallbackQueryFilter):
        yield target
    elif isinstance(target, _OrFilter):
        for part in target.targets:
            yield from callback_filters(part.callback)


def samples(event_name: str, handler: HandlerObject) -> list[tuple[TelegramObject, str | None]]:
    """Updates (with the person's state) that pass what a handler keys on, built from its
    filters themselves: real button data packed by its class, its states, its words."""
    filters = [original(f) for f in handler.filters or ()]
    states: list[str | None] = [None]
    for target in filters:
        found = _states(target)
        if found:
            states = sorted(found, key=str)
    found_any: list[tuple[TelegramObject, str | None]] = []
    for target in filters:
        if event_name == "callback_query":
            for each in callback_filters(target):
                data = largest(each.callback_data).pack()
                found_any += [(press(data), state) for state in states]
        elif isinstance(target, MenuButton):
            found_any += [(message(text), state) for text in target.texts for state in states]
        elif isinstance(target, Command):
            found_any += [(message(f"/{name} x"), state) for name in target.commands
                          if isinstance(name, str) for state in states]
    if not found_any:  # keyed on states alone, or open
        event = press("zz:1") if event_name == "callback_query" else message("hello")
        found_any = [(event, state) for state in states]
    return found_any


def chain(router: Router) -> Iterator[Router]:
    each: Router | None = router
    while each is not None:
        yield each
        each = each.parent_router


async def gates_pass(router: Router, event_name: str, event: TelegramObject,
                     state: str | None) -> bool:
    for each in chain(router):
        for root in each.observers[event_name]._handler.filters or ():
            if isinstance(root.callback, RouterGate) and not await root.callback(event, state):
                return False
    return True


def every_handler(dp: Dispatcher) -> Iterator[tuple[Router, str, HandlerObject]]:
    for router in routers_in(dp):
        for name in ROUTED:
            for handler in router.observers[name].handlers:
                yield router, name, handler


async def test_every_handler_is_reached_by_what_it_filters_on(harness: Harness) -> None:
    """Walks every handler of every router: a button of its class, a message in its
    state, its menu words or its command passes every router gate above it and is
    among the handlers its observer tries."""
    checked = 0
    for router, name, handler in every_handler(harness.dp):
        observer = router.observers[name]
        assert isinstance(observer, LeanObserver), router.name
        for event, state in samples(name, handler):
            where = f"{handler.callback.__qualname__} ({router.name}), {event!r:.100}, {state}"
            assert await gates_pass(router, name, event, state), f"a gate refuses {where}"
            assert handler in observer._for(event, state), f"not tried: {where}"
            checked += 1
    assert checked > 200


def test_only_catch_alls_are_open(harness: Harness) -> None:
    """A feature router whose handlers key on nothing would be tried for every update
    again: key it on its callback class, its states, its menu word or its command."""
    open_routers = set()
    for router in routers_in(harness.dp):
        if router is harness.dp or router.sub_routers:
            continue
        for name in ROUTED:
            observer = router.observers[name]
            if observer.handlers and not any(
                    isinstance(f.callback, RouterGate) for f in observer._handler.filters or ()):
                open_routers.add(router.name)
    assert open_routers == OPEN


class Tried:
    """Which routers' handlers an update was tried against (their filters checked)."""

    def __init__(self, dp: Dispatcher, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        for router, _name, handler in every_handler(dp):
            monkeypatch.setattr(handler, "check", self._spy(handler, router.name))

    def _spy(self, handler: HandlerObject, router: str) -> Any:
        check = handler.check

        async def spied(*args: Any, **kwargs: Any) -> Any:
            self.names.append(router)  # (another test may have wrapped the callback)
            return await check(*args, **kwargs)

        return spied

    def take(self) -> list[str]:
        names, self.names = self.names, []
        return names


async def test_a_button_of_one_feature_is_tried_only_against_that_feature(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_community(session, clock, "Sunny Court")
    ann = harness.person(5001, "Ann")
    await onboard(ann, "Sunny Court")
    tried = Tried(harness.dp, monkeypatch)

    await ann.tap("📚 Courses")
    assert set(tried.take()) <= {"handlers.gate", "handlers.courses.menu"}
    await ann.press("📖 Course menu")
    assert "Choose a category" in ann.last
    assert set(tried.take()) <= {"handlers.gate", "handlers.courses.menu"}
    await ann.tap("🙋 Volunteer")
    assert set(tried.take()) <= {"handlers.gate", "handlers.volunteers.home"}
    await ann.tap("⚙️ Settings")
    await ann.press(ann.handle.last_bot_message.button_labels[0])  # type: ignore[union-attr]
    assert set(tried.take()) <= {"handlers.gate", "handlers.settings"}
    await ann.forge("zz:1")  # no class has this prefix: only the catch-alls
    assert set(tried.take()) == {"handlers.gate", "handlers.fallback"}


async def test_an_update_tries_few_handlers(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bench's resident session (onboarding, every menu button, the course menu):
    at most 10 handlers tried per update, on average, from about 125."""
    await make_community(session, clock, "Sunny Court")
    tried = Tried(harness.dp, monkeypatch)
    before = HANDLERS_TRIED.count
    updates = 0
    for n in range(3):
        ann = harness.person(5100 + n, f"N{n}")
        await onboard(ann, "Sunny Court")
        for label in ("📚 Courses", "🙋 Volunteer", "💬 My voice", "⚙️ Settings", "❓ Help"):
            await ann.tap(label)
        await ann.tap("📚 Courses")
        await ann.press("📖 Course menu")
        updates += 3 + 5 + 2
    per_update = len(tried.take()) / updates
    print(f"handlers tried per update: {per_update:.1f}")
    assert per_update <= 10, per_update
    assert HANDLERS_TRIED.count - before == per_update * updates  # the bench's counter
