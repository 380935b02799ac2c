"""A faulty world: updates aiogram cannot read, a locked database, Telegram's 5xx, odd ids."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.types import Update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import bot.middlewares.db
from bot.factory import LeanSession
from bot.middlewares.db import DbSessionMiddleware
from models.db import create_engine
from tests.handlers.conftest import Harness
from tests.handlers.test_common import onboarded


async def test_an_unreadable_update_is_skipped_and_everyone_is_answered_again(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ann = await onboarded(harness)
    bad = harness.emulator.state.push_update(
        "message", {"message_id": "not a number", "date": "soon", "chat": {"id": ann.id}})
    assert bad is not None
    answered = len(ann.texts)
    await ann.send("/help")  # polled in the same batch as the bad one, after it
    assert len(ann.texts) == answered + 1
    await ann.send("/help")
    assert len(ann.texts) == answered + 2
    session = harness.bot.session
    assert isinstance(session, LeanSession) and session.unreadable_updates == 1
    assert f"update {bad.update_id} cannot be read" in caplog.text
    assert harness.emulator.state.updates == []  # the offset moved past it


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """The tests' engine, with SQLite's waits cut from 10 s and 30 s to 0.2 s and 2 s."""
    engine = create_engine(db_url, strict_writes=True, busy_timeout=0.2, write_wait=2.0)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield engine
    await engine.dispose()


def foreign_writer(db_url: str, *, holds_for: float) -> None:
    """Another process's write transaction holding SQLite's lock for `holds_for` seconds."""
    other = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE communities SET name = name")

    def release() -> None:
        other.execute("COMMIT")
        other.close()

    asyncio.get_running_loop().call_later(holds_for, release)


async def test_a_tap_waits_for_a_foreign_sqlite_writer_instead_of_apologising(
    harness: Harness, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's lock")
    ann = harness.person(3401, "Ann", "en")
    await ann.send("/start")
    foreign_writer(db_url, holds_for=0.8)  # four of SQLite's own waits
    await ann.press("✅ I agree")
    assert not any(text.startswith("Sorry") for text in ann.texts)
    assert ann.handle.last_bot_message is not None
    assert "community" in ann.last.lower() or ann.menu  # onboarding went on


async def test_past_the_wait_the_apology_says_nothing_was_saved_and_to_try_again(
    harness: Harness, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's lock")
    ann = harness.person(3402, "Ann", "en")
    await ann.send("/start")
    foreign_writer(db_url, holds_for=3.0)  # longer than the engine's 2 s
    await ann.press("✅ I agree")  # the button's answer went before the write: in the chat
    assert ann.last == ("Sorry, the bot is very busy just now and could not save that. "
                        "Nothing was changed: please try again in a minute.")


class Blinking:
    """A sessionmaker whose database refuses the first `refusals` connections."""

    def __init__(self, real: Any, refusals: int) -> None:
        self.real = real
        self.refusals = refusals

    def __call__(self) -> Any:
        if self.refusals:
            self.refusals -= 1
            raise OperationalError("connect", None, ConnectionRefusedError("restarting"))
        return self.real()


async def test_a_tap_while_the_database_restarts_is_answered_when_it_is_back(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = await onboarded(harness)
    monkeypatch.setattr(bot.middlewares.db, "RETRY_WAITS", (0.01, 0.01, 0.01))
    (middleware,) = [m for m in harness.dp.update.outer_middleware
                     if isinstance(m, DbSessionMiddleware)]
    monkeypatch.setattr(middleware, "sessionmaker", Blinking(middleware.sessionmaker, 2))
    answered = len(ann.texts)
    await ann.send("/help")
    assert len(ann.texts) == answered + 1
    assert not ann.last.startswith("Sorry")


async def test_a_reply_that_meets_a_telegram_5xx_is_sent_again_once(harness: Harness) -> None:
    ann = await onboarded(harness)
    harness.emulator.fail_next("sendMessage", 502, "Bad Gateway")
    await ann.send("/privacy")
    assert ann.last.startswith("<b>Privacy notice</b>") or "Privacy notice" in ann.last
    assert not any(text.startswith("Sorry") for text in ann.texts)


async def test_a_forged_button_with_an_id_beyond_64_bits_is_out_of_date(
    harness: Harness,
) -> None:
    ann = await onboarded(harness)
    huge = 2**64 + 5
    assert await ann.forge(f"hm:c:{huge}:0:0") == \
        "This button is out of date. Please use the menu below."
    assert await ann.forge(f"co:v:{huge}") == \
        "This button is out of date. Please use the menu below."
    assert await ann.forge(f"hm:c:-{huge}:0:0") == \
        "This button is out of date. Please use the menu below."


async def test_an_update_from_a_bot_account_gets_a_clear_answer_not_a_crash(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    robot = {"id": 4242, "is_bot": True, "first_name": "Helper", "username": "helper_bot"}
    chat = {"id": 4242, "type": "private", "first_name": "Helper"}
    async def feed(update: dict[str, Any]) -> None:
        await harness.dp.feed_update(
            harness.bot, Update.model_validate(update, context={"bot": harness.bot}))

    for update_id, payload in enumerate((
        {"message": {"message_id": 1, "date": 0, "chat": chat, "from": robot,
                     "text": "/mydata"}},
        {"message": {"message_id": 2, "date": 0, "chat": chat, "from": robot,
                     "text": "📚 Courses"}},
    )):
        await feed({"update_id": 50_000 + update_id, **payload})
    # No handler ran for it (one would have failed on the missing user, TypeError), and
    # nothing was sent (the emulator would refuse a chat nobody started).
    assert "failed" not in caplog.text and "Traceback" not in caplog.text
