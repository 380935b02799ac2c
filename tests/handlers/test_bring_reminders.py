"""Issue 14: "what to bring", when the teacher or staff gave it, is in the seat holders'
reminders (the day before and the hour before), in each reader's language — also for the
seats taken before it was said, whose reminders were already queued."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import LessonAction, LessonCb
from models.users import Role
from scheduler.outbox import OutboxSender
from services import course_sessions
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, member
from tests.handlers.test_broadcasts import sender
from tests.handlers.test_courses import delivered
from tests.handlers.test_courses_resident import tai_chi
from tests.scheduler.conftest import wait_until

__all__ = ["sender"]  # the outbox sender fixture


def reminders(person: Person, start: str) -> list[str]:
    return [text for text in person.texts if text.startswith(start)]


async def test_reminders_say_what_to_bring_in_each_language(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                       Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    li, _l = await member(harness, session, clock, home, 3003, "Li", language="zh")
    cy, _c = await member(harness, session, clock, home, 3004, "Cy")
    lesson = await tai_chi(session, clock, home, staff_access, capacity=5)
    sid = lesson.id or 0
    for person in (ann, cy):  # before the teacher said what to bring: reminders queued
        await person.send("/menu")
        await person.forge(LessonCb(action=LessonAction.ENROL, id=sid).pack())

    await staff.send("/menu")
    await staff.forge(LessonCb(action=LessonAction.VIEW, id=sid).pack())
    await staff.press("🎒 What to bring")
    await staff.send("A yoga mat & water")
    assert staff.last.startswith("Saved ✅")
    await li.send("/menu")  # after it: her reminders are worded with it
    await li.forge(LessonCb(action=LessonAction.ENROL, id=sid).pack())

    rules = await course_sessions.get_rules(session, community_id=home.id or 0)
    assert len(rules.reminder_hours) == 2  # the day before and the hour(s) before

    async def all_in(count: int) -> None:
        async def arrived() -> bool:
            return all(len(reminders(p, start)) == count for p, start in (
                (ann, "⏰ Reminder"), (li, "⏰ 提醒"), (cy, "⏰ Reminder")))
        sender.kick()
        await wait_until(arrived)

    clock.set(lesson.starts_at - timedelta(hours=max(rules.reminder_hours), minutes=-1))
    await all_in(1)
    clock.set(lesson.starts_at - timedelta(minutes=10))  # the later one (past quiet hours)
    await all_in(2)
    for text in reminders(ann, "⏰ Reminder") + reminders(cy, "⏰ Reminder"):
        assert "🎒 Please bring: A yoga mat & water\nAre you coming?" in text
    for text in reminders(li, "⏰ 提醒"):
        assert "🎒 请带上：A yoga mat" in text and "您会来吗？" in text


async def test_a_session_with_nothing_to_bring_has_no_bring_line(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    lesson = await tai_chi(session, clock, home, staff_access)
    await ann.send("/menu")
    await ann.forge(LessonCb(action=LessonAction.ENROL, id=lesson.id or 0).pack())
    clock.set(lesson.starts_at - timedelta(hours=23))
    await delivered(ann, "⏰ Reminder", sender)
    assert "🎒" not in reminders(ann, "⏰ Reminder")[0]
