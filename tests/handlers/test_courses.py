"""Courses through the real dispatcher: ordering and backing, a teacher taking and scheduling
with buttons, enrolling, the waitlist, check-in by link, rating; forged and bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.callback_data import LessonAction, LessonCb, OrderAction, OrderCb
from bot.callback_data.courses import (
    CancelDoCb,
    CourseAction,
    CourseCb,
    MarkCb,
    PlaceAction,
    PlaceCb,
)
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from emulator import ChatMessage
from models.courses import (
    Category,
    Course,
    CourseOrder,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    OrderStatus,
)
from models.outbox import OutboxMessage
from models.users import Role
from scheduler.outbox import OutboxSender, say
from services import course_sessions, courses
from services.clock import ManualClock
from tests.factories import grant, make_community
from tests.handlers.conftest import Harness, Person, member, rows, user_of
from tests.handlers.test_broadcasts import sender
from tests.scheduler.conftest import wait_until

__all__ = ["sender"]  # the outbox sender fixture


def outbox_button(message: OutboxMessage, label: str) -> str:
    assert message.keyboard is not None
    return next(b["callback_data"] for row in message.keyboard["inline_keyboard"] for b in row
                if b["text"] == label)


async def test_order_backers_teacher_takes_and_schedules_with_buttons_residents_enrol(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    teacher, _t = await member(harness, session, clock, home, 3001, "Teacher", Role.TEACHER)
    ann, _ = await member(harness, session, clock, home, 3002, "Ann")
    assert ann.menu[0] == "📚 Courses"

    # Ann orders a topic of her own.
    await ann.tap("📚 Courses")
    assert "✋ Orders I can teach" not in ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await ann.press("🙋 Order a course")
    await ann.send("x" * 61)
    assert ann.last.startswith("That is too long: at most 60 characters.")
    await ann.send("Smartphone photos")
    await ann.press("🔧 Practical skills")
    await ann.press("🗓 Choose days and times")
    await ann.press("Sat")
    await ann.press("Sun")
    await ann.press("✅ Done")
    await ann.press("Afternoon")
    await ann.press("about 10")
    assert ann.last.startswith("Your order is in ✅")
    assert "When: weekends, afternoon" in ann.last
    [order] = await rows(session, CourseOrder)
    assert (order.days, order.expected) == (0b110_0000, 10)

    # A neighbour ordering the same thing is offered to back it instead.
    bob, _ = await member(harness, session, clock, home, 3003, "Bob", language="zh")
    await bob.tap("📚 课程")
    await bob.press("🙋 点一门课")
    await bob.send("smartphone  PHOTOS!")  # matched as typed: no category, no days asked
    assert "已经有邻居点了类似的课" in bob.last
    await bob.press("👍 好，我也要这门")
    assert len(await rows(session, CourseOrder)) == 1
    assert "↩️ 取消我的“我也要”" in bob.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    answer = await bob.forge(OrderCb(action=OrderAction.BACK, id=order.id or 0).pack())
    assert answer == "您已经支持这个点单了。👍"  # a double tap

    # Four more backers reach the threshold (5): staff and teachers of the category hear.
    for n in range(4):
        neighbour, _ = await member(harness, session, clock, home, 3100 + n, f"N{n}")
        await neighbour.tap("📚 Courses")
        await neighbour.press("👥 Neighbours' orders")
        await neighbour.press("Smartphone photos · 👍 " + str(1 + n))
        await neighbour.press("👍 Me too!")
    alerts = await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like("c:alert:%"))
    assert alerts == []  # the teacher teaches no category yet, and there is no staff
    await teacher.tap("📚 Courses")
    await teacher.press("✋ Orders I can teach")
    await teacher.press("Smartphone photos · 👍 5")
    await teacher.press("✋ I'll teach it")
    assert teacher.last.startswith("It's yours ✋")
    await teacher.press("🗓 Schedule a session")
    await teacher.press("Tomorrow")
    await teacher.press("2:30 pm")
    await teacher.press("90 min")
    await teacher.send("Living room, 2nd floor")
    await teacher.send("0")
    assert teacher.last == "Please give a number of seats from 1 to 500."
    await teacher.send("10000")
    assert teacher.last == "Please give a number of seats from 1 to 500."
    await teacher.press("10")
    assert "🕒 Tue 3 Mar, 2:30 pm, 90 min" in teacher.last
    await teacher.press("✅ Yes, that's right")
    assert teacher.texts[-1].startswith("Scheduled ✅")
    [lesson] = await rows(session, Lesson)
    news = await rows(session, OutboxMessage, col(OutboxMessage.group_key) == f"cn:{lesson.id}")
    assert len(news) == 6  # Ann and five backers
    order = (await rows(session, CourseOrder))[0]
    assert order.status == OrderStatus.SCHEDULED

    # Ann enrols from the news message's button.
    ann_id = (await user_of(session, ann)).id
    ann_news = next(m for m in news if m.user_id == ann_id)
    await ann.forge(outbox_button(ann_news, "✍️ Enrol"))
    assert ann.last.startswith("You are enrolled ✅")
    await ann.forge(LessonCb(action=LessonAction.ENROL, id=lesson.id or 0).pack())
    assert ann.alerts[-1] == "You are already enrolled."
    await ann.press("📅 Add to my calendar")
    assert ann.handle.last_bot_message.document_name == f"course-{lesson.id}.ics"  # type: ignore[union-attr]
    await ann.tap("📚 Courses")
    await ann.press("🎒 My courses")
    assert "Smartphone photos: you are enrolled ✅" in ann.last


async def test_waitlist_offer_check_in_link_and_rating(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Staff", Role.STAFF)
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann")
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob")

    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=2), minutes=60, venue="Garden", capacity=1,
        buttons=OUTBOX_KEYBOARDS.courses)
    await ann.tap("📚 Courses")
    await ann.press("🗓 Sessions coming up")
    await ann.press("Wed 4 Mar, 9:00 am Tai chi")
    await ann.press("✍️ Enrol")
    await bob.tap("📚 Courses")
    await bob.press("🗓 Sessions coming up")
    await bob.press("Wed 4 Mar, 9:00 am Tai chi")
    assert "👥 Full: the 1 place is taken" in bob.last
    await bob.press("🕒 Full: join the waiting list")
    assert bob.last.startswith("It is full, so you are on the waiting list.")

    # Ann's 24 h reminder: "I can't come" frees the seat; Bob is offered it.
    clock.set(lesson.starts_at - timedelta(hours=24))
    [reminder] = await rows(session, OutboxMessage, col(OutboxMessage.kind) == "reminder",
                            col(OutboxMessage.user_id) == ann_access.user_id,
                            col(OutboxMessage.not_before) <= clock.now())
    await ann.forge(outbox_button(reminder, "❌ I can't come"))
    await ann.press("Yes, I can't come")
    assert ann.last.startswith("Your place is cancelled.")
    [offer] = await rows(session, OutboxMessage,
                         col(OutboxMessage.dedupe_key).like("c:offer:%"))
    assert offer.user_id == bob_access.user_id
    await bob.forge(outbox_button(offer, "✅ Yes, I'll take the seat"))
    assert bob.last.startswith("The seat is yours ✅")

    # Check-in by the QR code's link; too early first.
    await staff.tap("📚 Courses")
    await staff.press("📊 Community sessions")
    await staff.press("Wed 4 Mar, 9:00 am Tai chi")
    await staff.press("📷 Check-in QR code")
    message = staff.handle.last_bot_message
    assert message is not None and message.photo
    link = message.content.split("\n")[-1]
    payload = link.split("start=")[1]
    assert payload == f"ci_{lesson.checkin_token}"
    await bob.send(f"/start {payload}")
    assert bob.last == "Check-in opens 1 hour before the start. Please scan again then."
    clock.set(lesson.starts_at - timedelta(minutes=10))
    await bob.send(f"/start {payload}")
    assert bob.last == "✅ Checked in to “Tai chi”. Welcome!"
    await ann.send(f"/start {payload}")
    assert ann.last.startswith("You are not enrolled in this session.")

    # After the session: Bob rates it; staff see the average and the comment.
    clock.set(lesson.starts_at + timedelta(minutes=61))
    [ask] = await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like("c:rate:%"))
    await ann.forge(outbox_button(ask, "5⭐"))
    assert ann.alerts[-1] == "Only people who came can rate a session."
    await bob.forge(outbox_button(ask, "4⭐"))
    await bob.send("很好，" * 200)
    assert bob.last.startswith("That is too long: at most 500 characters.")
    await bob.send("Lovely, thank you")
    assert bob.last.startswith("Thank you, the teacher will read it.")
    await staff.forge(LessonCb(action=LessonAction.RATINGS, id=lesson.id or 0).pack())
    assert staff.last == "⭐ 4.0 from 1 rating\n⭐⭐⭐⭐ Lovely, thank you"


async def test_forged_buttons_from_another_community_change_nothing(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    far = await make_community(session, clock, "Far Away")
    far_teacher, far_access = await member(harness, session, clock, far, 3009, "Far",
                                           Role.TEACHER)
    teacher, _t = await member(harness, session, clock, home, 3001, "Teacher", Role.TEACHER)
    eve, eve_access = await member(harness, session, clock, home, 3002, "Eve")
    far_session = await course_sessions.schedule_session(
        session, access=far_access, clock=clock, community_id=far.id or 0,
        teacher_id=far_access.user_id, title="Far course", category=Category.ARTS,
        starts_at=clock.now() + timedelta(days=1), minutes=60, venue="There", capacity=5,
        buttons=OUTBOX_KEYBOARDS.courses)
    far_order = CourseOrder(community_id=far.id or 0, user_id=far_access.user_id,
                            topic="Far topic", category=Category.ARTS, created_at=clock.now())
    session.add(far_order)
    await session.commit()

    await eve.send("/menu")
    for data, answer in (
        (LessonCb(action=LessonAction.ENROL, id=far_session.id or 0),
         "This button is out of date. Please use the menu below."),
        (LessonCb(action=LessonAction.VIEW, id=far_session.id or 0),
         "This button is out of date. Please use the menu below."),
        (CancelDoCb(lesson_id=far_session.id or 0, reason=0),
         "Only the teacher or staff can change this session."),
        (MarkCb(lesson_id=far_session.id or 0, user_id=eve_access.user_id),
         "Only the teacher or staff can change this session."),
        (OrderCb(action=OrderAction.BACK, id=far_order.id or 0),
         "This button is out of date. Please use the menu below."),
        (LessonCb(action=LessonAction.ENROL, id=999_999),
         "This button is out of date. Please use the menu below."),
    ):
        assert await eve.forge(data.pack()) == answer, data
    await teacher.send("/menu")
    assert await teacher.forge(OrderCb(action=OrderAction.TAKE, id=far_order.id or 0).pack()) \
        == "Only teachers of this community can take its orders."
    assert await teacher.forge(LessonCb(action=LessonAction.MOVE,
                                         id=far_session.id or 0).pack()) \
        == "Only the teacher or staff can change this session."
    await session.commit()
    assert int((await session.execute(select(func.count()).select_from(Enrolment)))
               .scalar_one()) == 0
    await session.refresh(far_order)
    assert far_order.status == OrderStatus.OPEN and far_order.backers == 0
    await session.refresh(far_session)
    assert far_session.status == "scheduled"
    del far_teacher


async def test_chinese_search_and_a_past_or_cancelled_session(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "阳光花园")
    staff, staff_access = await member(harness, session, clock, home, 3001, "王", Role.STAFF,
                                       language="zh")
    li, _ = await member(harness, session, clock, home, 3002, "李", language="zh")
    await staff.tap("📚 课程")
    await staff.press("➕ 开一门课")  # staff may offer too: on the menu at once
    await staff.press("🩺 健康教育")
    await staff.send("高血压的饮食调理")
    await staff.send("Eating for high blood pressure")  # the title in English, for its readers
    await staff.send("医生讲解如何通过饮食控制血压")
    assert staff.last.startswith("您的课程已上架 ✅")
    await li.tap("📚 课程")
    await li.press("🔍 搜索课程")
    await li.send("血压")
    assert li.last.startswith("名称包含“血压”的课程：")
    await li.press("高血压的饮食调理")
    await li.press("🔍 搜索课程")
    await li.send("太极")
    assert li.last.startswith("没有课程包含“太极”")

    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="讲座", category=Category.HEALTH,
        starts_at=clock.now() + timedelta(hours=3), minutes=60, venue="客厅", capacity=5,
        buttons=OUTBOX_KEYBOARDS.courses)
    await li.tap("📚 课程")
    await li.press("🗓 近期课程")
    await li.press("3月2日（周一）下午12:00 讲座")
    clock.advance(hours=4)
    await li.press("✍️ 报名")
    assert li.alerts[-1] == "这节课已经开始或已结束。"
    clock.set(lesson.starts_at - timedelta(hours=2))
    await course_sessions.cancel_session(session, access=staff_access, clock=clock,
                                         session_id=lesson.id or 0, reason=0,
                                         buttons=OUTBOX_KEYBOARDS.courses)
    await li.press("✍️ 报名")
    assert li.alerts[-1] == "这节课已取消。"
    assert await rows(session, Enrolment) == []
    await li.press("◀ 课程")
    await li.press("🗓 近期课程")
    assert li.last == "还没有安排课程。您可以点一门课！"  # the cancelled session left the list
    assert "讲座" not in "".join(li.handle.last_bot_message.button_labels)  # type: ignore[union-attr]


async def test_staff_schedule_for_a_teacher_then_move_and_cancel(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, _s = await member(harness, session, clock, home, 3001, "Staff", Role.STAFF)
    _teacher, teacher_access = await member(harness, session, clock, home, 3002, "Teacher Sun",
                                            Role.TEACHER)
    ann, ann_access = await member(harness, session, clock, home, 3003, "Ann")
    await ann.tap("📚 Courses")
    await ann.press("🙋 Order a course")
    await ann.send("Paper cutting")
    await ann.press("🎨 Arts")
    await ann.press("🗓 Choose days and times")
    await ann.press("Any day is fine")
    await ann.press("Any time")
    await ann.press("about 3")
    [order] = await rows(session, CourseOrder)

    # Staff give the open order to a teacher and schedule it on their behalf.
    await staff.forge(OrderCb(action=OrderAction.VIEW, id=order.id or 0).pack())
    await staff.press("🧑‍🏫 Give it to a teacher")
    assert staff.last == "Who will teach it?\n🏠 Sunny Court"
    await staff.press("Teacher Sun")
    await staff.press("Today")
    await staff.press("10:00 am")  # 09:00 now: the earlier times are not offered
    assert "9:30 am" not in staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await staff.press("60 min")
    await staff.send("Room 3")
    await staff.press("20")
    clock.advance(hours=2)  # the chosen time passes before the tap
    await staff.press("✅ Yes, that's right")
    assert staff.last.startswith("That time has already passed. Please choose again.")
    await staff.press("Tomorrow")
    await staff.press("10:00 am")
    await staff.press("60 min")
    await staff.send("Room 3")
    await staff.press("20")
    await staff.press("✅ Yes, that's right")
    [lesson] = await rows(session, Lesson)
    assert lesson.teacher_id == teacher_access.user_id

    await ann.forge(LessonCb(action=LessonAction.ENROL, id=lesson.id or 0).pack())
    assert ann.last.startswith("You are enrolled ✅")

    # Staff move it by a day: Ann is told and her reminders follow.
    await staff.press("👀 Open the session")
    await staff.press("🔁 Move or change")
    await staff.press("🕒 Day and time")
    await staff.press("Thu 5 Mar")
    await staff.press("11:00 am")
    await staff.press("✅ Save the changes")
    assert staff.last == "Change “Paper cutting”?\n🕒 Tue 3 Mar, 10:00 am → Thu 5 Mar, 11:00 am"
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Moved ✅")
    mine = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == ann_access.user_id,
                      col(OutboxMessage.status) == "pending")
    moved = [m for m in mine if m.key and "has moved" in m.key]
    assert moved and say(moved[0].params["when"], locale="en", now=None) == "Thu 5 Mar, 11:00 am"
    [lesson] = await rows(session, Lesson)
    assert sorted(m.not_before for m in mine if m.kind == "reminder") == [
        lesson.starts_at - timedelta(hours=24), lesson.starts_at - timedelta(hours=2)]

    # …then cancel it: Ann is told, reminders are withdrawn, the order can be rescheduled.
    await staff.press("👀 Open the session")
    await staff.press("🚫 Cancel the session")
    await staff.press("The venue is not available")
    await staff.press("Yes, cancel it")
    assert "The session is cancelled." in staff.last
    mine = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == ann_access.user_id,
                      col(OutboxMessage.status) == "pending")
    assert [m.key for m in mine if m.kind == "reminder"] == []
    cancelled = next(m for m in mine if m.key and "has been cancelled" in m.key)
    assert cancelled.params["reason"] == {"phrase": "the venue is not available"}
    [order] = await rows(session, CourseOrder)
    assert order.status == OrderStatus.TAKEN


async def test_teacher_offers_staff_approve_resident_orders_from_the_menu_and_withdraws(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, _s = await member(harness, session, clock, home, 3001, "Staff", Role.STAFF)
    teacher, _t = await member(harness, session, clock, home, 3002, "Teacher", Role.TEACHER)
    ann, _a = await member(harness, session, clock, home, 3003, "Ann")
    await teacher.tap("📚 Courses")
    await teacher.press("➕ Offer a course")
    await teacher.press("🎨 Arts")
    await teacher.send("Paper cutting for beginners")
    await teacher.press("⏭ Skip")  # no title in Chinese
    await teacher.send("Scissors, red paper, and a lot of fun." * 20)
    assert teacher.last.startswith("That is too long: at most 500 characters.")
    await teacher.send("Scissors, red paper, and a lot of fun.")
    assert teacher.last.startswith("Thank you! Staff will look at your course soon.")

    await ann.tap("📚 Courses")
    await ann.press("📖 Course menu")
    await ann.press("🎨 Arts")
    assert "No courses here yet." in ann.last
    await staff.tap("📚 Courses")
    await staff.press("✅ Course offers to review")
    assert "Paper cutting for beginners" in staff.last
    await staff.press("✅ Approve 1")
    assert staff.last == "✅ Course offers · Sunny Court\n\nNo course offers are waiting."
    await staff.press("◀ Courses")
    await staff.press("⚙️ Course rules")
    await staff.press("3")
    assert "an order has 3 backers" in staff.last

    await ann.press("◀ Courses")
    await ann.press("📖 Course menu")
    await ann.press("🎨 Arts")
    await ann.press("Paper cutting for beginners")
    assert "Scissors, red paper" in ann.last
    await ann.press("🙋 Order this course")
    await ann.press("🗓 Choose days and times")
    await ann.press("Wed")
    await ann.press("✅ Done")
    await ann.press("Morning")
    await ann.press("about 5")
    assert "When: Wed, morning" in ann.last
    await ann.tap("📚 Courses")
    await ann.press("🎒 My courses")
    assert "My orders:\n• Paper cutting for beginners (👍 0)" in ann.last
    await ann.press("🙋 Paper cutting for beginners")
    await ann.press("🗑 Withdraw my order")
    await ann.press("Yes, withdraw my order")
    assert ann.last.startswith("Your order is withdrawn.")
    [order] = await rows(session, CourseOrder)
    assert order.status == OrderStatus.WITHDRAWN and order.course_id is not None


async def test_in_the_last_two_hours_a_waiting_person_sees_enrol_for_a_freed_seat(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob")
    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(hours=1, minutes=30), minutes=60, venue="Garden",
        capacity=1, buttons=OUTBOX_KEYBOARDS.courses)
    await ann.send("/menu")
    await ann.forge(LessonCb(action=LessonAction.ENROL, id=lesson.id or 0).pack())
    await bob.send("/menu")
    await bob.forge(LessonCb(action=LessonAction.WAITLIST, id=lesson.id or 0).pack())
    assert bob.last.startswith("It is full, so you are on the waiting list.")

    # Ann gives up her seat 90 minutes before: too late to offer it, so it is open.
    await ann.forge(PlaceCb(action=PlaceAction.LEAVE, id=lesson.id or 0).pack())
    assert await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like("c:offer:%")) \
        == []
    await bob.forge(LessonCb(action=LessonAction.VIEW, id=lesson.id or 0).pack())
    assert "👥 1 place left of 1" in bob.last
    assert "✍️ Enrol" in bob.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await bob.press("✍️ Enrol")
    assert bob.last.startswith("You are enrolled ✅")
    [enrolment] = await rows(session, Enrolment, col(Enrolment.user_id) == bob_access.user_id)
    assert enrolment.status == EnrolmentStatus.ENROLLED


def label_starting(person: Person, start: str) -> str:
    """The label of the last message's button that starts with `start` ("10:00 am" etc.)."""
    labels = person.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    return next(label for label in labels if label.startswith(start))


