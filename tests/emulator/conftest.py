"""Fixtures: a started emulator, a real aiogram Bot pointed at it, raw HTTP calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from emulator import Emulator


class FastCloseSession(AiohttpSession):
    """AiohttpSession without the 250 ms wait for SSL shutdown (there is no SSL here)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(emu: Emulator, token: str | None = None) -> Bot:
    """A real aiogram Bot whose API server is the emulator."""
    session = FastCloseSession(api=TelegramAPIServer.from_base(emu.base_url))
    return Bot(token or emu.token, session=session)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    client = make_bot(emu)
    yield client
    await client.session.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    emu: Emulator,
    method: str,
    *,
    json: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST one Bot API call the way a non-aiogram client might; returns (status, body)."""
    url = f"{emu.base_url}/bot{token or emu.token}/{method}"
    async with http.post(url, json=json, data=data, params=query) as resp:
        return resp.status, await resp.json()
