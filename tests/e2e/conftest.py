"""The real `python -m bot` process against the emulator owned by the test."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from emulator import Emulator
from models.db import ROOT

ADMIN_TG_ID = 900


class BotProcess:
    """A running bot; its output is kept for the test's failure report."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a machine dies."""
        if self.process.returncode is None:
            self.process.kill()

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode or 0


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    # The emulator runs in the test process and times every send as it handles it. A full
    # collection of what earlier tests left in this process pauses its loop long enough
    # to bunch a broadcast's arrivals past the flood limits (32 false 429s after
    # tests/scheduler): keep that heap out of the collector's passes while it runs.
    gc.collect()
    gc.freeze()
    emulator = Emulator()
    await emulator.start()
    yield emulator
    await emulator.stop()
    gc.unfreeze()


@pytest.fixture
def bot_db_url(tmp_path: Path) -> str:
    """The bot process's database (a test may seed it before starting the bot)."""
    return f"sqlite+aiosqlite:///{tmp_path}/bot.db"


@pytest.fixture
async def start_bot(
    tmp_path: Path, emulator: Emulator, bot_db_url: str
) -> AsyncIterator[Callable[..., asyncio.Future[BotProcess]]]:
    started: list[BotProcess] = []

    async def start(**env: str) -> BotProcess:
        log = tmp_path / f"bot-{len(started)}.log"
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_URL": bot_db_url,
            "ADMIN_IDS": str(ADMIN_TG_ID),
            "LOG_LEVEL": "INFO",
            # The process runs on the real time of day; quiet hours would make a test
            # pass or fail by the hour it runs at (they are tested with a moved clock).
            "QUIET_HOURS": "off",
            **env,
        }
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=ROOT, env=environment,
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )
        bot = BotProcess(process, log)
        started.append(bot)
        return bot

    yield start  # type: ignore[misc]
    for bot in started:
        await bot.stop()
