"""The daily digest: once a day, at the time a staff member chose (off by default), what
in their communities needs them. Read from each feature's tables (read-only).

What it lists, per community the person is staff of:
- reports nobody has touched for UNTOUCHED_DAYS days (received or being worked on);
- 1–2 ⭐ ratings of the last day, on reports and on sessions;
- shifts that are over with places still waiting for hours to be confirmed;
- courses teachers offered that wait for a decision;
- sessions their teacher cancelled in the last day;
- polls closing tomorrow;
- sessions tomorrow with seats still free.

The sweep (scheduler/digest.py) finds who is due (`due`), says it in each person's
language and queues it through the outbox with one dedupe key per person per local day,
so it is sent once however often the sweep runs, on however many replicas; quiet hours
and mutes are the outbox's to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.audit import AuditEntry
from models.communities import Community
from models.courses import (
    SEAT_HOLDING,
    Course,
    CourseStatus,
    Enrolment,
    Lesson,
    LessonStatus,
)
from models.db import write
from models.digest import DigestSetting
from models.polls import Poll
from models.users import Role, RoleGrant, User
from models.voices import Report, ReportStatus
from models.volunteers import ClaimStatus, HoursEntry, Shift, ShiftClaim, VolunteerTask
from services import invites
from services.access import Access
from services.clock import Clock
from services.errors import InvalidInput, NotAllowed

UNTOUCHED_DAYS = 3
WINDOW = timedelta(hours=2)  # a digest not sent by then (the bot was down) waits a day
CHOICES = (7 * 60, 8 * 60, 9 * 60, 12 * 60, 17 * 60, 18 * 60)  # the times offered
ITEMS_MAX = 20  # lines (and buttons) per community


class ItemKind(StrEnum):
    UNTOUCHED = "untouched"        # a report: `count` days untouched
    LOW_REPORT = "low_report"      # a report rated `count` ⭐
    LOW_LESSON = "low_lesson"      # a session rated `count` ⭐
    HOURS = "hours"                # a shift with `count` places waiting for hours
    OFFER = "offer"                # a course offered, waiting for a decision
    CANCELLED = "cancelled"        # a session its teacher cancelled
    POLL = "poll"                  # a poll closing tomorrow at `at`
    SEATS = "seats"                # a session tomorrow at `at`: `count` of `total` free


@dataclass(frozen=True)
class Item:
    """One line of the digest, and what its button opens (`id`: the report, session,
    shift, course or poll)."""

    kind: ItemKind
    id: int
    title: str = ""
    at: datetime | None = None
    count: int = 0
    total: int = 0
    titles: dict[str, str] = field(default_factory=dict)  # the title in other languages


class Buttons(invites.Buttons, Protocol):
    """The district's outbox buttons (bot.keyboards.outbox.DistrictButtons), with where
    each digest line leads."""

    def digest_item(self, community_id: int, item: Item) -> str:
        """The packed callback data that opens the item's report, session, shift…"""
        ...


@dataclass(frozen=True)
class Digest:
    community_id: int
    community: str
    zone: ZoneInfo
    items: list[Item]


@dataclass(frozen=True)
class Due:
    """Someone whose digest time has come today (`day`: their local date)."""

    user: User
    community_ids: list[int]
    day: date


async def digest_time(session: AsyncSession, *, user_id: int) -> int | None:
    """The person's digest time (minutes after midnight), None when off."""
    setting = await session.get(DigestSetting, user_id)
    return setting.minutes if setting else None


async def set_digest_time(session: AsyncSession, *, access: Access, clock: Clock,
                          minutes: int | None) -> None:
    """Turn the digest on at `minutes` after midnight, or off (None). Staff only."""
    if not access.is_staff:
        raise NotAllowed("the digest is for staff")
    if minutes is not None and minutes not in CHOICES:
        raise InvalidInput("digest_time", "not_offered")
    async with write(session):
        setting = await session.get(DigestSetting, access.user_id)
        if minutes is None:
            if setting is not None:
                await session.delete(setting)
            return
        if setting is None:
            setting = DigestSetting(user_id=access.user_id, minutes=minutes,
                                    updated_at=clock.now())
        setting.minutes = minutes
        setting.updated_at = clock.now()
        session.add(setting)


