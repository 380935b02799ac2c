"""End to end, the real bot process (issue 16 #3): a teacher who teaches in two communities
schedules a session into the SECOND one with the community picker, in Chinese and in
English, and only the residents of that community see it coming up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from emulator import Emulator, UserHandle
from models.communities import Community
from models.courses import (
    Category,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonStatus,
)
from models.db import create_engine, create_sessionmaker, migrate
from models.users import Role, RoleGrant, User
from tests.e2e.steps import TIMEOUT, showing_log, step, stop_cleanly
from tests.e2e.test_broadcasts import wait_until
from tests.e2e.test_courses import late_morning_zone

pytestmark = pytest.mark.e2e

TEACHER, HOME_RESIDENT, SECOND_RESIDENT = 5000, 5001, 5002

WORDS = {
    "en": {
        "home": "Sunny Court", "second": "Happy Lane", "course": "Tai chi",
        "courses": "📚 Courses", "home_screen": "What would you like to do?",
        "teaching": "🧑‍🏫 My teaching",
        "plan": "🗓 Schedule one of my courses", "which": "Which community?",
        "which_course": "Which course, in Happy Lane?", "day": "Which day?",
        "tomorrow": "Tomorrow", "time": "What time does it start?", "ten": "10:00 am",
        "long": "How long is it?", "sixty": "60 min", "where": "Where is it?",
        "venue": "Happy Lane hall", "seats": "How many seats?", "named": "🏠 Happy Lane",
        "yes": "✅ Yes, that's right", "done": "Scheduled ✅", "menu": "Main menu",
        "coming": "🗓 Sessions coming up", "listed": "Tap one to enrol",
        "none": "No sessions are planned yet",
    },
    "zh": {
        "home": "阳光社区", "second": "幸福社区", "course": "太极拳",
        "courses": "📚 课程", "home_screen": "您想做什么",
        "teaching": "🧑‍🏫 我的授课",
        "plan": "🗓 安排我的一门课", "which": "要办理哪个社区的事？",
        "which_course": "在幸福社区安排哪门课？", "day": "哪一天",
        "tomorrow": "明天", "time": "几点开始", "ten": "上午10:00",
        "long": "上多长时间", "sixty": "60 分钟", "where": "在哪里上课",
        "venue": "幸福社区活动室", "seats": "有多少个名额", "named": "🏠 幸福社区",
        "yes": "✅ 对，没问题", "done": "已安排 ✅", "menu": "主菜单",
        "coming": "🗓 近期课程", "listed": "点开即可报名",
        "none": "还没有安排课程",
    },
}


async def seed(db_url: str, words: dict[str, str], zone: str, language: str) -> None:
    """Two communities; a teacher of both who lives in the first, with a course on the
    second's menu; a resident of each."""
    engine = create_engine(db_url)
    await migrate(engine)
    now = datetime.now(UTC)
    async with create_sessionmaker(engine)() as session:
        home = Community(name=words["home"], timezone=zone, created_at=now)
        second = Community(name=words["second"], timezone=zone, created_at=now)
        session.add_all([home, second])
        await session.flush()
        teacher = User(tg_id=TEACHER, first_name="Sun", locale=language, consented_at=now,
                       community_id=home.id, created_at=now)
        session.add_all([
            teacher,
            User(tg_id=HOME_RESIDENT, first_name="Ann", locale=language, consented_at=now,
                 community_id=home.id, created_at=now),
            User(tg_id=SECOND_RESIDENT, first_name="Bo", locale=language, consented_at=now,
                 community_id=second.id, created_at=now),
        ])
        await session.flush()
        session.add_all([RoleGrant(user_id=teacher.id or 0, role=Role.TEACHER,
                                   community_id=community.id, created_at=now)
                         for community in (home, second)])
        session.add(Course(community_id=second.id or 0, teacher_id=teacher.id,
                           title=words["course"], description="", category=Category.SPORTS,
                           minutes=60, status=CourseStatus.APPROVED, created_at=now,
                           reviewed_by=teacher.id, reviewed_at=now))
        await session.commit()
    await engine.dispose()


