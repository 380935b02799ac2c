"""A broadcast's progress message and delivery report: the texts and the Cancel button,
drawn by the progress job (scheduler/broadcasts.py) and the 📢 screens alike."""

from __future__ import annotations

import math

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callback_data.broadcasts import BroadcastStopCb
from bot.keyboards.builder import InlineKeyboardBuilder
from models.broadcasts import Broadcast, BroadcastStatus
from services.broadcasts import Report


def progress_text(broadcast: Broadcast, report: Report, *, rate: float) -> str:
    """The progress message, in the current locale: how far it got, while it goes out,
    while it is being stopped, and once the report is out."""
    done = report.sent + report.blocked + report.failed + report.skipped
    if broadcast.status == BroadcastStatus.CANCELLING:
        text = _("✖ Stopping announcement #{id}: {done} of {total} went out, and no more "
                 "will start.").format(id=broadcast.id, done=done, total=report.total)
    elif broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
        text = _("📤 Announcement #{id}: {done} of {total} went out. The report is below.").format(
            id=broadcast.id, done=done, total=report.total)
    else:
        text = _("📤 Sending announcement #{id}: {done} of {total}").format(
            id=broadcast.id, done=done, total=report.total)
    text += "\n" + counts_line(report)
    going = broadcast.status in (BroadcastStatus.SENDING, BroadcastStatus.SCHEDULED)
    due = report.waiting - report.later
    minutes = math.ceil(due / rate / 60) if due > 0 else 0
    if minutes and going:
        text += "\n" + _("About {minutes} min left.").format(minutes=minutes)
    if report.later and going:
        text += "\n" + ngettext("🌙 {n} person gets it when their quiet hours end.",
                                "🌙 {n} people get it when their quiet hours end.",
                                report.later).format(n=report.later)
    return text


def counts_line(report: Report) -> str:
    return _("Sent {sent} · blocked the bot {blocked} · failed {failed} · "
             "muted or left {skipped}").format(sent=report.sent, blocked=report.blocked,
                                              failed=report.failed, skipped=report.skipped)


def final_text(broadcast: Broadcast, report: Report) -> str:
    """The delivery report (also for a cancelled broadcast), sent as a message of its own
    once nothing is left in a sender's hands, so its counts are what went out."""
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
                   callback_data=BroadcastStopCb(broadcast_id=broadcast.id or 0))
    return builder.as_markup()
