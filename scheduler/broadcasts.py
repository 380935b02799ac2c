"""Keeping a broadcast's sender informed: one progress message, edited as it goes out.

`broadcast_progress` runs every few seconds. For each broadcast going out it
counts the outbox rows, edits the sender's progress message (sent / total,
blocked, failed, time left, a Cancel button) and, when nothing is left
waiting, turns it into the delivery report. Safe to run twice: an unchanged
text is not re-sent, and a finished broadcast is finished once.
"""

from __future__ import annotations

import logging
import math

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callback_data import BroadcastAction, BroadcastCb
from bot.config import Settings
from bot.i18n import load_i18n
from bot.keyboards.builder import InlineKeyboardBuilder
from models.broadcasts import Broadcast, BroadcastStatus
from models.users import User
from services import broadcasts
from services.broadcasts import Report
from services.clock import Clock

log = logging.getLogger(__name__)


def progress_text(broadcast: Broadcast, report: Report, *, rate: float) -> str:
    """The progress line, in the current locale."""
    done = report.sent + report.blocked + report.failed + report.skipped
    text = _("📤 Sending announcement #{id}: {done} of {total}").format(
        id=broadcast.id, done=done, total=report.total)
    text += "\n" + counts_line(report)
    minutes = math.ceil(report.waiting / rate / 60) if report.waiting else 0
    if minutes:
        text += "\n" + _("About {minutes} min left.").format(minutes=minutes)
    return text


def counts_line(report: Report) -> str:
    return _("Sent {sent} · blocked the bot {blocked} · failed {failed} · "
             "muted or left {skipped}").format(sent=report.sent, blocked=report.blocked,
                                              failed=report.failed, skipped=report.skipped)


def final_text(broadcast: Broadcast, report: Report) -> str:
    """The delivery report (also for a cancelled broadcast)."""
    if broadcast.status == BroadcastStatus.CANCELLED:
        head = _("✖ Announcement #{id} was cancelled. {cancelled} messages were not sent.").format(
            id=broadcast.id, cancelled=report.cancelled)
    else:
        head = _("✅ Announcement #{id} has gone out to {total} people.").format(
            id=broadcast.id, total=report.total)
    return head + "\n" + counts_line(report)


def cancel_keyboard(broadcast: Broadcast) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel sending"),
                   callback_data=BroadcastCb(action=BroadcastAction.STOP, id=broadcast.id or 0))
    return builder.as_markup()


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