async def test_a_day_picked_before_midnight_stays_that_day_when_confirmed_after(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                       Role.STAFF)
    course = await courses.offer_course(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        title="Paper cutting", description="", category=Category.ARTS, minutes=60)
    zone = ZoneInfo("Asia/Shanghai")
    clock.set(datetime(2026, 3, 2, 23, 50, tzinfo=zone))
    await staff.send("/menu")
    await staff.forge(LessonCb(action=LessonAction.NEW, id=course.id or 0).pack())
    await staff.press("Tomorrow")
    await staff.press(label_starting(staff, "10:00"))
    await staff.press("60 min")
    await staff.send("Room 3")
    await staff.press("20")
    assert "Tue" in staff.last  # Tuesday 3 March, as the screen says
    clock.set(datetime(2026, 3, 3, 0, 10, tzinfo=zone))  # confirmed after midnight
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Scheduled ✅")
    [lesson] = await rows(session, Lesson)
    assert lesson.starts_at == datetime(2026, 3, 3, 10, 0, tzinfo=zone)

    # Moving a later one, late in the evening again: the day shown is the day it moves to.
    later = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=datetime(2026, 3, 10, 9, 0, tzinfo=zone), minutes=60, venue="Garden",
        capacity=5, buttons=OUTBOX_KEYBOARDS.courses)
    clock.set(datetime(2026, 3, 3, 23, 55, tzinfo=zone))
    await staff.forge(LessonCb(action=LessonAction.MOVE, id=later.id or 0).pack())
    await staff.press("🕒 Day and time")
    await staff.press("Tomorrow")
    await staff.press(label_starting(staff, "11:00"))
    await staff.press("✅ Save the changes")
    assert "→ Wed" in staff.last
    clock.set(datetime(2026, 3, 4, 0, 5, tzinfo=zone))
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Moved ✅")
    await session.refresh(later)
    assert later.starts_at == datetime(2026, 3, 4, 11, 0, tzinfo=zone)


