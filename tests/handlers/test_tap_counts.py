"""Taps from the main menu for each everyday flow of residents and volunteers (issue 14: "every
everyday flow in ≤ 3 taps, none needing typing where a button could do"), through the real
dispatcher: a reply-keyboard or an inline button is one tap; typed text is counted apart, as
typing. Each flow asserts its outcome and its budget; the module prints the table at the end
(`pytest -s` or the terminal summary).

A flow that starts from a message the bot sent (a seat offered, a reminder, a poll, a rating
question) is counted from that message, which is where the person meets it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import time, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.courses import (
    Category,
    Course,
    CourseOrder,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    OrderBacking,
)
from models.db import begin_write
from models.users import Role
from models.voices import Report, ReportCategory
from models.volunteers import ShiftClaim
from scheduler.outbox import OutboxSender
from services import course_sessions, preferences
from services.access import Access
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, member, onboard, rows, user_of
from tests.handlers.test_broadcasts import resident, sender
from tests.handlers.test_concerns import staff_member
from tests.handlers.test_courses import delivered, message_with
from tests.handlers.test_courses_resident import tai_chi
from tests.handlers.test_polls import compose
from tests.handlers.test_volunteer_taps import delivered as delivered_all
from tests.handlers.test_volunteer_taps import patrol
from tests.handlers.test_volunteers import TUE_18, become_volunteer, make_staff
from tests.scheduler.conftest import settled, wait_until

__all__ = ["sender"]  # the outbox sender fixture

BUDGET = 3  # taps, for every everyday flow
TABLE: dict[str, tuple[int, int]] = {}


class Walk:
    """A person's taps and typing, counted from where the flow starts."""

    def __init__(self, person: Person, flow: str) -> None:
        self.person, self.flow = person, flow
        self.taps = self.typing = 0

    async def tap(self, label: str) -> None:
        """A main-menu (reply keyboard) button."""
        self.taps += 1
        await self.person.tap(label)

    async def press(self, label: str) -> None:
        """An inline button."""
        self.taps += 1
        await self.person.press(label)

    async def press_starting(self, start: str) -> None:
        """The inline button whose label starts with `start` (a date or a count in it)."""
        await self.press(starting(self.person, start))

    async def type(self, text: str) -> None:
        self.typing += 1
        await self.person.send(text)

    def done(self, *, taps: int = BUDGET, typing: int = 0) -> None:
        """Record the flow and hold it to its budget."""
        TABLE[self.flow] = (self.taps, self.typing)
        assert self.taps <= taps, f"{self.flow}: {self.taps} taps (budget {taps})"
        assert self.typing <= typing, f"{self.flow}: typed {self.typing} times"


def starting(person: Person, start: str) -> str:
    for message in reversed(person.handle.bot_messages):
        for label in message.button_labels:
            if label.startswith(start):
                return label
    raise AssertionError(f"no button starting {start!r}")


