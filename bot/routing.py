"""Route early: an update is tried only against the handlers that could take it.

aiogram tries an update against every handler of every router in order until one
matches: a button press went through ~125 handlers in 21 routers, each unpacking its
callback data with pydantic. Here each handler's filters are read once, at start-up,
for what they key on:

- a button: its callback-data class's prefix (`XCb.filter(...)`, also inside `or_f`);
- a conversation: its FSM states (`SomeStates.step`, a `StatesGroup`, `StateFilter`);
- a message: the main-menu words (`MenuButton`) or a command (`Command`, `CommandStart`).

Every filter a handler has must pass for it to run, so an update that fails the key of
a handler could never reach it: a handler keyed on what it filters on is skipped
without being tried, and a router none of whose handlers could take the update is
skipped whole (its router-level filter). A handler with no filter understood here (a
lambda, `F.data == ...`, no filter at all) is "open": it is tried for everything, as
before. Nothing is listed by hand, so a handler added tomorrow is keyed by the same
reading; `tests/handlers/test_routing.py` walks every handler and proves it is still
reached by what it filters on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from inspect import isclass
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.filters.logic import _OrFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.filters import MenuButton
from bot.metrics import HANDLERS_TRIED

ROUTED = ("message", "callback_query")  # the observers routed here; others as aiogram does


@dataclass
class Key:
    """What can reach a handler (or a router: the union of its handlers').

    An event reaches it if it matches any one part: a callback prefix (with the states
    the handlers of that prefix wait in, None for any), a state, a menu word or a command.
    `open` means anything reaches it (a filter not understood, or none).
    """

    prefixes: dict[tuple[str, str], frozenset[str | None] | None] = field(default_factory=dict)
    states: set[str | None] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)  # casefolded names; "" any command
    command_prefixes: set[str] = field(default_factory=set)
    open: bool = False

    def add(self, other: Key) -> None:
        self.open |= other.open
        for prefix, states in other.prefixes.items():
            mine = self.prefixes.get(prefix, frozenset())
            self.prefixes[prefix] = None if mine is None or states is None else mine | states
        self.states |= other.states
        self.texts |= other.texts
        self.commands |= other.commands
        self.command_prefixes |= other.command_prefixes

    def reaches(self, event: TelegramObject, raw_state: str | None) -> bool:
        """Whether the event could pass the filters this key was read from."""
        if self.open or raw_state in self.states:
            return True
        if isinstance(event, CallbackQuery):
            data = event.data or ""
            for (separator, prefix), states in self.prefixes.items():
                if data.partition(separator)[0] == prefix and (
                        states is None or raw_state in states):
                    return True
            return False
        if isinstance(event, Message):
            if event.text is not None and event.text in self.texts:
                return True
            return self._command(event.text or event.caption) in self.commands
        return False

    def _command(self, text: str | None) -> str | None:
        if not text or text[0] not in self.command_prefixes:
            return None
        if "" in self.commands:
            return ""
        return text.split(maxsplit=1)[0][1:].partition("@")[0].casefold()

    @property
    def empty(self) -> bool:
        return not (self.open or self.prefixes or self.states or self.texts or self.commands)


def _states(target: Any) -> set[str | None] | None:
    """The raw states a state filter lets through; None for any (or not a state filter)."""
    if isinstance(target, State):
        return None if target.state == "*" else {target.state}
    if isinstance(target, StatesGroup) or (isclass(target) and issubclass(target, StatesGroup)):
        group = target if isclass(target) else type(target)
        return set(group.__all_states_names__)
    if isinstance(target, StateFilter):
        found: set[str | None] = set()
        for allowed in target.states:
            if allowed is None or isinstance(allowed, str):
                if allowed == "*":
                    return None
                found.add(allowed)
            else:
                states = _states(allowed)
                if states is None:
                    return None
                found |= states
        return found
    return None


def _prefixes(target: Any) -> set[tuple[str, str]] | None:
    """The (separator, prefix) pairs a callback filter lets through, or None."""
    if isinstance(target, CallbackQueryFilter):
        kind = target.callback_data
        return {(kind.__separator__, kind.__prefix__)}
    if isinstance(target, _OrFilter):
        found: set[tuple[str, str]] = set()
        for part in target.targets:
            prefixes = _prefixes(part.callback)
            if prefixes is None:
                return None
            found |= prefixes
        return found
    return None


def handler_key(event_name: str, handler: HandlerObject) -> Key:
    """What can reach one handler, read from its filters (open if none is understood)."""
    filters = [original(f) for f in handler.filters or ()]
    states: set[str | None] | None = None
    for target in filters:
        if (found := _states(target)) is not None:
            states = found if states is None else states & found
    if event_name == "callback_query":
        prefixes = next((p for t in filters if (p := _prefixes(t)) is not None), None)
        if prefixes is not None:
            frozen = None if states is None else frozenset(states)
            return Key(prefixes=dict.fromkeys(prefixes, frozen))
    if states is not None:
        return Key(states=states)
    if event_name == "message":
        for target in filters:
            if isinstance(target, MenuButton):
                return Key(texts=set(target.texts))
        for target in filters:
            if isinstance(target, Command):
                names = {"" if isinstance(c, re.Pattern) else c.casefold()
                         for c in target.commands}
                return Key(commands=names, command_prefixes=set(target.prefix))
    return Key(open=True)


def original(target: FilterObject) -> Any:
    """The filter as the handler module wrote it (bot.factory wraps sync ones to run
    inline, keeping the original as `__wrapped__`)."""
    return getattr(target.callback, "__wrapped__", target.callback)


def routers_in(router: Router) -> Iterator[Router]:
    """The router and every router under it, depth first, in the order they are tried."""
    yield router
    for sub in router.sub_routers:
        yield from routers_in(sub)


class RouterGate(Filter):
    """A router's router-level filter: the union of what can reach its handlers."""

    def __init__(self, key: Key) -> None:
        self.key = key

    async def __call__(self, event: TelegramObject, raw_state: str | None = None) -> bool:
        return self.key.reaches(event, raw_state)


class LeanObserver(TelegramEventObserver):
    """An observer that tries only the handlers whose key the event matches, in order.

    The candidates for one kind of event (its callback prefix and state, or its
    state, menu word and command) are worked out once and remembered.
    """

    keys: list[Key]
    candidates: dict[tuple[Any, ...], tuple[HandlerObject, ...]]
    prefixes: frozenset[tuple[str, str]]
    separators: frozenset[str]
    texts: frozenset[str]
    commands: frozenset[str]
    command_prefixes: frozenset[str]

    def route(self) -> None:
        self.keys = [handler_key(self.event_name, h) for h in self.handlers]
        self.candidates = {}
        whole = Key()
        for key in self.keys:
            whole.add(key)
        self.prefixes = frozenset(whole.prefixes)
        self.separators = frozenset(separator for separator, _ in whole.prefixes)
        self.texts = frozenset(whole.texts)
        self.commands = frozenset(whole.commands)
        self.command_prefixes = frozenset(whole.command_prefixes)

    def _probe(self, event: TelegramObject, raw_state: str | None) -> tuple[Any, ...] | None:
        """All that the keys can tell apart about an event: a bounded set of values."""
        if isinstance(event, CallbackQuery):
            data = event.data or ""
            heads = frozenset((s, data.partition(s)[0]) for s in self.separators)
            return raw_state, heads & self.prefixes
        if isinstance(event, Message):
            text = event.text if event.text in self.texts else None
            said = event.text or event.caption
            command = None
            if said and said[0] in self.command_prefixes:
                name = said.split(maxsplit=1)[0][1:].partition("@")[0].casefold()
                command = said[0], (name if name in self.commands else None)
            return raw_state, text, command
        return None

    def _for(self, event: TelegramObject, raw_state: str | None) -> tuple[HandlerObject, ...]:
        probe = self._probe(event, raw_state)
        if probe is None:
            return tuple(self.handlers)
        found = self.candidates.get(probe)
        if found is None:
            found = self.candidates[probe] = tuple(
                h for h, k in zip(self.handlers, self.keys, strict=True)
                if k.reaches(event, raw_state))
        return found

    async def trigger(self, event: TelegramObject, **kwargs: Any) -> Any:
        for handler in self._for(event, kwargs.get("raw_state")):
            HANDLERS_TRIED.count += 1
            kwargs["handler"] = handler
            result, data = await handler.check(event, **kwargs)
            if result:
                kwargs.update(data)
                try:
                    wrapped_inner = self.outer_middleware.wrap_middlewares(
                        self._resolve_middlewares(), handler.call)
                    return await wrapped_inner(event, kwargs)
                except SkipHandler:
                    continue
        return UNHANDLED


class LeanRouter(Router):
    """A router that skips the per-router middleware wrap when it has no outer middleware.

    aiogram wraps the (empty) chain of a router's outer middlewares anew for every
    update at every router it passes (`functools.wraps` and a partial each time); ours
    are all on the dispatcher's update observer, once.
    """

    async def propagate_event(self, update_type: str, event: TelegramObject,
                              **kwargs: Any) -> Any:
        observer = self.observers.get(update_type)
        if observer is None or observer.outer_middleware:
            return await super().propagate_event(update_type, event, **kwargs)
        kwargs["event_router"] = self
        return await self._propagate_event(observer=observer, update_type=update_type,
                                           event=event, **kwargs)


def route_early(top: Router) -> None:
    """Give every router under `top` its router-level filter, and its observers the
    lean trigger. Call after every router is included; safe to call again (the
    tests build many dispatchers over the same routers)."""
    for router in routers_in(top):
        if router is top:
            continue
        if type(router) is Router:
            router.__class__ = LeanRouter  # same fields; only propagation changes
        for name in ROUTED:
            observer = router.observers[name]
            if type(observer) is TelegramEventObserver:
                observer.__class__ = LeanObserver
            if isinstance(observer, LeanObserver):
                observer.route()
            root = observer._handler  # aiogram keeps router-level filters here
            root.filters = [f for f in root.filters or () if not is_gate(f)]
            key = router_key(router, name)
            if not key.open:
                observer.filter(RouterGate(key))


def router_key(router: Router, event_name: str) -> Key:
    """What can reach any handler of this router or of the routers under it."""
    key = Key()
    for each in routers_in(router):
        for handler in each.observers[event_name].handlers:
            key.add(handler_key(event_name, handler))
    return key


def is_gate(target: FilterObject) -> bool:
    return isinstance(target.callback, RouterGate)
