"""`python -m bot`: run the bot with long polling.

With no BOT_TOKEN it starts the local Bot API emulator in this process and
talks to it, so anyone can try the bot without Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Callable

from pydantic import ValidationError

from bot.config import Settings, describe_error

log = logging.getLogger("bot")


async def run(settings: Settings) -> None:
    """Migrate, connect, start the background work, poll until stopped."""
    from bot.config import dev_clock_enabled
    from bot.factory import create_bot, create_dispatcher, set_commands
    from bot.keyboards.outbox import OUTBOX_KEYBOARDS
    from models.db import create_engine, create_sessionmaker, migrate
    from scheduler import start_background
    from scheduler.broadcasts import add_broadcast_progress
    from scheduler.jobs import add_sweeps
    from services.chart_fonts import check_at_start
    from services.clock import Clock, OffsetClock, SystemClock

    engine = create_engine(settings.database_url)
    await migrate(engine)
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
    background = None
    try:
        me = await bot.get_me()
        await set_commands(bot, settings)
        background = await start_background(settings, bot=sender_bot,
                                            sessionmaker=sessionmaker, clock=clock)
        notify = background.sender.kick
        add_sweeps(background.scheduler, sessionmaker=sessionmaker, clock=clock, notify=notify,
                   keyboards=OUTBOX_KEYBOARDS, seconds=settings.sweep_seconds)
        add_broadcast_progress(background.scheduler, bot=bot, sessionmaker=sessionmaker,
                               clock=clock, settings=settings)
        dp = create_dispatcher(settings, sessionmaker=sessionmaker, clock=clock,
                               outbox_notify=notify)
        log.info("Bot @%s is running (long polling). Press Ctrl+C to stop.", me.username)
        # What start-up built (modules, routers, models) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise
        # walk it all and pause the bot each time.
        gc.collect()
        gc.freeze()
        try:
            await dp.start_polling(bot, handle_signals=True,
                                   tasks_concurrency_limit=settings.update_concurrency)
        finally:
            await dp.storage.close()
    finally:
        fonts.cancel()
        if background is not None:
            await background.stop()
        await bot.session.close()
        await sender_bot.session.close()
        if emulator is not None:
            await emulator.stop()
        await engine.dispose()


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as error:
        print(describe_error(error), file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
