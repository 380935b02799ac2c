"""What an operator sees of a polling bot: health and metrics on METRICS_PORT, readiness
that follows the database and Redis, and a quiet JSON log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from emulator import Emulator
from tests.e2e.steps import TIMEOUT, showing_log, step, stop_cleanly
from tests.e2e.test_webhook import free_port

pytestmark = pytest.mark.e2e


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        for _ in range(int(TIMEOUT * 10)):
            try:
                async with http.get(url) as resp:
                    return resp.status, await resp.text()
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answers {url}")


async def test_polling_with_metrics_port_and_a_quiet_json_log(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    port = free_port()
    bot = await start_bot(METRICS_PORT=str(port), LOG_FORMAT="json",
                          OUTBOX_TICK_SECONDS="0.2", SWEEP_SECONDS="0.2")
    async with showing_log(bot):
        ann = emulator.user(3101, "Ann", language_code="en")
        await step(ann, ann.send("/start"), "Privacy notice")
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        assert (await get(f"http://127.0.0.1:{port}/readyz")) == (200, "ready\n")
        status, page = await get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'bot_updates_total{outcome="handled",type="message"} 1.0' in page
        assert "bot_outbox_queue_depth 0.0" in page
        await asyncio.sleep(1.5)  # seven ticks of the outbox and of the sweeps
    await stop_cleanly(bot, emulator)
    lines = [json.loads(line) for line in bot.output.splitlines()]
    messages = [line["message"] for line in lines]
    assert not [m for m in messages if "executed successfully" in m or "Running job" in m]
    assert any(m.startswith("Bot @") and "long polling" in m for m in messages)
    assert messages[-1] == "Bot stopped."
    # Besides the migrations of a new database: started, polling, stopping, stopped.
    said = [line["message"] for line in lines if line["logger"] != "alembic.runtime.migration"]
    assert len(said) <= 9, said


async def test_readyz_says_503_while_redis_does_not_answer(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    port, dead = free_port(), free_port()
    bot = await start_bot(METRICS_PORT=str(port), REDIS_URL=f"redis://127.0.0.1:{dead}/0")
    async with showing_log(bot):
        status, body = await get(f"http://127.0.0.1:{port}/readyz")
        assert status == 503 and "redis" in body and "database" not in body
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
    await bot.stop()