def label_starting(user: UserHandle, start: str) -> str:
    return next(label for label in user.bot_messages[-1].button_labels
                if label.startswith(start))


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_teacher_in_two_communities_schedules_into_the_second_one(
    emulator: Emulator, start_bot: Callable[..., Any], bot_db_url: str, language: str
) -> None:
    words = WORDS[language]
    zone = late_morning_zone()
    await seed(bot_db_url, words, zone, language)
    bot = await start_bot(TIMEZONE=zone, FLOOD_RATE="100")  # taps faster than a person
    async with showing_log(bot):
        teacher = emulator.user(TEACHER, "Sun", language_code=language)
        await step(teacher, teacher.send("/menu"), words["menu"])
        await step(teacher, teacher.press_reply(words["courses"]), words["home_screen"])
        await step(teacher, teacher.press_text(words["teaching"]), words["teaching"])
        await step(teacher, teacher.press_text(words["plan"]), words["which"])
        await step(teacher, teacher.press_text(words["second"]), words["which_course"])
        await step(teacher, teacher.press_text(words["course"]), words["day"])
        await step(teacher, teacher.press_text(label_starting(teacher, words["tomorrow"])),
                   words["time"])
        await step(teacher, teacher.press_text(words["ten"]), words["long"])
        await step(teacher, teacher.press_text(words["sixty"]), words["where"])
        await step(teacher, teacher.send(words["venue"]), words["seats"])
        confirm = await step(teacher, teacher.press_text("20"), words["named"])
        assert words["venue"] in confirm
        await step(teacher, teacher.press_text(words["yes"]), words["done"])

        # Only the second community's resident sees it coming up.
        second = emulator.user(SECOND_RESIDENT, "Bo", language_code=language)
        await step(second, second.send("/menu"), words["menu"])
        await step(second, second.press_reply(words["courses"]), words["home_screen"])
        await step(second, second.press_text(words["coming"]), words["listed"])
        assert any(label.endswith(words["course"])
                   for label in second.bot_messages[-1].button_labels)
        home = emulator.user(HOME_RESIDENT, "Ann", language_code=language)
        await step(home, home.send("/menu"), words["menu"])
        await step(home, home.press_reply(words["courses"]), words["home_screen"])
        await step(home, home.press_text(words["coming"]), words["none"])
        assert not any(words["course"] in label
                       for message in home.bot_messages for label in message.button_labels)
        await home.wait_for(words["none"], timeout=TIMEOUT)
    await stop_cleanly(bot, emulator)


SERIES = {
    "en": {"cancel": "🚫 Cancel the session", "ill": "The teacher is ill",
           "why": "Why is “Tai chi” cancelled?", "ask": "Why: the teacher is ill",
           "following": "Yes, this one and the 1 after it", "done": "The session is cancelled.",
           "told": "Why: the teacher is ill\nSorry!"},
    "zh": {"cancel": "🚫 取消这节课", "ill": "老师生病了", "why": "为什么取消“Tai chi”",
           "ask": "取消原因：老师生病了", "following": "是，取消这节及之后的 1 节",
           "done": "这节课已取消。", "told": "取消原因：老师生病了"},
}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_teacher_cancels_a_weekly_series_from_its_second_session_on(
    emulator: Emulator, start_bot: Callable[..., Any], bot_db_url: str, language: str
) -> None:
    """Issue 16: "this one and the following" of a weekly series, one reason asked once;
    the resident enrolled in each cancelled session is told of each, the first stays."""
    words, series_words = WORDS[language], SERIES[language]
    zone = late_morning_zone()
    await seed(bot_db_url, words, zone, language)
    engine = create_engine(bot_db_url)
    now = datetime.now(UTC)
    async with create_sessionmaker(engine)() as session:
        teacher_row = (await session.execute(
            select(User).where(col(User.tg_id) == TEACHER))).scalar_one()
        ann_row = (await session.execute(
            select(User).where(col(User.tg_id) == HOME_RESIDENT))).scalar_one()
        lessons = [Lesson(community_id=ann_row.community_id or 0, teacher_id=teacher_row.id,
                          title="Tai chi", category=Category.SPORTS,
                          starts_at=now + timedelta(days=1, weeks=n), venue="Garden",
                          capacity=10, checkin_token=f"series{n}", created_by=teacher_row.id,
                          created_at=now) for n in range(3)]
        session.add_all(lessons)
        await session.flush()
        session.add_all([Enrolment(session_id=lesson.id or 0, user_id=ann_row.id or 0,
                                   status=EnrolmentStatus.ENROLLED, queued_at=now,
                                   created_at=now, updated_at=now) for lesson in lessons])
        await session.commit()
        ids = [lesson.id for lesson in lessons]
    bot = await start_bot(TIMEZONE=zone, FLOOD_RATE="100", SWEEP_SECONDS="1")
    async with showing_log(bot):
        ann = emulator.user(HOME_RESIDENT, "Ann", language_code=language)
        await step(ann, ann.send("/menu"), words["menu"])  # her chat with the bot
        teacher = emulator.user(TEACHER, "Sun", language_code=language)
        await step(teacher, teacher.send("/menu"), words["menu"])
        await step(teacher, teacher.press_reply(words["courses"]), words["home_screen"])
        await step(teacher, teacher.press_text(words["teaching"]), words["teaching"])
        second = [label for label in teacher.bot_messages[-1].button_labels
                  if label.endswith("Tai chi")][1]
        await step(teacher, teacher.press_text(second), "📍 Garden")
        await step(teacher, teacher.press_text(series_words["cancel"]), series_words["why"])
        await step(teacher, teacher.press_text(series_words["ill"]), series_words["ask"])
        await step(teacher, teacher.press_text(series_words["following"]),
                   series_words["done"])
        await ann.wait_for(series_words["told"], timeout=TIMEOUT)

        await wait_until(lambda: sum(series_words["told"] in m.content
                                     for m in ann.bot_messages) == 2, TIMEOUT,
                         "both cancelled sessions told")
    await stop_cleanly(bot, emulator)
    async with create_sessionmaker(engine)() as session:
        found = {row.id: row.status for row in (await session.execute(
            select(Lesson))).scalars().all()}
    await engine.dispose()
    assert [found[i] for i in ids] == [LessonStatus.SCHEDULED, LessonStatus.CANCELLED,
                                       LessonStatus.CANCELLED]