async def test_the_move_picker_offers_as_far_ahead_as_the_service_allows(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                       Role.STAFF)
    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=2), minutes=60, venue="Garden", capacity=5,
        buttons=OUTBOX_KEYBOARDS.courses)
    await staff.send("/menu")
    await staff.forge(LessonCb(action=LessonAction.MOVE, id=lesson.id or 0).pack())
    await staff.press("🕒 Day and time")
    assert "1/13" in staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    for _page in range(12):
        await staff.press("▶")
    far = date(2026, 3, 2) + timedelta(days=course_sessions.SCHEDULE_AHEAD.days - 1)
    labels = staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "13/13" in labels and f"{far:%a} {far.day} {far:%b}" in labels  # Fri 28 Aug
    await staff.press(f"{far:%a} {far.day} {far:%b}")
    await staff.press("8:30 pm")  # the last time of the last day: still allowed
    await staff.press("✅ Save the changes")
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Moved ✅")
    await session.refresh(lesson)
    assert lesson.starts_at == datetime(far.year, far.month, far.day, 20, 30,
                                        tzinfo=ZoneInfo("Asia/Shanghai"))


async def reminders_of(session: AsyncSession, user_id: int) -> list[OutboxMessage]:
    return await rows(session, OutboxMessage, col(OutboxMessage.kind) == "reminder",
                      col(OutboxMessage.user_id) == user_id,
                      col(OutboxMessage.status) == "pending")


