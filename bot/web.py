"""The replica's HTTP server: Telegram's webhook, and /healthz, /readyz, /metrics.

In webhook mode Telegram (through nginx) posts each update to the path of
WEBHOOK_URL; aiogram's aiohttp integration checks the secret header (401 without
it, before anything is parsed) and feeds the dispatcher. The update is handled
inside the request, so a replica that dies mid-update leaves it unanswered and
Telegram sends it again. In polling mode the same server, without the webhook
route, listens on METRICS_PORT.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import metrics
from bot.config import Settings
from bot.factory import shared_redis, skip_unreadable
from services.clock import Clock

log = logging.getLogger(__name__)

# An update is a few kilobytes (a 4096-character text with its entities, a photo's
# sizes); anything past this is not from Telegram.
MAX_BODY = 1024 * 1024
PROBE_TIMEOUT = 3.0

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


class ReadingRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler, answering 200 for an update it cannot parse: a 500 would
    make Telegram send the same update again and again, holding up everyone's behind it.
    The update is logged with its id and counted (bot_updates_unreadable_total)."""

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            return await super()._handle_request(bot, request)
        except ValidationError as error:
            try:
                body = await request.json(loads=bot.session.json_loads)
            except ValueError:
                body = None
            skip_unreadable(body, error)
            return web.json_response({})


def create_app(
    settings: Settings, *, dispatcher: Dispatcher, bot: Bot, checks: dict[str, Probe],
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, webhook: bool,
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
        ReadingRequestHandler(dispatcher, bot, handle_in_background=False,
                              secret_token=secret).register(app, path=settings.webhook_path)
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
