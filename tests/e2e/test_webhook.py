"""Webhook mode: the real bot process behind its own HTTP server, the emulator posting
updates to it as Telegram does."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from emulator import Emulator
from tests.e2e.conftest import BotProcess
from tests.e2e.steps import TIMEOUT, showing_log, step, stop_cleanly

pytestmark = pytest.mark.e2e

SECRET = "s3cret_Token-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webhook_env(port: int, **extra: str) -> dict[str, str]:
    return {"WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/hook", "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(port), **extra}


async def until_serving(bot: BotProcess, port: int) -> None:
    """Wait for the replica's /healthz (it listens before it sets the webhook)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(TIMEOUT * 10)):
            assert bot.process.returncode is None, bot.output
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200 and "running (webhook" in bot.output:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(bot.output)


def methods(emulator: Emulator) -> list[str]:
    return [r.method.lower() for r in emulator.requests]


async def test_updates_come_by_webhook_and_never_by_get_updates(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    port = free_port()
    bot = await start_bot(**webhook_env(port))
    async with showing_log(bot):
        await until_serving(bot, port)
        assert emulator.webhook is not None
        assert emulator.webhook.url == f"http://127.0.0.1:{port}/tg/hook"
        assert emulator.webhook.secret_token == SECRET
        assert emulator.webhook.max_connections == 40
        assert set(emulator.webhook.allowed_updates or []) >= {"message", "callback_query"}
        ann = emulator.user(3001, "Ann", language_code="en")
        await step(ann, ann.send("/start"), "Privacy notice")
        await step(ann, ann.press_text("✅ I agree"), "No communities have been set up yet")

        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                assert resp.status == 200
            async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                page = await resp.text()
        assert 'bot_updates_total{outcome="handled",type="message"}' in page
        assert 'bot_updates_total{outcome="handled",type="callback_query"}' in page
        assert 'bot_api_calls_total{method="sendMessage"}' in page
        assert "bot_outbox_queue_depth" in page and "bot_update_seconds_bucket" in page
    assert "getupdates" not in methods(emulator)
    await stop_cleanly(bot, emulator)


async def test_a_request_without_the_secret_never_reaches_the_dispatcher(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    port = free_port()
    bot = await start_bot(**webhook_env(port))
    async with showing_log(bot):
        await until_serving(bot, port)
        forged = {"update_id": 77, "message": {
            "message_id": 1, "date": 1_700_000_000, "text": "/start",
            "chat": {"id": 3002, "type": "private"},
            "from": {"id": 3002, "is_bot": False, "first_name": "Mallory"}}}
        url = f"http://127.0.0.1:{port}/tg/hook"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=forged) as resp:
                assert resp.status == 401
            async with http.post(url, json=forged,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as resp:
                assert resp.status == 401
            huge = {**forged, "padding": "x" * (2 * 1024 * 1024)}
            async with http.post(url, json=huge,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as resp:
                assert resp.status == 413
            async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                page = await resp.text()
        assert "bot_updates_total{" not in page  # nothing was handled
        assert not [r for r in emulator.requests if r.chat_id == 3002]
    await stop_cleanly(bot, emulator)


async def test_a_second_replica_leaves_the_webhook_alone_and_sigterm_exits_cleanly(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    port = free_port()
    first = await start_bot(**webhook_env(port))
    async with showing_log(first):
        await until_serving(first, port)
        first.process.terminate()  # SIGTERM, as a service manager stops it
        assert await asyncio.wait_for(first.process.wait(), TIMEOUT) == 0
        assert "Bot stopped." in first.output
    assert methods(emulator).count("setwebhook") == 1

    again = await start_bot(**webhook_env(port))
    async with showing_log(again):
        await until_serving(again, port)
        assert "webhook already set" in again.output
        assert methods(emulator).count("setwebhook") == 1
        bo = emulator.user(3003, "Bo", language_code="en")
        await step(bo, bo.send("/start"), "Privacy notice")
    await stop_cleanly(again, emulator)
