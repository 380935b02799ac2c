"""Words and buttons the volunteer screens share, and the outbox's volunteer buttons.

`OUTBOX_BUTTONS` is what services get as `buttons=`: services build outbox
messages but never import aiogram, so the callback data is packed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.callback_data import VolShiftAction, VolShiftCb
from bot.i18n import N_
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

# Button labels in outbox keyboards: translated by the sender in each recipient's language.
STILL_COMING = N_("👍 Still coming")
CANT_COME = N_("🙅 Can't come")
CHECK_IN = N_("✅ Check in")


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


class OutboxButtons:
    """The `services.volunteers.Buttons` the bot uses."""

    def claim(self, shifts: Sequence[tuple[int, str]]) -> dict[str, Any]:
        rows = [[{"text": label, "callback_data": VolShiftCb(
            action=VolShiftAction.CLAIM, id=shift_id).pack()}] for shift_id, label in shifts]
        return {"inline_keyboard": rows}

    def reminder(self, claim_id: int, *, check_in: bool) -> dict[str, Any]:
        def button(text: str, action: VolShiftAction) -> dict[str, str]:
            return {"text": text, "callback_data": VolShiftCb(action=action, id=claim_id).pack()}

        rows = [[button(STILL_COMING, VolShiftAction.COMING),
                 button(CANT_COME, VolShiftAction.CANT)]]
        if check_in:
            rows.append([button(CHECK_IN, VolShiftAction.CHECK_IN)])
        return {"inline_keyboard": rows}


OUTBOX_BUTTONS = OutboxButtons()
