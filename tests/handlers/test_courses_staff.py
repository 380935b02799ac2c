"""Courses as staff and teachers run them, through the real dispatcher (issue 16): the
community chosen for every staff tool and named on every card, staff told at once of a new
offer and of a teacher's cancellation, a cancellation that says why, the waiting list on the
roster, walk-ins at check-in, a move that changes more than the time, weekly sessions, and
◀ Back / ✖ Cancel on every step of the wizards."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.callback_data.courses import PlaceAction, PlaceCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.courses import Category, Course, Lesson, LessonStatus
from models.outbox import OutboxMessage
from models.users import Role
from scheduler.outbox import OutboxSender
from services import course_sessions, courses
from services.access import Access
from services.clock import ManualClock
from services.errors import InvalidInput
from tests.factories import grant, make_community
from tests.handlers.conftest import Harness, Person, member, rows, user_of
from tests.handlers.test_broadcasts import sender
from tests.handlers.test_courses import delivered, message_with

__all__ = ["sender"]  # the outbox sender fixture


def labels(person: Person) -> list[str]:
    last = person.handle.last_bot_message
    assert last is not None
    return last.button_labels


async def a_session(session: AsyncSession, clock: ManualClock, access: Access,
                    community_id: int, *, title: str = "Tai chi", capacity: int = 20,
                    days: int = 2) -> Lesson:
    return await course_sessions.schedule_session(
        session, access=access, clock=clock, community_id=community_id,
        teacher_id=access.user_id, title=title, category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=days), minutes=60, venue="Garden",
        capacity=capacity, buttons=OUTBOX_KEYBOARDS.courses)


async def test_staff_of_two_communities_choose_the_community_of_each_course_tool(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 16 #2/#3: the rules, the sessions list and the offers review acted on the home
    community silently; now each asks which, remembers it, and names it."""
    sunny = await make_community(session, clock, "Sunny Court")
    happy = await make_community(session, clock, "Happy Lane")
    staff, sunny_access = await member(harness, session, clock, sunny, 3001, "Staff",
                                       Role.STAFF)
    happy_access = await grant(session, clock, await user_of(session, staff), Role.STAFF, happy)
    await a_session(session, clock, happy_access, happy.id or 0, title="Happy tai chi")
    await a_session(session, clock, sunny_access, sunny.id or 0, title="Sunny yoga")

    await staff.tap("📚 Courses")
    await staff.press("⚙️ Course rules")
    assert "Which community?" in staff.last
    await staff.press("Happy Lane")
    assert staff.last.startswith("⚙️ Course rules · Happy Lane")
    await staff.press("8")
    await session.commit()
    assert (await courses.get_rules(session, community_id=happy.id or 0)).threshold == 8
    assert (await courses.get_rules(session, community_id=sunny.id or 0)).threshold == 5
    assert staff.last.startswith("⚙️ Course rules · Happy Lane")

    await staff.tap("📚 Courses")
    await staff.press("📊 Community sessions")
    assert "Which community?" in staff.last
    await staff.press("Happy Lane")
    assert staff.last.startswith("📊 Sessions · Happy Lane")
    assert "Happy tai chi" in staff.last and "Sunny yoga" not in staff.last
    await staff.press(next(label for label in labels(staff) if "Happy tai chi" in label))
    assert "🏠 Happy Lane" in staff.last  # the session's card names its community

    await staff.tap("📚 Courses")
    await staff.press("✅ Course offers to review")
    assert "Which community?" in staff.last
    await staff.press("Sunny Court")
    assert staff.last.startswith("✅ Course offers · Sunny Court")


