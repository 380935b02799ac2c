"""Courses as a resident meets them, through the real dispatcher: the next sessions on the
📚 Courses screen one tap from a seat, a session's card (teacher, community, what to bring,
places left, the course's other dates), giving up a place or an order asked once, the
calendar file's alarm, and the order wizard's ◀ Back and ✖ Cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.callback_data import LessonAction, LessonCb, OrderAction, OrderCb
from bot.callback_data.courses import CourseAction, CourseCb, PlaceAction, PlaceCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.communities import Community
from models.courses import (
    Category,
    Course,
    CourseOrder,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    OrderBacking,
    OrderStatus,
)
from models.db import begin_write
from models.outbox import OutboxMessage
from models.users import Role
from scheduler.outbox import OutboxSender
from services import course_sessions
from services.access import Access
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, member, onboard, rows, user_of
from tests.handlers.test_broadcasts import sender
from tests.handlers.test_courses import delivered, message_with

__all__ = ["sender"]  # the outbox sender fixture

WORDS = {
    "en": {
        "courses": "📚 Courses", "cancel": "❌ Cancel my place", "yes": "Yes, cancel my place",
        "no": "No, keep my place", "enrolled": "You are enrolled ✅",
        "cancelled": "Your place is cancelled.", "question": "Cancel your place at “Tai chi”",
        "wait": "🕒 Full: join the waiting list", "leave_yes": "Yes, leave the waiting list",
        "leave_no": "No, stay on the list", "left": "You have left the waiting list.",
        "calendar": "📅 Add to my calendar", "one_left": "👥 1 place left of 2",
        "two_left": "👥 2 places left of 2", "full": "👥 Full: all 2 places are taken",
    },
    "zh": {
        "courses": "📚 课程", "cancel": "❌ 取消我的报名", "yes": "是的，取消我的报名",
        "no": "不，保留我的名额", "enrolled": "报名成功 ✅",
        "cancelled": "已取消您的报名。", "question": "“Tai chi”的报名吗？",
        "wait": "🕒 已满：加入候补", "leave_yes": "是的，退出候补",
        "leave_no": "不，继续候补", "left": "您已退出候补。",
        "calendar": "📅 加入我的日历", "one_left": "👥 还剩 1 个名额（共 2 个）",
        "two_left": "👥 还剩 2 个名额（共 2 个）", "full": "👥 已满：2 个名额都已报满",
    },
}


async def tai_chi(session: AsyncSession, clock: ManualClock, home: Community, staff: Access,
                  *, capacity: int = 2, days: int = 3, course: Course | None = None,
                  bring: str | None = None) -> Lesson:
    lesson = await course_sessions.schedule_session(
        session, access=staff, clock=clock, community_id=home.id or 0,
        teacher_id=staff.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=days), minutes=60, venue="Garden",
        capacity=capacity, buttons=OUTBOX_KEYBOARDS.courses,
        course_id=course.id if course else None)
    if bring is not None:
        await begin_write(session)
        lesson.bring = bring
        session.add(lesson)
        await session.commit()
    return lesson


def labels(person: Person) -> list[str]:
    message = person.handle.last_bot_message
    assert message is not None
    return message.button_labels


def label_starting(person: Person, start: str) -> str:
    return next(label for label in labels(person) if label.startswith(start))


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_the_courses_screen_enrols_in_two_taps_and_cancelling_asks_once(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str
) -> None:
    words = WORDS[language]
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann", language=language)
    lesson = await tai_chi(session, clock, home, staff_access)

    # Tap 1: 📚 Courses shows the next sessions; tap 2: ✍️ Enrol on one of them.
    await ann.tap(words["courses"])
    assert "Tai chi" in ann.last
    await ann.press(label_starting(ann, "✍️"))
    assert ann.last.startswith(words["enrolled"])
    [enrolment] = await rows(session, Enrolment, col(Enrolment.user_id) == ann_access.user_id)
    assert enrolment.status == EnrolmentStatus.ENROLLED

    # ❌ Cancel my place asks once; No puts the card back and keeps the seat.
    card = ann.handle.last_bot_message
    assert card is not None
    await ann.press(words["cancel"])
    assert ann.handle.last_bot_message.message_id == card.message_id  # type: ignore[union-attr]
    assert words["question"] in ann.last
    assert labels(ann) == [words["yes"], words["no"]]
    await ann.press(words["no"])
    assert words["cancel"] in labels(ann)
    [enrolment] = await rows(session, Enrolment, col(Enrolment.user_id) == ann_access.user_id)
    assert enrolment.status == EnrolmentStatus.ENROLLED

    # Yes frees the seat; the card says so and no longer offers to cancel.
    await ann.press(words["cancel"])
    await ann.press(words["yes"])
    assert words["cancelled"] in ann.last
    assert words["cancel"] not in labels(ann)
    [enrolment] = await rows(session, Enrolment, col(Enrolment.user_id) == ann_access.user_id)
    assert enrolment.status == EnrolmentStatus.CANCELLED

    # A stale Yes (the question answered already) changes nothing and says so.
    stale = PlaceCb(action=PlaceAction.LEAVE, id=lesson.id or 0).pack()
    answer = await ann.forge(stale)
    assert answer  # the error router's words
    [enrolment] = await rows(session, Enrolment, col(Enrolment.user_id) == ann_access.user_id)
    assert enrolment.status == EnrolmentStatus.CANCELLED


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_leaving_the_waiting_list_asks_once_and_the_line_gets_no_calendar(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str
) -> None:
    words = WORDS[language]
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob", language=language)
    lesson = await tai_chi(session, clock, home, staff_access, capacity=1)
    await ann.send("/menu")
    await ann.forge(LessonCb(action=LessonAction.ENROL, id=lesson.id or 0).pack())

    await bob.send("/menu")
    await bob.forge(LessonCb(action=LessonAction.VIEW, id=lesson.id or 0).pack())
    await bob.press(words["wait"])
    assert words["calendar"] not in labels(bob)  # a place in line is no date to keep
    answer = await bob.forge(LessonCb(action=LessonAction.ICS, id=lesson.id or 0).pack())
    assert answer
    assert bob.handle.last_bot_message.document_name is None  # type: ignore[union-attr]

    await bob.press(words["cancel"])
    assert labels(bob) == [words["leave_yes"], words["leave_no"]]
    await bob.press(words["leave_no"])
    [line] = await rows(session, Enrolment, col(Enrolment.user_id) == bob_access.user_id)
    assert line.status == EnrolmentStatus.WAITING
    await bob.press(words["cancel"])
    await bob.press(words["leave_yes"])
    assert words["left"] in bob.last
    [line] = await rows(session, Enrolment, col(Enrolment.user_id) == bob_access.user_id)
    assert line.status == EnrolmentStatus.CANCELLED


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_session_card_says_who_where_what_to_bring_places_left_and_other_dates(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str
) -> None:
    words = WORDS[language]
    home = await make_community(session, clock, "Sunny Court")
    _teacher, teacher_access = await member(harness, session, clock, home, 3001, "Teacher Sun",
                                           Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann", language=language)
    bob, _b = await member(harness, session, clock, home, 3003, "Bob")
    course = Course(community_id=home.id or 0, title="Tai chi", description="Slow moves",
                    category=Category.SPORTS, minutes=60, status=CourseStatus.APPROVED,
                    teacher_id=teacher_access.user_id, created_at=clock.now())
    await begin_write(session)
    session.add(course)
    await session.commit()
    first = await tai_chi(session, clock, home, teacher_access, course=course, bring="a mat")
    await tai_chi(session, clock, home, teacher_access, course=course, days=10)

    await ann.send("/menu")
    await ann.forge(LessonCb(action=LessonAction.VIEW, id=first.id or 0).pack())
    card = ann.last
    assert "Teacher Sun" in card and "Garden" in card and "Sunny Court" in card
    assert "a mat" in card
    assert words["two_left"] in card
    assert sum(1 for label in labels(ann) if label.startswith("🗓")) == 1  # the other date
    await bob.send("/menu")
    await bob.forge(LessonCb(action=LessonAction.ENROL, id=first.id or 0).pack())
    await ann.forge(LessonCb(action=LessonAction.VIEW, id=first.id or 0).pack())
    assert words["one_left"] in ann.last
    await ann.press("✍️ Enrol" if language == "en" else "✍️ 报名")
    assert words["full"] in ann.last

    # The course on the menu offers its sessions' seats, not only "order this course".
    await ann.forge(CourseCb(action=CourseAction.COURSE, id=course.id or 0).pack())
    assert any(label.startswith("✍️") for label in labels(ann))  # the later one has seats


async def test_the_calendar_file_carries_an_alarm_an_hour_before(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    lesson = await tai_chi(session, clock, home, staff_access)
    await ann.send("/menu")
    await ann.forge(LessonCb(action=LessonAction.ENROL, id=lesson.id or 0).pack())
    await ann.press(WORDS["en"]["calendar"])
    message = ann.handle.last_bot_message
    assert message is not None and message.document is not None
    data = harness.emulator.state.files[message.document].data
    [alarm] = list(Calendar.from_ical(data).walk("VALARM"))
    assert alarm.decoded("trigger") == -timedelta(hours=1)
    assert str(alarm["action"]) == "DISPLAY"


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_withdrawing_an_order_or_a_me_too_asks_once(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str
) -> None:
    zh = language == "zh"
    home = await make_community(session, clock, "Sunny Court")
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann", language=language)
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob", language=language)
    order = CourseOrder(community_id=home.id or 0, user_id=ann_access.user_id, topic="Photos",
                        category=Category.SKILLS, days=0, time_of_day="any", expected=5,
                        created_at=clock.now())
    await begin_write(session)
    session.add(order)
    await session.commit()

    await bob.send("/menu")
    await bob.forge(OrderCb(action=OrderAction.VIEW, id=order.id or 0).pack())
    await bob.press("👍 我也要！" if zh else "👍 Me too!")
    await bob.press("↩️ 取消我的“我也要”" if zh else "↩️ Take back my “me too”")
    assert labels(bob) == (["是的，取消我的“我也要”", "不，继续支持"] if zh else
                           ["Yes, take back my “me too”", "No, keep backing it"])
    await bob.press("不，继续支持" if zh else "No, keep backing it")
    assert len(await rows(session, OrderBacking, col(OrderBacking.user_id)
                          == bob_access.user_id)) == 1
    await bob.press("↩️ 取消我的“我也要”" if zh else "↩️ Take back my “me too”")
    await bob.press("是的，取消我的“我也要”" if zh else "Yes, take back my “me too”")
    assert await rows(session, OrderBacking, col(OrderBacking.user_id)
                      == bob_access.user_id) == []

    await ann.send("/menu")
    await ann.forge(OrderCb(action=OrderAction.VIEW, id=order.id or 0).pack())
    await ann.press("🗑 撤回我的点单" if zh else "🗑 Withdraw my order")
    assert labels(ann) == (["是的，撤回我的点单", "不，保留我的点单"] if zh else
                           ["Yes, withdraw my order", "No, keep my order"])
    await ann.press("不，保留我的点单" if zh else "No, keep my order")
    [order] = await rows(session, CourseOrder)
    assert order.status == OrderStatus.OPEN
    await ann.press("🗑 撤回我的点单" if zh else "🗑 Withdraw my order")
    await ann.press("是的，撤回我的点单" if zh else "Yes, withdraw my order")
    [order] = await rows(session, CourseOrder)
    assert order.status == OrderStatus.WITHDRAWN
    assert labels(ann) == ["◀ 课程" if zh else "◀ Courses"]  # nothing left to give up


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_every_step_of_an_order_has_back_and_cancel_buttons(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str
) -> None:
    zh = language == "zh"
    back, cancel = ("◀ 返回", "✖ 取消") if zh else ("◀ Back", "✖ Cancel")
    detail = "🗓 自己选日子和时段" if zh else "🗓 Choose days and times"
    home = await make_community(session, clock, "Sunny Court")
    ann, _a = await member(harness, session, clock, home, 3002, "Ann", language=language)
    await ann.tap("📚 课程" if zh else "📚 Courses")
    await ann.press("🙋 点一门课" if zh else "🙋 Order a course")
    assert labels(ann)[-2:] == [back, cancel]  # the topic is typed, yet one can leave
    await ann.send("Photos")
    assert labels(ann)[-2:] == [back, cancel]
    await ann.press("🔧 实用技能" if zh else "🔧 Practical skills")
    assert labels(ann)[-2:] == [back, cancel]
    await ann.press(back)  # the category again
    assert ("🔧 实用技能" if zh else "🔧 Practical skills") in labels(ann)
    await ann.press("🔧 实用技能" if zh else "🔧 Practical skills")
    assert labels(ann)[-2:] == [back, cancel]  # when suits you
    await ann.press(back)  # the category again
    await ann.press("🔧 实用技能" if zh else "🔧 Practical skills")
    await ann.press(detail)
    assert labels(ann)[-2:] == [back, cancel]
    await ann.press(back)  # when suits you again
    await ann.press(detail)
    await ann.press("任何一天都可以" if zh else "Any day is fine")
    assert labels(ann)[-2:] == [back, cancel]
    await ann.press(back)  # the days again
    await ann.press("任何一天都可以" if zh else "Any day is fine")
    await ann.press("下午" if zh else "Afternoon")
    assert labels(ann)[-2:] == [back, cancel]
    assert ("我不知道" if zh else "I don't know") in labels(ann)
    await ann.press(back)  # the time of day again
    assert ("下午" if zh else "Afternoon") in labels(ann)
    await ann.press(cancel)
    assert await rows(session, CourseOrder) == []
    assert labels(ann)  # the courses screen's buttons are back

    # Once more, to the end, with "I don't know" for the headcount.
    await ann.press("🙋 点一门课" if zh else "🙋 Order a course")
    await ann.send("Photos")
    await ann.press("🔧 实用技能" if zh else "🔧 Practical skills")
    await ann.press(detail)
    await ann.press("任何一天都可以" if zh else "Any day is fine")
    await ann.press("下午" if zh else "Afternoon")
    await ann.press("我不知道" if zh else "I don't know")
    [order] = await rows(session, CourseOrder)
    assert order.topic == "Photos" and order.status == OrderStatus.OPEN


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_neighbours_orders_without_a_community_offer_the_picker_right_there(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str
) -> None:
    await make_community(session, clock, "Sunny Court")
    ann = harness.person(3002, "Ann", language)
    await onboard(ann, None)
    assert (await user_of(session, ann)).community_id is None
    await ann.send("/menu")
    await ann.forge(OrderCb(action=OrderAction.LIST).pack())
    assert "Sunny Court" in labels(ann)
    await ann.press("Sunny Court")
    assert (await user_of(session, ann)).community_id is not None


async def test_no_reminder_is_queued_for_a_place_given_up_and_one_for_the_comeback(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann")
    lesson = await tai_chi(session, clock, home, staff_access)

    async def pending() -> list[OutboxMessage]:
        return await rows(session, OutboxMessage, col(OutboxMessage.kind) == "reminder",
                          col(OutboxMessage.user_id) == ann_access.user_id,
                          col(OutboxMessage.status) == "pending")

    await ann.tap("📚 Courses")
    await ann.press(label_starting(ann, "✍️"))
    assert len(await pending()) == 2
    await ann.press(WORDS["en"]["cancel"])
    await ann.press(WORDS["en"]["yes"])
    assert await pending() == []
    await ann.press("✍️ Enrol")
    assert len(await pending()) == 2
    assert lesson.id is not None


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_i_cant_come_on_a_reminder_asks_once_under_its_words(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    language: str,
) -> None:
    zh = language == "zh"
    cant, coming = ("❌ 我来不了", "✅ 我会来") if zh else ("❌ I can't come", "✅ I'm coming")
    yes, no = ("是的，我来不了", "不，我还是会来") if zh else ("Yes, I can't come",
                                                   "No, I'm still coming")
    reminded = "⏰ 提醒" if zh else "⏰ Reminder"
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann", language=language)
    lesson = await tai_chi(session, clock, home, staff_access, days=2)
    await ann.send("/menu")
    await ann.forge(LessonCb(action=LessonAction.ENROL, id=lesson.id or 0).pack())
    clock.set(lesson.starts_at - timedelta(hours=24))
    await delivered(ann, reminded, sender)
    words = message_with(ann, reminded).content

    await ann.press(cant)
    asked = message_with(ann, reminded)
    assert asked.content.startswith(words) and "Tai chi" in asked.content[len(words):]
    assert asked.button_labels == [yes, no]
    await ann.press(no)
    back = message_with(ann, reminded)
    assert back.content == words and back.button_labels == [coming, cant]
    [enrolment] = await rows(session, Enrolment, col(Enrolment.user_id) == ann_access.user_id)
    assert enrolment.status == EnrolmentStatus.ENROLLED

    await ann.press(cant)
    await ann.press(yes)
    answered = message_with(ann, reminded)
    assert answered.inline_keyboard == [] and answered.content.startswith(words)
    [enrolment] = await rows(session, Enrolment, col(Enrolment.user_id) == ann_access.user_id)
    assert enrolment.status == EnrolmentStatus.CANCELLED


async def test_the_search_word_step_has_a_way_back_without_typing(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    ann, _a = await member(harness, session, clock, home, 3002, "Ann", language="zh")
    await ann.tap("📚 课程")
    await ann.press("🔍 搜索课程")
    assert "/cancel" not in ann.last
    assert labels(ann) == ["◀ 课程"]
    await ann.press("◀ 课程")
    assert ann.last.startswith("📚 课程。您想做什么？")


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_the_teacher_says_what_to_bring_and_residents_see_it_on_the_card(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str
) -> None:
    zh = language == "zh"
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                       Role.STAFF, language=language)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    lesson = await tai_chi(session, clock, home, staff_access)
    sid = lesson.id or 0
    await staff.send("/menu")
    await staff.forge(LessonCb(action=LessonAction.VIEW, id=sid).pack())
    await staff.press("🎒 要带的东西" if zh else "🎒 What to bring")
    await staff.send("x" * 201)
    assert "200" in staff.last  # too long: said, and the step stays
    await staff.send("A yoga mat and water")
    assert staff.last.startswith("已保存 ✅" if zh else "Saved ✅")
    [saved] = await rows(session, Lesson)
    assert saved.bring == "A yoga mat and water"
    await ann.send("/menu")
    await ann.forge(LessonCb(action=LessonAction.VIEW, id=sid).pack())
    assert "🎒 Please bring: A yoga mat and water" in ann.last

    # ✖ Cancel keeps it; "Nothing to bring" clears it.
    await staff.press("🎒 要带的东西" if zh else "🎒 What to bring")
    await staff.press("✖ 取消" if zh else "✖ Cancel")
    assert (await rows(session, Lesson))[0].bring == "A yoga mat and water"
    await staff.press("🎒 要带的东西" if zh else "🎒 What to bring")
    await staff.press("什么都不用带" if zh else "Nothing to bring")
    assert (await rows(session, Lesson))[0].bring is None
    # A resident cannot set it, even with a forged button.
    answer = await ann.forge(f"cub:n:{sid}")
    assert answer
