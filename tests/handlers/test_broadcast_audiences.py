"""Issue 16, broadcasts people can rely on: audiences beyond community, grid and teachers
(a session's enrolled and waiting, an order's backers, volunteers by skill, a poll's
non-respondents), a test to myself, and every card naming its community."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callback_data.broadcasts import BroadcastSkillCb, BroadcastTargetCb
from bot.config import Settings
from models.broadcasts import Broadcast
from models.communities import Community
from models.courses import (
    Category,
    CourseOrder,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    OrderBacking,
)
from models.db import begin_write
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.polls import Poll, PollAnswer, PollQuestion
from models.users import Role, User
from models.volunteers import Volunteer
from scheduler.outbox import OutboxSender
from services.clock import ManualClock
from tests.factories import grant, make_community, make_user
from tests.handlers.conftest import Harness, Person, rows
from tests.scheduler.conftest import FAST, settled, wait_until

TEXT = "Bring a water bottle"


@pytest.fixture
async def sender(harness: Harness, sessionmaker: async_sessionmaker[AsyncSession],
                 clock: ManualClock, settings: Settings) -> AsyncIterator[OutboxSender]:
    sender = OutboxSender(bot=harness.bot, sessionmaker=sessionmaker, clock=clock, limits=FAST,
                          default_locale=settings.default_locale, default_tz=settings.timezone)
    await sender.start()
    harness.dp.workflow_data["outbox_notify"] = sender.kick
    yield sender
    await sender.stop()


async def people(session: AsyncSession, harness: Harness, clock: ManualClock,
                 community: Community, count: int, first: int) -> list[tuple[Person, User]]:
    """`count` consented residents of `community`, straight into the database."""
    made = []
    for i in range(count):
        person = harness.person(first + i, f"P{first + i}")
        person.handle.open_chat()
        user = await make_user(session, clock, tg_id=first + i, name=f"P{first + i}",
                               community=community, locale="en")
        made.append((person, user))
    return made


async def staff_of(harness: Harness, session: AsyncSession, clock: ManualClock,
                   community: Community, language: str = "en") -> Person:
    staff = harness.person(4000, "Liu", language)
    await staff.send("/start")
    await staff.press("✅ I agree" if language == "en" else "✅ 我同意")
    await staff.press(community.name)
    last = staff.handle.last_bot_message
    if last and ("Not sure" in last.button_labels or "不确定" in last.button_labels):
        await staff.press("Not sure" if language == "en" else "不确定")
    [user] = await rows(session, User, User.tg_id == 4000)
    await grant(session, clock, user, Role.STAFF, community)
    await staff.send("/menu")
    return staff


async def add(session: AsyncSession, *items: object) -> None:
    await begin_write(session)
    session.add_all(items)
    await session.commit()


async def lesson(session: AsyncSession, clock: ManualClock, community: Community,
                 title: str, hours: int = 24) -> Lesson:
    made = Lesson(community_id=community.id or 0, title=title, category=Category.SPORTS,
                  starts_at=clock.now() + timedelta(hours=hours), venue="Hall", capacity=2,
                  checkin_token=f"tok{title}", created_at=clock.now())
    await add(session, made)
    return made


def got(person: Person, text: str = TEXT) -> bool:
    return any(text in message.content for message in person.handle.bot_messages)


async def compose(staff: Person, audience: str, text: str = TEXT) -> None:
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send(text)
    await staff.press(audience)


async def send_now(staff: Person, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await staff.press("📤 Send now")
    await staff.press("✅ Confirm")
    await wait_until(settled(sessionmaker))


async def test_the_people_enrolled_in_a_session_and_those_waiting_for_it(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    other = await make_community(session, clock, "River Court")
    everyone = await people(session, harness, clock, sunny, 5, 6100)
    taiji = await lesson(session, clock, sunny, "Tai chi")
    theirs = await lesson(session, clock, other, "Their yoga")
    statuses = (EnrolmentStatus.ENROLLED, EnrolmentStatus.OFFERED, EnrolmentStatus.WAITING,
                EnrolmentStatus.CANCELLED)
    await add(session, *(Enrolment(session_id=taiji.id or 0, user_id=user.id or 0,
                                   status=status, queued_at=clock.now(),
                                   created_at=clock.now(), updated_at=clock.now())
                         for (_person, user), status in zip(everyone, statuses, strict=False)))
    staff = await staff_of(harness, session, clock, sunny)

    await compose(staff, "📚 Enrolled in a session")
    assert staff.last == "The people enrolled in which session?"
    assert staff.handle.last_bot_message.button_labels[0] == (  # type: ignore[union-attr]
        "Tai chi · Tomorrow, 9:00 am · 2 people")
    assert await staff.forge(BroadcastTargetCb(target_id=theirs.id or 0).pack()) == \
        "This button is out of date."
    await staff.press("Tai chi · Tomorrow, 9:00 am · 2 people")
    assert staff.last == ("It will reach Sunny Court · enrolled in Tai chi · Tue 3 Mar, "
                          "9:00 am · 2 people.")
    await staff.press("📤 Send now")
    assert staff.last == ("Send it to Sunny Court · enrolled in Tai chi · Tue 3 Mar, 9:00 am · "
                          "2 people now?")
    await staff.press("✅ Confirm")
    assert "To Sunny Court · enrolled in Tai chi · Tue 3 Mar, 9:00 am" in staff.last
    await wait_until(settled(sessionmaker))
    assert [got(person) for person, _user in everyone] == [True, True, False, False, False]

    await compose(staff, "⏳ Waiting for a session", "A seat may free up")
    await staff.press("Tai chi · Tomorrow, 9:00 am · 1 person")
    assert staff.last == ("It will reach Sunny Court · waiting for Tai chi · Tue 3 Mar, "
                          "9:00 am · 1 person.")
    await send_now(staff, sessionmaker)
    assert [got(person, "A seat may free up") for person, _user in everyone] == [
        False, False, True, False, False]


async def test_the_backers_of_an_order_and_volunteers_by_skill(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    everyone = await people(session, harness, clock, sunny, 4, 6200)
    (_, asker), (_, backer), (_, patroller), (_, helper) = everyone
    order = CourseOrder(community_id=sunny.id or 0, user_id=asker.id or 0, topic="Phone skills",
                        category=Category.SKILLS, backers=1, created_at=clock.now())
    await add(session, order)
    await add(session, OrderBacking(order_id=order.id or 0, user_id=backer.id or 0,
                                    created_at=clock.now()),
              Volunteer(user_id=patroller.id or 0, community_id=sunny.id or 0,
                        skills=["patrol", "elderly"], created_at=clock.now(),
                        updated_at=clock.now()),
              Volunteer(user_id=helper.id or 0, community_id=sunny.id or 0,
                        skills=["digital"], created_at=clock.now(), updated_at=clock.now()))
    staff = await staff_of(harness, session, clock, sunny)

    await compose(staff, "🗳 Not yet answered a poll", "Nobody to ask")
    assert staff.alerts[-1] == "There is nothing of that kind in this community now."
    assert staff.last == "Who should receive it?"  # the step waits for another choice
    await staff.press("🙋 Backers of an order")
    await staff.press("Phone skills · 2 people")
    assert staff.last == "It will reach Sunny Court · backers of the order “Phone skills” · " \
                         "2 people."
    await send_now(staff, sessionmaker)
    assert [got(p, "Nobody to ask") for p, _u in everyone] == [
        True, True, False, False]

    await compose(staff, "🤝 Volunteers", "Patrol tonight")
    assert staff.last == "Which volunteers?"
    assert await staff.forge(BroadcastSkillCb(skill="juggling").pack()) == \
        "This button is out of date."
    await staff.press("🚶 Street patrol")
    assert staff.last == "It will reach Sunny Court · volunteers: 🚶 Street patrol · 1 person."
    await send_now(staff, sessionmaker)
    assert [got(p, "Patrol tonight") for p, _u in everyone] == [False, False, True, False]

    await compose(staff, "🤝 Volunteers", "Thanks, volunteers")
    await staff.press("All volunteers")
    assert staff.last == "It will reach Sunny Court · volunteers · 2 people."
    await send_now(staff, sessionmaker)
    assert [got(p, "Thanks, volunteers") for p, _u in everyone] == [False, False, True, True]


async def test_a_polls_non_respondents_in_chinese(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "阳光社区")
    everyone = await people(session, harness, clock, sunny, 3, 6300)
    poll = Poll(community_id=sunny.id or 0, title="停车方案", closes_at=clock.now() + timedelta(
        days=3), created_at=clock.now())
    await add(session, poll)
    question = PollQuestion(poll_id=poll.id or 0, position=0, text="哪个方案？",
                            options=["A", "B"])
    await add(session, question, *(OutboxMessage(
        user_id=user.id or 0, kind=OutboxKind.ANNOUNCEMENT, text="poll", not_before=clock.now(),
        group_key=f"poll:{poll.id}", dedupe_key=f"poll:{poll.id}:invite:{user.id}",
        status=OutboxStatus.SENT, created_at=clock.now()) for _p, user in everyone))
    await add(session, PollAnswer(poll_id=poll.id or 0, question_id=question.id or 0,
                                  user_id=everyone[0][1].id or 0, choices=[0],
                                  answered_at=clock.now()))
    staff = await staff_of(harness, session, clock, sunny, "zh")
    await staff.tap("📢 通知公告")
    await staff.press("✏️ 发布新通知")
    await staff.send("请大家投票")
    await staff.press("🗳 尚未回答问卷的人")
    assert staff.last == "谁还没有回答哪份问卷？"
    await staff.press("停车方案 · 3月5日（周四）上午9:00 · 2人")
    assert staff.last == "将发送给：阳光社区 · 尚未回答“停车方案” · 2人。"
    await staff.press("📤 立即发送")
    await staff.press("✅ 确认")
    await wait_until(settled(sessionmaker))
    assert [got(p, "请大家投票") for p, _u in everyone] == [False, True, True]


async def test_a_test_to_myself_reaches_only_me_and_the_draft_goes_on(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1",))
    everyone = await people(session, harness, clock, sunny, 2, 6400)
    staff = await staff_of(harness, session, clock, sunny)
    await compose(staff, "👥 Everyone")
    copies_before = sum(TEXT in m.content for m in staff.handle.bot_messages)
    await staff.press("🧪 Send a test to myself")
    assert staff.alerts[-1] == "Sent to you only."
    assert sum(TEXT in m.content for m in staff.handle.bot_messages) == copies_before + 1
    assert staff.last.startswith("🧪 That was a test: only you received it.")
    assert await rows(session, Broadcast) == [] and await rows(session, OutboxMessage) == []
    assert not any(got(person) for person, _user in everyone)
    await staff.press("📤 Send now")
    await staff.press("🧪 Send a test to myself")  # from the confirmation too
    assert sum(TEXT in m.content for m in staff.handle.bot_messages) == copies_before + 2
    await staff.press("✅ Confirm")
    await wait_until(settled(sessionmaker))
    assert all(got(person) for person, _user in everyone)


async def test_a_district_announcement_to_volunteers_names_the_whole_district(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    river = await make_community(session, clock, "River Court")
    (_, one), = await people(session, harness, clock, sunny, 1, 6500)
    (_, two), = await people(session, harness, clock, river, 1, 6501)
    await add(session, *(Volunteer(user_id=user.id or 0, community_id=user.community_id or 0,
                                   skills=[], created_at=clock.now(), updated_at=clock.now())
                         for user in (one, two)))
    admin = harness.person(900, "Zhou", "en")
    await admin.send("/start")
    await admin.press("✅ I agree")
    await admin.press("Choose later")
    await admin.tap("📢 Announcements")
    await admin.press("🏙 To the whole district")
    await admin.send("District volunteers' day")
    labels = admin.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "📚 Enrolled in a session" not in labels and "🏘 Choose grids" not in labels
    await admin.press("🤝 Volunteers")
    await admin.press("All volunteers")
    assert admin.last == "It will reach the whole district · volunteers · 2 people."


async def test_an_admin_announces_to_several_communities_found_by_search(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    places = [await make_community(session, clock, f"社区{n}") for n in range(1, 13)]
    by_name = {c.name: c for c in places}
    two, = await people(session, harness, clock, by_name["社区2"], 1, 6600)
    ten, = await people(session, harness, clock, by_name["社区10"], 1, 6601)
    three, = await people(session, harness, clock, by_name["社区3"], 1, 6602)
    admin = harness.person(900, "Zhou", "en")
    await admin.send("/start")
    await admin.press("✅ I agree")
    await admin.press("Choose later")
    await admin.tap("📢 Announcements")
    await admin.press("🏙 To the whole district")
    await admin.send("Flood drill on Saturday")
    await admin.press("🏘 Choose communities")
    assert admin.last.startswith("Tick the communities, then press Done.")
    labels = admin.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert labels[:3] == ["▫️ 社区1", "▫️ 社区2", "▫️ 社区3"] and "▫️ 社区10" not in labels
    await admin.press("Done")
    assert admin.alerts[-1] == "Choose at least one community."
    await admin.send("社区1")
    assert "4 communities match “社区1”." in admin.last
    await admin.press("▫️ 社区10")
    assert admin.last.endswith("1 chosen.")
    await admin.send("2")
    await admin.press("▫️ 社区2")
    await admin.press("Done")
    assert admin.last == "It will reach 社区2, 社区10 · 2 people."
    await send_now(admin, sessionmaker)
    assert [got(person, "Flood drill") for person, _u in (two, ten, three)] == [
        True, True, False]
    [broadcast] = await rows(session, Broadcast)
    assert broadcast.community_id is None and sorted(broadcast.audience["ids"]) == sorted(
        [by_name["社区2"].id, by_name["社区10"].id])
