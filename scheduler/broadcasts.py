"""Keeping a broadcast's sender informed: one progress message, edited as it goes out.

`broadcast_progress` runs every few seconds. For each broadcast going out it
counts the outbox rows, edits the sender's progress message (sent / total,
blocked, failed, time left, a Cancel button) and, when nothing is left
waiting, turns it into the delivery report. Safe to run twice: an unchanged
text is not re-sent, and a finished broadcast is finished once.
"""

from __future__ import annotations

import logging

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
from services import broadcasts
from services.clock import Clock

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


async def broadcast_progress(
    *, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
    settings: Settings,
) -> None:
    """Update every active broadcast's progress message; finish those with nothing left."""
    i18n = load_i18n(settings.default_locale)
    async with sessionmaker() as session:
        for broadcast in await broadcasts.active(session, clock=clock):
            report = await broadcasts.report(session, broadcast=broadcast)
            author = await session.get(User, broadcast.author_id) if broadcast.author_id else None
            locale = (author.locale if author and author.locale else settings.default_locale)
            with i18n.context(), i18n.use_locale(locale):
                if report.finished:
                    await broadcasts.mark(session, broadcast=broadcast, clock=clock,
                                          status=BroadcastStatus.DONE, counts=report)
                    log.info("broadcast %s finished: %d sent, %d blocked, %d failed, "
                             "%d skipped, %d cancelled", broadcast.id, report.sent,
                             report.blocked, report.failed, report.skipped, report.cancelled)
                    await show(bot, broadcast, final_text(broadcast, report), None)
                    continue
                if broadcast.status == BroadcastStatus.SCHEDULED:
                    await broadcasts.mark(session, broadcast=broadcast, clock=clock,
                                          status=BroadcastStatus.SENDING)
                await show(bot, broadcast, progress_text(broadcast, report,
                                                         rate=settings.outbox_rate),
                           cancel_keyboard(broadcast))


def add_broadcast_progress(
    scheduler: AsyncIOScheduler, *, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock, settings: Settings, seconds: float = 3.0,
) -> None:
    """Refresh progress messages every few seconds (well under 1 edit a second a chat)."""
    scheduler.add_job(broadcast_progress, "interval", seconds=seconds, id="broadcast.progress",
                      replace_existing=True, kwargs={"bot": bot, "sessionmaker": sessionmaker,
                                                     "clock": clock, "settings": settings})
