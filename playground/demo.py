"""Demo data for the playground, made through the project's own services.

`seed_demo` fills an empty database with a small district: three communities and
their grids, an admin, a staff member, two teachers with menu courses, residents
(one of them elderly and Chinese-speaking), open orders, a full session with a
waitlist and one with free seats, a volunteer with skill-matched tasks and shifts,
a resident's idea and a poll. Everything goes through `services/`, so the demo
obeys the same rules (and queues the same notifications) as real use.

    python -m playground reset     # wipe the database and seed again
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col, select

from bot.keyboards.outbox import OUTBOX_KEYBOARDS as KEYBOARDS
from models.communities import Community
from models.courses import Category, TimeOfDay
from models.db import begin_write
from models.users import Role, RoleGrant, User
from models.voices import ReportCategory
from services import (
    communities,
    concerns,
    course_orders,
    course_sessions,
    courses,
    invites,
    polls,
    preferences,
    users,
    volunteers,
)
from services.access import Access, load_access
from services.broadcasts import Audience
from services.clock import Clock

log = logging.getLogger(__name__)

RESIDENT, ELDERLY, TEACHER, VOLUNTEER, STAFF, ADMIN = (
    "resident", "elderly", "teacher", "volunteer", "staff", "admin")


@dataclass(frozen=True)
class DemoPerson:
    """Someone the playground's panel lets you be (or a neighbour who fills a session)."""

    tg_id: int
    name: str
    locale: str
    kind: str
    about: str  # one line for the panel, in English
    in_panel: bool = True


PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson(9101, "Ann", "en", RESIDENT, "has a seat in the full tai chi class"),
    DemoPerson(9102, "王奶奶", "zh", ELDERLY, "ordered a video-call course"),
    DemoPerson(9103, "Bo", "en", RESIDENT, "first on the tai chi waitlist"),
    DemoPerson(9104, "李老师", "zh", TEACHER, "tai chi, health, calligraphy"),
    DemoPerson(9105, "Teacher Sam", "en", TEACHER, "smartphones, home repairs"),
    DemoPerson(9106, "Chen", "en", VOLUNTEER, "patrol and elderly care"),
    DemoPerson(9107, "Staff Liu", "en", STAFF, "runs 阳光社区 Sunshine"),
    DemoPerson(9108, "周主任", "zh", ADMIN, "the whole district"),
    DemoPerson(9201, "张阿姨", "zh", RESIDENT, "neighbour", in_panel=False),
    DemoPerson(9202, "Dan", "en", RESIDENT, "neighbour", in_panel=False),
    DemoPerson(9203, "刘叔叔", "zh", RESIDENT, "neighbour", in_panel=False),
)
COMMUNITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("阳光社区 Sunshine", ("1号网格 Grid 1", "2号网格 Grid 2", "3号网格 Grid 3")),
    ("和平社区 Harmony", ("东区 East", "西区 West")),
    ("翠湖社区 Green Lake", ("湖畔 Lakeside", "花园 Garden")),
)
HOME = COMMUNITIES[0][0]  # where every demo person lives


def person(tg_id: int) -> DemoPerson:
    return next(p for p in PEOPLE if p.tg_id == tg_id)


async def is_seeded(session: AsyncSession) -> bool:
    """Anything in the database already (demo or not): then seeding leaves it alone."""
    found = await session.execute(select(func.count()).select_from(Community))
    people = await session.execute(select(func.count()).select_from(User))
    return bool(found.scalar_one() or people.scalar_one())


async def seed_demo(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                    timezone: str = "Asia/Shanghai") -> bool:
    """Fill an empty database with the demo district; False (and no change) if not empty."""
    async with sessionmaker() as session:
        if await is_seeded(session):
            return False
        await _Seeder(session, clock, ZoneInfo(timezone)).run()
    log.info("Playground: demo data created (%d people, %d communities)",
             len(PEOPLE), len(COMMUNITIES))
    return True


