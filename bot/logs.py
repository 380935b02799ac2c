"""Logging for an operator: one line per thing that matters, as text or JSON.

At INFO the bot says when it starts and stops, when the webhook is set, when a
broadcast is queued and finished, and every error; the libraries' per-event
chatter (APScheduler's "Running job … executed successfully" every second,
aiogram's "Update id=… is handled") is kept to warnings. A line written while an
update is being handled carries its update id.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.middlewares.retry import begin_update

# The update being handled by the current task (aiogram copies the context per update).
current_update: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_update", default=None)

# Loggers that speak once per event or job run at INFO: only their warnings show.
CHATTY = ("apscheduler", "aiogram.event", "aiohttp.access", "alembic.runtime.plugins")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(update)s"


class UpdateIdFilter(logging.Filter):
    """Puts the current update's id on every record (`record.update_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        update_id = current_update.get()
        record.update_id = update_id
        record.update = f" [update {update_id}]" if update_id is not None else ""
        return True


class SkippedTickFilter(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached": a sweep
    still running when its next tick comes is skipped by design (max_instances=1) and the
    next tick does the work, so under load it is not news to an operator every tick."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, update id, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        update_id = getattr(record, "update_id", None)
        if update_id is not None:
            line["update_id"] = update_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str, fmt: str) -> None:
    """The root handler on stderr, in `fmt` ("text" or "json"), at `level`."""
    handler = logging.StreamHandler()
    handler.addFilter(UpdateIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if logging.getLevelName(level) <= logging.DEBUG:
        return
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, SkippedTickFilter) for f in scheduler_log.filters):
        scheduler_log.addFilter(SkippedTickFilter())


class UpdateContextMiddleware(BaseMiddleware):
    """Remembers which update is being handled, for the log lines written meanwhile,
    and starts its record of buttons answered (bot/middlewares/retry.py)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        begin_update()  # what this handling has done so far starts empty
        token = current_update.set(event.update_id)
        try:
            return await handler(event, data)
        finally:
            current_update.reset(token)
