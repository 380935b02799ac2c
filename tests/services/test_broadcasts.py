"""Broadcasts: who they reach, that nobody is queued twice, scope, cancel and report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import AuditEntry
from models.broadcasts import BroadcastStatus
from models.communities import Grid
from models.db import begin_write
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.users import Role
from services import broadcasts
from services.access import Access
from services.broadcasts import Audience
from services.clock import ManualClock
from services.errors import InvalidInput, NotAllowed
from tests.factories import admin_access, grant, make_community, make_user


async def outbox_rows(session: AsyncSession) -> list[OutboxMessage]:
    return list((await session.execute(select(OutboxMessage))).scalars().all())


async def test_audiences_reach_the_right_people(session: AsyncSession, clock: ManualClock) -> None:
    sunny = await make_community(session, clock, "Sunny", grids=("A", "B"))
    other = await make_community(session, clock, "Other")
    grid_a = (await session.execute(select(Grid).where(Grid.name == "A"))).scalar_one()
    in_a = [await make_user(session, clock, community=sunny) for _ in range(3)]
    for user in in_a:
        user.grid_id = grid_a.id
    await session.commit()
    await make_user(session, clock, community=sunny)  # no grid
    await make_user(session, clock, community=sunny, consented=False)  # never agreed
    await make_user(session, clock, community=other)
    teacher = await make_user(session, clock, community=other)
    await grant(session, clock, teacher, Role.TEACHER, sunny)
    staff = await grant(session, clock, await make_user(session, clock), Role.STAFF, sunny)
    admin = admin_access(await make_user(session, clock))

    async def count(access: Access, community_id: int | None, audience: Audience) -> int:
        return await broadcasts.count_audience(session, access=access, community_id=community_id,
                                               audience=audience)

    assert await count(staff, sunny.id, Audience("all")) == 4
    assert await count(staff, sunny.id, Audience("grids", (grid_a.id or 0,))) == 3
    assert await count(staff, sunny.id, Audience("teachers")) == 1
    assert await count(admin, None, Audience("all")) == 8  # consented people district-wide
    with pytest.raises(NotAllowed):
        await count(staff, other.id, Audience("all"))
    with pytest.raises(NotAllowed):
        await count(staff, None, Audience("all"))
    with pytest.raises(InvalidInput):
        await count(staff, sunny.id, Audience("martians"))


async def test_create_queues_one_message_per_person_and_records_it(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny")
    people = [await make_user(session, clock, community=sunny) for _ in range(5)]
    staff = await grant(session, clock, people[0], Role.STAFF, sunny)
    woken: list[bool] = []
    made = await broadcasts.create_broadcast(
        session, access=staff, clock=clock, community_id=sunny.id, text="Water off 9–12",
        audience=Audience("all"), notify=lambda: woken.append(True))
    rows = await outbox_rows(session)
    assert sorted(r.user_id for r in rows) == sorted(p.id for p in people)
    assert {(r.kind, r.text, r.group_key, r.not_before) for r in rows} == {
        (OutboxKind.ANNOUNCEMENT, "Water off 9–12", f"broadcast:{made.id}", clock.now())}
    assert (made.status, made.total, woken) == (BroadcastStatus.SENDING, 5, [True])
    entry = (await session.execute(select(AuditEntry))).scalars().all()[-1]
    assert (entry.action, entry.details["recipients"]) == ("broadcast.create", 5)


async def test_scheduling_cancelling_and_the_report(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny")
    people = [await make_user(session, clock, community=sunny) for _ in range(4)]
    staff = await grant(session, clock, people[0], Role.STAFF, sunny)
    later = clock.now() + timedelta(days=1)
    made = await broadcasts.create_broadcast(
        session, access=staff, clock=clock, community_id=sunny.id, text="Fair on Sunday",
        audience=Audience("all"), send_at=later)
    assert made.status == BroadcastStatus.SCHEDULED
    assert [b.broadcast.id for b in await broadcasts.list_open(session, access=staff)] == [
        made.id]
    assert await broadcasts.active(session) == []
    assert await outbox_rows(session) == []  # queued when it goes out, to who is in it then
    assert await broadcasts.start_due(session, clock=clock) == []
    newcomer = await make_user(session, clock, community=sunny)

    clock.advance(days=1)
    [started] = await broadcasts.start_due(session, clock=clock)
    assert await broadcasts.start_due(session, clock=clock) == []  # once
    assert (started.id, started.status, started.total) == (made.id, BroadcastStatus.SENDING, 5)
    rows = await outbox_rows(session)
    assert newcomer.id in {r.user_id for r in rows}

    await begin_write(session)
    rows[0].status, rows[1].status = OutboxStatus.SENT, OutboxStatus.SKIPPED
    rows[1].last_error = "user blocked the bot"
    await session.commit()
    await broadcasts.cancel_broadcast(session, access=staff, clock=clock, broadcast_id=made.id or 0)
    await session.refresh(made)
    report = await broadcasts.report(session, broadcast=made)
    assert (report.sent, report.blocked, report.cancelled, report.waiting) == (1, 1, 3, 0)
    assert made.status == BroadcastStatus.CANCELLING  # until someone sends the report
    assert await broadcasts.finish(session, broadcast=made, clock=clock, counts=report)
    assert made.status == BroadcastStatus.CANCELLED
    assert not await broadcasts.finish(session, broadcast=made, clock=clock, counts=report)


async def test_bad_drafts_change_nothing(session: AsyncSession, clock: ManualClock) -> None:
    sunny = await make_community(session, clock, "Sunny")
    empty = await make_community(session, clock, "Empty")
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    await grant(session, clock, await make_user(session, clock), Role.STAFF, empty)
    staff_of_both = Access(user_id=staff.user_id, staff_of=frozenset({sunny.id or 0,
                                                                      empty.id or 0}))
    cases = [
        (dict(text="", community_id=sunny.id), "text"),
        (dict(text="x" * 4097, community_id=sunny.id), "text"),
        (dict(text="hi", community_id=sunny.id, send_at=clock.now() - timedelta(hours=1)),
         "send_at"),
        (dict(text="hi", community_id=empty.id), "audience"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as error:
            await broadcasts.create_broadcast(session, access=staff_of_both, clock=clock,
                                              audience=Audience("all"), **kwargs)  # type: ignore[arg-type]
        assert error.value.field == field
    resident = Access(user_id=staff.user_id + 100)
    with pytest.raises(NotAllowed):
        await broadcasts.create_broadcast(session, access=resident, clock=clock,
                                          community_id=sunny.id, text="hi",
                                          audience=Audience("all"))
    assert (await session.execute(select(func.count()).select_from(OutboxMessage))
            ).scalar_one() == 0


# --- What the screens may offer -------------------------------------------------------


async def test_can_cancel_an_open_broadcast_only_within_ones_scope(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny")
    await make_user(session, clock, community=sunny)
    admin = admin_access(await make_user(session, clock, name="Admin"))
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    mine = await broadcasts.create_broadcast(session, access=staff, clock=clock,
                                             community_id=sunny.id, text="hi",
                                             audience=Audience("all"),
                                             send_at=clock.now() + timedelta(days=1))
    district = await broadcasts.create_broadcast(session, access=admin, clock=clock,
                                                 community_id=None, text="all of you",
                                                 audience=Audience("all"),
                                                 send_at=clock.now() + timedelta(days=1))
    assert [(v.broadcast.id, v.can_cancel) for v in await broadcasts.list_open(
        session, access=staff)] == [(mine.id, True)]
    assert {(v.broadcast.id, v.can_cancel) for v in await broadcasts.list_open(
        session, access=admin)} == {(mine.id, True), (district.id, True)}
    assert not broadcasts.may_cancel(staff, district)
    await broadcasts.cancel_broadcast(session, access=staff, clock=clock, broadcast_id=mine.id or 0)
    assert not broadcasts.may_cancel(staff, mine)  # over: nothing left to cancel


async def test_who_chooses_a_community_and_which_audiences_are_offered(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny")
    other = await make_community(session, clock, "Other")
    admin = admin_access(await make_user(session, clock, name="Admin"))
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    both = Access(user_id=staff.user_id, staff_of=frozenset({sunny.id or 0, other.id or 0}))
    assert "grids" in broadcasts.audiences_for(both, community_id=other.id)
    assert "grids" in broadcasts.audiences_for(staff, community_id=sunny.id)
    assert "grids" not in broadcasts.audiences_for(admin, community_id=None)
    with pytest.raises(NotAllowed):
        broadcasts.audiences_for(staff, community_id=other.id)


async def test_a_broadcast_is_scheduled_at_most_a_month_ahead(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny")
    await make_user(session, clock, community=sunny)
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    with pytest.raises(InvalidInput) as error:
        await broadcasts.create_broadcast(
            session, access=staff, clock=clock, community_id=sunny.id, text="hi",
            audience=Audience("all"),
            send_at=clock.now() + timedelta(days=broadcasts.SCHEDULE_DAYS + 2))
    assert (error.value.field, error.value.reason) == ("send_at", "too_far")
    made = await broadcasts.create_broadcast(
        session, access=staff, clock=clock, community_id=sunny.id, text="hi",
        audience=Audience("all"), send_at=clock.now() + timedelta(days=broadcasts.SCHEDULE_DAYS))
    assert made.id is not None


async def test_one_thing_audiences_never_reach_past_their_community(
    session: AsyncSession, clock: ManualClock
) -> None:
    """A session, order or poll of another community (a forged id) reaches nobody; the
    several-communities audience is for a district announcement only; a skill that is not
    one is refused."""
    from models.courses import Category, CourseOrder, Enrolment, EnrolmentStatus, Lesson
    from models.volunteers import Volunteer

    sunny = await make_community(session, clock, "Sunny")
    other = await make_community(session, clock, "Other")
    theirs = await make_user(session, clock, community=other)
    staff = await grant(session, clock, await make_user(session, clock), Role.STAFF, sunny)
    admin = admin_access(await make_user(session, clock))
    await begin_write(session)
    lesson = Lesson(community_id=other.id or 0, title="Yoga", category=Category.SPORTS,
                    starts_at=clock.now() + timedelta(days=1), venue="Hall", capacity=5,
                    checkin_token="t1", created_at=clock.now())
    order = CourseOrder(community_id=other.id or 0, user_id=theirs.id or 0, topic="Chess",
                        category=Category.ARTS, created_at=clock.now())
    session.add_all([lesson, order, Volunteer(user_id=theirs.id or 0,
                                              community_id=other.id or 0, skills=["patrol"],
                                              created_at=clock.now(), updated_at=clock.now())])
    await session.flush()
    session.add(Enrolment(session_id=lesson.id or 0, user_id=theirs.id or 0,
                          status=EnrolmentStatus.ENROLLED, queued_at=clock.now(),
                          created_at=clock.now(), updated_at=clock.now()))
    await session.commit()

    async def count(access: Access, community_id: int | None, audience: Audience) -> int:
        return await broadcasts.count_audience(session, access=access, community_id=community_id,
                                               audience=audience)

    assert await count(staff, sunny.id, Audience("lesson", (lesson.id or 0,))) == 0
    assert await count(staff, sunny.id, Audience("backers", (order.id or 0,))) == 0
    assert await count(staff, sunny.id, Audience("volunteers", skill="patrol")) == 0
    assert await count(admin, None, Audience("lesson", (lesson.id or 0,))) == 1
    assert await count(admin, None, Audience("volunteers", skill="patrol")) == 1
    assert await count(admin, None, Audience("communities", (other.id or 0,))) == 1
    for refused in (Audience("lesson"), Audience("lesson", (1, 2)),
                    Audience("volunteers", skill="juggling"),
                    Audience("communities", (other.id or 0,))):
        with pytest.raises(InvalidInput):
            await count(staff, sunny.id, refused)
    assert "communities" not in broadcasts.audiences_for(staff, community_id=sunny.id)
    assert "lesson" not in broadcasts.audiences_for(admin, community_id=None)
    assert Audience.from_json(Audience("volunteers", skill="patrol").to_json()) == Audience(
        "volunteers", skill="patrol")
