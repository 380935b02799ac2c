"""📊 Figures for a community, or several (a district admin's view): residents, reports,
sessions, volunteer hours and announcements, read from each feature's tables (read-only).

Counts only, never names: figures can be shown to anyone who manages the community.
"Held" sessions are those not cancelled that have started by now; "this month" is the
calendar month in the (first) community's time zone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community, Grid
from models.courses import Enrolment, EnrolmentStatus, Lesson, LessonStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.users import User
from models.voices import Report, ReportCategory, ReportNote, ReportStatus
from models.volunteers import HoursEntry, Volunteer
from services.access import Access
from services.clock import Clock
from services.errors import NotFound

FILLED = (EnrolmentStatus.ENROLLED, EnrolmentStatus.OFFERED)


@dataclass(frozen=True)
class Figures:
    """What 📊 Figures shows; grid names are "community · grid" across communities, and
    None is "no grid"."""

    names: list[str]
    zone: ZoneInfo
    month: str  # "2026-03"
    residents: int = 0
    residents_by_grid: list[tuple[str | None, int]] = field(default_factory=list)
    new_this_month: int = 0
    reports: int = 0
    reports_by_status: dict[ReportStatus, int] = field(default_factory=dict)
    reports_by_category: dict[ReportCategory, int] = field(default_factory=dict)
    median_first_answer: timedelta | None = None
    answered: int = 0
    sessions_held: int = 0
    seats: int = 0
    seats_filled: int = 0
    attended: int = 0
    ratings: int = 0
    average_rating: float | None = None
    hours_by_grid: list[tuple[str | None, float]] = field(default_factory=list)
    hours_by_month: list[tuple[str, float]] = field(default_factory=list)
    broadcasts_sent: int = 0
    broadcast_recipients: int = 0
    broadcast_reached: int = 0


def month_start(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def all_community_ids(session: AsyncSession, *, access: Access) -> list[int]:
    """Every community (a district admin's "all communities")."""
    access.require_admin()
    return [cid for cid in (await session.execute(select_columns(col(Community.id)))).scalars()
            if cid is not None]


async def figures(session: AsyncSession, *, access: Access, clock: Clock,
                  community_ids: list[int]) -> Figures:
    """The figures of `community_ids` (one community for staff; any for an admin)."""
    if not community_ids:
        raise NotFound("no community")
    for community_id in community_ids:
        access.require_manage(community_id)
    found = list((await session.execute(
        select_columns(Community).where(col(Community.id).in_(community_ids))
        .order_by(col(Community.name)))).scalars())
    if len(found) != len(set(community_ids)):
        raise NotFound("community")
    several = len(found) > 1
    names = {c.id: c.name for c in found}
    zone = ZoneInfo(found[0].timezone)
    now = clock.now()
    start = month_start(now, zone)
    where = col(User.community_id).in_(community_ids)

    grids = {g.id: g for g in (await session.execute(
        select_columns(Grid).where(col(Grid.community_id).in_(community_ids)))).scalars()}

    def grid_name(grid_id: int | None) -> str | None:
        grid = grids.get(grid_id) if grid_id is not None else None
        if grid is None:
            return None
        return f"{names[grid.community_id]} · {grid.name}" if several else grid.name

    # Residents: people who agreed and are still here.
    people = (await session.execute(
        select_columns(col(User.grid_id), col(User.created_at)).where(
            where, col(User.consented_at).is_not(None), col(User.deleted_at).is_(None)))).all()
    by_grid: Counter[str | None] = Counter(grid_name(g) for g, _ in people)

    # Reports, and how long until the first public answer.
    reports = (await session.execute(
        select_columns(col(Report.id), col(Report.status), col(Report.category),
                       col(Report.created_at)).where(
            col(Report.community_id).in_(community_ids)))).all()
    first_notes = dict((await session.execute(
        select_columns(col(ReportNote.report_id), func.min(col(ReportNote.created_at)))
        .join(Report, col(Report.id) == col(ReportNote.report_id))
        .where(col(Report.community_id).in_(community_ids))
        .group_by(col(ReportNote.report_id)))).all())
    waits = [_aware(first_notes[rid]) - _aware(created) for rid, _s, _c, created in reports
             if rid in first_notes]

    # Sessions held, seats, attendance, ratings.
    lessons = (await session.execute(
        select_columns(col(Lesson.id), col(Lesson.capacity)).where(
            col(Lesson.community_id).in_(community_ids),
            col(Lesson.status) != LessonStatus.CANCELLED, col(Lesson.starts_at) <= now))).all()
    lesson_ids = [lid for lid, _ in lessons]
    enrolments = (await session.execute(
        select_columns(col(Enrolment.status), col(Enrolment.attended_at),
                       col(Enrolment.rating)).where(
            col(Enrolment.session_id).in_(lesson_ids)))).all() if lesson_ids else []
    filled = [e for e in enrolments if e[0] in FILLED or e[1] is not None]
    stars = [e[2] for e in enrolments if e[2] is not None]

    # Volunteer hours (the ledger's deltas), by the volunteer's grid and by month.
    hours = (await session.execute(
        select_columns(col(HoursEntry.worked_at), col(HoursEntry.delta), col(Volunteer.grid_id))
        .outerjoin(Volunteer, col(Volunteer.user_id) == col(HoursEntry.user_id))
        .where(col(HoursEntry.community_id).in_(community_ids)))).all()
    hours_grid: defaultdict[str | None, int] = defaultdict(int)
    hours_month: defaultdict[str, int] = defaultdict(int)
    for worked_at, delta, grid_id in hours:
        hours_grid[grid_name(grid_id)] += delta
        hours_month[_aware(worked_at).astimezone(zone).strftime("%Y-%m")] += delta

    # Announcements that went out, and how many people they reached.
    sent = (await session.execute(
        select_columns(col(Broadcast.id), col(Broadcast.total)).where(
            col(Broadcast.community_id).in_(community_ids),
            col(Broadcast.status).in_([BroadcastStatus.SENDING, BroadcastStatus.DONE,
                                       BroadcastStatus.CANCELLING,
                                       BroadcastStatus.CANCELLED]),
            col(Broadcast.send_at) <= now))).all()
    reached = 0
    if sent:
        reached = int((await session.execute(
            select_columns(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.group_key).in_([f"broadcast:{bid}" for bid, _ in sent]),
                col(OutboxMessage.status) == OutboxStatus.SENT))).scalar_one())

    return Figures(
        names=[c.name for c in found], zone=zone, month=start.strftime("%Y-%m"),
        residents=len(people),
        residents_by_grid=sorted(by_grid.items(), key=lambda kv: (kv[0] is None, kv[0] or "")),
        new_this_month=sum(1 for _, created in people if _aware(created) >= start),
        reports=len(reports),
        reports_by_status={s: n for s in ReportStatus
                           if (n := sum(1 for r in reports if r[1] == s))},
        reports_by_category={c: n for c in ReportCategory
                             if (n := sum(1 for r in reports if r[2] == c))},
        median_first_answer=timedelta(seconds=median(w.total_seconds() for w in waits))
        if waits else None, answered=len(waits),
        sessions_held=len(lessons), seats=sum(cap for _, cap in lessons),
        seats_filled=len(filled), attended=sum(1 for e in filled if e[1] is not None),
        ratings=len(stars), average_rating=sum(stars) / len(stars) if stars else None,
        hours_by_grid=sorted(((g, m / 60) for g, m in hours_grid.items()),
                             key=lambda kv: (kv[0] is None, kv[0] or "")),
        hours_by_month=sorted((month, m / 60) for month, m in hours_month.items()),
        broadcasts_sent=len(sent), broadcast_recipients=sum(t for _, t in sent),
        broadcast_reached=reached,
    )


def _aware(moment: datetime) -> datetime:
    """A stored moment, as UTC (SQLite hands some back naive from aggregates)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