async def wipe(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Delete every row of every table (the schema and its migration mark stay)."""
    async with sessionmaker() as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await session.execute(delete(table))
        await session.commit()


async def reset_demo(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                     timezone: str = "Asia/Shanghai") -> None:
    """Wipe the database and seed the demo again."""
    await wipe(sessionmaker)
    await seed_demo(sessionmaker, clock, timezone)


class _Seeder:
    """The seeding steps, in order; each service call commits on its own."""

    def __init__(self, session: AsyncSession, clock: Clock, zone: ZoneInfo) -> None:
        self.s, self.clock, self.zone = session, clock, zone
        self.users: dict[int, User] = {}
        self.courses: dict[str, int] = {}  # menu courses by title

    def at(self, days: int, hour: int) -> datetime:
        """`days` from today, at `hour` o'clock in the district's time zone."""
        today: date = self.clock.now().astimezone(self.zone).date()
        return datetime.combine(today + timedelta(days=days), time(hour), self.zone)

    async def write(self) -> None:
        """Start a write transaction for a service that does not start one itself (they
        read before writing; on SQLite that needs BEGIN IMMEDIATE, see models.db)."""
        await begin_write(self.s)

    async def access(self, tg_id: int) -> Access:
        user_id = self.users[tg_id].id
        assert user_id is not None
        return await load_access(self.s, user_id=user_id, bootstrap_admin=False)

    async def run(self) -> None:
        await self.people()
        home = await self.places()
        await self.roles(home)
        await self.homes(home)
        await self.course_menu(home)
        await self.sessions(home)
        await self.volunteering(home)
        await self.voices(home)

    async def people(self) -> None:
        """Everyone as if they had pressed Start, agreed to the notice and chosen a language.

        Quiet hours are off for the demo people so the demo works at any hour."""
        for p in PEOPLE:
            user = await users.upsert_from_telegram(
                self.s, clock=self.clock, tg_id=p.tg_id, first_name=p.name, username=None,
                language=p.locale)
            await users.set_locale(self.s, user=user, locale=p.locale)
            await users.accept_privacy(self.s, user=user, clock=self.clock)
            assert user.id is not None
            await preferences.set_quiet_hours(self.s, user_id=user.id, clock=self.clock,
                                              start=None, end=None)
            self.users[p.tg_id] = user
        # The first admin is bootstrapped, as ADMIN_IDS does for a real district.
        admin = self.users[next(p.tg_id for p in PEOPLE if p.kind == ADMIN)]
        assert admin.id is not None
        self.s.add(RoleGrant(user_id=admin.id, role=Role.ADMIN, created_at=self.clock.now()))
        await self.s.commit()

    async def places(self) -> Community:
        """Three communities with their grids, opened by the admin."""
        admin = await self.access(next(p.tg_id for p in PEOPLE if p.kind == ADMIN))
        made = []
        for name, grids in COMMUNITIES:
            community = await communities.create_community(
                self.s, access=admin, clock=self.clock, name=name, timezone=self.zone.key)
            assert community.id is not None
            for grid in grids:
                await communities.create_grid(self.s, access=admin, clock=self.clock,
                                              community_id=community.id, name=grid)
            made.append(community)
        return made[0]

    async def roles(self, home: Community) -> None:
        """Staff and teachers get their roles the only way anyone does: an invite link."""
        admin = await self.access(next(p.tg_id for p in PEOPLE if p.kind == ADMIN))
        for p in PEOPLE:
            role = {STAFF: Role.STAFF, TEACHER: Role.TEACHER}.get(p.kind)
            if role is None:
                continue
            invite = await invites.create_invite(
                self.s, access=admin, clock=self.clock, role=role, community_id=home.id,
                ttl=timedelta(days=1))
            await invites.redeem_invite(self.s, user=self.users[p.tg_id], clock=self.clock,
                                        token=invite.token)

    async def homes(self, home: Community) -> None:
        """Everybody lives in the first community, spread over its grids."""
        assert home.id is not None
        grids = await communities.list_grids(self.s, community_id=home.id)
        for n, p in enumerate(PEOPLE):
            await users.set_home(self.s, user=self.users[p.tg_id], community_id=home.id,
                                 grid_id=grids[n % len(grids)].id)

    async def course_menu(self, home: Community) -> None:
        """Teachers offer menu courses, staff approve them; residents order and back topics."""
        assert home.id is not None
        staff = await self.access(9107)
        # Each title as its teacher wrote it, with the other language's for its readers.
        offers = (
            (9104, "太极入门", {"en": "Tai chi for beginners"},
             "适合初学者的太极拳，动作缓慢，老年人也能跟上。", Category.SPORTS, 60),
            (9104, "慢性病健康讲座", {"en": "Living well with a chronic illness"},
             "高血压、糖尿病的日常管理。", Category.HEALTH, 90),
            (9104, "书法欣赏与练习", {"en": "Calligraphy for everyone"},
             "从握笔开始，一起写福字。", Category.ARTS, 90),
            (9105, "Smartphone basics", {"zh": "智能手机入门"},
             "Video calls, photos and paying safely.", Category.SKILLS, 60),
            (9105, "Fixing a dripping tap", {"zh": "自己修好滴水的龙头"},
             "Simple home repairs with common tools.", Category.SKILLS, 45),
            (9105, "How our community decides", {"zh": "社区大小事怎么商量"},
             "Meetings, votes and the round-table evening.", Category.GOVERNANCE, 60),
        )
        for tg_id, title, titles, description, category, minutes in offers:
            teacher = await self.access(tg_id)
            await self.write()
            course = await courses.offer_course(
                self.s, access=teacher, clock=self.clock,
                community_id=home.id, title=title, titles=titles, description=description,
                category=category, minutes=minutes)
            assert course.id is not None
            self.courses[title] = course.id
            await self.write()
            await courses.review_course(self.s, access=staff, clock=self.clock,
                                        course_id=course.id, approve=True)
        orders = (
            (9102, "用手机和孙子视频通话", Category.SKILLS, TimeOfDay.MORNING, (9201, 9203)),
            (9101, "Cooking for one on a budget", Category.HEALTH, TimeOfDay.EVENING,
             (9202,)),
            (9201, "广场舞", Category.SPORTS, TimeOfDay.EVENING, (9102, 9203, 9103)),
        )
        for tg_id, topic, category, when, backers in orders:
            await self.write()
            order = await course_orders.create_order(
                self.s, user=self.users[tg_id], clock=self.clock, category=category,
                topic=topic, time_of_day=when, expected=10)
            assert order.id is not None
            for backer in backers:
                await self.write()
                await course_orders.back_order(self.s, user=self.users[backer], clock=self.clock,
                                               order_id=order.id, buttons=KEYBOARDS.courses)

    async def sessions(self, home: Community) -> None:
        """A full tai chi session with a waitlist (Ann holds the last seat, Bo waits first),
        and a smartphone session with free seats."""
        assert home.id is not None
        teacher = await self.access(9104)
        full = await course_sessions.schedule_session(
            self.s, access=teacher, clock=self.clock, community_id=home.id,
            teacher_id=teacher.user_id, title="太极入门", course_id=self.courses["太极入门"],
            category=Category.SPORTS, starts_at=self.at(2, 9), minutes=60,
            venue="社区客厅 Living room, 1F", capacity=3, buttons=KEYBOARDS.courses)
        assert full.id is not None
        for tg_id in (9201, 9202, 9101, 9103, 9203):
            access = await self.access(tg_id)
            await self.write()
            await course_sessions.enrol(
                self.s, access=access, user=self.users[tg_id],
                clock=self.clock, session_id=full.id, buttons=KEYBOARDS.courses, waitlist=True)
        sam = await self.access(9105)
        await course_sessions.schedule_session(
            self.s, access=sam, clock=self.clock, community_id=home.id,
            teacher_id=sam.user_id, title="Smartphone basics",
            course_id=self.courses["Smartphone basics"], category=Category.SKILLS,
            starts_at=self.at(3, 15), minutes=60,
            venue="Library room 图书室", capacity=12, buttons=KEYBOARDS.courses)

    async def volunteering(self, home: Community) -> None:
        """Volunteers with skills; staff publish two tasks with shifts (matching pings go out)."""
        assert home.id is not None
        profiles = ((9106, ("patrol", "elderly"), ("wd_am", "wd_pm", "we_am")),
                    (9202, ("repairs", "digital"), ("we_am", "we_pm")),
                    (9203, ("patrol",), ("wd_ev", "we_ev")))
        for tg_id, skills, slots in profiles:
            await volunteers.save_profile(self.s, user=self.users[tg_id], clock=self.clock,
                                          skills=skills, slots=slots)
        staff = await self.access(9107)
        tasks = (
            ("社区夜间巡逻", {"en": "Evening patrol"}, "North gate 北门", ("patrol",),
             [volunteers.ShiftSpec(self.at(1, 19), self.at(1, 21), 3),
              volunteers.ShiftSpec(self.at(4, 19), self.at(4, 21), 3)]),
            ("Visit and chat with elderly neighbours", {"zh": "陪老人聊聊天"},
             "Block 3 三号楼", ("elderly",),
             [volunteers.ShiftSpec(self.at(2, 14), self.at(2, 16), 2)]),
        )
        for title, titles, place, skills, shifts in tasks:
            await volunteers.create_task(
                self.s, access=staff, clock=self.clock, buttons=KEYBOARDS.volunteers,
                community_id=home.id, title=title, titles=titles, place=place,
                shifts=shifts, skills=skills, description="")

    async def voices(self, home: Community) -> None:
        """A micro-renewal idea with backers, and a poll for the whole community."""
        assert home.id is not None
        idea = await concerns.create_report(
            self.s, clock=self.clock, user=self.users[9102], category=ReportCategory.IDEA,
            description="在小区花园加几张长椅，老人散步累了可以坐一坐。", buttons=KEYBOARDS.reports)
        assert idea.id is not None
        for tg_id in (9201, 9203, 9101):
            await concerns.back(self.s, clock=self.clock, user=self.users[tg_id],
                                report_id=idea.id)
        await polls.create_poll(
            self.s, access=await self.access(9107), clock=self.clock, community_id=home.id,
            title="周末活动调查 Weekend activities",
            questions=[polls.QuestionDraft(
                text="What should the living room offer on Saturdays? 周六活动选哪个？",
                options=["Chess 下棋", "Film night 电影", "Cooking 烹饪"], allow_other=True)],
            audience=Audience(), closes_at=self.clock.now() + timedelta(days=7),
            buttons=KEYBOARDS.polls)


async def demo_tg_ids(session: AsyncSession) -> list[int]:
    """Telegram ids of the demo people present in the database (for tests)."""
    ids = [p.tg_id for p in PEOPLE]
    rows = await session.execute(select(col(User.tg_id)).where(col(User.tg_id).in_(ids)))
    return sorted(t for (t,) in rows.all() if t is not None)