async def due(session: AsyncSession, *, clock: Clock) -> list[Due]:
    """Staff whose chosen time has come in the last WINDOW, in their first community's
    time zone (sending twice on a day is the dedupe key's to stop)."""
    found = (await session.execute(
        select(DigestSetting, User).join(User, col(User.id) == col(DigestSetting.user_id))
        .where(col(User.tg_id).is_not(None), col(User.deleted_at).is_(None))
        .order_by(col(DigestSetting.user_id)))).all()
    if not found:
        return []
    grants = (await session.execute(
        select_columns(col(RoleGrant.user_id), col(RoleGrant.community_id), col(Community.timezone))
        .join(Community, col(Community.id) == col(RoleGrant.community_id))
        .where(col(RoleGrant.role) == Role.STAFF,
               col(RoleGrant.user_id).in_([u.id for _s, u in found]))
        .order_by(col(Community.name)))).all()
    now = clock.now()
    result = []
    for setting, user in found:
        mine = [(cid, tz) for uid, cid, tz in grants if uid == user.id]
        if not mine:
            continue  # no longer staff: nothing to tell
        local = now.astimezone(ZoneInfo(mine[0][1]))
        chosen = datetime.combine(local.date(), time(setting.minutes // 60, setting.minutes % 60),
                                  tzinfo=local.tzinfo)
        if chosen <= local < chosen + WINDOW:
            result.append(Due(user=user, day=local.date(),
                              community_ids=[cid for cid, _tz in mine if cid is not None]))
    return result


def dedupe_key(user_id: int, day: date) -> str:
    return f"digest:{user_id}:{day.isoformat()}"


async def collect(session: AsyncSession, *, clock: Clock, community_id: int) -> Digest:
    """What in the community needs its staff today."""
    community = await session.get(Community, community_id)
    assert community is not None
    zone = ZoneInfo(community.timezone)
    now = clock.now()
    day_ago = now - timedelta(days=1)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    tomorrow_start = datetime.combine(tomorrow, time(0), tzinfo=zone)
    tomorrow_end = tomorrow_start + timedelta(days=1)
    items: list[Item] = []

    untouched = (await session.execute(
        select(Report).where(
            col(Report.community_id) == community_id,
            col(Report.status).in_([ReportStatus.RECEIVED, ReportStatus.IN_PROGRESS]),
            col(Report.updated_at) <= now - timedelta(days=UNTOUCHED_DAYS))
        .order_by(col(Report.updated_at)))).scalars()
    items += [Item(ItemKind.UNTOUCHED, r.id or 0, title=str(r.category),
                   count=(now - r.updated_at).days) for r in untouched]

    low_reports = (await session.execute(
        select(Report).where(col(Report.community_id) == community_id,
                             col(Report.rating) <= 2, col(Report.rated_at) > day_ago)
        .order_by(col(Report.rated_at)))).scalars()
    items += [Item(ItemKind.LOW_REPORT, r.id or 0, title=str(r.category), count=r.rating or 0)
              for r in low_reports]
    low_lessons = (await session.execute(
        select_columns(col(Lesson.id), col(Lesson.title), col(Enrolment.rating),
                       col(Lesson.titles))
        .join(Lesson, col(Lesson.id) == col(Enrolment.session_id))
        .where(col(Lesson.community_id) == community_id, col(Enrolment.rating) <= 2,
               col(Enrolment.rated_at) > day_ago)
        .order_by(col(Enrolment.rated_at)))).all()
    items += [Item(ItemKind.LOW_LESSON, lid or 0, title=title, count=stars or 0,
                   titles=titles or {})
              for lid, title, stars, titles in low_lessons]

    waiting = (await session.execute(
        select_columns(col(Shift.id), col(VolunteerTask.title), col(Shift.starts_at),
                       func.count(col(ShiftClaim.id)))
        .join(Shift, col(Shift.id) == col(ShiftClaim.shift_id))
        .join(VolunteerTask, col(VolunteerTask.id) == col(Shift.task_id))
        .where(col(VolunteerTask.community_id) == community_id,
               col(ShiftClaim.status) == ClaimStatus.CLAIMED,
               col(ShiftClaim.attendance).is_(None), col(Shift.cancelled_at).is_(None),
               col(Shift.ends_at) <= now,
               ~select(HoursEntry.id).where(col(HoursEntry.claim_id) == ShiftClaim.id).exists())
        .group_by(col(Shift.id), col(VolunteerTask.title), col(Shift.starts_at))
        .order_by(col(Shift.starts_at)))).all()
    task_titles = {tid: titles for tid, titles in (await session.execute(
        select_columns(col(Shift.id), col(VolunteerTask.titles))
        .join(VolunteerTask, col(VolunteerTask.id) == col(Shift.task_id))
        .where(col(Shift.id).in_([sid for sid, *_ in waiting])))).all()} if waiting else {}
    items += [Item(ItemKind.HOURS, sid or 0, title=title, at=at, count=n,
                   titles=task_titles.get(sid) or {})
              for sid, title, at, n in waiting]

    offers = (await session.execute(
        select(Course).where(col(Course.community_id) == community_id,
                             col(Course.status) == CourseStatus.PENDING)
        .order_by(col(Course.created_at)))).scalars()
    items += [Item(ItemKind.OFFER, c.id or 0, title=c.title, titles=c.titles or {})
              for c in offers]

    # A session cancelled by someone who is not staff here: its teacher.
    staff = select(col(RoleGrant.user_id)).where(col(RoleGrant.role) == Role.STAFF,
                                                 col(RoleGrant.community_id) == community_id)
    entries = (await session.execute(
        select(AuditEntry).where(col(AuditEntry.community_id) == community_id,
                                 col(AuditEntry.action) == "session.cancel",
                                 col(AuditEntry.at) > day_ago,
                                 col(AuditEntry.actor_id).not_in(staff)))).scalars()
    by_teacher = [e.details["session_id"] for e in entries
                  if isinstance(e.details.get("session_id"), int)]
    if by_teacher:
        cancelled = (await session.execute(
            select(Lesson).where(col(Lesson.id).in_(by_teacher),
                                 col(Lesson.status) == LessonStatus.CANCELLED)
            .order_by(col(Lesson.starts_at)))).scalars()
        items += [Item(ItemKind.CANCELLED, lesson.id or 0, title=lesson.title,
                       at=lesson.starts_at, titles=lesson.titles or {}) for lesson in cancelled]

    polls = (await session.execute(
        select(Poll).where(col(Poll.community_id) == community_id,
                           col(Poll.closed_at).is_(None),
                           col(Poll.closes_at) >= tomorrow_start,
                           col(Poll.closes_at) < tomorrow_end)
        .order_by(col(Poll.closes_at)))).scalars()
    items += [Item(ItemKind.POLL, p.id or 0, title=p.title, at=p.closes_at) for p in polls]

    taken = (select_columns(func.count(col(Enrolment.id)))
             .where(col(Enrolment.session_id) == col(Lesson.id),
                    col(Enrolment.status).in_(SEAT_HOLDING)).scalar_subquery())
    seats = (await session.execute(
        select_columns(col(Lesson.id), col(Lesson.title), col(Lesson.starts_at),
                       col(Lesson.capacity), taken, col(Lesson.titles))
        .where(col(Lesson.community_id) == community_id,
               col(Lesson.status) == LessonStatus.SCHEDULED,
               col(Lesson.starts_at) >= tomorrow_start, col(Lesson.starts_at) < tomorrow_end)
        .order_by(col(Lesson.starts_at)))).all()
    items += [Item(ItemKind.SEATS, lid, title=title, at=at, count=capacity - n, total=capacity,
                   titles=titles or {})
              for lid, title, at, capacity, n, titles in seats if n < capacity]

    return Digest(community_id=community_id, community=community.name, zone=zone,
                  items=items[:ITEMS_MAX])
