"""A broadcast's words: whom it is for (its community, grids, audience), its progress
message and delivery report, and the Cancel button, drawn by the progress job
(scheduler/broadcasts.py) and the 📢 screens alike. `audience_label` names an audience
kind on a button (the poll screens use it too)."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callback_data.broadcasts import BroadcastStopCb
from bot.i18n import N_
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.titles import shown_of
from bot.when import say_moment
from models.broadcasts import Broadcast, BroadcastStatus
from models.volunteers import Skill
from services.broadcasts import Report, Where

# The volunteer screens' own words for each skill (handlers/volunteers/texts.py), the same
# msgids: a skill reads the same on an audience as on a volunteer's profile.
SKILL_WORDS: dict[str, str] = {
    Skill.PATROL: N_("🚶 Street patrol"),
    Skill.ELDERLY: N_("👵 Elderly pairing and visits"),
    Skill.TUTORING: N_("📚 Tutoring"),
    Skill.HEALTH: N_("🩺 Health and first aid"),
    Skill.REPAIRS: N_("🔧 Repairs"),
    Skill.DIGITAL: N_("📱 Digital help for seniors"),
    Skill.TRANSLATION: N_("🌐 Translation"),
    Skill.EVENTS: N_("🎪 Event support"),
    Skill.GREENING: N_("🌳 Greening and cleaning"),
    Skill.FACILITATION: N_("🗣 Meeting facilitation"),
}


def audience_label(kind: str) -> str:
    """An audience kind on a button."""
    return {"all": _("👥 Everyone"), "grids": _("🏘 Choose grids"),
            "teachers": _("👩‍🏫 Teachers"), "lesson": _("📚 Enrolled in a session"),
            "waiting": _("⏳ Waiting for a session"), "backers": _("🙋 Backers of an order"),
            "volunteers": _("🤝 Volunteers"), "communities": _("🏘 Choose communities"),
            "poll": _("🗳 Not yet answered a poll")}.get(kind, kind)


def skill_label(skill: str | None) -> str:
    return _("All volunteers") if skill is None else _(SKILL_WORDS.get(skill, skill))


SEVERAL_NAMED = 3  # communities named on a card; the rest are counted


def where_text(where: Where, *, zone: ZoneInfo | None = None) -> str:
    """"幸福社区 · 第二网格", "全区 · 志愿者（🚶 巡逻）", "Sunny Court · enrolled in 太极 ·
    Sat 5 Dec, 3:00 pm": the community (or the whole district) and whom of it."""
    if where.communities:
        named = _(", ").join(where.communities[:SEVERAL_NAMED])
        more = len(where.communities) - SEVERAL_NAMED
        parts = [named if more <= 0 else ngettext(
            "{names} and {n} more community", "{names} and {n} more communities", more).format(
            names=named, n=more)]
    else:
        parts = [where.community if where.community is not None
                 else _("the whole district")]
    if where.grids:
        parts.append(_(", ").join(where.grids))
    what = shown_of(where.target, where.target_titles) if where.target else "?"
    if where.at is not None and zone is not None:
        what += " · " + say_moment(where.at, zone)
    parts.extend({
        "teachers": [_("teachers")],
        "lesson": [_("enrolled in {what}").format(what=what)],
        "waiting": [_("waiting for {what}").format(what=what)],
        "backers": [_("backers of the order “{what}”").format(what=what)],
        "volunteers": [_("volunteers") if where.skill is None else
                       _("volunteers: {skill}").format(skill=skill_label(where.skill))],
        "poll": [_("not yet answered “{what}”").format(what=what)],
    }.get(where.kind, []))
    return " · ".join(parts)


def to_text(where: Where, count: int, *, zone: ZoneInfo | None = None) -> str:
    """"幸福社区 · 第二网格 · 119人": whom, and how many."""
    return ngettext("{where} · {n} person", "{where} · {n} people", count).format(
        where=where_text(where, zone=zone), n=count)


def progress_text(broadcast: Broadcast, report: Report, *, rate: float,
                  where: Where | None = None, zone: ZoneInfo | None = None) -> str:
    """The progress message, in the current locale: how far it got, while it goes out,
    while it is being stopped, and once the report is out; under it, whom it is for."""
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
    if where is not None:
        text += "\n" + _("To {where}").format(where=where_text(where, zone=zone))
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


def final_text(broadcast: Broadcast, report: Report, *, where: Where | None = None,
               zone: ZoneInfo | None = None) -> str:
    """The delivery report (also for a cancelled broadcast), sent as a message of its own
    once nothing is left in a sender's hands, so its counts are what went out."""
    if broadcast.status == BroadcastStatus.CANCELLED:
        head = ngettext("✖ Announcement #{id} was cancelled. {cancelled} message was not sent.",
                        "✖ Announcement #{id} was cancelled. {cancelled} messages were not sent.",
                        report.cancelled).format(id=broadcast.id, cancelled=report.cancelled)
    else:
        head = ngettext("✅ Announcement #{id} has gone out to {total} person.",
                        "✅ Announcement #{id} has gone out to {total} people.",
                        report.total).format(id=broadcast.id, total=report.total)
    if where is not None:
        head += "\n" + _("To {where}").format(where=where_text(where, zone=zone))
    return head + "\n" + counts_line(report)


def cancel_keyboard(broadcast: Broadcast) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel sending"),
                   callback_data=BroadcastStopCb(broadcast_id=broadcast.id or 0))
    return builder.as_markup()
