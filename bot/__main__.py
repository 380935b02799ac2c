"""`python -m bot`: run the bot, with long polling or, when WEBHOOK_URL is set, webhooks.

With no BOT_TOKEN it starts the local Bot API emulator in this process and
talks to it, so anyone can try the bot without Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable

from aiogram import Bot, Dispatcher
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings, describe_error
from bot.logs import setup_logging
from bot.stopping import InHand
from services.clock import Clock

log = logging.getLogger("bot")


async def run(settings: Settings) -> None:
    """Migrate, connect, start the background work, take updates until stopped."""
    from bot.config import dev_clock_enabled
    from bot.factory import create_bot, create_dispatcher, set_commands
    from bot.keyboards.outbox import OUTBOX_KEYBOARDS
    from models.db import create_engine, create_sessionmaker, migrate
    from scheduler import Background, start_background
    from scheduler.broadcasts import add_broadcast_progress
    from scheduler.jobs import add_sweeps
    from scheduler.leader import Leadership
    from services.chart_fonts import check_at_start
    from services.clock import OffsetClock, SystemClock

    engine = create_engine(settings.database_url)
    await migrate(engine)  # on PostgreSQL under a lock: one replica migrates, others wait
    # Charts' Chinese font, looked for (and matplotlib's font list rebuilt if a font came
    # after it) in a child process while the bot starts; none found is a WARNING.
    fonts = asyncio.create_task(check_at_start())
    emulator = None
    if settings.bot_token is None:
        from emulator import Emulator
        from playground import prepare_playground

        emulator = Emulator()
        await prepare_playground(emulator, engine, settings)  # demo data and the chat page
        await emulator.start(port=settings.emulator_port)
        token, api_url = emulator.token, emulator.base_url
        log.warning(
            "No BOT_TOKEN: running against the local Bot API emulator at %s.\n"
            "  Try the bot in your browser:  %s/\n"
            "  Chat with the bot in this terminal:  .venv/bin/python -m emulator.console "
            "--url %s --user 1001 --name Ann --lang en\n"
            "  or drive it over HTTP: see README.md, 'Trying it without Telegram'.",
            api_url, api_url, api_url,
        )
    else:
        token, api_url = settings.bot_token.get_secret_value(), None

    clock: Clock = OffsetClock() if dev_clock_enabled(settings) else SystemClock()
    sessionmaker = create_sessionmaker(engine)
    bot = create_bot(settings, token=token, api_url=api_url)
    sender_bot = create_bot(settings, token=token, api_url=api_url, interactive=False)

    async def background_work() -> Background:
        background = await start_background(settings, bot=sender_bot,
                                            sessionmaker=sessionmaker, clock=clock)
        add_sweeps(background.scheduler, sessionmaker=sessionmaker, clock=clock,
                   notify=background.sender.kick, keyboards=OUTBOX_KEYBOARDS,
                   seconds=settings.sweep_seconds)
        add_broadcast_progress(background.scheduler, bot=bot, sessionmaker=sessionmaker,
                               clock=clock, settings=settings, notify=background.sender.kick)
        return background

    # Only one replica runs the outbox sender and the sweeps (scheduler/leader.py).
    leadership = Leadership(engine, background_work)
    dp = create_dispatcher(settings, sessionmaker=sessionmaker, clock=clock,
                           outbox_notify=leadership.kick)
    in_hand = InHand()  # what a SIGTERM lets finish (bot/stopping.py)
    dp.update.outer_middleware(in_hand)
    try:
        me = await bot.get_me()
        await set_commands(bot, settings)
        await leadership.begin()
        # What start-up built (modules, routers, models) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise
        # walk it all and pause the bot each time.
        gc.collect()
        gc.freeze()
        if settings.webhook_url is not None:
            await take_webhooks(settings, bot=bot, dp=dp, engine=engine, in_hand=in_hand,
                                sessionmaker=sessionmaker, clock=clock, username=me.username)
        else:
            await take_polling(settings, bot=bot, dp=dp, engine=engine, in_hand=in_hand,
                               sessionmaker=sessionmaker, clock=clock, username=me.username)
    finally:
        fonts.cancel()
        await leadership.stop()  # the sender gives back the rows it held
        await dp.storage.close()
        await bot.session.close()
        await sender_bot.session.close()
        if emulator is not None:
            await emulator.stop()
        await engine.dispose()
        log.info("Bot stopped.")


async def take_webhooks(
    settings: Settings, *, bot: Bot, dp: Dispatcher, engine: AsyncEngine, in_hand: InHand,
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, username: str | None,
) -> None:
    """Serve Telegram's webhook until SIGTERM or SIGINT, then finish the updates in hand:
    from the signal on, an update posted gets 503 (nginx tries another replica, Telegram
    posts it again), the listening socket closes, and those in hand have up to
    STOP_GRACE_SECONDS; only then does the server close (and with it the bot's session)."""
    from bot.web import create_app, ensure_webhook, probes, serve

    app = create_app(settings, dispatcher=dp, bot=bot, checks=probes(engine, dp),
                     sessionmaker=sessionmaker, clock=clock, webhook=True, in_hand=in_hand)
    # The updates in hand get STOP_GRACE_SECONDS from InHand.finish below; the server's
    # own close then only waits for their responses to be written (and cancels one cut
    # short), so the whole stop stays within the service manager's 30 s.
    runner = await serve(app, host=settings.webhook_host, port=settings.webhook_port,
                         grace=2.0)
    try:
        await ensure_webhook(bot, dp, settings)
        log.info("Bot @%s is running (webhook, listening on %s:%d%s).", username,
                 settings.webhook_host, settings.webhook_port, settings.webhook_path)
        await until_stopped()
        log.info("Stopping: no new updates; finishing those in hand (at most %g s).",
                 settings.stop_grace_seconds)
        in_hand.stopping = True
        for site in list(runner.sites):
            await site.stop()
        await in_hand.finish(settings.stop_grace_seconds, again=True)
    finally:
        await runner.cleanup()


async def take_polling(
    settings: Settings, *, bot: Bot, dp: Dispatcher, engine: AsyncEngine, in_hand: InHand,
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, username: str | None,
) -> None:
    """Long polling until SIGTERM or SIGINT, then finish the updates in hand (aiogram stops
    polling but leaves their tasks running, and the bot's session must outlive them) for
    up to STOP_GRACE_SECONDS; /healthz, /readyz and /metrics on METRICS_PORT when set."""
    from bot.web import create_app, probes, serve

    runner = None
    if settings.metrics_port is not None:
        app = create_app(settings, dispatcher=dp, bot=bot, checks=probes(engine, dp),
                         sessionmaker=sessionmaker, clock=clock, webhook=False)
        runner = await serve(app, host=settings.webhook_host, port=settings.metrics_port,
                             grace=1.0)
    log.info("Bot @%s is running (long polling). Press Ctrl+C to stop.", username)
    try:
        await dp.start_polling(bot, handle_signals=True, close_bot_session=False,
                               tasks_concurrency_limit=settings.update_concurrency)
        await in_hand.finish(settings.stop_grace_seconds, again=False)  # logs if any
    finally:
        if runner is not None:
            await runner.cleanup()


async def until_stopped() -> None:
    """Return on the first SIGTERM (a service manager stopping us) or SIGINT (Ctrl+C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as error:
        print(describe_error(error), file=sys.stderr)
        sys.exit(2)
    setup_logging(settings.log_level, settings.log_format)
    with (contextlib.suppress(KeyboardInterrupt),
          asyncio.Runner(loop_factory=loop_factory()) as runner):
        runner.run(run(settings))


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux and macOS): about 4 % less CPU per message
    the outbox sends (1.00 against 1.03 ms, BENCHMARKS.md); else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    main()
