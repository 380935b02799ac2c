"""`python -m playground reset`: wipe the playground's database and seed the demo again.

Uses DATABASE_URL like the bot. Refuses to run when a BOT_TOKEN is set: that database
belongs to a real bot. Stop `make run` first; the next start shows the fresh demo.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from bot.config import Settings, describe_error


async def reset(settings: Settings) -> None:
    from models.db import create_engine, create_sessionmaker, migrate
    from playground.demo import reset_demo
    from services.clock import SystemClock

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        await reset_demo(create_sessionmaker(engine), SystemClock(), settings.timezone)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground",
                                     description="The playground's demo data.")
    parser.add_argument("command", choices=["reset"],
                        help="reset: delete everything in DATABASE_URL and seed the demo")
    parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(describe_error(error), file=sys.stderr)
        return 2
    if settings.bot_token is not None:
        print("BOT_TOKEN is set: refusing to wipe a real bot's database.", file=sys.stderr)
        return 2
    asyncio.run(reset(settings))
    print(f"Demo data reset in {settings.database_url}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
