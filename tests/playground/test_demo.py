"""The playground's demo data: made through the services, once, and made again by reset."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col, select

from models.communities import Community, Grid
from models.courses import Course, CourseOrder, Enrolment, EnrolmentStatus, Lesson
from models.polls import Poll
from models.users import Role, RoleGrant, User
from models.volunteers import Shift, VolunteerTask
from playground.demo import ADMIN, PEOPLE, STAFF, TEACHER, reset_demo, seed_demo
from services.access import load_access
from services.clock import ManualClock

COUNTED: tuple[type[SQLModel], ...] = (
    User, Community, Grid, RoleGrant, Course, CourseOrder, Lesson, Enrolment,
    VolunteerTask, Shift, Poll)


async def counts(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as session:
        return {model.__name__: (await session.execute(
            select(func.count()).select_from(model))).scalar_one() for model in COUNTED}


async def user_id(session: AsyncSession, tg_id: int) -> int:
    return (await session.execute(select(col(User.id)).where(col(User.tg_id) == tg_id))
            ).scalar_one()


async def test_seeding_twice_creates_the_demo_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
) -> None:
    assert await seed_demo(sessionmaker, clock) is True
    first = await counts(sessionmaker)
    assert first["User"] == len(PEOPLE)
    assert first["Community"] == 3 and first["Grid"] >= 6
    assert first["Course"] == 6 and first["CourseOrder"] == 3 and first["Lesson"] == 2
    assert first["VolunteerTask"] == 2 and first["Poll"] == 1

    assert await seed_demo(sessionmaker, clock) is False
    assert await counts(sessionmaker) == first

    async with sessionmaker() as session:
        for person in PEOPLE:
            access = await load_access(session, user_id=await user_id(session, person.tg_id),
                                       bootstrap_admin=False)
            assert access.is_admin == (person.kind == ADMIN)
            assert access.is_staff == (person.kind == STAFF)
            assert access.is_teacher == (person.kind == TEACHER)
        # The tai chi class is full: Ann holds a seat, Bo is first on the waitlist.
        full = (await session.execute(select(Lesson).where(
            col(Lesson.capacity) == 3))).scalar_one()
        status = {uid: s for uid, s in (await session.execute(
            select(col(Enrolment.user_id), col(Enrolment.status)).where(
                col(Enrolment.session_id) == full.id))).all()}
        assert status[await user_id(session, 9101)] == EnrolmentStatus.ENROLLED
        assert status[await user_id(session, 9103)] == EnrolmentStatus.WAITING
        assert sum(s == EnrolmentStatus.ENROLLED for s in status.values()) == 3


async def test_seeding_leaves_a_database_in_use_alone(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
) -> None:
    async with sessionmaker() as session:
        session.add(Community(name="Real Court", timezone="Asia/Shanghai",
                              created_at=clock.now()))
        await session.commit()
    assert await seed_demo(sessionmaker, clock) is False
    assert (await counts(sessionmaker))["User"] == 0


async def test_reset_wipes_everything_and_seeds_again(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
) -> None:
    await seed_demo(sessionmaker, clock)
    seeded = await counts(sessionmaker)
    async with sessionmaker() as session:
        session.add(User(tg_id=12345, first_name="Visitor", created_at=clock.now()))
        await session.commit()

    clock.advance(hours=30)
    await reset_demo(sessionmaker, clock)

    assert await counts(sessionmaker) == seeded
    async with sessionmaker() as session:
        visitor = await session.execute(select(User).where(col(User.tg_id) == 12345))
        assert visitor.scalar_one_or_none() is None
        admins = await session.execute(select(func.count()).select_from(RoleGrant).where(
            col(RoleGrant.role) == Role.ADMIN))
        assert admins.scalar_one() == 1
        sessions = (await session.execute(select(Lesson))).scalars().all()
        assert all(s.starts_at > clock.now() for s in sessions)  # seeded from the new "now"


async def test_every_demo_title_reads_in_one_language_for_each_reader(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
) -> None:
    """A Chinese reader sees only Chinese titles, an English reader only English ones: every
    course, session and volunteer task has both."""
    import re

    from services.titles import title_in

    chinese, latin = re.compile(r"[\u4e00-\u9fff]"), re.compile(r"[A-Za-z]")
    assert await seed_demo(sessionmaker, clock) is True
    async with sessionmaker() as session:
        titled = [*(await session.execute(select(Course))).scalars(),
                  *(await session.execute(select(Lesson))).scalars(),
                  *(await session.execute(select(VolunteerTask))).scalars()]
    assert len(titled) == 6 + 2 + 2
    for row in titled:
        zh, en = title_in(row, "zh"), title_in(row, "en")
        assert chinese.search(zh) and not latin.search(zh), zh
        assert latin.search(en) and not chinese.search(en), en
