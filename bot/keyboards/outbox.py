"""Buttons on the messages the outbox sends on the bot's own initiative: reminders,
waiting-list offers, volunteer calls, report updates, poll invitations.

Services queue those messages but never import aiogram, so each feature's service
declares what it needs as a Protocol (`services.courses.Buttons`,
`services.volunteers.Buttons`, `services.concerns.Buttons`, `services.polls.Buttons`)
and the bot implements it here, packing the callback data. Labels are msgids: the
sender translates them into each recipient's language when it sends.

Handlers pass `OUTBOX_KEYBOARDS.<feature>`; sweeps get `OUTBOX_KEYBOARDS` injected
(`scheduler.jobs.add_sweeps(keyboards=...)`), the way they get `notify`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.filters.callback_data import CallbackData

from bot.callback_data import (
    LessonAction,
    LessonCb,
    OrderAction,
    OrderCb,
    VolShiftAction,
    VolShiftCb,
)
from bot.callback_data.courses import CourseAction, CourseCb
from bot.callback_data.courses import RateCb as LessonRateCb
from bot.callback_data.voices import PollOpenCb, TriageAction, TriageCb
from bot.callback_data.voices import RateCb as ReportRateCb
from bot.i18n import N_
from services import concerns, courses, polls, volunteers

Keyboard = dict[str, Any]


def button(label: str, data: CallbackData) -> dict[str, str]:
    return {"text": label, "callback_data": data.pack()}


def keyboard(*rows: list[dict[str, str]]) -> Keyboard:
    return {"inline_keyboard": list(rows)}


class CourseButtons:
    """`services.courses.Buttons`: sessions' reminders, offers, news and ratings."""

    def reminder(self, lesson_id: int) -> Keyboard:
        return keyboard([
            button(N_("✅ I'm coming"), LessonCb(action=LessonAction.COMING, id=lesson_id)),
            button(N_("❌ I can't come"), LessonCb(action=LessonAction.CANT, id=lesson_id)),
        ])

    def offer(self, lesson_id: int) -> Keyboard:
        return keyboard(
            [button(N_("✅ Yes, I'll take the seat"),
                    LessonCb(action=LessonAction.ACCEPT, id=lesson_id))],
            [button(N_("No, thanks"), LessonCb(action=LessonAction.DECLINE, id=lesson_id))],
        )

    def enrol(self, lesson_id: int) -> Keyboard:
        return keyboard([button(N_("✍️ Enrol"),
                                LessonCb(action=LessonAction.ENROL, id=lesson_id))])

    def rate(self, lesson_id: int) -> Keyboard:
        return keyboard([button(f"{n}⭐", LessonRateCb(lesson_id=lesson_id, stars=n))
                         for n in range(1, 6)])

    def lesson(self, lesson_id: int) -> Keyboard:
        return keyboard([button(N_("👀 Open the session"),
                                LessonCb(action=LessonAction.VIEW, id=lesson_id))])

    def rejoin(self, lesson_id: int) -> Keyboard:
        return keyboard([button(N_("🕒 Put me back on the list"),
                                LessonCb(action=LessonAction.WAITLIST, id=lesson_id))])

    def order(self, order_id: int) -> Keyboard:
        return keyboard([button(N_("👀 See the order"),
                                OrderCb(action=OrderAction.VIEW, id=order_id))])

    def review(self, community_id: int) -> Keyboard:
        return keyboard([button(N_("✅ Review the offers"),
                                CourseCb(action=CourseAction.REVIEW, id=community_id))])


class VolunteerButtons:
    """`services.volunteers.Buttons`: calls to claim shifts, shift reminders."""

    def claim(self, shifts: Sequence[tuple[int, str]]) -> Keyboard:
        return keyboard(*([button(label, VolShiftCb(action=VolShiftAction.CLAIM, id=shift_id))]
                          for shift_id, label in shifts))

    def reminder(self, claim_id: int, *, check_in: bool) -> Keyboard:
        rows = [[button(N_("👍 Still coming"),
                        VolShiftCb(action=VolShiftAction.COMING, id=claim_id)),
                 button(N_("🙅 Can't come"), VolShiftCb(action=VolShiftAction.CANT, id=claim_id))]]
        if check_in:
            rows.append([button(N_("✅ Check in"),
                                VolShiftCb(action=VolShiftAction.CHECK_IN, id=claim_id))])
        return keyboard(*rows)

    def check_out(self, claim_id: int) -> Keyboard:
        return keyboard([button(N_("🏁 Check out"),
                                VolShiftCb(action=VolShiftAction.CHECK_OUT, id=claim_id))])


class ReportButtons:
    """`services.concerns.Buttons`: rating an answered report, staff opening a new one."""

    def rate(self, report_id: int) -> Keyboard:
        return keyboard([button(f"{n} ⭐", ReportRateCb(report_id=report_id, stars=n))
                         for n in range(1, 6)])

    def open(self, report_id: int) -> Keyboard:
        return keyboard([button(N_("🗂 Open the report"),
                                TriageCb(action=TriageAction.VIEW, report_id=report_id))])


class PollButtons:
    """`services.polls.Buttons`: the invitation to answer a poll."""

    def invite(self, poll_id: int) -> Keyboard:
        return keyboard([button(N_("🗳 Answer"), PollOpenCb(poll_id=poll_id))])


@dataclass(frozen=True)
class OutboxKeyboards:
    """Every feature's outbox buttons, injected where messages are queued."""

    courses: courses.Buttons
    volunteers: volunteers.Buttons
    reports: concerns.Buttons
    polls: polls.Buttons


OUTBOX_KEYBOARDS = OutboxKeyboards(courses=CourseButtons(), volunteers=VolunteerButtons(),
                                   reports=ReportButtons(), polls=PollButtons())
