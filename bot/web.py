"""The replica's HTTP server: Telegram's webhook, and /healthz, /readyz, /metrics.

In webhook mode Telegram (through nginx) posts each update to the path of
WEBHOOK_URL; aiogram's aiohttp integration checks the secret header (401 without
it, before anything is parsed) and feeds the dispatcher. The update is handled
inside the request, so a replica that dies mid-update leaves it unanswered and
Telegram sends it again. In polling mode the same server, without the webhook
route, listens on METRICS_PORT.

The answer to a pressed button (answerCallbackQuery) rides back in the HTTP response
when the handler ends soon enough (`InResponse`): one Bot API request fewer per tap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import metrics
from bot.config import Settings
from bot.factory import shared_redis, skip_unreadable
from bot.stopping import InHand
from services.clock import Clock

log = logging.getLogger(__name__)

# An update is a few kilobytes (a 4096-character text with its entities, a photo's
# sizes); anything past this is not from Telegram.
MAX_BODY = 1024 * 1024
PROBE_TIMEOUT = 3.0
# How long a button's answer waits for its handler to end, to ride in the response
# (WEBHOOK_ANSWER_HOLD_SECONDS); a handler still working after that (an export, a chart)
# gets it sent on its own, so the person's spinner stops about when it would have.
ANSWER_HOLD = 1.0

IN_RESPONSE = Counter("bot_api_in_response_total",
                      "Bot API calls given in the webhook's HTTP response instead of made, "
                      "by method (also counted in bot_api_calls_total)", ["method"])

Probe = Callable[[], Awaitable[None]]


def probes(engine: AsyncEngine, dispatcher: Dispatcher) -> dict[str, Probe]:
    """What /readyz asks: the database, and Redis when the bot uses it."""

    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    checks: dict[str, Probe] = {"database": database}
    redis = shared_redis(dispatcher.storage)
    if redis is not None:
        async def ping() -> None:
            await redis.ping()

        checks["redis"] = ping
    return checks


Later = tuple[AnswerCallbackQuery, NextRequestMiddlewareType[Any], Bot]


class InResponse:
    """The one call of an update's handling that may go back in the webhook's response:
    the answer to the button pressed in that update.

    Only answerCallbackQuery qualifies without reading the handlers: its result is only
    True, which the session gives at once, and nothing after it depends on it having
    reached Telegram. A sendMessage's result (the message id a conversation keeps to edit)
    and its errors (403, a bad entity) are read by the handlers, so those are made as
    calls. The answer is given back when the handler ends (`close`), and made as a call
    instead when the handler is still working after ANSWER_HOLD seconds, when a second
    answer follows it (in order: the first, then the second), when the handler returns a
    method of its own, or when Telegram's connection is gone. Telegram reports nothing
    about a method given in a response, so one that fails there (a query already expired)
    goes unseen; as a call it would have failed too, and the person sees the same.
    """

    def __init__(self, query_id: str, *, hold: float = ANSWER_HOLD) -> None:
        self.query_id = query_id
        self.hold = hold
        self.open = True
        self._later: Later | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._calls: set[asyncio.Task[None]] = set()

    def defer(self, method: AnswerCallbackQuery, make_request: NextRequestMiddlewareType[Any],
              bot: Bot) -> bool:
        """Keep `method` for the response; False: make it as a call."""
        if not self.open or self._later is not None or method.callback_query_id != self.query_id:
            return False
        self._later = (method, make_request, bot)
        self._timer = asyncio.get_running_loop().call_later(self.hold, self._too_slow)
        return True

    def _take(self) -> Later | None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        later, self._later = self._later, None
        return later

    def _too_slow(self) -> None:
        later = self._take()
        if later is not None:
            call = asyncio.create_task(self.call(later))
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)

    async def flush(self) -> None:
        """Make the kept answer as a call now (a second one is about to be made)."""
        later = self._take()
        if later is not None:
            await self.call(later)

    def close(self) -> Later | None:
        """The handler ended: no more keeping; the answer kept, if any, to respond with."""
        self.open = False
        return self._take()

    @staticmethod
    async def call(later: Later) -> None:
        """Make a kept answer as a call (the rest of the middlewares ran when it was kept)."""
        method, make_request, bot = later
        try:
            await make_request(bot, method)
        except TelegramAPIError as error:
            log.info("answerCallbackQuery made after its handler: %s", error.message)


_in_response: ContextVar[InResponse | None] = ContextVar("in_response", default=None)


class AnswerInResponse(BaseRequestMiddleware):
    """The bot session's innermost middleware: inside a webhook request, keeps the answer to
    the pressed button for the response (see InResponse); every other call goes out."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        reply = _in_response.get()
        if reply is not None and isinstance(method, AnswerCallbackQuery):
            if reply.defer(method, make_request, bot):
                return cast(Response[TelegramType], Response[bool](ok=True, result=True))
            await reply.flush()
        return await make_request(bot, method)


class ReadingRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler, answering 200 for an update it cannot parse: a 500 would
    make Telegram send the same update again and again, holding up everyone's behind it.
    The update is logged with its id and counted (bot_updates_unreadable_total).

    With `answer_in_response`, the answer to a pressed button goes back in the response
    (InResponse); the bot's session needs AnswerInResponse as its last middleware."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str | None,
                 answer_in_response: bool, hold: float = ANSWER_HOLD,
                 in_hand: InHand | None = None) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)
        self.answer_in_response = answer_in_response
        self.hold = hold
        self.in_hand = in_hand

    async def handle(self, request: web.Request) -> web.Response:
        if self.in_hand is not None and self.in_hand.stopping:
            # Stopping: nginx sends it to another replica (proxy_next_upstream), Telegram
            # posts it again later.
            return web.Response(status=503, text="stopping\n")
        return await super().handle(request)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        body = await request.json(loads=bot.session.json_loads)
        query = body.get("callback_query") if isinstance(body, dict) else None
        query_id = query.get("id") if isinstance(query, dict) else None
        reply = None
        if self.answer_in_response and isinstance(query_id, str):
            reply = InResponse(query_id, hold=self.hold)
        token = _in_response.set(reply)
        try:
            result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
                bot, body, **self.data)
        except ValidationError as error:
            skip_unreadable(body, error)
            return web.json_response({})
        except Exception:
            # A 500: Telegram sends the update again, but the answer made stands.
            later = reply.close() if reply is not None else None
            if later is not None:
                await InResponse.call(later)
            raise
        finally:
            _in_response.reset(token)
        later = reply.close() if reply is not None else None
        if later is not None:
            transport = request.transport
            if result is None and transport is not None and not transport.is_closing():
                result = later[0]
                IN_RESPONSE.labels(result.__api_method__).inc()
            else:
                await InResponse.call(later)
        return web.Response(body=self._build_response_writer(bot=bot, result=result))


def create_app(
    settings: Settings, *, dispatcher: Dispatcher, bot: Bot, checks: dict[str, Probe],
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, webhook: bool,
    in_hand: InHand | None = None,
) -> web.Application:
    """The aiohttp application; with `webhook`, it also takes Telegram's updates."""
    app = web.Application(client_max_size=MAX_BODY)

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_request: web.Request) -> web.Response:
        failed = []
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), PROBE_TIMEOUT)
            except Exception as error:
                failed.append(f"{name}: {type(error).__name__}")
        if failed:
            return web.Response(status=503, text="not ready: " + ", ".join(failed) + "\n")
        return web.Response(text="ready\n")

    async def metrics_page(_request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(metrics.refresh_outbox_figures(sessionmaker, clock),
                                   PROBE_TIMEOUT)
        except Exception:
            log.warning("metrics: could not read the outbox figures", exc_info=True)
        body, content_type = metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    if webhook:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        answer_in_response = settings.webhook_answer_in_response
        if answer_in_response:
            bot.session.middleware(AnswerInResponse())  # the innermost: after the metrics
        ReadingRequestHandler(dispatcher, bot, secret_token=secret,
                              answer_in_response=answer_in_response, in_hand=in_hand,
                              hold=settings.webhook_answer_hold_seconds,
                              ).register(app, path=settings.webhook_path)
        setup_application(app, dispatcher, bot=bot)
    return app


async def ensure_webhook(bot: Bot, dispatcher: Dispatcher, settings: Settings) -> bool:
    """Register the webhook unless Telegram already has it as we would set it (any
    replica may start first; the others then change nothing). True: it was set."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    allowed = sorted(dispatcher.resolve_used_update_types())
    info = await bot.get_webhook_info()
    # A secret cannot be read back: a webhook that answers 401 has another one.
    refused = "401" in (info.last_error_message or "")
    if (info.url == settings.webhook_url and sorted(info.allowed_updates or []) == allowed
            and info.max_connections == settings.webhook_max_connections and not refused):
        log.info("webhook already set to %s", settings.webhook_url)
        return False
    await bot.set_webhook(
        url=settings.webhook_url, secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=allowed, max_connections=settings.webhook_max_connections)
    log.info("webhook set to %s (updates: %s)", settings.webhook_url, ", ".join(allowed))
    return True


async def serve(app: web.Application, *, host: str, port: int,
                grace: float) -> web.AppRunner:
    """Start listening; `await runner.cleanup()` stops taking requests and waits up to
    `grace` seconds for those in hand."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=grace)
    await runner.setup()
    await web.TCPSite(runner, host=host, port=port).start()
    return runner
