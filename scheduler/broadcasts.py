"""Keeping a broadcast's sender informed: one progress message, edited as it goes out.

`broadcast_progress` runs every few seconds. For each broadcast going out (or
being stopped) it counts the outbox rows, edits the sender's progress message
(sent / total, blocked, failed, time left, a Cancel button) and, when nothing
is left in a sender's hands, sends the delivery report as a new message (so
the staff member is notified, and a cancelled one counts what really went
out). Safe to run twice and on several replicas: an unchanged text is not
re-sent, and `broadcasts.finish` lets one caller finish a broadcast.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import load_i18n
from bot.keyboards.broadcasts import cancel_keyboard, final_text, progress_text
from models.broadcasts import Broadcast, BroadcastStatus
from models.users import User
from services import broadcasts, communities
from services.clock import Clock
from services.outbox import Notify

log = logging.getLogger(__name__)


async def show(bot: Bot, broadcast: Broadcast, text: str,
               markup: InlineKeyboardMarkup | None) -> None:
    """Edit the progress message; a sender who deleted it or blocked us is no error."""
    if broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
        return
    try:
        await bot.edit_message_text(text=text, chat_id=broadcast.progress_chat_id,
                                    message_id=broadcast.progress_message_id,
                                    reply_markup=markup)
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            log.info("broadcast %s: progress message gone (%s)", broadcast.id, error.message)
    except TelegramForbiddenError:
        pass


async def report_to(bot: Bot, broadcast: Broadcast, text: str) -> None:
    """Send the delivery report to the chat of the progress message, as a new message."""
    if broadcast.progress_chat_id is None:
        return
    try:
        await bot.send_message(chat_id=broadcast.progress_chat_id, text=text)
    except (TelegramBadRequest, TelegramForbiddenError) as error:
        log.info("broadcast %s: report not delivered (%s)", broadcast.id, error.message)


async def finish(bot: Bot, session: AsyncSession, broadcast: Broadcast, clock: Clock,
                 report: broadcasts.Report, *, rate: float, where: broadcasts.Where,
                 zone: ZoneInfo) -> bool:
    """Finish a broadcast with nothing left in hand: the progress message loses its
    Cancel button, the report goes out as a new message. False if it is not finished
    (or another replica, or the Cancel button, finished it)."""
    if not await broadcasts.finish(session, broadcast=broadcast, clock=clock, counts=report):
        return False
    log.info("broadcast %s %s: %d sent, %d blocked, %d failed, %d skipped, %d cancelled",
             broadcast.id, broadcast.status, report.sent, report.blocked, report.failed,
             report.skipped, report.cancelled)
    await show(bot, broadcast, progress_text(broadcast, report, rate=rate, where=where,
                                             zone=zone), None)
    await report_to(bot, broadcast, final_text(broadcast, report, where=where, zone=zone))
    return True


async def broadcast_progress(
    *, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
    settings: Settings, notify: Notify | None = None,
) -> None:
    """Start the scheduled broadcasts that are due (their audience as it is now), update
    every active broadcast's progress message, finish those with nothing left."""
    i18n = load_i18n(settings.default_locale)
    async with sessionmaker() as session:
        await broadcasts.start_due(session, clock=clock, notify=notify)
        for broadcast in await broadcasts.active(session):
            report = await broadcasts.report(session, broadcast=broadcast, now=clock.now())
            author = await session.get(User, broadcast.author_id) if broadcast.author_id else None
            locale = (author.locale if author and author.locale else settings.default_locale)
            where = await broadcasts.where_of_broadcast(session, broadcast)
            zone = (await communities.zone_of(session, broadcast.community_id)
                    if broadcast.community_id is not None else ZoneInfo(settings.timezone))
            with i18n.context(), i18n.use_locale(locale):
                if await finish(bot, session, broadcast, clock, report,
                                rate=settings.outbox_rate, where=where, zone=zone):
                    continue
                text = progress_text(broadcast, report, rate=settings.outbox_rate, where=where,
                                     zone=zone)
                if broadcast.status == BroadcastStatus.CANCELLING:
                    await show(bot, broadcast, text, None)
                    continue
                await show(bot, broadcast, text, cancel_keyboard(broadcast))


def add_broadcast_progress(
    scheduler: AsyncIOScheduler, *, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock, settings: Settings, notify: Notify | None = None, seconds: float = 3.0,
) -> None:
    """Start due broadcasts and refresh progress messages every few seconds (well under 1
    edit a second a chat); `notify` wakes the outbox sender for what was queued."""
    scheduler.add_job(broadcast_progress, "interval", seconds=seconds, id="broadcast.progress",
                      replace_existing=True, kwargs={"bot": bot, "sessionmaker": sessionmaker,
                                                     "clock": clock, "settings": settings,
                                                     "notify": notify})