async def test_a_comeback_gets_every_later_reminder_exactly_once(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 14 #2: cancelled reminders' dedupe keys blocked the new ones."""
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann")
    bob, _b = await member(harness, session, clock, home, 3003, "Bob")
    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=3), minutes=60, venue="Garden", capacity=1,
        buttons=OUTBOX_KEYBOARDS.courses)
    sid = lesson.id or 0
    expected = {lesson.starts_at - timedelta(hours=24), lesson.starts_at - timedelta(hours=2)}

    await ann.send("/menu")
    await ann.forge(LessonCb(action=LessonAction.ENROL, id=sid).pack())
    await ann.press("❌ Cancel my place")
    await ann.press("Yes, cancel my place")
    await ann.press("✍️ Enrol")  # she changes her mind: the seat is still free
    assert ann.last.startswith("You are enrolled ✅ We will remind you")
    assert sorted(m.not_before for m in await reminders_of(session, ann_access.user_id)) \
        == sorted(expected)

    # She gives the seat up again, Bob takes it, she waits and is offered it back.
    await ann.press("❌ Cancel my place")
    await ann.press("Yes, cancel my place")
    await bob.send("/menu")
    await bob.forge(LessonCb(action=LessonAction.ENROL, id=sid).pack())
    await ann.forge(LessonCb(action=LessonAction.WAITLIST, id=sid).pack())
    assert ann.last.startswith("It is full, so you are on the waiting list.")
    await bob.press("❌ Cancel my place")
    await bob.press("Yes, cancel my place")
    [offer] = await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like("c:offer:%"),
                         col(OutboxMessage.user_id) == ann_access.user_id)
    await ann.forge(outbox_button(offer, "✅ Yes, I'll take the seat"))
    assert "The seat is yours ✅" in ann.last
    assert sorted(m.not_before for m in await reminders_of(session, ann_access.user_id)) \
        == sorted(expected)


