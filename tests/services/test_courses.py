"""Course rules without Telegram: the menu, orders, sessions, waitlist, reminders, check-in."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.i18n import load_i18n
from models.communities import Community
from models.courses import Category, Enrolment, EnrolmentStatus, Lesson, OrderStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.users import Role, User
from scheduler.outbox import render
from services import course_orders, course_sessions, courses, privacy
from services.access import Access
from services.clock import ManualClock
from services.courses import (
    AlreadyBacked,
    AlreadyEnrolled,
    LessonClosed,
    LessonFull,
    NotInWindow,
    OfferExpired,
    OrderClosed,
    SimilarOrder,
)
from services.errors import InvalidInput, NotAllowed, NotFound
from tests.factories import grant, make_community, make_user


class FakeButtons:
    """services.courses.Buttons whose keyboards say which they are: "enrol:7"."""

    def __getattr__(self, kind: str) -> Any:
        return lambda target: {"inline_keyboard": [[{"text": kind,
                                                      "callback_data": f"{kind}:{target}"}]]}


buttons = FakeButtons()


async def pending(session: AsyncSession, **where: Any) -> list[OutboxMessage]:
    await session.commit()
    query = select(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.PENDING)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list((await session.execute(query.order_by(col(OutboxMessage.id)))).scalars().all())


class World:
    """A community with a staff member, a teacher and residents."""

    def __init__(self, session: AsyncSession, clock: ManualClock) -> None:
        self.session = session
        self.clock = clock

    async def build(self) -> World:
        s, c = self.session, self.clock
        self.home = await make_community(s, c, "Sunny Court")
        self.other = await make_community(s, c, "Far Away")
        self.staff_user = await make_user(s, c, name="Staff", community=self.home)
        self.staff = await grant(s, c, self.staff_user, Role.STAFF, self.home)
        self.teacher_user = await make_user(s, c, name="Teacher", community=self.home)
        self.teacher = await grant(s, c, self.teacher_user, Role.TEACHER, self.home)
        self.far_teacher = await grant(
            s, c, await make_user(s, c, name="Far", community=self.other), Role.TEACHER,
            self.other)
        self.residents = [await make_user(s, c, name=f"R{i}", community=self.home)
                          for i in range(8)]
        return self

    def access(self, user: User) -> Access:
        assert user.id is not None
        return Access(user_id=user.id)

    async def lesson(self, *, capacity: int = 2, hours: float = 48,
                     community: Community | None = None) -> Lesson:
        community = community or self.home
        access = self.staff if community is self.home else self.far_teacher
        assert community.id is not None and self.teacher_user.id is not None
        return await course_sessions.schedule_session(
            self.session, access=access, clock=self.clock, community_id=community.id,
            teacher_id=self.teacher_user.id if community is self.home else access.user_id,
            title="太极拳入门", category=Category.SPORTS,
            starts_at=self.clock.now() + timedelta(hours=hours), minutes=60,
            venue="Living room", capacity=capacity, buttons=buttons)

    async def enrol(self, user: User, lesson: Lesson, waitlist: bool = True) -> Enrolment:
        assert lesson.id is not None
        return await course_sessions.enrol(
            self.session, access=self.access(user), user=user, clock=self.clock,
            session_id=lesson.id, buttons=buttons, waitlist=waitlist)


@pytest.fixture
async def world(session: AsyncSession, clock: ManualClock) -> World:
    return await World(session, clock).build()


# --- The menu ----------------------------------------------------------------------------


async def test_offered_course_waits_for_staff_and_search_finds_chinese_substrings(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    assert world.home.id is not None
    course = await courses.offer_course(
        session, access=world.teacher, clock=clock, community_id=world.home.id,
        title="智能手机防诈骗", description="教老人识别电话诈骗", category=Category.CIVIC,
        minutes=60)
    found = await courses.list_courses(session, community_id=world.home.id, query="诈骗")
    assert found.items == []  # not on the menu until approved
    with pytest.raises(NotAllowed):
        await courses.review_course(session, access=world.teacher, clock=clock,
                                    course_id=course.id or 0, approve=True)
    await courses.review_course(session, access=world.staff, clock=clock,
                                course_id=course.id or 0, approve=True)
    for query in ("诈骗", "手机", "电话", "防诈"):
        found = await courses.list_courses(session, community_id=world.home.id, query=query)
        assert [c.title for c in found.items] == ["智能手机防诈骗"], query
    assert (await courses.list_courses(session, community_id=world.home.id,
                                       query="太极")).items == []
    by_category = await courses.list_courses(session, community_id=world.home.id,
                                             category=Category.CIVIC)
    assert len(by_category.items) == 1
    assert Category.CIVIC in await courses.subjects_of(session,
                                                      user_id=world.teacher_user.id or 0)


async def test_course_offers_are_checked(world: World, session: AsyncSession,
                                         clock: ManualClock) -> None:
    assert world.home.id is not None and world.other.id is not None
    with pytest.raises(InvalidInput):
        await courses.offer_course(session, access=world.teacher, clock=clock,
                                   community_id=world.home.id, title="x" * 61, description="",
                                   category=Category.ARTS, minutes=60)
    with pytest.raises(NotAllowed):
        await courses.offer_course(session, access=world.teacher, clock=clock,
                                   community_id=world.other.id, title="Paper cutting",
                                   description="", category=Category.ARTS, minutes=60)
    with pytest.raises(NotAllowed):
        await courses.offer_course(session, access=world.access(world.residents[0]),
                                   clock=clock, community_id=world.home.id, title="Paper",
                                   description="", category=Category.ARTS, minutes=60)
    for _ in range(8):
        await courses.offer_course(session, access=world.staff, clock=clock,
                                   community_id=world.home.id, title=f"Course {_}",
                                   description="", category=Category.ARTS, minutes=60)
    first = await courses.list_courses(session, community_id=world.home.id, page=0)
    second = await courses.list_courses(session, community_id=world.home.id, page=1)
    assert (len(first.items), len(second.items), first.pages) == (6, 2, 2)


# --- Orders ------------------------------------------------------------------------------


async def test_backers_reaching_the_threshold_alert_staff_and_teachers_once(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    await courses.toggle_subject(session, access=world.teacher, category=Category.HEALTH)
    orderer, *others = world.residents
    order = await course_orders.create_order(
        session, user=orderer, clock=clock, category=Category.HEALTH, topic="高血压 饮食",
        days=0b0011111, expected=10)
    with pytest.raises(SimilarOrder) as similar:
        await course_orders.create_order(session, user=others[0], clock=clock,
                                         category=Category.HEALTH, topic="高血压饮食")
    assert similar.value.order_id == order.id and not similar.value.own
    with pytest.raises(AlreadyBacked):
        await course_orders.back_order(session, user=orderer, clock=clock,
                                       order_id=order.id or 0, buttons=buttons)
    for resident in others[:4]:
        await course_orders.back_order(session, user=resident, clock=clock,
                                       order_id=order.id or 0, buttons=buttons)
    assert await pending(session) == []
    with pytest.raises(AlreadyBacked):
        await course_orders.back_order(session, user=others[0], clock=clock,
                                       order_id=order.id or 0, buttons=buttons)
    await course_orders.back_order(session, user=others[4], clock=clock,
                                   order_id=order.id or 0, buttons=buttons)
    alerts = await pending(session)
    assert sorted(m.user_id for m in alerts) == sorted(
        [world.staff_user.id, world.teacher_user.id])
    assert alerts[0].params == {"count": 6, "topic": "高血压 饮食", "community": "Sunny Court"}
    await course_orders.back_order(session, user=others[5], clock=clock,
                                   order_id=order.id or 0, buttons=buttons)
    assert len(await pending(session)) == 2  # once only


async def test_threshold_is_per_community_and_staff_only(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    assert world.home.id is not None
    with pytest.raises(NotAllowed):
        await courses.set_rules(session, access=world.teacher, clock=clock,
                                community_id=world.home.id, threshold=2)
    with pytest.raises(InvalidInput):
        await courses.set_rules(session, access=world.staff, clock=clock,
                                community_id=world.home.id, threshold=0)
    await courses.set_rules(session, access=world.staff, clock=clock,
                            community_id=world.home.id, threshold=1, reminder_hours=[3, 48])
    rules = await courses.get_rules(session, community_id=world.home.id)
    assert rules.reminder_hours == (48, 3)
    order = await course_orders.create_order(session, user=world.residents[0], clock=clock,
                                             category=Category.ARTS, topic="剪纸")
    await course_orders.back_order(session, user=world.residents[1], clock=clock,
                                   order_id=order.id or 0, buttons=buttons)
    assert [m.user_id for m in await pending(session)] == [world.staff_user.id]


async def test_only_one_teacher_takes_an_order_and_only_in_their_community(
    world: World, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    order = await course_orders.create_order(session, user=world.residents[0], clock=clock,
                                             category=Category.ARTS, topic="书法")
    second_user = await make_user(session, clock, name="T2", community=world.home)
    second = await grant(session, clock, second_user, Role.TEACHER, world.home)
    outsider_user = await make_user(session, clock, name="T3", community=world.other)
    outsider = await grant(session, clock, outsider_user, Role.TEACHER, world.other)
    with pytest.raises(NotAllowed):
        await course_orders.take_order(session, access=outsider, clock=clock,
                                       order_id=order.id or 0)

    async def take(access: Access) -> str:
        async with sessionmaker() as own:
            try:
                await course_orders.take_order(own, access=access, clock=clock,
                                               order_id=order.id or 0)
                return "won"
            except OrderClosed:
                return "lost"

    results = await asyncio.gather(take(world.teacher), take(second), take(world.teacher))
    assert sorted(results) == ["lost", "lost", "won"]
    await session.commit()  # a fresh snapshot
    await session.refresh(order)
    assert order.status == OrderStatus.TAKEN


async def test_withdrawn_order_tells_backers_and_cannot_be_backed(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    order = await course_orders.create_order(session, user=world.residents[0], clock=clock,
                                             category=Category.ARTS, topic="书法")
    await course_orders.back_order(session, user=world.residents[1], clock=clock,
                                   order_id=order.id or 0, buttons=buttons)
    with pytest.raises(NotFound):
        await course_orders.withdraw_order(session, user=world.residents[1], clock=clock,
                                           order_id=order.id or 0)
    await course_orders.withdraw_order(session, user=world.residents[0], clock=clock,
                                       order_id=order.id or 0)
    assert [m.user_id for m in await pending(session)] == [world.residents[1].id]
    with pytest.raises(OrderClosed):
        await course_orders.back_order(session, user=world.residents[2], clock=clock,
                                       order_id=order.id or 0, buttons=buttons)
    outsider = await make_user(session, clock, community=world.other)
    order2 = await course_orders.create_order(session, user=world.residents[0], clock=clock,
                                              category=Category.ARTS, topic="国画")
    with pytest.raises(NotFound):
        await course_orders.back_order(session, user=outsider, clock=clock,
                                       order_id=order2.id or 0, buttons=buttons)


# --- Scheduling and enrolment ----------------------------------------------------------


async def test_scheduling_from_an_order_tells_everyone_with_an_enrol_button(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    assert world.home.id is not None and world.teacher_user.id is not None
    order = await course_orders.create_order(session, user=world.residents[0], clock=clock,
                                             category=Category.SPORTS, topic="八段锦")
    await course_orders.back_order(session, user=world.residents[1], clock=clock,
                                   order_id=order.id or 0, buttons=buttons)
    await course_orders.take_order(session, access=world.teacher, clock=clock,
                                   order_id=order.id or 0)
    kwargs: dict[str, Any] = dict(
        access=world.teacher, clock=clock, community_id=world.home.id,
        teacher_id=world.teacher_user.id, title="八段锦", category=Category.SPORTS,
        minutes=60, venue="Room 1", buttons=buttons, order_id=order.id)
    for bad in ({"capacity": 0}, {"capacity": 10_000},
                {"starts_at": clock.now() - timedelta(minutes=1)}, {"title": "x" * 61},
                {"venue": " "}):
        args = {"capacity": 10, "starts_at": clock.now() + timedelta(days=1), **kwargs, **bad}
        with pytest.raises(InvalidInput):
            await course_sessions.schedule_session(session, **args)
    lesson = await course_sessions.schedule_session(
        session, capacity=10, starts_at=clock.now() + timedelta(days=1), **kwargs)
    news = await pending(session, group_key=f"cn:{lesson.id}")
    assert sorted(m.user_id for m in news) == sorted([world.residents[0].id,
                                                      world.residents[1].id])
    assert news[0].keyboard == buttons.enrol(lesson.id or 0)
    await session.refresh(order)
    assert order.status == OrderStatus.SCHEDULED


async def test_enrolment_rules(world: World, session: AsyncSession, clock: ManualClock) -> None:
    lesson = await world.lesson(capacity=1)
    a, b, c = world.residents[:3]
    first = await world.enrol(a, lesson)
    assert first.status == EnrolmentStatus.ENROLLED
    with pytest.raises(AlreadyEnrolled):
        await world.enrol(a, lesson)  # a double tap
    with pytest.raises(LessonFull):
        await world.enrol(b, lesson, waitlist=False)
    assert (await world.enrol(b, lesson)).status == EnrolmentStatus.WAITING
    with pytest.raises(AlreadyEnrolled):
        await world.enrol(b, lesson)
    reminders = await pending(session, user_id=a.id)
    assert sorted(m.not_before for m in reminders) == [
        lesson.starts_at - timedelta(hours=24), lesson.starts_at - timedelta(hours=2)]
    # A forged button with another community's session.
    foreign = await world.lesson(community=world.other)
    with pytest.raises(NotFound):
        await world.enrol(c, foreign)
    # A past session, and a cancelled one.
    clock.advance(hours=49)
    with pytest.raises(LessonClosed) as closed:
        await world.enrol(c, lesson)
    assert closed.value.reason == "past"
    later = await world.lesson()
    await course_sessions.cancel_session(session, access=world.teacher, clock=clock,
                                         session_id=later.id or 0, reason=0,
                                         buttons=buttons)
    with pytest.raises(LessonClosed) as closed:
        await world.enrol(c, later)
    assert closed.value.reason == "cancelled"
    await session.commit()
    assert int((await session.execute(select(func.count()).select_from(Enrolment).where(
        col(Enrolment.session_id) == later.id))).scalar_one()) == 0


async def test_freed_seat_is_offered_in_turn_and_lapses_to_the_next(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=1, hours=48)
    a, b, c = world.residents[:3]
    await world.enrol(a, lesson)
    await world.enrol(b, lesson)
    await world.enrol(c, lesson)
    await course_sessions.leave(session, user=a, clock=clock, session_id=lesson.id or 0,
                                buttons=buttons)
    assert await pending(session, user_id=a.id) == []  # a's reminders are withdrawn
    offer = await course_sessions.my_enrolment(session, session_id=lesson.id or 0,
                                               user_id=b.id or 0)
    assert offer is not None and offer.status == EnrolmentStatus.OFFERED
    assert offer.offered_until == clock.now() + timedelta(hours=12)
    [message] = await pending(session, user_id=b.id)
    assert message.keyboard == buttons.offer(lesson.id or 0)
    # Nobody else can take the held seat.
    d = world.residents[3]
    assert (await world.enrol(d, lesson)).status == EnrolmentStatus.WAITING
    # No answer: it lapses and passes to c.
    clock.advance(hours=12)
    assert await course_sessions.expire_offers(session, clock=clock, buttons=buttons) == 1
    assert await course_sessions.expire_offers(session, clock=clock, buttons=buttons) == 0
    with pytest.raises(OfferExpired):
        await course_sessions.answer_offer(session, user=b, clock=clock,
                                           session_id=lesson.id or 0, accept=True,
                                           buttons=buttons)
    # It is 21:00 in Shanghai, c's quiet hours: c has 12 hours from 08:00, when the offer
    # reaches them.
    offer_c = await course_sessions.my_enrolment(session, session_id=lesson.id or 0,
                                                 user_id=c.id or 0)
    assert offer_c is not None and offer_c.status == EnrolmentStatus.OFFERED
    assert offer_c.offered_until == datetime(2026, 3, 3, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    clock.advance(hours=11)
    accepted = await course_sessions.answer_offer(session, user=c, clock=clock,
                                                  session_id=lesson.id or 0, accept=True,
                                                  buttons=buttons)
    assert accepted.status == EnrolmentStatus.ENROLLED
    assert len(await pending(session, user_id=c.id, kind="reminder")) == 2


async def test_deleteme_gives_up_seats_ahead_and_the_sweep_offers_them_on(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    past = await world.lesson(capacity=1, hours=1)
    ahead = await world.lesson(capacity=1, hours=48)
    a, b = world.residents[:2]
    await world.enrol(a, past)
    await world.enrol(a, ahead)
    await world.enrol(b, ahead)  # waiting
    clock.advance(hours=2)  # the first session is over
    assert await course_sessions.offer_free_seats(session, clock=clock, buttons=buttons) == 0

    await privacy.erase_user(session, user=a, clock=clock)

    async def status(lesson: Lesson, user: User) -> EnrolmentStatus:
        enrolment = await course_sessions.my_enrolment(session, session_id=lesson.id or 0,
                                                       user_id=user.id or 0)
        assert enrolment is not None
        return enrolment.status

    assert await status(past, a) == EnrolmentStatus.ENROLLED  # what happened stays
    assert await status(ahead, a) == EnrolmentStatus.CANCELLED
    assert await pending(session, user_id=a.id) == []  # reminders withdrawn
    assert await course_sessions.offer_free_seats(session, clock=clock, buttons=buttons) == 1
    assert await course_sessions.offer_free_seats(session, clock=clock, buttons=buttons) == 0
    assert await status(ahead, b) == EnrolmentStatus.OFFERED
    [offer] = await pending(session, user_id=b.id)
    assert offer.keyboard == buttons.offer(ahead.id or 0)


async def test_no_offer_whose_full_window_would_not_end_two_hours_before_the_start(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=1, hours=6)
    a, b = world.residents[:2]
    await world.enrol(a, lesson)
    await world.enrol(b, lesson)
    await course_sessions.leave(session, user=a, clock=clock, session_id=lesson.id or 0,
                                buttons=buttons)
    waiting = await course_sessions.my_enrolment(session, session_id=lesson.id or 0,
                                                 user_id=b.id or 0)
    assert waiting is not None and waiting.status == EnrolmentStatus.WAITING
    assert (await world.enrol(b, lesson)).status == EnrolmentStatus.ENROLLED  # open: first tap


async def test_cant_come_on_a_reminder_frees_the_seat_and_moving_requeues_reminders(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=1, hours=72)
    a, b = world.residents[:2]
    await world.enrol(a, lesson)
    await world.enrol(b, lesson)
    old_keys = {m.dedupe_key for m in await pending(session, user_id=a.id)}
    await course_sessions.move_session(session, access=world.teacher, clock=clock,
                                       session_id=lesson.id or 0,
                                       starts_at=lesson.starts_at + timedelta(days=1),
                                       buttons=buttons)
    rows = await pending(session, user_id=a.id)
    reminders = [m for m in rows if m.kind == "reminder"]
    assert {m.not_before for m in reminders} == {
        lesson.starts_at - timedelta(hours=24), lesson.starts_at - timedelta(hours=2)}
    assert not old_keys & {m.dedupe_key for m in reminders}
    assert any(m.key and "has moved" in m.key for m in rows)
    with pytest.raises(NotAllowed):
        await course_sessions.move_session(
            session, access=world.access(a), clock=clock, session_id=lesson.id or 0,
            starts_at=lesson.starts_at + timedelta(days=1), buttons=buttons)
    with pytest.raises(InvalidInput):
        await course_sessions.move_session(
            session, access=world.staff, clock=clock, session_id=lesson.id or 0,
            starts_at=clock.now() - timedelta(hours=1), buttons=buttons)
    clock.set(lesson.starts_at - timedelta(hours=24))
    await course_sessions.leave(session, user=a, clock=clock, session_id=lesson.id or 0,
                                buttons=buttons)
    offer = await course_sessions.my_enrolment(session, session_id=lesson.id or 0,
                                               user_id=b.id or 0)
    assert offer is not None and offer.status == EnrolmentStatus.OFFERED


async def test_teacher_is_reminded_with_the_headcount(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=5, hours=30)
    for resident in world.residents[:3]:
        await world.enrol(resident, lesson)
    assert await course_sessions.remind_teachers(session, clock=clock) == 0
    clock.set(lesson.starts_at - timedelta(hours=23))
    assert await course_sessions.remind_teachers(session, clock=clock) == 1
    assert await course_sessions.remind_teachers(session, clock=clock) == 0
    [row] = await pending(session, user_id=world.teacher_user.id, kind="reminder")
    assert row.params["enrolled"] == 3 and row.params["capacity"] == 5
    # Said warmly and plainly, with the day as people say it (not "Enrolled: 3 of 5.").
    from tests.services.test_volunteers import claimed
    for locale, words in (("en", "3 of 5 places are taken; 0 on the waiting list. Thank you"),
                          ("zh", "已有 3 人报名（共 5 个名额），0 人候补。辛苦您了")):
        text, _ = render(claimed(row, locale), load_i18n(), "zh")
        assert words in text, text


async def test_check_in_window_attendance_and_ratings(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=3, hours=5)
    a, b, c = world.residents[:3]
    await world.enrol(a, lesson)
    await world.enrol(b, lesson)
    with pytest.raises(NotInWindow):
        await course_sessions.check_in(session, user=a, clock=clock,
                                       token=lesson.checkin_token, buttons=buttons)
    clock.set(lesson.starts_at - timedelta(minutes=30))
    done = await course_sessions.check_in(session, user=a, clock=clock,
                                          token=lesson.checkin_token, buttons=buttons)
    assert not done.already
    again = await course_sessions.check_in(session, user=a, clock=clock,
                                           token=lesson.checkin_token, buttons=buttons)
    assert again.already
    with pytest.raises(course_sessions.NotEnrolled):
        await course_sessions.check_in(session, user=c, clock=clock,
                                       token=lesson.checkin_token, buttons=buttons)
    with pytest.raises(NotFound):
        await course_sessions.check_in(session, user=a, clock=clock, token="nope",
                                       buttons=buttons)
    with pytest.raises(NotAllowed):
        await course_sessions.mark_attendance(
            session, access=world.access(c), clock=clock, session_id=lesson.id or 0,
            user_id=b.id or 0, present=True, buttons=buttons)
    await course_sessions.mark_attendance(
        session, access=world.staff, clock=clock, session_id=lesson.id or 0,
        user_id=b.id or 0, present=True, buttons=buttons)
    asks = await pending(session, key="How was “{title}”? Please give it 1 to 5 stars.")
    assert sorted(m.user_id for m in asks) == sorted([a.id, b.id])
    assert all(m.not_before == lesson.starts_at + timedelta(minutes=60) for m in asks)
    with pytest.raises(course_sessions.NotEnrolled):
        await course_sessions.rate(session, user=c, clock=clock, session_id=lesson.id or 0,
                                   stars=5)
    with pytest.raises(InvalidInput):
        await course_sessions.rate(session, user=a, clock=clock, session_id=lesson.id or 0,
                                   stars=6)
    await course_sessions.rate(session, user=a, clock=clock, session_id=lesson.id or 0,
                               stars=5)
    await course_sessions.rate(session, user=b, clock=clock, session_id=lesson.id or 0,
                               stars=4)
    with pytest.raises(InvalidInput):
        await course_sessions.comment(session, user=a, clock=clock,
                                      session_id=lesson.id or 0, text="好" * 501)
    await course_sessions.comment(session, user=a, clock=clock, session_id=lesson.id or 0,
                                  text="老师讲得很好")
    summary = await course_sessions.ratings(session, access=world.teacher,
                                            session_id=lesson.id or 0)
    assert (summary.count, summary.average, summary.comments) == (2, 4.5, [(5, "老师讲得很好")])
    counts = await course_sessions.counts_of(session, session_ids=[lesson.id or 0])
    assert counts[lesson.id or 0] == (2, 0, 2)
    clock.set(lesson.starts_at + timedelta(minutes=91))
    with pytest.raises(NotInWindow):
        await course_sessions.check_in(session, user=b, clock=clock,
                                       token=lesson.checkin_token, buttons=buttons)


async def test_ics_file_is_in_the_communitys_time_zone(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson()
    a, outsider = world.residents[0], world.residents[5]
    await world.enrol(a, lesson)
    data = await course_sessions.ics_file(session, access=world.access(a), user=a,
                                          session_id=lesson.id or 0)
    event = next(iter(Calendar.from_ical(data).walk("VEVENT")))
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "Asia/Shanghai" and start == lesson.starts_at
    assert b"BEGIN:VTIMEZONE" in data and b"TZID=Asia/Shanghai" in data
    with pytest.raises(NotFound):
        await course_sessions.ics_file(session, access=world.access(outsider), user=outsider,
                                       session_id=lesson.id or 0)


async def test_my_courses_lists_seats_waitlist_places_and_orders(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=1)
    a, b, c = world.residents[:3]
    await world.enrol(a, lesson)
    await world.enrol(c, lesson)
    await world.enrol(b, lesson)
    mine = await course_sessions.my_sessions(session, clock=clock, user_id=b.id or 0)
    assert [(m.enrolment.status, m.position) for m in mine] == [(EnrolmentStatus.WAITING, 2)]
    order = await course_orders.create_order(session, user=b, clock=clock,
                                             category=Category.ARTS, topic="书法")
    await course_orders.back_order(session, user=a, clock=clock, order_id=order.id or 0,
                                   buttons=buttons)
    assert [o.id for o in (await course_orders.my_orders(session, user_id=a.id or 0)).backed] \
        == [order.id]


# --- Races -------------------------------------------------------------------------------


async def test_200_people_tapping_enrol_at_once_fill_exactly_10_seats(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with sessionmaker() as session:
        world = await World(session, clock).build()
        lesson = await world.lesson(capacity=10)
        people = [User(tg_id=10_000 + i, first_name=f"P{i}", created_at=clock.now(),
                       consented_at=clock.now(), community_id=world.home.id)
                  for i in range(200)]
        session.add_all(people)
        await session.commit()

    async def tap(user: User) -> str:
        async with sessionmaker() as own:
            try:
                enrolment = await course_sessions.enrol(
                    own, access=Access(user_id=user.id or 0), user=user, clock=clock,
                    session_id=lesson.id or 0, buttons=buttons, waitlist=True)
                return str(enrolment.status)
            except LessonFull:
                return "full"

    results = await asyncio.gather(*(tap(p) for p in people))
    assert results.count("enrolled") == 10
    assert results.count("waiting") == 190
    async with sessionmaker() as session:
        held = await course_sessions.counts_of(session, session_ids=[lesson.id or 0])
        assert held[lesson.id or 0] == (10, 190, 0)


# --- What a session's screen may offer ------------------------------------------------


async def seen(world: World, user: User, lesson: Lesson,
               access: Access | None = None) -> course_sessions.LessonView:
    return await course_sessions.view(world.session, access=access or world.access(user),
                                      user=user, clock=world.clock, lesson_id=lesson.id or 0)


async def test_view_can_enrol_while_a_seat_is_free_waiting_people_included(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=1, hours=1.5)
    a, b = world.residents[:2]
    assert (await seen(world, a, lesson)).can_enrol
    await world.enrol(a, lesson)
    assert not (await seen(world, a, lesson)).can_enrol  # holds the seat
    await world.enrol(b, lesson)
    assert not (await seen(world, b, lesson)).can_enrol  # full
    await course_sessions.leave(session, user=a, clock=clock, session_id=lesson.id or 0,
                                buttons=buttons)  # too late for an offer: the seat is open
    assert (await seen(world, b, lesson)).can_enrol
    assert (await world.enrol(b, lesson)).status == EnrolmentStatus.ENROLLED  # as the view said
    clock.advance(hours=2)
    assert not (await seen(world, a, lesson)).can_enrol  # started


async def test_view_can_wait_only_when_full_and_not_in_line(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=1)
    a, b = world.residents[:2]
    assert not (await seen(world, b, lesson)).can_wait  # a seat is free
    await world.enrol(a, lesson)
    assert (await seen(world, b, lesson)).can_wait
    assert not (await seen(world, a, lesson)).can_wait
    await world.enrol(b, lesson)
    view = await seen(world, b, lesson)
    assert not view.can_wait and view.position == 1


async def test_view_can_leave_with_a_place_until_the_start(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=1)
    a, b, c = world.residents[:3]
    await world.enrol(a, lesson)
    await world.enrol(b, lesson)
    assert (await seen(world, a, lesson)).can_leave
    assert (await seen(world, b, lesson)).can_leave  # waiting
    assert not (await seen(world, c, lesson)).can_leave
    clock.advance(hours=49)
    assert not (await seen(world, a, lesson)).can_leave


async def test_view_can_accept_a_kept_seat(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson(capacity=1)
    a, b = world.residents[:2]
    await world.enrol(a, lesson)
    await world.enrol(b, lesson)
    assert not (await seen(world, b, lesson)).can_accept
    await course_sessions.leave(session, user=a, clock=clock, session_id=lesson.id or 0,
                                buttons=buttons)
    view = await seen(world, b, lesson)
    assert view.can_accept and not view.can_enrol and view.can_calendar
    assert not (await seen(world, a, lesson)).can_accept


async def test_view_can_run_show_the_code_move_and_cancel_for_teacher_and_staff(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    lesson = await world.lesson()
    resident = world.residents[0]
    for user, access in ((world.teacher_user, world.teacher), (world.staff_user, world.staff)):
        view = await seen(world, user, lesson, access)
        assert view.can_run and view.can_show_code and view.can_move and view.can_cancel
    view = await seen(world, resident, lesson)
    assert not (view.can_run or view.can_show_code or view.can_move or view.can_cancel)
    clock.advance(hours=49)  # started: it can no longer move or be called off
    view = await seen(world, world.teacher_user, lesson, world.teacher)
    assert view.can_run and view.can_show_code and not (view.can_move or view.can_cancel)
    later = await world.lesson()
    await course_sessions.cancel_session(session, access=world.staff, clock=clock,
                                         session_id=later.id or 0, reason=0,
                                         buttons=buttons)
    view = await seen(world, world.staff_user, later, world.staff)
    assert view.can_run and not (view.can_show_code or view.can_move or view.can_cancel)


async def test_view_of_another_communitys_session_is_refused(
    world: World, session: AsyncSession, clock: ManualClock
) -> None:
    foreign = await world.lesson(community=world.other)
    with pytest.raises(NotFound):
        await seen(world, world.residents[0], foreign)
    with pytest.raises(NotFound):
        await course_sessions.view(session, access=world.access(world.residents[0]),
                                   user=world.residents[0], clock=clock, lesson_id=999_999)
