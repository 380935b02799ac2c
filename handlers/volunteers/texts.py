"""Words and buttons the volunteer screens share (the outbox's volunteer buttons are in
bot/keyboards/outbox.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.when import say_moment, say_time
from models.volunteers import Skill, Slot

SKILL_LABELS: dict[str, str] = {
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

SLOT_LABELS: dict[str, str] = {
    Slot.WEEKDAY_MORNING: N_("Weekday mornings"),
    Slot.WEEKDAY_AFTERNOON: N_("Weekday afternoons"),
    Slot.WEEKDAY_EVENING: N_("Weekday evenings"),
    Slot.WEEKEND_MORNING: N_("Weekend mornings"),
    Slot.WEEKEND_AFTERNOON: N_("Weekend afternoons"),
    Slot.WEEKEND_EVENING: N_("Weekend evenings"),
}


def ticked(label: str, on: bool) -> str:
    """A toggle button's label: a big tick when chosen."""
    return ("✅ " if on else "⬜ ") + label


def skills_text(codes: Iterable[str], other: str | None = None) -> str:
    names = [_(SKILL_LABELS[c]) for c in codes if c in SKILL_LABELS]
    if other:
        names.append(other)
    return "、".join(names) or _("any")


def slots_text(codes: Iterable[str]) -> str:
    return "、".join(_(SLOT_LABELS[c]) for c in codes if c in SLOT_LABELS) or _("any time")


def say_span(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    """A shift's time as people say it: "Tue 3 Mar, 6:00 pm–8:00 pm" / "3月3日（周二）下午6:00–
    下午8:00" (the end's day too when it ends on another)."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    until = say_time(end) if start.date() == end.date() else say_moment(end, zone)
    return f"{say_moment(start, zone)}–{until}"


def say_clock(moment: datetime, zone: ZoneInfo) -> str:
    """The time of day of a moment in the community's zone: "5:55 pm" / "下午5:55"."""
    return say_time(moment.astimezone(zone))