async def test_an_offer_made_in_quiet_hours_keeps_its_full_window_from_the_morning(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 14 #3: an offer at 21:17 reached Bob at 08:00 with an hour of its 12 left."""
    zone = ZoneInfo("Asia/Shanghai")
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                       Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob")

    async def tai_chi(starts_at: datetime) -> int:
        lesson = await course_sessions.schedule_session(
            session, access=staff_access, clock=clock, community_id=home.id or 0,
            teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
            starts_at=starts_at, minutes=60, venue="Garden", capacity=1,
            buttons=OUTBOX_KEYBOARDS.courses)
        sid = lesson.id or 0
        await ann.forge(LessonCb(action=LessonAction.ENROL, id=sid).pack())
        await bob.forge(LessonCb(action=LessonAction.WAITLIST, id=sid).pack())
        return sid

    async def bobs(sid: int) -> Enrolment:
        [enrolment] = await rows(session, Enrolment, col(Enrolment.session_id) == sid,
                                 col(Enrolment.user_id) == bob_access.user_id)
        return enrolment

    await ann.send("/menu")
    await bob.send("/menu")
    clock.set(datetime(2026, 3, 2, 21, 0, tzinfo=zone))
    far = await tai_chi(datetime(2026, 3, 5, 10, 0, tzinfo=zone))
    soon = await tai_chi(datetime(2026, 3, 3, 18, 0, tzinfo=zone))
    clock.set(datetime(2026, 3, 2, 21, 17, tzinfo=zone))  # Bob's quiet hours: 21:00–08:00

    # Far ahead: held for 12 hours from 08:00, when the offer reaches him.
    await ann.forge(PlaceCb(action=PlaceAction.LEAVE, id=far).pack())
    offer = await bobs(far)
    assert offer.status == EnrolmentStatus.OFFERED
    assert offer.offered_until == datetime(2026, 3, 3, 20, 0, tzinfo=zone)
    [message] = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == bob_access.user_id,
                           col(OutboxMessage.dedupe_key).like("c:offer:%"))
    assert say(message.params["deadline"], locale="en", now=None) == "Tue 3 Mar, 8:00 pm"

    # Tomorrow at 18:00: 12 hours from 08:00 would not end 2 hours before the start, so
    # nobody is offered the seat; it is open to the first who taps, Bob among them.
    await ann.forge(PlaceCb(action=PlaceAction.LEAVE, id=soon).pack())
    assert (await bobs(soon)).status == EnrolmentStatus.WAITING
    await bob.forge(LessonCb(action=LessonAction.VIEW, id=soon).pack())
    assert "👥 1 place left of 1" in bob.last
    assert "✍️ Enrol" in bob.handle.last_bot_message.button_labels  # type: ignore[union-attr]

    # The window is the community's rule: staff make it 6 hours, and it fits.
    await staff.send("/menu")
    await staff.forge(CourseCb(action=CourseAction.RULES).pack())
    assert "A seat that comes free is kept for the next in line for 12 h" in staff.last
    await staff.press("6 h")
    assert "kept for the next in line for 6 h" in staff.last
    again = await tai_chi(datetime(2026, 3, 3, 18, 0, tzinfo=zone))
    await ann.forge(PlaceCb(action=PlaceAction.LEAVE, id=again).pack())
    offer = await bobs(again)
    assert offer.status == EnrolmentStatus.OFFERED
    assert offer.offered_until == datetime(2026, 3, 3, 14, 0, tzinfo=zone)


