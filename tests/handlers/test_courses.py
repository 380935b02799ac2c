"""Courses through the real dispatcher: ordering and backing, a teacher taking and scheduling
with buttons, enrolling, the waitlist, check-in by link, rating; forged and bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.callback_data import LessonAction, LessonCb, OrderAction, OrderCb
from bot.callback_data.courses import MarkCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.courses import (
    Category,
    CourseOrder,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    OrderStatus,
)
from models.outbox import OutboxMessage
from models.users import Role
from scheduler.outbox import say
from services import course_sessions, courses
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, member, rows, user_of


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
    await ann.press("Sat")
    await ann.press("Sun")
    await ann.press("✅ Done")
    await ann.press("Afternoon")
    await ann.press("about 10")
    assert ann.last.startswith("Your order is in ✅")
    assert "When: Sat、Sun, afternoon" in ann.last
    [order] = await rows(session, CourseOrder)
    assert (order.days, order.expected) == (0b110_0000, 10)

    # A neighbour ordering the same thing is offered to back it instead.
    bob, _ = await member(harness, session, clock, home, 3003, "Bob", language="zh")
    await bob.tap("📚 课程")
    await bob.press("🙋 点一门课")
    await bob.send("smartphone  PHOTOS!")
    await bob.press("🔧 实用技能")
    await bob.press("任何一天都可以")
    await bob.press("任何时间")
    await bob.press("大约 5 人")
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
    assert "Seats: 0 free of 1" in bob.last
    await bob.press("🕒 Full: join the waiting list")
    assert bob.last.startswith("It is full, so you are on the waiting list.")

    # Ann's 24 h reminder: "I can't come" frees the seat; Bob is offered it.
    clock.set(lesson.starts_at - timedelta(hours=24))
    [reminder] = await rows(session, OutboxMessage, col(OutboxMessage.kind) == "reminder",
                            col(OutboxMessage.user_id) == ann_access.user_id,
                            col(OutboxMessage.not_before) <= clock.now())
    await ann.forge(outbox_button(reminder, "❌ I can't come"))
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
    assert staff.last == "⭐ 4.0 from 1 ratings\n⭐⭐⭐⭐ Lovely, thank you"


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
        (LessonCb(action=LessonAction.CANCEL_OK, id=far_session.id or 0),
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
                                         session_id=lesson.id or 0)
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
    await ann.press("Any day is fine")
    await ann.press("Any time")
    await ann.press("about 3")
    [order] = await rows(session, CourseOrder)

    # Staff give the open order to a teacher and schedule it on their behalf.
    await staff.forge(OrderCb(action=OrderAction.VIEW, id=order.id or 0).pack())
    await staff.press("🧑‍🏫 Give it to a teacher")
    assert staff.last == "Who will teach it?"
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
    await staff.press("🔁 Move")
    await staff.press("Thu 5 Mar")
    await staff.press("11:00 am")
    assert staff.last == "Move “Paper cutting” to Thu 5 Mar, 11:00 am?"
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
    await staff.press("Yes, cancel it")
    assert "The session is cancelled." in staff.last
    mine = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == ann_access.user_id,
                      col(OutboxMessage.status) == "pending")
    assert [m.key for m in mine if m.kind == "reminder"] == []
    assert any(m.key and "has been cancelled" in m.key for m in mine)
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
    assert staff.last == "No course offers are waiting."
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
    await ann.forge(LessonCb(action=LessonAction.LEAVE, id=lesson.id or 0).pack())
    assert await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like("c:offer:%")) \
        == []
    await bob.forge(LessonCb(action=LessonAction.VIEW, id=lesson.id or 0).pack())
    assert "Seats: 1 free of 1" in bob.last
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
    await staff.press("Tomorrow")
    await staff.press(label_starting(staff, "11:00"))
    assert "Wed" in staff.last
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
    assert "1/13" in staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    for _page in range(12):
        await staff.press("▶")
    far = date(2026, 3, 2) + timedelta(days=course_sessions.SCHEDULE_AHEAD.days - 1)
    labels = staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "13/13" in labels and f"{far:%a} {far.day} {far:%b}" in labels  # Fri 28 Aug
    await staff.press(f"{far:%a} {far.day} {far:%b}")
    await staff.press("8:30 pm")  # the last time of the last day: still allowed
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Moved ✅")
    await session.refresh(lesson)
    assert lesson.starts_at == datetime(far.year, far.month, far.day, 20, 30,
                                        tzinfo=ZoneInfo("Asia/Shanghai"))
