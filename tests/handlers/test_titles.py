"""Staff-written titles in the reader's language, through the real dispatcher with the
outbox sender running: a course, its session and a volunteer task written in Chinese with
an English title are read in Chinese by Chinese readers and in English by English ones,
on the menu, the session card, the reminder and the volunteer call with its ✋ buttons
(said per recipient: "✋ 1. 明天（周二）下午6:00" / "✋ 1. Tomorrow, 6:00 pm")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callback_data import LessonAction, LessonCb
from bot.callback_data.courses import CourseAction, CourseCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.courses import Category, Course, CourseStatus, Lesson
from models.users import Role
from scheduler.outbox import OutboxSender
from services import course_sessions, courses
from services import volunteers as vol
from services.clock import ManualClock
from services.text import utf16_len
from tests.factories import make_community
from tests.handlers.conftest import Harness, member, onboard, rows, user_of
from tests.handlers.test_courses import delivered as arrives
from tests.handlers.test_courses import message_with
from tests.handlers.test_volunteer_taps import delivered, sender
from tests.handlers.test_volunteers import TUE_18, become_volunteer, make_staff

__all__ = ["sender"]  # the outbox sender fixture

ZH, EN = "太极拳入门", "Tai chi for beginners"
READS = {"zh": (ZH, EN), "en": (EN, ZH)}  # (what the reader sees, what they never see)


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_course_and_its_session_are_read_in_the_readers_language(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    language: str,
) -> None:
    seen, unseen = READS[language]
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3001, "Staff",
                                        Role.STAFF)
    ann, _ann = await member(harness, session, clock, home, 3002, "Ann", language=language)
    course = await courses.offer_course(
        session, access=staff_access, clock=clock, community_id=home.id or 0, title=ZH,
        titles={"en": EN}, description="", category=Category.SPORTS, minutes=60)
    lesson = await course_sessions.schedule_session(
        session, access=staff_access, clock=clock, community_id=home.id or 0,
        teacher_id=staff_access.user_id, title=ZH, category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=2), minutes=60, venue="Garden", capacity=5,
        buttons=OUTBOX_KEYBOARDS.courses, course_id=course.id)
    assert lesson.titles == {"en": EN}  # the session carries its course's titles

    # 📚 Courses: the coming session, its ✍️ Enrol button.
    await ann.send("/menu")
    await ann.tap("📚 课程" if language == "zh" else "📚 Courses")
    assert seen in ann.last and unseen not in ann.last
    labels = ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert any(seen[:5] in label for label in labels)  # cut to fit, in the reader's words
    assert not any(unseen[:5] in label for label in labels)

    # The menu's sports page and the course's card.
    await ann.forge(CourseCb(action=CourseAction.MENU, cat=Category.SPORTS).pack())
    labels = ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert seen in labels and unseen not in labels
    await ann.press(seen)
    assert seen in ann.last and unseen not in ann.last

    # A search in either language finds it, and shows it in the reader's.
    for word in ("太极", "Tai chi"):
        await ann.forge(CourseCb(action=CourseAction.SEARCH).pack())
        await ann.send(word)
        labels = ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
        assert seen in labels and unseen not in labels, (word, labels)

    # The session's card, then its reminder.
    await ann.forge(LessonCb(action=LessonAction.VIEW, id=lesson.id or 0).pack())
    assert seen in ann.last and unseen not in ann.last
    await ann.forge(LessonCb(action=LessonAction.ENROL, id=lesson.id or 0).pack())
    assert seen in ann.last and unseen not in ann.last
    clock.set(lesson.starts_at - timedelta(hours=24))
    reminded = "⏰ 提醒" if language == "zh" else "⏰ Reminder"
    await arrives(ann, reminded, sender)
    reminder = message_with(ann, reminded).content
    assert seen in reminder and unseen not in reminder


async def test_a_volunteer_call_is_read_and_its_buttons_said_in_each_volunteers_language(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    li = harness.person(2002, "李", "zh")
    ann = harness.person(2001, "Ann")
    await onboard(li, community.name)
    await vol.save_profile(session, user=await user_of(session, li), clock=clock,
                           skills=["patrol"], slots=[])
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await vol.create_task(
        session, access=access, clock=clock, buttons=OUTBOX_KEYBOARDS.volunteers,
        community_id=community.id or 0, title="夜间巡逻", titles={"en": "Night patrol"},
        place="North gate",
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 2),
                vol.ShiftSpec(TUE_18 + timedelta(days=4), TUE_18 + timedelta(days=4, hours=2),
                              2)])
    await delivered(sender, sessionmaker, harness)

    zh_call = message_with(li, "招募志愿者")
    assert "夜间巡逻" in zh_call.content and "Night patrol" not in zh_call.content
    assert zh_call.button_labels == ["✋ 1. 明天（周二）下午6:00", "✋ 2. 3月7日（周六）下午6:00"]
    en_call = message_with(ann, "Volunteers wanted")
    assert "Night patrol" in en_call.content and "夜间巡逻" not in en_call.content
    assert en_call.button_labels == ["✋ 1. Tomorrow, 6:00 pm", "✋ 2. Sat 7 Mar, 6:00 pm"]
    assert all(utf16_len(label) <= 64
               for label in zh_call.button_labels + en_call.button_labels)

    # Each button takes its shift, and the place's card speaks the volunteer's language.
    await li.press("✋ 2. 3月7日（周六）下午6:00")
    assert li.last.startswith("✅ 报名成功")
    assert message_with(li, "招募志愿者").button_labels == [
        "✋ 1. 明天（周二）下午6:00", "✅ 2. 3月7日（周六）下午6:00"]
    await ann.press("✋ 1. Tomorrow, 6:00 pm")
    assert ann.last.startswith("✅ Your place is booked.")
    await ann.tap("🙋 Volunteer")
    assert any("Night patrol" in label for label in ann.handle.last_bot_message.button_labels)  # type: ignore[union-attr]
    await ann.press("🗂 My shifts so far")
    assert "Night patrol" in ann.last and "夜间巡逻" not in ann.last
    await li.tap("🙋 志愿服务")
    assert any("夜间巡逻" in label for label in li.handle.last_bot_message.button_labels)  # type: ignore[union-attr]
    await li.press("🗂 我的服务记录")
    assert "夜间巡逻" in li.last and "Night patrol" not in li.last


async def test_staff_give_a_task_its_other_title_in_the_wizard_and_change_it_on_its_card(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    staff, _access = await make_staff(harness, session, clock, community)
    li = harness.person(2002, "李", "zh")
    await onboard(li, community.name)
    await vol.save_profile(session, user=await user_of(session, li), clock=clock,
                           skills=["patrol"], slots=[])
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])

    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("➕ New task")
    await staff.send("Night patrol")
    assert staff.last.startswith("🌐 Title in Chinese (optional), shown to volunteers who "
                                 "read Chinese.")
    assert staff.handle.last_bot_message.button_labels == [  # type: ignore[union-attr]
        "Skip ▶", "◀ Back", "✖ Cancel"]
    await staff.send("夜间巡逻")
    assert staff.last.startswith("Describe it in a few words")
    await staff.press("Skip ▶")
    await staff.press("Next ▶")
    await staff.send("North gate")
    await staff.press("Skip ▶")
    await staff.press("Tomorrow")
    await staff.press("6:00 pm")
    await staff.press("2 h")
    await staff.press("2")
    assert "Night patrol\n🌐 夜间巡逻" in staff.last
    await staff.press("✅ Publish")
    await delivered(sender, sessionmaker, harness)
    zh_call = message_with(li, "招募志愿者").content
    assert "夜间巡逻" in zh_call and "Night patrol" not in zh_call
    en_call = message_with(ann, "Volunteers wanted").content
    assert "Night patrol" in en_call and "夜间巡逻" not in en_call

    # On the task's card staff see both titles, and change the Chinese one.
    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("📋 Tasks and shifts")
    await staff.press("Night patrol · 0/2")
    assert staff.last.startswith("Night patrol\n🌐 夜间巡逻\n")
    await staff.press("🌐 Other-language title")
    assert staff.last == "🌐 Send the title in Chinese, shown to volunteers who read Chinese."
    await staff.send("晚间巡逻")
    assert staff.last.startswith("Saved ✅\n\nNight patrol\n🌐 晚间巡逻\n")
    await li.tap("🙋 志愿服务")
    await li.press("🔎 缺人的班次")
    assert "晚间巡逻" in li.last and "Night patrol" not in li.last
    await ann.tap("🙋 Volunteer")
    await ann.press("🔎 Shifts that need people")
    assert "Night patrol" in ann.last and "晚间巡逻" not in ann.last


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_teacher_offers_a_course_with_its_other_title_and_changes_it_on_its_card(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str,
) -> None:
    zh = language == "zh"
    home = await make_community(session, clock, "Sunny Court")
    staff, _staff = await member(harness, session, clock, home, 3001, "Staff", Role.STAFF,
                                 language=language)
    reader = await member(harness, session, clock, home, 3002, "Reader",
                          language="en" if zh else "zh")
    mine, theirs = (ZH, EN) if zh else (EN, ZH)
    await staff.tap("📚 课程" if zh else "📚 Courses")
    await staff.press("➕ 开一门课" if zh else "➕ Offer a course")
    await staff.press("🏃 体育健身" if zh else "🏃 Sports and fitness")
    await staff.send(mine)
    assert staff.last.startswith(
        "🌐 英文标题（可不填）" if zh else "🌐 Title in Chinese (optional)")
    assert staff.handle.last_bot_message.button_labels == (  # type: ignore[union-attr]
        ["⏭ 跳过", "◀ 返回", "✖ 取消"] if zh else ["⏭ Skip", "◀ Back", "✖ Cancel"])
    await staff.send(theirs)
    await staff.send("慢慢来。" if zh else "Slow and gentle.")
    assert mine in staff.last and f"🌐 {theirs}" not in staff.last
    (course,) = await rows(session, Course)
    assert (course.title, course.titles) == (mine, {"en" if zh else "zh": theirs})

    # The other reader finds it by a word of either title, and reads their own.
    person = reader[0]
    await person.send("/menu")
    await person.forge(CourseCb(action=CourseAction.SEARCH).pack())
    await person.send(mine[:2])
    assert theirs in person.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await person.press(theirs)
    assert theirs in person.last and mine not in person.last

    # Staff change the other title on the course's card; its session reads the same.
    lesson = await course_sessions.schedule_session(
        session, access=_staff, clock=clock, community_id=home.id or 0,
        teacher_id=_staff.user_id, title=mine, category=Category.SPORTS,
        starts_at=clock.now() + timedelta(days=2), minutes=60, venue="Garden", capacity=5,
        buttons=OUTBOX_KEYBOARDS.courses, course_id=course.id)
    await staff.forge(CourseCb(action=CourseAction.COURSE, id=course.id or 0).pack())
    assert f"🌐 {theirs}" in staff.last
    await staff.press("🌐 另一种语言的标题" if zh else "🌐 Other-language title")
    await staff.press("◀ 返回" if zh else "◀ Back")  # back to the card: nothing is asked now
    assert f"🌐 {theirs}" in staff.last
    await staff.send("Tai chi" if zh else "太极拳")
    (course,) = await rows(session, Course)
    assert course.titles == {"en" if zh else "zh": theirs}
    await staff.forge(CourseCb(action=CourseAction.COURSE, id=course.id or 0).pack())
    await staff.press("🌐 另一种语言的标题" if zh else "🌐 Other-language title")
    await staff.send("太极拳" if not zh else "Tai chi")
    assert staff.last.startswith("已保存 ✅" if zh else "Saved ✅")
    (course,) = await rows(session, Course)
    assert course.titles == {"en" if zh else "zh": "太极拳" if not zh else "Tai chi"}
    (lesson,) = await rows(session, Lesson)
    assert lesson.titles == course.titles


async def test_the_staff_digest_names_sessions_tasks_and_offers_in_the_staff_language(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlmodel import select

    from models.db import begin_write
    from models.outbox import OutboxMessage
    from models.volunteers import VolunteerTask
    from scheduler.digest import staff_digests
    from tests.handlers.test_district import seed_digest

    home = await make_community(session, clock, "Sunny Court")
    liu, liu_access = await member(harness, session, clock, home, 3071, "刘", Role.STAFF, "zh")
    sam, sam_access = await member(harness, session, clock, home, 3070, "Sam", Role.STAFF)
    _ann, ann_access = await member(harness, session, clock, home, 3072, "Ann")
    _t, teacher_access = await member(harness, session, clock, home, 3073, "T", Role.TEACHER)
    for person, time in ((liu, "上午8:00"), (sam, "8:00 am")):
        await person.send("/menu")
        await person.tap("⚙️ 设置" if person is liu else "⚙️ Settings")
        await person.press("📬 每日摘要" if person is liu else "📬 Daily digest")
        await person.press(time)
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    await seed_digest(session, clock, home, ann_access.user_id, teacher_access.user_id)
    chinese = {"Tai chi": "太极", "Yoga": "瑜伽", "Patrol": "巡逻", "Calligraphy": "书法"}
    await begin_write(session)
    for model in (Lesson, VolunteerTask, Course):
        for row in (await session.execute(select(model))).scalars():
            row.titles = {"zh": chinese[row.title]}
            session.add(row)
    await session.commit()

    await staff_digests(sessionmaker=sessionmaker, clock=clock, notify=lambda: None,
                        keyboards=OUTBOX_KEYBOARDS)
    (zh,) = [m.text or "" for m in await rows(session, OutboxMessage)
             if m.user_id == liu_access.user_id and (m.dedupe_key or "").startswith("digest:")]
    (en,) = [m.text or "" for m in await rows(session, OutboxMessage)
             if m.user_id == sam_access.user_id and (m.dedupe_key or "").startswith("digest:")]
    for english, said in chinese.items():
        assert f"“{said}”" in zh and english not in zh, (said, zh)
        assert f"“{english}”" in en and said not in en, (english, en)


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_ordering_suggests_the_menu_courses_in_the_readers_language(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str,
) -> None:
    zh = language == "zh"
    home = await make_community(session, clock, "Sunny Court")
    session.add(Course(community_id=home.id or 0, title=EN, titles={"zh": ZH},
                       description="Slow and gentle.", category=Category.SPORTS,
                       status=CourseStatus.APPROVED, created_at=clock.now()))
    await session.commit()
    ann, _ann = await member(harness, session, clock, home, 3003, "Ann", language=language)
    await ann.tap("📚 课程" if zh else "📚 Courses")
    await ann.press("🙋 点一门课" if zh else "🙋 Order a course")
    labels = ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert ("📚 " + (ZH if zh else EN)) in labels
    assert ("📚 " + (EN if zh else ZH)) not in labels


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_an_order_of_a_menu_course_reads_in_each_readers_language(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str,
) -> None:
    """Ann orders the course in her language; Bo, who reads the other, backs it in his."""
    zh = language == "zh"
    home = await make_community(session, clock, "Sunny Court")
    session.add(Course(community_id=home.id or 0, title=EN, titles={"zh": ZH},
                       description="Slow and gentle.", category=Category.SPORTS,
                       status=CourseStatus.APPROVED, created_at=clock.now()))
    await session.commit()
    ann, _ann = await member(harness, session, clock, home, 3003, "Ann", language=language)
    bo, _bo = await member(harness, session, clock, home, 3004, "Bo",
                           language="en" if zh else "zh")
    mine, theirs = (ZH, EN) if zh else (EN, ZH)
    await ann.tap("📚 课程" if zh else "📚 Courses")
    await ann.press("🙋 点一门课" if zh else "🙋 Order a course")
    await ann.press("📚 " + mine)
    await ann.press("🏖 周末" if zh else "🏖 Weekends")
    assert mine in ann.last and theirs not in ann.last
    await bo.tap("📚 Courses" if zh else "📚 课程")
    await bo.press("🙋 Order a course" if zh else "🙋 点一门课")
    labels = bo.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert f"👍 {theirs} · 0" in labels, labels