async def test_a_missed_offer_can_put_the_person_back_on_the_waiting_list(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 14 #6: a lapsed offer dropped the person from the list with no way back."""
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob")
    cy, cy_access = await member(harness, session, clock, home, 3004, "Cy")
    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=3), minutes=60, venue="Garden", capacity=1,
        buttons=OUTBOX_KEYBOARDS.courses)
    sid = lesson.id or 0
    for person, action in ((ann, LessonAction.ENROL), (bob, LessonAction.WAITLIST),
                           (cy, LessonAction.WAITLIST)):
        await person.send("/menu")
        await person.forge(LessonCb(action=action, id=sid).pack())
    await ann.forge(PlaceCb(action=PlaceAction.LEAVE, id=sid).pack())

    clock.advance(hours=13)  # Bob never answered: the seat goes to Cy
    await course_sessions.expire_offers(session, clock=clock, buttons=OUTBOX_KEYBOARDS.courses)
    [lapsed] = await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like("c:lapsed:%"))
    assert lapsed.user_id == bob_access.user_id
    assert lapsed.key.endswith("at its end.\n🏘 {community}")
    assert lapsed.params["community"] == "Sunny Court"
    await bob.forge(outbox_button(lapsed, "🕒 Put me back on the list"))
    assert bob.last.startswith("It is full, so you are on the waiting list.")
    assert "(number 1 in line)" in bob.last
    [again] = await rows(session, Enrolment, col(Enrolment.user_id) == bob_access.user_id)
    assert again.status == EnrolmentStatus.WAITING
    [cys] = await rows(session, Enrolment, col(Enrolment.user_id) == cy_access.user_id)
    assert cys.status == EnrolmentStatus.OFFERED
    answer = await bob.forge(outbox_button(lapsed, "🕒 Put me back on the list"))
    assert answer == "You are already on the waiting list."  # a second tap changes nothing


async def double_tap(harness: Harness, person: Person, label: str) -> None:
    """Two presses of one button before the bot answers either, handled at once, as polling
    hands updates to concurrent tasks."""
    import asyncio

    harness.clock.advance(seconds=1)
    await person.handle.press_text(label)
    await person.handle.press_text(label)
    updates = await harness.bot.get_updates(offset=harness.offset, timeout=0)
    harness.offset = updates[-1].update_id + 1
    await asyncio.gather(*(harness.dp.feed_update(harness.bot, u) for u in updates))
    await harness.settle()


async def test_a_double_tap_on_the_last_step_of_an_order_files_it_once(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 14 #1, for orders: ➕ make my own order, tapped twice, made two."""
    home = await make_community(session, clock, "Sunny Court")
    ann, ann_access = await member(harness, session, clock, home, 3002, "Ann")
    bob, _b = await member(harness, session, clock, home, 3003, "Bob")
    for person in (bob, ann):
        await person.tap("📚 Courses")
        await person.press("🙋 Order a course")
        await person.send("Tai chi")
        await person.press("🏃 Sports and fitness")
        await person.press("🗓 Choose days and times")
        await person.press("Any day is fine")
        await person.press("Morning")
    await bob.press("about 5")
    await double_tap(harness, ann, "about 10")  # a similar order exists: asked first
    assert "Would you like to back it instead?" in ann.last
    await double_tap(harness, ann, "➕ No, make my own order")
    mine = await rows(session, CourseOrder, col(CourseOrder.user_id) == ann_access.user_id)
    assert len(mine) == 1
    assert len(await rows(session, CourseOrder)) == 2  # Bob's and Ann's
    assert ann.last.startswith("Your order is in ✅")  # both taps answer the same


def message_with(person: Person, words: str) -> ChatMessage:
    """The person's newest message from the bot that has `words` in it."""
    return next(m for m in reversed(person.handle.bot_messages) if words in m.content)


async def delivered(person: Person, words: str, sender: OutboxSender) -> None:
    """Wait for the outbox to bring the person a message with `words` in it."""
    sender.kick()

    async def arrived() -> bool:
        return any(words in m.content for m in person.handle.bot_messages)

    await wait_until(arrived)


async def test_an_answered_reminder_or_offer_shows_the_answer_and_no_buttons(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    """Issue 14: a message whose question has been answered shows the answer, with no live
    buttons, so scrolling back never misleads."""
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    dee, _d = await member(harness, session, clock, home, 3003, "Dee")
    bob, _b = await member(harness, session, clock, home, 3004, "Bob")
    cy, _c = await member(harness, session, clock, home, 3005, "Cy")
    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=2), minutes=60, venue="Garden", capacity=2,
        buttons=OUTBOX_KEYBOARDS.courses)
    sid = lesson.id or 0
    for person, action in ((ann, LessonAction.ENROL), (dee, LessonAction.ENROL),
                           (bob, LessonAction.WAITLIST), (cy, LessonAction.WAITLIST)):
        await person.send("/menu")
        await person.forge(LessonCb(action=action, id=sid).pack())

    enrolled = message_with(ann, "You are enrolled ✅")  # the confirmation names where
    assert "\n🏠 Sunny Court\n" in enrolled.content

    clock.set(lesson.starts_at - timedelta(hours=24))
    for person in (ann, dee):
        await delivered(person, "⏰ Reminder", sender)
    assert message_with(ann, "⏰ Reminder").content.startswith(
        "⏰ Reminder: “Tai chi”\n🏘 Sunny Court\n🕒 ")
    await ann.press("✅ I'm coming")
    reminder = message_with(ann, "⏰ Reminder")
    assert reminder.inline_keyboard == []
    assert reminder.content.endswith("✅ You said you are coming.")
    await dee.press("❌ I can't come")
    await dee.press("Yes, I can't come")
    reminder = message_with(dee, "⏰ Reminder")
    assert reminder.inline_keyboard == []
    assert reminder.content.endswith("❌ You said you can't come; your seat is free for "
                                     "someone else.")

    # Bob is offered Dee's seat and says no; Cy is offered it and takes it.
    await delivered(bob, "A seat has come free", sender)
    assert "Garden).\n🏘 Sunny Court\nIt is kept for you until" in message_with(
        bob, "A seat has come free").content
    await bob.press("No, thanks")
    offer = message_with(bob, "A seat has come free")
    assert offer.inline_keyboard == []
    assert offer.content.endswith("You passed the seat on.")
    await delivered(cy, "A seat has come free", sender)
    await cy.press("✅ Yes, I'll take the seat")
    offer = message_with(cy, "A seat has come free")
    assert offer.inline_keyboard == []
    assert offer.content.endswith("✅ You took the seat.")
    assert "The seat is yours ✅" in cy.last


