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
    VolPlaceAction,
    VolPlaceCb,
    VolTakeCb,
)
from bot.callback_data.common import ManageCommunityCb, ManageListCb
from bot.callback_data.courses import CourseAction, CourseCb
from bot.callback_data.courses import RateCb as LessonRateCb
from bot.callback_data.district import MembersCb
from bot.callback_data.voices import (
    OwnReportAction,
    OwnReportCb,
    PollOpenCb,
    PollStaffAction,
    PollStaffCb,
    TriageAction,
    TriageCb,
)
from bot.callback_data.voices import RateCb as ReportRateCb
from bot.callback_data.volunteers import VolPlaceVia, VolRosterCb
from bot.i18n import N_
from models.users import Role
from services import concerns, courses, digest, polls, volunteers
from services.digest import ItemKind

Keyboard = dict[str, Any]


def button(label: str, data: CallbackData) -> dict[str, str]:
    return {"text": label, "callback_data": data.pack()}


def keyboard(*rows: list[dict[str, Any]]) -> Keyboard:
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

    def claim(self, shifts: Sequence[tuple[int, dict[str, Any]]]) -> Keyboard:
        # The label is said by the sender in the recipient's language (as the in-bot list).
        return keyboard(*([{**button("✋ {n}. {when}", VolTakeCb(shift_id=shift_id)),
                            "params": params}]
                          for shift_id, params in shifts))

    def reminder(self, claim_id: int, *, check_in: bool) -> Keyboard:
        def place(action: VolPlaceAction) -> VolPlaceCb:
            return VolPlaceCb(action=action, claim_id=claim_id, via=VolPlaceVia.REMINDER)

        rows = [[button(N_("👍 Still coming"), place(VolPlaceAction.COMING)),
                 button(N_("🙅 Can't come"), place(VolPlaceAction.CANT))]]
        if check_in:
            rows.append([button(N_("✅ Check in"), place(VolPlaceAction.CHECK_IN))])
        return keyboard(*rows)

    def check_out(self, claim_id: int) -> Keyboard:
        return keyboard([button(N_("🏁 Check out"),
                                VolPlaceCb(action=VolPlaceAction.CHECK_OUT, claim_id=claim_id))])


class ReportButtons:
    """`services.concerns.Buttons`: rating an answered report, staff opening a new one, the
    resident replying to an answer."""

    def rate(self, report_id: int) -> Keyboard:
        return keyboard([button(f"{n} ⭐", ReportRateCb(report_id=report_id, stars=n))
                         for n in range(1, 6)])

    def open(self, report_id: int) -> Keyboard:
        return keyboard([button(N_("🗂 Open the report"),
                                TriageCb(action=TriageAction.VIEW, report_id=report_id))])

    def reply(self, report_id: int) -> Keyboard:
        return keyboard([button(N_("💬 Reply"), OwnReportCb(action=OwnReportAction.REPLY,
                                                           report_id=report_id))])


class PollButtons:
    """`services.polls.Buttons`: the invitation to answer a poll."""

    def invite(self, poll_id: int) -> Keyboard:
        return keyboard([button(N_("🗳 Answer"), PollOpenCb(poll_id=poll_id))])


class DistrictButtons:
    """`services.digest.Buttons`: where a new teacher, staff member or admin starts, and
    where each line of the daily digest leads."""

    def digest_item(self, community_id: int, item: digest.Item) -> str:
        if item.kind in (ItemKind.UNTOUCHED, ItemKind.LOW_REPORT):
            return TriageCb(action=TriageAction.VIEW, report_id=item.id).pack()
        if item.kind in (ItemKind.LOW_LESSON, ItemKind.CANCELLED, ItemKind.SEATS):
            return LessonCb(action=LessonAction.VIEW, id=item.id).pack()
        if item.kind == ItemKind.HOURS:
            return VolRosterCb(community_id=community_id, shift_id=item.id).pack()
        if item.kind == ItemKind.OFFER:
            return CourseCb(action=CourseAction.REVIEW).pack()
        return PollStaffCb(action=PollStaffAction.VIEW, poll_id=item.id).pack()

    def welcome(self, role: Role, community_id: int | None) -> Keyboard:
        if role == Role.TEACHER:
            return keyboard(
                [button(N_("✍️ What I can teach"), CourseCb(action=CourseAction.SUBJECT))],
                [button(N_("📚 Courses"), CourseCb(action=CourseAction.HOME))])
        if role == Role.STAFF and community_id is not None:
            return keyboard(
                [button(N_("🛠 Manage community"), ManageCommunityCb(community_id=community_id))],
                [button(N_("👥 Members"), MembersCb(community_id=community_id))])
        return keyboard([button(N_("🛠 Manage community"), ManageListCb())])


@dataclass(frozen=True)
class OutboxKeyboards:
    """Every feature's outbox buttons, injected where messages are queued."""

    courses: courses.Buttons
    volunteers: volunteers.Buttons
    reports: concerns.Buttons
    polls: polls.Buttons
    district: digest.Buttons


OUTBOX_KEYBOARDS = OutboxKeyboards(courses=CourseButtons(), volunteers=VolunteerButtons(),
                                   reports=ReportButtons(), polls=PollButtons(),
                                   district=DistrictButtons())
