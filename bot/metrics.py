"""Prometheus figures for an operator: what came in, how long it took, what the bot
called and how Telegram answered, and how the outbox queue stands.

Counters and histograms live in prometheus-client's default registry, one set per
process (each replica is scraped on its own and Prometheus adds them up). The
queue figures are read from the database when /metrics is asked for.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services import outbox
from services.clock import Clock

UPDATES = Counter("bot_updates_total", "Updates handled, by type and outcome",
                  ["type", "outcome"])
UPDATE_SECONDS = Histogram(
    "bot_update_seconds", "Time to handle one update (all middlewares and the handler)",
    ["type"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
API_CALLS = Counter("bot_api_calls_total", "Bot API requests made, by method", ["method"])
API_ERRORS = Counter("bot_api_errors_total", "Bot API requests that failed, by method and code",
                     ["method", "code"])
UNREADABLE = Counter("bot_updates_unreadable_total",
                     "Updates skipped because they could not be parsed (logged with their id)")
OUTBOX_SENT = Counter("bot_outbox_sent_total", "Messages the outbox delivered")
RATE_LIMITED = Counter("bot_telegram_429_total", "Bot API answers 429 (too many requests)")
BLOCKED = Counter("bot_users_blocked_total", "Recipients found to have blocked the bot")
OUTBOX_DEPTH = Gauge("bot_outbox_queue_depth", "Outbox rows pending or being sent")
OUTBOX_OLDEST = Gauge("bot_outbox_oldest_due_seconds",
                      "How long the oldest due outbox row has waited")



class Tally:
    """A counter kept as a plain int where it is counted, read when /metrics is scraped:
    for what happens too often per update for prometheus' locked Counter (each handler
    tried, each SQL statement; issue 18's per-update figures in the bench)."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.count = 0


class _Tallies:
    def __init__(self, *tallies: Tally) -> None:
        self.tallies = tallies

    def collect(self) -> Any:
        for tally in self.tallies:
            family = CounterMetricFamily(tally.name, tally.documentation)
            family.add_metric([], tally.count)
            yield family


HANDLERS_TRIED = Tally("bot_handlers_tried", "Handlers whose filters an update was checked "
                       "against (routing early keeps this near one per update)")
DB_STATEMENTS = Tally("bot_db_statements", "SQL statements the bot's database engine executed")
REGISTRY.register(_Tallies(HANDLERS_TRIED, DB_STATEMENTS))

# Telegram's answers by aiogram's exception; the code is the label.
_CODES: tuple[tuple[type[TelegramAPIError], str], ...] = (
    (TelegramRetryAfter, "429"), (TelegramForbiddenError, "403"),
    (TelegramEntityTooLarge, "413"), (TelegramBadRequest, "400"), (TelegramNotFound, "404"),
    (TelegramConflictError, "409"), (TelegramUnauthorizedError, "401"),
    (TelegramServerError, "5xx"), (TelegramNetworkError, "network"),
)


def error_code(error: TelegramAPIError) -> str:
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return "other"


class UpdateMetricsMiddleware(BaseMiddleware):
    """Counts each update by type and outcome and times it (the outermost middleware)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if result is UNHANDLED else "handled"
            return result
        finally:
            UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
            UPDATES.labels(kind, outcome).inc()


class ApiMetricsMiddleware(BaseRequestMiddleware):
    """Counts the bot's Bot API calls, and their failures by Telegram's code."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        API_CALLS.labels(name).inc()
        try:
            return await make_request(bot, method)
        except TelegramAPIError as error:
            code = error_code(error)
            API_ERRORS.labels(name, code).inc()
            if code == "429":
                RATE_LIMITED.inc()
            raise


async def refresh_outbox_figures(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    async with sessionmaker() as session:
        figures = await outbox.backlog(session, now=clock.now())
    OUTBOX_DEPTH.set(figures.depth)
    OUTBOX_OLDEST.set(figures.oldest_due_seconds)


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
