"""The scheduler and the background work of the bot: the outbox sender, and the hourly
purge of the outbox rows that are finished and old.

In `bot/__main__.py`:

    background = await start_background(settings, bot=bot, sessionmaker=sessionmaker,
                                        clock=clock)
    dp = create_dispatcher(..., outbox_notify=background.sender.kick)
    try:
        await dp.start_polling(bot)
    finally:
        await background.stop()   # before bot.session.close() and engine.dispose()

Handlers that queue messages pass the injected `outbox_notify` as `notify=`
to `services.outbox.queue…`, so the sender starts at once after the commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from scheduler.outbox import OutboxSender, SendLimits
from services import outbox
from services.clock import Clock

__all__ = [
    "Background",
    "OutboxSender",
    "SendLimits",
    "add_outbox_purge",
    "add_outbox_tick",
    "create_scheduler",
    "start_background",
]

OUTBOX_TICK_JOB = "outbox.tick"
OUTBOX_PURGE_JOB = "outbox.purge"

log = logging.getLogger(__name__)


def create_scheduler(timezone: str = "UTC") -> AsyncIOScheduler:
    """An APScheduler 3 scheduler on the running event loop (start it inside one).

    A job that missed its time (the bot was down) runs once when it can,
    never several times in a row, and never twice at once.
    """
    return AsyncIOScheduler(
        timezone=ZoneInfo(timezone),
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )


def add_outbox_tick(scheduler: AsyncIOScheduler, sender: OutboxSender, *, seconds: float) -> Job:
    """Wake the sender every `seconds`, for rows that have become due since it last looked."""
    return scheduler.add_job(sender.tick, "interval", seconds=seconds, id=OUTBOX_TICK_JOB,
                             replace_existing=True)


async def purge_outbox(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, keep_days: int
) -> int:
    """Delete the outbox rows finished more than `keep_days` ago (every broadcast leaves
    one per recipient); returns how many went."""
    async with sessionmaker() as session:
        deleted = await outbox.purge(session, before=clock.now() - timedelta(days=keep_days))
    if deleted:
        log.info("outbox: deleted %d finished rows older than %d days", deleted, keep_days)
    return deleted


def add_outbox_purge(
    scheduler: AsyncIOScheduler, *, sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock, keep_days: int,
) -> Job:
    """Purge the outbox every hour, the first time five minutes after start-up (a bot
    restarted more often than hourly still purges)."""
    return scheduler.add_job(
        purge_outbox, "interval", hours=1, id=OUTBOX_PURGE_JOB, replace_existing=True,
        next_run_time=datetime.now(UTC) + timedelta(minutes=5),
        kwargs={"sessionmaker": sessionmaker, "clock": clock, "keep_days": keep_days})


@dataclass
class Background:
    """The running scheduler and outbox sender of one bot process."""

    scheduler: AsyncIOScheduler
    sender: OutboxSender

    async def stop(self, *, outcomes_for: float | None = None) -> None:
        """Stop the jobs, let the sends in flight finish, give back unsent rows
        (`outcomes_for`: see OutboxSender.stop)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.sender.stop(outcomes_for=outcomes_for)


async def start_background(
    settings: Settings,
    *,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    owner: str | None = None,
) -> Background:
    """Start the outbox sender, and the scheduler that ticks it and purges the outbox;
    `stop()` the result."""
    sender = OutboxSender.from_settings(settings, bot=bot, sessionmaker=sessionmaker,
                                        clock=clock, owner=owner)
    scheduler = create_scheduler(settings.timezone)
    add_outbox_tick(scheduler, sender, seconds=settings.outbox_tick_seconds)
    add_outbox_purge(scheduler, sessionmaker=sessionmaker, clock=clock,
                     keep_days=settings.outbox_keep_days)
    await sender.start()
    scheduler.start()
    return Background(scheduler=scheduler, sender=sender)
