"""With no BOT_TOKEN, `python -m bot` runs against its own emulator and says how to reach it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from models.db import ROOT

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_log(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


async def wait_for_output(log: Path, needle: str, process: asyncio.subprocess.Process) -> str:
    """Wait for the bot process to print `needle` (it is starting up: up to 20 s)."""
    for _ in range(400):
        text = read_log(log)
        if needle in text:
            return text
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    raise AssertionError(f"{needle!r} never appeared; output:\n{read_log(log)}")


async def test_no_token_starts_the_emulator_and_a_person_can_chat_over_http(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    env = {"PATH": os.environ.get("PATH", ""), "EMULATOR_PORT": str(port),
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db", "BOT_TOKEN": ""}
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=env, stdout=out,
            stderr=asyncio.subprocess.STDOUT)
    try:
        output = await wait_for_output(log, "is running", process)
        base = f"http://127.0.0.1:{port}"
        assert f"No BOT_TOKEN: running against the local Bot API emulator at {base}" in output
        assert "python -m emulator.console" in output

        async with aiohttp.ClientSession(base) as http:
            async def call(method: str, path: str, **body: Any) -> dict[str, Any]:
                async with http.request(method, path, json=body or None) as response:
                    assert response.status == 200, await response.text()
                    return dict(await response.json())

            await call("POST", "/_emu/users", id=1001, first_name="Ann", language_code="en")
            await call("POST", "/_emu/users/1001/send", text="/start")
            version = (await call("GET", "/_emu/users/1001/chat"))["version"]
            bot_messages: list[dict[str, Any]] = []
            while not bot_messages:  # each wait is a long poll of up to 20 s
                chat = await call("GET", f"/_emu/users/1001/wait?after={version}&timeout=20")
                assert chat["version"] > version, "the bot did not answer within 20 s"
                version = chat["version"]
                bot_messages = [m for m in chat["messages"] if m["sender"] == "bot"]
            assert "Privacy notice" in bot_messages[0]["text"]
            assert (await call("GET", "/_emu/violations"))["violations"] == []
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0, read_log(log)
