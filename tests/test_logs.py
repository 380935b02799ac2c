"""Logs for an operator: JSON lines on request, the update id on lines written while an
update is handled, and no per-run chatter from the scheduler."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import Chat, Message, Update
from aiogram.types import User as TgUser

from bot.logs import UpdateContextMiddleware, setup_logging


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    for name in ("apscheduler", "aiogram.event", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def _use(stream: io.StringIO, fmt: str) -> None:
    setup_logging("INFO", fmt)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def _update(update_id: int) -> Update:
    user = TgUser(id=5, is_bot=False, first_name="Ann")
    message = Message(message_id=1, date=datetime(2026, 3, 2, tzinfo=UTC),
                      chat=Chat(id=5, type="private"), from_user=user, text="/menu")
    return Update(update_id=update_id, message=message)


async def test_json_lines_carry_the_update_id_of_an_error(captured: io.StringIO) -> None:
    _use(captured, "json")

    async def failing(_event: Any, _data: dict[str, Any]) -> None:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("handlers.x").exception("could not answer")

    await UpdateContextMiddleware()(failing, _update(4242), {})
    logging.getLogger("bot").info("Bot stopped.")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("ERROR", "could not answer"), ("INFO", "Bot stopped.")]
    assert lines[0]["update_id"] == 4242 and "RuntimeError: boom" in lines[0]["exception"]
    assert "update_id" not in lines[1]


async def test_text_lines_name_the_update_and_the_scheduler_keeps_quiet(
    captured: io.StringIO,
) -> None:
    _use(captured, "text")

    async def warn(_event: Any, _data: dict[str, Any]) -> None:
        logging.getLogger("bot").warning("odd")

    await UpdateContextMiddleware()(warn, _update(7), {})
    logging.getLogger("apscheduler.executors.default").info(
        'Job "tick" executed successfully')
    logging.getLogger("aiogram.event").info("Update id=7 is handled. Duration 3 ms")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("WARNING bot: odd [update 7]")


def test_a_sweep_skipped_because_the_last_one_still_runs_is_not_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under load a sweep may outlast its tick; APScheduler then warns once a tick, which
    drowned the operator's log (tests/e2e/test_operations.py saw 13 lines for 9)."""
    setup_logging("INFO", "text")
    log = logging.getLogger("apscheduler.scheduler")
    log.warning('Execution of job "%s" skipped: maximum number of running instances '
                "reached (%d)", "sweep", 1)
    log.warning("Run time of job was missed by 0:00:03")
    err = capsys.readouterr().err
    assert "maximum number of running instances" not in err
    assert "was missed" in err