async def test_a_teacher_in_two_communities_offers_and_schedules_in_the_one_they_choose(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 16 #3: a teacher of two communities offered and scheduled into their home one
    without a word."""
    sunny = await make_community(session, clock, "Sunny Court")
    happy = await make_community(session, clock, "Happy Lane")
    teacher, _t = await member(harness, session, clock, sunny, 3001, "Teacher", Role.TEACHER)
    await grant(session, clock, await user_of(session, teacher), Role.TEACHER, happy)
    _staff, happy_staff = await member(harness, session, clock, happy, 3002, "Staff",
                                       Role.STAFF)

    await teacher.tap("📚 Courses")
    await teacher.press("➕ Offer a course")
    assert "Which community?" in teacher.last
    await teacher.press("Happy Lane")
    await teacher.press("🏃 Sports and fitness")
    await teacher.send("Tai chi")
    await teacher.press("⏭ Skip")
    await teacher.send("Slow and gentle, for every age.")
    [course] = await rows(session, Course)
    assert course.community_id == happy.id
    await courses.review_course(session, access=happy_staff, clock=clock,
                                course_id=course.id or 0, approve=True)

    await teacher.tap("📚 Courses")
    await teacher.press("🧑‍🏫 My teaching")
    await teacher.press("🗓 Schedule one of my courses")
    assert "Which community?" in teacher.last
    await teacher.press("Happy Lane")
    await teacher.press("Tai chi")
    await teacher.press("Tomorrow")
    await teacher.press("10:00 am")
    await teacher.press("60 min")
    await teacher.send("Happy Lane hall")
    await teacher.press("20")
    assert "🏠 Happy Lane" in teacher.last  # the confirmation names the community
    await teacher.press("✅ Yes, that's right")
    [lesson] = await rows(session, Lesson)
    assert lesson.community_id == happy.id

    # My teaching, across two communities, says where each session is.
    await teacher.tap("📚 Courses")
    await teacher.press("🧑‍🏫 My teaching")
    assert "Tai chi · Happy Lane: 0/20" in teacher.last

    # Next time the choice comes first, with a star.
    await teacher.tap("📚 Courses")
    await teacher.press("🧑‍🏫 My teaching")
    await teacher.press("🗓 Schedule one of my courses")
    assert "⭐ Happy Lane" in teacher.handle.last_bot_message.button_labels  # type: ignore[union-attr]


async def test_a_teacher_hears_of_what_staff_give_them_and_a_handed_back_order_is_untold(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    """Issue 16 #9: a teacher was never told when staff handed them an order or scheduled
    a session for them; a resident whose order was handed back still read "a teacher took
    your order"."""
    home = await make_community(session, clock, "Sunny Court")
    staff, _s = await member(harness, session, clock, home, 3001, "Staff", Role.STAFF)
    teacher, _t = await member(harness, session, clock, home, 3002, "Teacher Sun",
                               Role.TEACHER)
    ann, _a = await member(harness, session, clock, home, 3003, "Ann")
    for topic in ("Tai chi", "Paper cutting"):
        await ann.tap("📚 Courses")
        await ann.press("🙋 Order a course")
        await ann.send(topic)
        await ann.press("🎨 Arts")
        await ann.press("🗓 Choose days and times")
        await ann.press("Any day is fine")
        await ann.press("Morning")
        await ann.press("about 5")

    # Staff give the first to the teacher and schedule it for them.
    await staff.tap("📚 Courses")
    await staff.press("👥 Neighbours' orders")
    await staff.press("Tai chi · 👍 0")
    await staff.press("🧑‍🏫 Give it to a teacher")
    await staff.press("Teacher Sun")
    await delivered(teacher, "Staff have given you the order “Tai chi” · Sunny Court", sender)
    await staff.press("Tomorrow")
    await staff.press("10:00 am")
    await staff.press("60 min")
    await staff.send("Garden")
    await staff.press("20")
    await staff.press("✅ Yes, that's right")
    await delivered(teacher, "A session of “Tai chi” has been scheduled for you to teach",
                    sender)
    assert "👀 Open the session" in message_with(teacher, "scheduled for you").button_labels

    # The teacher takes the second and hands it back: Ann is told it is open again.
    await teacher.tap("📚 Courses")
    await teacher.press("✋ Orders I can teach")
    await teacher.press("Paper cutting · 👍 0")
    await teacher.press("✋ I'll teach it")
    await delivered(ann, "A teacher has taken your order “Paper cutting”", sender)
    await teacher.press("↩️ Give the order back")
    await delivered(ann, "“Paper cutting” is open again", sender)
    # Taken again: Ann hears it again (the first notice's key does not swallow it).
    await teacher.press("✋ I'll teach it")
    sender.kick()

    async def told_twice() -> bool:
        return sum("A teacher has taken your order “Paper cutting”" in m.content
                   for m in ann.handle.bot_messages) == 2

    await wait_until(told_twice)


async def test_a_double_booking_is_warned_of_on_the_confirmation_and_may_go_ahead(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 16 #10: one venue twice at once, or one teacher in two places, went unsaid."""
    zone = ZoneInfo("Asia/Shanghai")
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Liu",
                                       Role.STAFF)
    _t, teacher_access = await member(harness, session, clock, home, 3002, "Sun", Role.TEACHER)
    tomorrow_ten = datetime(2026, 3, 3, 10, 0, tzinfo=zone)
    for teacher, venue, title in ((staff_access, "Garden", "Tai chi"),
                                  (teacher_access, "Hall", "Erhu")):
        await course_sessions.schedule_session(
            session, access=staff_access, clock=clock, community_id=home.id or 0,
            teacher_id=teacher.user_id, title=title, category=Category.ARTS,
            starts_at=tomorrow_ten, minutes=90, venue=venue, capacity=10,
            buttons=OUTBOX_KEYBOARDS.courses)
    course = await courses.offer_course(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        title="Paper cutting", description="", category=Category.ARTS, minutes=60)

    await staff.send("/menu")
    await staff.forge(LessonCb(action=LessonAction.NEW, id=course.id or 0).pack())
    await staff.press("Tomorrow")
    await staff.press("11:00 am")  # Tai chi and Erhu run until 11:30
    await staff.press("60 min")
    await staff.send("  hall ")
    await staff.press("20")
    assert "⚠️ Hall is already booked then: “Erhu”, 10:00 am–11:30 am." in staff.last
    assert "⚠️ Liu teaches “Tai chi” at Garden then, 10:00 am–11:30 am." in staff.last
    assert "You can still go ahead." in staff.last
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Scheduled ✅")
    assert len(await rows(session, Lesson)) == 3

    # At noon both are free: no warning.
    await staff.forge(LessonCb(action=LessonAction.NEW, id=course.id or 0).pack())
    await staff.press("Tomorrow")
    await staff.press("2:00 pm")
    await staff.press("60 min")
    await staff.send("Hall")
    await staff.press("20")
    assert "⚠️" not in staff.last

    # Every week for four weeks: the third week's Tuesday, the hall is taken (the date said).
    await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=teacher_access.user_id, title="Yoga", category=Category.SPORTS,
        starts_at=datetime(2026, 3, 17, 14, 30, tzinfo=zone), minutes=60, venue="HALL",
        capacity=10, buttons=OUTBOX_KEYBOARDS.courses)
    await staff.press("🔁 Repeat every week")
    await staff.press("Every week, 4 times")
    assert "⚠️ HALL is already booked then: “Yoga”, Tue 17 Mar, 2:30 pm–3:30 pm." in staff.last
    assert staff.last.count("⚠️") == 1
    await staff.press("🔁 Repeat every week")
    await staff.press("Just once")
    assert "⚠️" not in staff.last

    # Moving Erhu an hour later puts it in the hall with Paper cutting: said, not refused.
    erhu = next(x for x in await rows(session, Lesson) if x.title == "Erhu")
    await staff.forge(LessonCb(action=LessonAction.MOVE, id=erhu.id or 0).pack())
    await staff.press("🕒 Day and time")
    await staff.press("Tomorrow")
    await staff.press("11:30 am")
    await staff.press("✅ Save the changes")
    assert "⚠️ hall is already booked then: “Paper cutting”, 11:00 am–12:00 pm." in staff.last
    assert "Erhu”, 10:00" not in staff.last  # not a clash with itself
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Moved ✅")