async def test_staff_hear_at_once_of_a_new_offer_and_review_it_from_the_message(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    """Issue 16: staff were never told of a course offer; zh and en staff each read it."""
    happy = await make_community(session, clock, "幸福社区")
    li, _l = await member(harness, session, clock, happy, 3001, "李", Role.STAFF, language="zh")
    sam, _s = await member(harness, session, clock, happy, 3002, "Sam", Role.STAFF)
    teacher, _t = await member(harness, session, clock, happy, 3003, "王老师", Role.TEACHER,
                               language="zh")
    await teacher.tap("📚 课程")
    await teacher.press("➕ 开一门课")
    await teacher.press("🏃 体育健身")
    await teacher.send("太极拳")
    await teacher.press("⏭ 跳过")
    await teacher.send("慢慢来，人人都能学。")
    await delivered(li, "新的开课申请 · 幸福社区", sender)
    await delivered(sam, "A new course offer · 幸福社区", sender)
    assert "“太极拳” by 王老师" in message_with(sam, "A new course offer").content
    await li.press("✅ 审核开课申请")
    assert li.last.startswith("✅ 开课申请 · 幸福社区")
    await li.press("✅ 通过 1")
    [course] = await rows(session, Course)
    assert course.status == "approved"


async def test_cancelling_asks_why_and_everyone_is_told_the_reason_in_their_language(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    """Issue 16: a cancellation gave residents no reason, and staff never heard when a
    teacher called a session off."""
    home = await make_community(session, clock, "Sunny Court")
    staff, _s = await member(harness, session, clock, home, 3001, "Staff", Role.STAFF)
    teacher, teacher_access = await member(harness, session, clock, home, 3002, "Teacher Sun",
                                           Role.TEACHER)
    ann, _a = await member(harness, session, clock, home, 3003, "Ann")
    wang, _w = await member(harness, session, clock, home, 3004, "王奶奶", language="zh")
    first = await a_session(session, clock, teacher_access, home.id or 0)
    second = await a_session(session, clock, teacher_access, home.id or 0, title="Yoga",
                             days=3)
    for person in (ann, wang):
        for lesson in (first, second):
            await person.send("/menu")
            await person.forge(f"cs:e:{lesson.id}")

    # A common reason, tapped: each resident reads it in their own language.
    await teacher.forge(f"cs:v:{first.id}")
    await teacher.press("🚫 Cancel the session")
    assert "Why is “Tai chi” cancelled?" in teacher.last
    await teacher.press("No, keep it")  # words typed after that are no reason
    await teacher.send("See you all on Friday")
    assert "Cancel “Tai chi”" not in teacher.last
    await teacher.press("🚫 Cancel the session")
    assert "The teacher is ill" in labels(teacher)
    await teacher.press("The teacher is ill")
    assert "Why: the teacher is ill" in teacher.last and "People to tell: 2" in teacher.last
    await teacher.press("No, keep it")
    [lesson, _y] = await rows(session, Lesson)
    assert lesson.status == LessonStatus.SCHEDULED
    await teacher.press("🚫 Cancel the session")
    await teacher.press("The teacher is ill")
    await teacher.press("Yes, cancel it")
    assert "The session is cancelled." in teacher.last
    await delivered(ann, "has been cancelled.\n🏘 Sunny Court\nWhy: the teacher is ill", sender)
    await delivered(wang, "取消了。\n🏘 Sunny Court\n取消原因：老师生病了", sender)
    await delivered(staff, "Teacher Sun has cancelled “Tai chi”", sender)
    told = message_with(staff, "has cancelled “Tai chi”")
    assert "Sunny Court" in told.content and "People told: 2" in told.content

    # Words of their own, typed.
    await teacher.forge(f"cs:v:{second.id}")
    await teacher.press("🚫 Cancel the session")
    await teacher.send("x" * 201)
    assert teacher.last.startswith("That is too long")
    await teacher.send("The hall floods when it rains")
    assert "Why: The hall floods when it rains" in teacher.last
    await teacher.press("Yes, cancel it")
    await delivered(wang, "取消原因：The hall floods when it rains", sender)
    lessons = await rows(session, Lesson)
    assert [lesson.status for lesson in lessons] == [LessonStatus.CANCELLED] * 2

    # The reason stays with the session: on its card (in each reader's language), its
    # roster and the staff's list.
    await teacher.forge(f"cs:v:{first.id}")
    assert "❌ Cancelled: the teacher is ill" in teacher.last
    await wang.forge(f"cs:v:{first.id}")
    assert "❌ 已取消：老师生病了" in wang.last
    await staff.forge(f"cs:r:{second.id}")
    assert staff.last.startswith("❌ Cancelled: The hall floods when it rains\n")
    await staff.forge("cs:st:0")
    assert "Tai chi (❌ the teacher is ill):" in staff.last
    assert "Yoga (❌ The hall floods when it rains):" in staff.last

    # Staff cancelling are not told of it by themselves.
    staff_told = await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like(
        "c:tcancel:%"))
    assert len(staff_told) == 2


async def test_the_roster_shows_the_waiting_list_and_staff_add_walk_ins_at_the_door(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 16: the roster left out who waits, and nobody could be let in at the door."""
    home = await make_community(session, clock, "幸福社区")
    staff, staff_access = await member(harness, session, clock, home, 3001, "李", Role.STAFF,
                                       language="zh")
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    bob, _b = await member(harness, session, clock, home, 3003, "Bob")
    _cy, _c = await member(harness, session, clock, home, 3004, "王奶奶", language="zh")
    _dee, _d = await member(harness, session, clock, home, 3005, "王小明", language="zh")
    lesson = await a_session(session, clock, staff_access, home.id or 0, capacity=3)
    for person in (ann, bob):
        await person.send("/menu")
        await person.forge(f"cs:e:{lesson.id}")
    await ann.forge(f"cs:e:{lesson.id}")
    eve, _e = await member(harness, session, clock, home, 3006, "Eve")
    fay, _f = await member(harness, session, clock, home, 3007, "Fay")
    for person in (eve, fay):  # one seat left: Eve takes it, Fay waits
        await person.send("/menu")
        await person.forge(f"cs:w:{lesson.id}")

    await staff.forge(f"cs:v:{lesson.id}")
    await staff.press("👥 报名名单")
    assert "👥 已报名：3 人" in staff.last
    assert "🕒 候补名单：1 人\n1. Fay" in staff.last

    # Too early for the door.
    await staff.press("➕ 添加现场来的人")
    await staff.send("王")
    await staff.press("👤 王奶奶")
    assert staff.alerts[-1] == "上课前 1 小时起才能添加现场来的人。"

    clock.set(lesson.starts_at - timedelta(minutes=10))
    await bob.send("/menu")
    # Bob leaves ("Yes, cancel my place"): too close to the start to keep it for anyone.
    await bob.forge(PlaceCb(action=PlaceAction.LEAVE, id=lesson.id or 0).pack())
    await staff.forge(f"cs:r:{lesson.id}")
    await staff.press("➕ 添加现场来的人")
    await staff.send("王")
    assert "王奶奶" in " ".join(labels(staff)) and "王小明" in " ".join(labels(staff))
    await staff.press("👤 王奶奶")
    assert staff.last.startswith("王奶奶 进来了 ✅")
    assert "3. ✅ 王奶奶" in staff.last
    await staff.press("➕ 添加现场来的人")
    await staff.send("张阿姨")
    assert "没有叫“张阿姨”的居民" in staff.last
    await staff.press("➕ 只写名字：“张阿姨”")
    assert staff.alerts[-1] == "座位都满了，没有位置给现场来的人。"
    await session.commit()
    [seats] = (await course_sessions.counts_of(session, session_ids=[lesson.id or 0])).values()
    assert seats[0] == 3  # Ann, Eve, 王奶奶

    # A seat comes free: the name alone takes it, and counts as present.
    await ann.forge(PlaceCb(action=PlaceAction.LEAVE, id=lesson.id or 0).pack())
    await staff.press("➕ 只写名字：“张阿姨”")
    assert staff.last.startswith("张阿姨 进来了 ✅")
    assert "张阿姨（现场）" in staff.last
    await session.commit()
    held, _waiting, present = (await course_sessions.counts_of(
        session, session_ids=[lesson.id or 0]))[lesson.id or 0]
    assert (held, present) == (3, 2)


async def test_a_move_changes_venue_length_and_seats_never_below_those_enrolled(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    """Issue 16: 🔁 Move changed only the time."""
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                       Role.STAFF)
    ann, _a = await member(harness, session, clock, home, 3002, "Ann")
    wang, _w = await member(harness, session, clock, home, 3003, "王奶奶", language="zh")
    cy, _c = await member(harness, session, clock, home, 3004, "Cy")
    lesson = await a_session(session, clock, staff_access, home.id or 0, capacity=2)
    for person, action in ((ann, "e"), (wang, "e"), (cy, "w")):
        await person.send("/menu")
        await person.forge(f"cs:{action}:{lesson.id}")

    await staff.forge(f"cs:v:{lesson.id}")
    await staff.press("🔁 Move or change")
    assert "What would you like to change?" in staff.last
    assert "✅ Save the changes" not in labels(staff)  # nothing changed yet
    await staff.press("📍 Venue")
    await staff.send("Hall, 3rd floor")
    assert "📍 Garden → Hall, 3rd floor" in staff.last
    await staff.press("⏱ Length")
    await staff.press("◀ Back")  # back to what to change, the venue kept
    assert "📍 Garden → Hall, 3rd floor" in staff.last
    await staff.press("⏱ Length")
    await staff.press("90 min")
    await staff.press("💺 Seats")
    await staff.send("1")
    assert staff.last == "2 people already hold a seat: please choose at least 2 seats."
    await staff.press("10")
    assert "💺 2 → 10 seats" in staff.last and "⏱ 60 → 90 min" in staff.last
    await staff.press("✅ Save the changes")
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Changed ✅")
    [lesson] = await rows(session, Lesson)
    assert (lesson.venue, lesson.minutes, lesson.capacity) == ("Hall, 3rd floor", 90, 10)
    await delivered(ann, "“Tai chi” has changed.\n🏘 Sunny Court\n🕒 ", sender)
    assert "📍 Hall, 3rd floor" in message_with(ann, "has changed").content
    await delivered(wang, "“Tai chi”有变动。", sender)
    await delivered(cy, "A seat has come free for “Tai chi”", sender)  # more seats: offered

    # A forged or stale change below the seats held is refused by the service too.
    try:
        await course_sessions.move_session(session, access=staff_access, clock=clock,
                                           session_id=lesson.id or 0, capacity=1,
                                           buttons=OUTBOX_KEYBOARDS.courses)
    except InvalidInput as error:
        assert (error.field, error.reason, error.limit) == ("capacity", "below_held", 3)
    else:
        raise AssertionError("seats below those held were accepted")


async def test_every_step_of_the_wizards_has_back_and_cancel(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 14: no step may need a typed /cancel; ◀ Back keeps what was chosen."""
    home = await make_community(session, clock, "幸福社区")
    staff, staff_access = await member(harness, session, clock, home, 3001, "李", Role.STAFF,
                                       language="zh")
    course = await courses.offer_course(session, access=staff_access, clock=clock,
                                        community_id=home.id or 0, title="太极",
                                        description="", category=Category.SPORTS, minutes=60)
    await staff.send("/menu")
    await staff.forge(f"cs:nw:{course.id}")
    assert labels(staff)[-2:] == ["◀ 返回", "✖ 取消"]  # the days
    await staff.press("明天（周二）")
    assert labels(staff)[-2:] == ["◀ 返回", "✖ 取消"]  # the times
    await staff.press("◀ 返回")
    assert "哪一天" in staff.last
    await staff.press("明天（周二）")
    await staff.press("上午10:00")
    assert labels(staff)[-2:] == ["◀ 返回", "✖ 取消"]  # the lengths
    await staff.press("90 分钟")
    assert labels(staff) == ["◀ 返回", "✖ 取消"]  # the venue, typed
    await staff.send("活动室")
    assert labels(staff)[-2:] == ["◀ 返回", "✖ 取消"]  # the seats
    await staff.press("◀ 返回")
    await staff.send("二楼活动室")
    await staff.press("20")
    assert "📍 二楼活动室" in staff.last and "90 分钟" in staff.last
    await staff.press("🔁 每周重复")
    assert labels(staff)[-2:] == ["◀ 返回", "✖ 取消"]  # how many weeks
    await staff.press("每周一次，共 4 次")
    assert "🔁 每周一次，共 4 次" in staff.last
    await staff.press("✖ 取消")
    assert staff.last == "已取消，什么都没有改。"
    assert await rows(session, Lesson) == []
    await staff.forge("cy")  # a ✅ of the dropped draft (a stale screen) does nothing
    assert await rows(session, Lesson) == []


async def test_weekly_sessions_are_each_a_session_and_the_teacher_is_told_where(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    """Issue 16: repeat weekly like volunteer shifts; the teacher's message names the
    community."""
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                       Role.STAFF)
    teacher, teacher_access = await member(harness, session, clock, home, 3002, "Sun",
                                           Role.TEACHER)
    course = await courses.offer_course(session, access=teacher_access, clock=clock,
                                        community_id=home.id or 0, title="Tai chi",
                                        description="", category=Category.SPORTS, minutes=60)
    await courses.review_course(session, access=staff_access, clock=clock,
                                course_id=course.id or 0, approve=True)
    await staff.send("/menu")
    await staff.forge(f"cs:nw:{course.id}")
    await staff.press("Tomorrow")
    await staff.press("10:00 am")
    await staff.press("60 min")
    await staff.send("Garden")
    await staff.press("20")
    await staff.press("🔁 Repeat every week")
    await staff.press("Every week, 4 times")
    assert "🔁 Every week, 4 times in all" in staff.last
    await staff.press("✅ Yes, that's right")
    assert staff.texts[-1].startswith("Scheduled ✅ 4 sessions, one a week.")
    lessons = await rows(session, Lesson)
    assert [lesson.starts_at - lessons[0].starts_at for lesson in lessons] == [
        timedelta(weeks=n) for n in range(4)]
    assert {lesson.teacher_id for lesson in lessons} == {teacher_access.user_id}
    assert len({lesson.checkin_token for lesson in lessons}) == 4
    await delivered(teacher, "scheduled for you to teach · Sunny Court", sender)
    assert "Sessions: 4 (one a week)" in message_with(teacher, "for you to teach").content

    # The teacher's reminder names the community too.
    clock.set(lessons[0].starts_at - timedelta(hours=2))
    assert await course_sessions.remind_teachers(session, clock=clock) == 1
    await delivered(teacher, "A reminder for you as the teacher: “Tai chi”", sender)
    assert "at Garden · Sunny Court." in message_with(teacher, "as the teacher").content


async def test_a_weekly_series_is_cancelled_from_one_session_on_with_one_reason(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender
) -> None:
    """Issue 16: a weekly series could only be called off one session at a time. Staff
    cancel "this and the following" once, with one reason; each session's people are
    told; the sessions before it, and another series, stay."""
    home = await make_community(session, clock, "Sunny Court")
    staff, _s = await member(harness, session, clock, home, 3011, "Staff", Role.STAFF, "zh")
    teacher, teacher_access = await member(harness, session, clock, home, 3012, "Sun",
                                           Role.TEACHER)
    ann, _a = await member(harness, session, clock, home, 3013, "Ann")
    await course_sessions.schedule_session(
        session, access=teacher_access, clock=clock, community_id=home.id or 0,
        teacher_id=teacher_access.user_id, title="Tai chi", category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=2), minutes=60, venue="Garden", capacity=20,
        weeks=4, buttons=OUTBOX_KEYBOARDS.courses)
    clock.advance(seconds=5)
    await a_session(session, clock, teacher_access, home.id or 0, days=30)  # another series
    series = sorted(await rows(session, Lesson), key=lambda x: x.starts_at)
    assert len(series) == 5
    await ann.send("/menu")
    for lesson in series:
        await ann.forge(f"cs:e:{lesson.id}")

    second = series[1]
    await staff.send("/menu")
    await staff.forge(f"cs:v:{second.id}")
    await staff.press("🚫 取消这节课")
    await staff.press("老师生病了")
    assert "取消原因：老师生病了" in staff.last
    assert "是，取消这节及之后的 2 节" in labels(staff)
    await staff.press("是，取消这节及之后的 2 节")
    statuses = {lesson.id: lesson.status for lesson in await rows(session, Lesson)}
    assert [statuses[lesson.id] for lesson in series] == [
        LessonStatus.SCHEDULED, LessonStatus.CANCELLED, LessonStatus.CANCELLED,
        LessonStatus.CANCELLED, LessonStatus.SCHEDULED]
    told = await rows(session, OutboxMessage, col(OutboxMessage.dedupe_key).like("c:cancel:%"))
    assert sorted(m.dedupe_key or "" for m in told) == sorted(
        f"c:cancel:{lesson.id}:{_a.user_id}" for lesson in series[1:4])
    await delivered(ann, "Why: the teacher is ill\nSorry!", sender)

    # In English, a session alone (its series' later ones all gone): only one Yes.
    await teacher.send("/menu")
    await teacher.forge(f"cs:v:{series[0].id}")
    await teacher.press("🚫 Cancel the session")
    await teacher.press("Bad weather")
    assert labels(teacher)[0] == "Yes, cancel it"
    assert not any("after it" in label for label in labels(teacher))
