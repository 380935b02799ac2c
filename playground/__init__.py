"""The playground: try the whole bot in a browser, with no Telegram account.

With no BOT_TOKEN, `python -m bot` calls `prepare_playground` before starting its emulator:
an empty database gets the demo district (`demo.py`), the demo people become emulator
users, and the emulator's app serves the chat page (`web.py`, `static/`) at its root.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from emulator import Emulator


async def prepare_playground(emulator: Emulator, engine: AsyncEngine,
                             settings: Settings) -> None:
    """Seed an empty database, register the demo people and add the page's routes.

    Call before `emulator.start()` (routes cannot be added to a running app)."""
    from models.db import create_sessionmaker
    from playground.demo import reset_demo, seed_demo
    from playground.web import add_playground_routes, register_people
    from services.clock import SystemClock

    if settings.bot_token is not None:
        raise RuntimeError("the playground never runs with a BOT_TOKEN")
    sessionmaker = create_sessionmaker(engine)
    # The bot's OffsetClock has not moved yet: the wall clock is its time now.
    await seed_demo(sessionmaker, SystemClock(), settings.timezone)
    register_people(emulator)

    async def reset() -> None:
        await reset_demo(sessionmaker, SystemClock(), settings.timezone)

    add_playground_routes(emulator.app, emulator, reset)