async def test_a_seat_too_late_to_keep_is_announced_to_the_waiting_list_first_tap_wins(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 14 #3's other half: where no offer's full window fits, the seat is open to
    the first who taps, and the people waiting are told so (once the seat is gone again,
    the notices not yet sent are withdrawn)."""
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    bob, bob_access = await member(harness, session, clock, home, 3003, "Bob")
    cy, cy_access = await member(harness, session, clock, home, 3004, "Cy")
    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(hours=8), minutes=60, venue="Garden", capacity=1,
        buttons=OUTBOX_KEYBOARDS.courses)
    sid = lesson.id or 0
    for person, action in ((ann, LessonAction.ENROL), (bob, LessonAction.WAITLIST),
                           (cy, LessonAction.WAITLIST)):
        await person.send("/menu")
        await person.forge(LessonCb(action=action, id=sid).pack())
    await ann.forge(PlaceCb(action=PlaceAction.LEAVE, id=sid).pack())

    def open_notices(*where: object) -> Any:
        return rows(session, OutboxMessage, col(OutboxMessage.group_key) == f"co:{sid}",
                    *where)

    notices = await open_notices()
    assert {m.user_id for m in notices} == {bob_access.user_id, cy_access.user_id}
    assert await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like("c:offer:%")) \
        == []
    await cy.forge(outbox_button(notices[-1], "✍️ Enrol"))
    assert cy.last.startswith("You are enrolled ✅")
    assert await open_notices(col(OutboxMessage.status) == "pending") == []  # seat gone
