"""The shorter order and report paths keep what the long ones promised (issue 14): a
double tap on the last step files once, every step has ◀ Back and ✖ Cancel, and a typed
order that names a neighbour's is offered to back, never filed twice."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.courses import Category, Course, CourseOrder, CourseStatus, OrderStatus
from models.db import begin_write
from models.voices import Report
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, member, onboard, rows
from tests.handlers.test_courses import double_tap


def labels(person: Person) -> list[str]:
    message = person.handle.last_bot_message
    assert message is not None
    return message.button_labels


async def paper_cutting(session: AsyncSession, clock: ManualClock, community_id: int) -> Course:
    course = Course(community_id=community_id, title="Paper cutting", description="Scissors",
                    category=Category.ARTS, minutes=60, status=CourseStatus.APPROVED,
                    created_at=clock.now())
    await begin_write(session)
    session.add(course)
    await session.commit()
    return course


async def test_a_double_tapped_preset_files_one_order(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    await paper_cutting(session, clock, home.id or 0)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    await ann.tap("📚 Courses")
    await ann.press("🙋 Order a course")
    await ann.press("📚 Paper cutting")
    await double_tap(harness, ann, "🌅 Weekday mornings")
    [order] = await rows(session, CourseOrder)
    assert (order.days, order.time_of_day, order.expected) == (0b001_1111, "morning", 0)
    assert ann.last.startswith("Your order is in ✅")
    assert "How many would come: not known yet" in ann.last


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_back_and_cancel_on_the_short_order_path(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str
) -> None:
    zh = language == "zh"
    back, cancel = ("◀ 返回", "✖ 取消") if zh else ("◀ Back", "✖ Cancel")
    home = await make_community(session, clock, "Sunny Court")
    await paper_cutting(session, clock, home.id or 0)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann", language=language)
    await ann.tap("📚 课程" if zh else "📚 Courses")
    await ann.press("🙋 点一门课" if zh else "🙋 Order a course")
    assert labels(ann) == ["📚 Paper cutting", back, cancel]
    await ann.press("📚 Paper cutting")
    assert labels(ann)[-2:] == [back, cancel]
    await ann.press(back)  # the suggestions again, not the 📚 Courses screen
    assert labels(ann) == ["📚 Paper cutting", back, cancel]
    await ann.send("paper")  # a menu course's words: its kind, no category asked
    assert ("🏖 周末" if zh else "🏖 Weekends") in labels(ann)
    await ann.press(back)
    assert labels(ann) == ["📚 Paper cutting", back, cancel]
    await ann.press(cancel)
    assert await rows(session, CourseOrder) == []


async def test_a_typed_topic_like_my_own_order_is_not_filed_again(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    bob, _b = await member(harness, session, clock, home, 3003, "Bob")
    for person in (ann, ann, bob):
        await person.tap("📚 Courses")
        await person.press("🙋 Order a course")
        await person.send("Smartphone photos")
        if "Which kind of course is it?" in person.last:
            await person.press("🔧 Practical skills")
            await person.press("🕒 Any time suits me")
    assert ann.last.startswith("You have already ordered this:")
    assert "Would you like to back it instead?" in bob.last
    await bob.press("➕ No, make my own order")  # then when suits him, and it is his
    await bob.press("🌆 Weekday evenings")
    orders = await rows(session, CourseOrder)
    assert [o.status for o in orders] == [OrderStatus.OPEN, OrderStatus.OPEN]
    assert orders[1].category == Category.SKILLS and orders[1].time_of_day == "evening"


async def test_a_quick_report_sent_twice_files_once_and_back_returns_to_its_words(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Sunny Court", grids=("Block 1",))
    ann = harness.person(3002, "Ann")
    await onboard(ann, "Sunny Court", "Block 1")
    await ann.tap("💬 My voice")
    await ann.press("🚨 Safety")
    assert labels(ann) == ["◀ Back", "✖ Cancel"]
    await ann.send("A broken step by gate 2")
    assert labels(ann) == ["✅ Send", "📷 Add a photo, a voice message or my location",
                           "◀ Back", "✖ Discard"]
    await ann.press("◀ Back")  # the words again
    await ann.send("A broken step by gate 3")
    await double_tap(harness, ann, "✅ Send")
    [report] = await rows(session, Report)
    assert report.description == "A broken step by gate 3" and report.grid_id is not None


async def test_a_quick_report_can_still_carry_a_photo(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    await ann.tap("💬 My voice")
    await ann.press("🧹 Environment and cleanliness")
    await ann.send("Rubbish by the bins")
    await ann.press("📷 Add a photo, a voice message or my location")
    await ann.handle.send_photo()
    await harness.settle()
    await ann.tap("Skip ▶")
    assert "📷 with a photo" in ann.last
    await ann.press("✅ Send")
    [report] = await rows(session, Report, col(Report.photo_file_id).is_not(None))
    assert report.description == "Rubbish by the bins"
