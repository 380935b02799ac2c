"""A witness that routing early changes no choice: every message and button press a
handler test sends is also walked the way plain aiogram walks it (every router's own
filters but the routing gate, every handler in order), and the handler aiogram would
have run must be the one that ran. The harness installs it for every test in
tests/handlers, so a handler added tomorrow that routing hid would fail its own test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher, Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import TelegramObject

from bot.routing import ROUTED, is_gate

_SEEN = "routing_witness_seen"


async def plain_choice(router: Router, event_name: str, event: TelegramObject,
                       data: dict[str, Any]) -> HandlerObject | None:
    """The first handler whose filters pass, trying every router as aiogram does."""
    observer = router.observers[event_name]
    kwargs = {**data, "event_router": router}
    for root in observer._handler.filters or ():
        if is_gate(root):
            continue
        if not await root.call(event, **kwargs):
            return None
    for handler in observer.handlers:
        # HandlerObject.check itself: test_routing spies on the instances' checks
        passed, _ = await HandlerObject.check(handler, event, **{**kwargs, "handler": handler})
        if passed:
            return handler
    for sub in router.sub_routers:
        found = await plain_choice(sub, event_name, event, data)
        if found is not None:
            return found
    return None


class Witness(BaseMiddleware):
    """Outer middleware on the dispatcher's message and callback observers."""

    def __init__(self, dp: Dispatcher, event_name: str, failures: list[str]) -> None:
        self.dp = dp
        self.event_name = event_name
        self.failures = failures  # the dispatcher's error handler would swallow a raise

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        expected = None
        for router in self.dp.sub_routers:
            expected = await plain_choice(router, self.event_name, event, data)
            if expected is not None:
                break
        seen: list[HandlerObject] = []
        data[_SEEN] = seen
        try:
            return await handler(event, data)
        finally:
            ran = seen[0] if seen else None
            if ran is not expected:
                self.failures.append(
                    f"routing ran {_name(ran)} where aiogram would run {_name(expected)}")


class Recorder(BaseMiddleware):
    """Inner middleware: notes the handler that runs."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        seen = data.get(_SEEN)
        if seen is not None:
            seen.append(data["handler"])
        return await handler(event, data)


def watch(dp: Dispatcher) -> list[str]:
    """Install the witness on a dispatcher built by create_dispatcher; returns the list
    where it writes each update routed differently from plain aiogram."""
    failures: list[str] = []
    for name in ROUTED:
        dp.observers[name].outer_middleware(Witness(dp, name, failures))
        dp.observers[name].middleware(Recorder())
    return failures


def _name(handler: HandlerObject | None) -> str:
    if handler is None:
        return "nothing"
    return f"{handler.callback.__module__}.{handler.callback.__qualname__}"