@pytest.fixture(scope="module", autouse=True)
def table(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the table once the module's flows have run (output capture set aside)."""
    yield
    lines = ["", f"{'flow':<44}{'taps':>6}{'typing':>8}"]
    lines += [f"{flow:<44}{taps:>6}{typing:>8}" for flow, (taps, typing) in TABLE.items()]
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        for line in lines:
            if reporter is not None:
                reporter.write_line(line)
            else:
                print(line)


# --- Courses --------------------------------------------------------------------------


async def test_enrol_cancel_and_the_waiting_list(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann")
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob")
    await tai_chi(session, clock, home, staff_access, capacity=1)

    walk = Walk(ann, "enrol in a session with free seats")
    await walk.tap("📚 Courses")
    await walk.press_starting("✍️")
    assert ann.last.startswith("You are enrolled ✅")
    walk.done()

    walk = Walk(bob, "join a waiting list")
    await walk.tap("📚 Courses")
    await walk.press_starting("Tai chi")  # "(full)": its card
    await walk.press("🕒 Full: join the waiting list")
    [line] = await rows(session, Enrolment, col(Enrolment.user_id) == bob_access.user_id)
    assert line.status == EnrolmentStatus.WAITING
    walk.done()

    walk = Walk(ann, "cancel my place")
    await walk.tap("📚 Courses")
    await walk.press_starting("✅")  # my session on the screen
    await walk.press("❌ Cancel my place")
    await walk.press("Yes, cancel my place")
    [seat] = await rows(session, Enrolment, col(Enrolment.user_id) == ann_access.user_id)
    assert seat.status == EnrolmentStatus.CANCELLED
    walk.done(taps=4)

    walk = Walk(bob, "accept an offer (from the offer)")
    await delivered(bob, "A seat has come free", sender)
    await walk.press("✅ Yes, I'll take the seat")
    assert message_with(bob, "A seat has come free").content.endswith("✅ You took the seat.")
    [line] = await rows(session, Enrolment, col(Enrolment.user_id) == bob_access.user_id)
    assert line.status == EnrolmentStatus.ENROLLED
    walk.done()


async def test_order_a_course_and_back_a_neighbours_order(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann")
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob")
    cy, _c = await member(harness, session, clock, home, 3004, "Cy")
    course = Course(community_id=home.id or 0, title="Paper cutting", description="Scissors",
                    category=Category.ARTS, minutes=60, status=CourseStatus.APPROVED,
                    created_at=clock.now())
    await begin_write(session)
    session.add(course)
    await session.commit()

    walk = Walk(ann, "order a course (a topic typed)")
    await walk.tap("📚 Courses")
    await walk.press("🙋 Order a course")
    await walk.type("Smartphone photos")
    await walk.press("🔧 Practical skills")
    await walk.press("🌆 Weekday evenings")
    assert ann.last.startswith("Your order is in ✅")
    walk.done(taps=4, typing=1)

    walk = Walk(bob, "order a course (a suggested title)")
    await walk.tap("📚 Courses")
    await walk.press("🙋 Order a course")
    await walk.press("📚 Paper cutting")
    await walk.press("🏖 Weekends")
    [order] = await rows(session, CourseOrder, col(CourseOrder.user_id) == bob_access.user_id)
    assert (order.course_id, order.days) == (course.id, 0b110_0000)
    walk.done(taps=4)

    walk = Walk(cy, "back (“me too”) a neighbour's order")
    await walk.tap("📚 Courses")
    await walk.press("🙋 Order a course")
    await walk.press("👍 Smartphone photos · 0")
    assert "1 neighbour backs this order now" in cy.last
    walk.done()

    walk = Walk(cy, "order a course whose words match an order")
    await walk.tap("📚 Courses")
    await walk.press("🙋 Order a course")
    await walk.type("paper cutting")
    await walk.press("👍 Yes, me too on that one")
    assert len(await rows(session, OrderBacking)) == 2
    walk.done(typing=1)
    assert len(await rows(session, CourseOrder, col(CourseOrder.user_id)
                          == ann_access.user_id)) == 1


# --- My voice ---------------------------------------------------------------------------


async def test_send_a_report_and_an_idea(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Sunny Court", grids=("Block 1",))
    ann = harness.person(3002, "Ann")
    await onboard(ann, "Sunny Court", "Block 1")

    walk = Walk(ann, "send a report")
    await walk.tap("💬 My voice")
    await walk.press("🔧 Facilities and repairs")
    await walk.type("The lift on block 1 is stuck")
    await walk.press("✅ Send")
    [report] = await rows(session, Report)
    assert (report.category, report.description) == (ReportCategory.FACILITIES,
                                                      "The lift on block 1 is stuck")
    walk.done(typing=1)

    walk = Walk(ann, "send an idea")
    await walk.tap("💬 My voice")
    await walk.press("💡 Share an idea")
    await walk.type("Benches by the pond")
    await walk.press("✅ Send")
    assert [r.category for r in await rows(session, Report)][-1] == ReportCategory.IDEA
    walk.done(typing=1)

    walk = Walk(ann, "send words first, then a category")
    await walk.type("The gate light is broken")
    await walk.press("🚨 Safety")
    await walk.press("✅ Send")
    assert len(await rows(session, Report)) == 3
    walk.done(typing=1)


# --- Volunteers ---------------------------------------------------------------------------


async def test_claim_a_shift_and_check_in(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await patrol(session, clock, access, community.id or 0)
    await delivered_all(sender, sessionmaker, harness)

    walk = Walk(ann, "claim a volunteer shift")
    await walk.tap("🙋 Volunteer")
    await walk.press("🔎 Shifts that need people")
    await walk.press_starting("✋ 1.")
    assert ann.last.startswith("✅ Your place is booked.")
    walk.done()

    clock.set(TUE_18 - timedelta(minutes=50))
    await delivered_all(sender, sessionmaker, harness)
    walk = Walk(ann, "check in to a shift (from its reminder)")
    await walk.press("✅ Check in")
    (claim,) = await rows(session, ShiftClaim)
    assert claim.checked_in_at is not None
    walk.done()


# --- Settings ----------------------------------------------------------------------------


async def test_change_language_and_quiet_hours(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann")

    walk = Walk(ann, "set quiet hours")
    await walk.tap("⚙️ Settings")
    await walk.press("🔔 Notifications")
    await walk.press_starting("🌙")
    await walk.press("10:00 pm–7:00 am")
    await session.commit()
    prefs = await preferences.get_preferences(session, user_id=ann_access.user_id)
    assert (prefs.quiet_start, prefs.quiet_end) == (time(22), time(7))
    walk.done(taps=4)

    walk = Walk(ann, "change language")
    await walk.tap("⚙️ Settings")
    await walk.press("🌐 Language")
    await walk.press("中文")
    assert (await user_of(session, ann)).locale == "zh"
    walk.done()


# --- Questions the bot asks: a poll, a rating -------------------------------------------


async def test_answer_a_poll_and_rate_a_session(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5001, None)
    staff = await staff_member(harness, session, clock, home)
    await compose(staff)  # two questions: one answer, then several
    await wait_until(settled(sessionmaker))

    walk = Walk(ann, "answer a two-question poll (from the poll)")
    await walk.press("🗳 Answer")
    await walk.press("By the gate")  # one answer: on to the next by itself
    await walk.press("⬜ Lights")
    await walk.press("✅ Finish")
    assert ann.last.startswith("✅ Thank you! Your answers are saved.")
    walk.done(taps=1 + 2 + 1)  # open it, one tap a question, ✅ Finish for the many-answer one

    staff_access = Access(user_id=(await user_of(session, staff)).id or 0,
                          staff_of=frozenset({home.id or 0}))
    lesson = await tai_chi(session, clock, home, staff_access)
    await ann.tap("📚 Courses")
    await ann.press(starting(ann, "✍️"))
    clock.set(lesson.starts_at - timedelta(minutes=10))
    await course_sessions.mark_attendance(
        session, access=staff_access, clock=clock, session_id=lesson.id or 0,
        user_id=(await user_of(session, ann)).id or 0, present=True,
        buttons=OUTBOX_KEYBOARDS.courses, notify=sender.kick)
    clock.set(lesson.starts_at + timedelta(minutes=61))
    await delivered(ann, "Please give it 1 to 5 stars", sender)

    walk = Walk(ann, "rate a session (from the question)")
    await walk.press("5⭐")
    [seat] = await rows(session, Enrolment)
    assert seat.rating == 5
    walk.done()
