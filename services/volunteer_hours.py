"""Volunteer hours: attendance, the append-only ledger, totals, monthly lists, commendations.

Hours for a claim are proposed from the check-in and check-out clipped to the
shift, or the shift's whole length when there is no check-in and staff confirm
that the person came. Staff confirm (a first ledger entry) or correct (a later
entry with who and why); nothing in the ledger is ever changed or deleted.
The claim's hours are the last entry's `minutes`; totals are SUM(delta).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Community, Grid
from models.db import write
from models.outbox import OutboxKind
from models.users import User
from models.volunteers import (
    REASON_MAX,
    Attendance,
    ClaimStatus,
    HoursEntry,
    Shift,
    ShiftClaim,
    Volunteer,
    VolunteerTask,
)
from services import audit, outbox
from services.access import Access
from services.clock import Clock
from services.errors import AlreadyExists, InvalidInput, NotFound
from services.outbox import N_, Notify
from services.titles import outbox_title
from services.volunteers import (
    PlaceGivenUp,
    ShiftUnavailable,
    clean_text,
    commend_key,
    format_span,
    get_shift,
    roster,
    where,
    zone,
)

MAX_MINUTES = 24 * 60


class HoursConfirmed(AlreadyExists):
    """The claim's hours are confirmed already: a change is a correction."""


def proposed_minutes(claim: ShiftClaim, shift: Shift) -> int:
    """What the claim's hours would be: check-in to check-out within the shift, else its length."""
    start, end = shift.starts_at, shift.ends_at
    if claim.checked_in_at is not None:
        start = max(start, claim.checked_in_at)
        if claim.checked_out_at is not None:
            end = min(end, claim.checked_out_at)
    return max(0, int((end - start).total_seconds() // 60))


async def ledger(session: AsyncSession, *, claim_id: int) -> list[HoursEntry]:
    rows = await session.execute(select(HoursEntry).where(col(HoursEntry.claim_id) == claim_id)
                                 .order_by(col(HoursEntry.id)))
    return list(rows.scalars().all())


async def confirmed_minutes(session: AsyncSession, *, claim_ids: Iterable[int]) -> dict[int, int]:
    """Each claim's confirmed minutes (claims never confirmed are absent)."""
    ids = list(claim_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(col(HoursEntry.claim_id), func.sum(col(HoursEntry.delta)))
        .where(col(HoursEntry.claim_id).in_(ids)).group_by(col(HoursEntry.claim_id)))
    return {claim_id: int(total) for claim_id, total in rows.all()}


async def _staff_claim(
    session: AsyncSession, access: Access, claim_id: int
) -> tuple[ShiftClaim, Shift, VolunteerTask]:
    """The claim locked for this transaction, after checking the actor manages its community."""
    claim = (await session.execute(
        select(ShiftClaim).where(col(ShiftClaim.id) == claim_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if claim is None:
        raise NotFound(f"claim {claim_id}")
    shift, task = await get_shift(session, shift_id=claim.shift_id)
    access.require_manage(task.community_id)
    return claim, shift, task


async def staff_claim(
    session: AsyncSession, *, access: Access, claim_id: int
) -> tuple[ShiftClaim, Shift, VolunteerTask]:
    """A claim staff may act on (read only): NotAllowed outside their communities."""
    claim = await session.get(ShiftClaim, claim_id)
    if claim is None:
        raise NotFound(f"claim {claim_id}")
    shift, task = await get_shift(session, shift_id=claim.shift_id)
    access.require_manage(task.community_id)
    return claim, shift, task


async def _add_entry(
    session: AsyncSession, *, clock: Clock, access: Access, claim: ShiftClaim, shift: Shift,
    task: VolunteerTask, minutes: int, previous: int, reason: str | None,
) -> HoursEntry:
    assert claim.id is not None
    entry = HoursEntry(claim_id=claim.id, user_id=claim.user_id, community_id=task.community_id,
                       worked_at=shift.starts_at, minutes=minutes, delta=minutes - previous,
                       reason=reason, recorded_by=access.user_id, created_at=clock.now())
    session.add(entry)
    await session.flush()
    return entry


async def _awaiting_attendance(
    session: AsyncSession, access: Access, clock: Clock, claim_id: int
) -> tuple[ShiftClaim, Shift, VolunteerTask]:
    """A claim staff may now mark (the shift has started, no hours yet); the checks of
    confirm_hours and mark_absent, run inside their write."""
    claim, shift, task = await _staff_claim(session, access, claim_id)
    if claim.status != ClaimStatus.CLAIMED:
        raise PlaceGivenUp(str(claim_id))
    if shift.starts_at > clock.now():
        raise ShiftUnavailable("not_started")
    if await ledger(session, claim_id=claim_id):
        raise HoursConfirmed(f"hours of claim {claim_id}")
    return claim, shift, task


async def _tell_volunteer(
    session: AsyncSession, *, clock: Clock, claim: ShiftClaim, shift: Shift,
    task: VolunteerTask, key: str, notify: Notify | None, **params: str,
) -> None:
    community = await session.get(Community, task.community_id)
    assert community is not None
    await outbox.queue(session, clock=clock, user_id=claim.user_id, kind=OutboxKind.STATUS,
                       key=key, params={"title": outbox_title(task), "when": format_span(
                           shift.starts_at, shift.ends_at, zone(community)),
                           "community": await where(session, task), **params},
                       notify=notify)


async def confirm_hours(
    session: AsyncSession, *, access: Access, clock: Clock, claim_id: int,
    notify: Notify | None = None,
) -> HoursEntry:
    """Staff confirm that the volunteer came: the proposed hours become the first entry,
    and the volunteer is told."""
    async with write(session):
        claim, shift, task = await _awaiting_attendance(session, access, clock, claim_id)
        minutes = proposed_minutes(claim, shift)
        claim.attendance, claim.attendance_by = Attendance.PRESENT, access.user_id
        session.add(claim)
        entry = await _add_entry(session, clock=clock, access=access, claim=claim, shift=shift,
                                 task=task, minutes=minutes, previous=0, reason=None)
        await _tell_volunteer(
            session, clock=clock, claim=claim, shift=shift, task=task, notify=notify,
            key=N_("✅ Your hours are confirmed: {hours} h for <b>{title}</b> "
                   "({community}, {when}). Thank you!"), hours=hours_text(minutes))
        audit.record(session, clock=clock, actor_id=access.user_id,
                     action="volunteer.hours.confirm", community_id=task.community_id,
                     claim_id=claim_id, minutes=minutes)
    return entry


async def correct_hours(
    session: AsyncSession, *, access: Access, clock: Clock, claim_id: int, minutes: int,
    reason: str, notify: Notify | None = None,
) -> HoursEntry:
    """Staff set a claim's hours to `minutes`, saying why: a new ledger entry, and the
    volunteer is told."""
    async with write(session):
        claim, shift, task = await _staff_claim(session, access, claim_id)
        if claim.status != ClaimStatus.CLAIMED:
            raise PlaceGivenUp(str(claim_id))
        if shift.starts_at > clock.now():
            raise ShiftUnavailable("not_started")
        if not 0 <= minutes <= MAX_MINUTES:
            raise InvalidInput("hours", "range")
        why = clean_text(reason, field="reason", limit=REASON_MAX)
        entries = await ledger(session, claim_id=claim_id)
        previous = entries[-1].minutes if entries else 0
        claim.attendance = Attendance.PRESENT if minutes else Attendance.ABSENT
        claim.attendance_by = access.user_id
        session.add(claim)
        entry = await _add_entry(session, clock=clock, access=access, claim=claim, shift=shift,
                                 task=task, minutes=minutes, previous=previous, reason=why)
        await _tell_volunteer(
            session, clock=clock, claim=claim, shift=shift, task=task, notify=notify,
            key=N_("✏️ Your hours for <b>{title}</b> ({community}, {when}) were corrected to "
                   "{hours} h.\n"
                   "Reason: {reason}"), hours=hours_text(minutes), reason=why)
        audit.record(session, clock=clock, actor_id=access.user_id,
                     action="volunteer.hours.correct", community_id=task.community_id,
                     claim_id=claim_id, minutes=minutes, previous=previous, reason=why)
    return entry


async def _waiting(
    session: AsyncSession, *, community_id: int, start: datetime, end: datetime,
    now: datetime, lock: bool = False,
) -> list[tuple[ShiftClaim, Shift, VolunteerTask]]:
    """Live places on the community's shifts that started in [start, end) and are over,
    with no hours yet and not marked absent, in time order."""
    query = (
        select(ShiftClaim, Shift, VolunteerTask)
        .join(Shift, col(Shift.id) == ShiftClaim.shift_id)
        .join(VolunteerTask, col(VolunteerTask.id) == Shift.task_id)
        .where(col(VolunteerTask.community_id) == community_id,
               col(ShiftClaim.status) == ClaimStatus.CLAIMED,
               col(ShiftClaim.attendance).is_(None),
               col(Shift.cancelled_at).is_(None),
               col(Shift.starts_at) >= start, col(Shift.starts_at) < end,
               col(Shift.ends_at) <= now,
               ~select(HoursEntry.id).where(col(HoursEntry.claim_id) == ShiftClaim.id).exists())
        .order_by(col(Shift.starts_at), col(ShiftClaim.id)))
    if lock:
        query = query.with_for_update(of=ShiftClaim).execution_options(populate_existing=True)
    return [(c, s, t) for c, s, t in (await session.execute(query)).all()]


async def waiting_in_month(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int, start: datetime,
    end: datetime,
) -> int:
    """Staff: how many of the month's shifts that are over still wait for hours."""
    access.require_manage(community_id)
    return len(await _waiting(session, community_id=community_id, start=start, end=end,
                              now=clock.now()))


async def confirm_all(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int, start: datetime,
    end: datetime, notify: Notify | None = None,
) -> int:
    """Staff confirm, as proposed, every place of the month still waiting for hours (see
    confirm_hours); each volunteer is told. Pressed twice, the second finds none: 0."""
    access.require_manage(community_id)
    async with write(session):
        waiting = await _waiting(session, community_id=community_id, start=start, end=end,
                                 now=clock.now(), lock=True)
        for claim, shift, task in waiting:
            minutes = proposed_minutes(claim, shift)
            claim.attendance, claim.attendance_by = Attendance.PRESENT, access.user_id
            session.add(claim)
            await _add_entry(session, clock=clock, access=access, claim=claim, shift=shift,
                             task=task, minutes=minutes, previous=0, reason=None)
            await _tell_volunteer(
                session, clock=clock, claim=claim, shift=shift, task=task, notify=notify,
                key=N_("✅ Your hours are confirmed: {hours} h for <b>{title}</b> "
                       "({community}, {when}). Thank you!"), hours=hours_text(minutes))
        if waiting:
            audit.record(session, clock=clock, actor_id=access.user_id,
                         action="volunteer.hours.confirm_all", community_id=community_id,
                         claim_ids=[c.id for c, _s, _t in waiting], start=start.isoformat())
    return len(waiting)


async def mark_absent(
    session: AsyncSession, *, access: Access, clock: Clock, claim_id: int
) -> ShiftClaim:
    """Staff note that the volunteer did not come (hours already confirmed: correct them)."""
    async with write(session):
        claim, _shift, task = await _awaiting_attendance(session, access, clock, claim_id)
        claim.attendance, claim.attendance_by = Attendance.ABSENT, access.user_id
        session.add(claim)
        audit.record(session, clock=clock, actor_id=access.user_id, action="volunteer.absent",
                     community_id=task.community_id, claim_id=claim_id)
    return claim


# --- The roster: what staff may do for each person ------------------------------------------


@dataclass(frozen=True)
class RosterLine:
    """One person signed up for a shift, and what staff may do about their hours now."""

    claim: ShiftClaim
    user: User
    confirmed: int | None     # confirmed minutes, None if never confirmed
    proposed: int             # the minutes a confirmation would record
    can_confirm: bool         # the shift has started, no hours yet, not marked absent
    can_mark_absent: bool     # the same
    can_correct: bool         # the shift has started


@dataclass(frozen=True)
class RosterView:
    """A shift's roster on staff's screen, and what they may change."""

    shift: Shift
    task: VolunteerTask
    people: list[RosterLine]
    can_add_place: bool       # not cancelled, not started
    can_remove_place: bool    # … and one fewer still holds everyone signed up (and 1)
    can_cancel: bool          # not cancelled, not started


async def roster_view(
    session: AsyncSession, *, access: Access, clock: Clock, shift_id: int
) -> RosterView:
    """Staff: who is signed up for a shift, with the rules of confirm_hours, mark_absent,
    correct_hours, set_headcount and cancel_task asked of each at once."""
    shift, task, people = await roster(session, access=access, shift_id=shift_id)
    confirmed = await confirmed_minutes(session, claim_ids=[c.id or 0 for c, _u in people])
    started = shift.starts_at <= clock.now()
    lines = []
    for claim, user in people:
        done = confirmed.get(claim.id or 0)
        awaiting = started and done is None and claim.attendance != Attendance.ABSENT
        lines.append(RosterLine(claim=claim, user=user, confirmed=done,
                                proposed=proposed_minutes(claim, shift), can_confirm=awaiting,
                                can_mark_absent=awaiting, can_correct=started))
    changeable = shift.cancelled_at is None and task.cancelled_at is None and not started
    return RosterView(shift=shift, task=task, people=lines, can_add_place=changeable,
                      can_remove_place=changeable and shift.headcount - 1 >= max(1, shift.taken),
                      can_cancel=changeable)


# --- Totals and reports --------------------------------------------------------------------


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return start, end


def year_bounds(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


@dataclass(frozen=True)
class Totals:
    """A volunteer's confirmed minutes."""

    month: int
    year: int
    total: int


async def _sum(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    value = (await session.execute(
        select(func.coalesce(func.sum(col(HoursEntry.delta)), 0)).where(*where))).scalar_one()
    return int(value)


async def totals(session: AsyncSession, *, user_id: int, clock: Clock, tz: ZoneInfo) -> Totals:
    """Confirmed minutes this month, this year (in `tz`) and ever."""
    now = clock.now().astimezone(tz)
    mine = col(HoursEntry.user_id) == user_id
    m0, m1 = month_bounds(now.year, now.month, tz)
    y0, y1 = year_bounds(now.year, tz)
    worked = col(HoursEntry.worked_at)
    return Totals(month=await _sum(session, mine, worked >= m0, worked < m1),
                  year=await _sum(session, mine, worked >= y0, worked < y1),
                  total=await _sum(session, mine))


async def awaiting_confirmation(session: AsyncSession, *, user_id: int, clock: Clock) -> int:
    """Shifts the volunteer has done (checked in, shift over) that staff haven't confirmed yet."""
    rows = (await session.execute(
        select(col(ShiftClaim.id)).join(Shift, col(Shift.id) == ShiftClaim.shift_id)
        .where(col(ShiftClaim.user_id) == user_id, col(ShiftClaim.status) == ClaimStatus.CLAIMED,
               col(ShiftClaim.checked_in_at).is_not(None), col(Shift.ends_at) <= clock.now(),
               col(ShiftClaim.attendance).is_(None)))).scalars().all()
    return len(rows)


class Standing(StrEnum):
    """Where one of a volunteer's shifts stands, as their history says it."""

    COMING = "coming"          # not over yet
    WAITING = "waiting"        # over; staff have not confirmed the hours yet
    CONFIRMED = "confirmed"    # hours in the ledger
    ABSENT = "absent"          # staff noted they did not come


@dataclass(frozen=True)
class PastShift:
    """One line of a volunteer's history: a shift they kept their place on."""

    claim_id: int
    title: str
    titles: dict[str, str]     # the title in other languages (services.titles)
    community: str
    starts_at: datetime
    ends_at: datetime
    zone: ZoneInfo
    minutes: int               # confirmed, else what a confirmation would record (0: absent)
    standing: Standing


@dataclass(frozen=True)
class History:
    """A page of a volunteer's shifts, newest first."""

    lines: list[PastShift]
    page: int                  # from 0, within range
    pages: int                 # at least 1
    total: int

    @property
    def has_newer(self) -> bool:
        return self.page > 0

    @property
    def has_older(self) -> bool:
        return self.page + 1 < self.pages


HISTORY_PAGE = 8  # lines a page


async def history(session: AsyncSession, *, user_id: int, clock: Clock, page: int = 0,
                  per_page: int = HISTORY_PAGE) -> History:
    """The volunteer's shifts (places given back or cancelled by staff left out), newest
    first: date, task, hours and whether staff confirmed them. A page out of range is
    the nearest one (a stale ◀ ▶)."""
    mine = (col(ShiftClaim.user_id) == user_id, col(ShiftClaim.status) == ClaimStatus.CLAIMED,
            col(Shift.cancelled_at).is_(None))
    total = int((await session.execute(
        select(func.count()).select_from(ShiftClaim)
        .join(Shift, col(Shift.id) == ShiftClaim.shift_id).where(*mine))).scalar_one())
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    found = (await session.execute(
        select(ShiftClaim, Shift, VolunteerTask, Community)
        .join(Shift, col(Shift.id) == ShiftClaim.shift_id)
        .join(VolunteerTask, col(VolunteerTask.id) == Shift.task_id)
        .join(Community, col(Community.id) == VolunteerTask.community_id)
        .where(*mine).order_by(col(Shift.starts_at).desc(), col(ShiftClaim.id).desc())
        .offset(page * per_page).limit(per_page))).all()
    confirmed = await confirmed_minutes(session, claim_ids=[c.id or 0 for c, *_ in found])
    now, lines = clock.now(), []
    for claim, shift, task, community in found:
        if claim.attendance == Attendance.ABSENT and claim.id not in confirmed:
            standing, minutes = Standing.ABSENT, 0
        elif claim.id in confirmed:
            standing, minutes = Standing.CONFIRMED, confirmed[claim.id]
        else:
            standing = Standing.COMING if shift.ends_at > now else Standing.WAITING
            minutes = proposed_minutes(claim, shift)
        lines.append(PastShift(claim_id=claim.id or 0, title=task.title, titles=task.titles,
                               community=community.name,
                               starts_at=shift.starts_at, ends_at=shift.ends_at,
                               zone=zone(community), minutes=minutes, standing=standing))
    return History(lines=lines, page=page, pages=pages, total=total)


@dataclass(frozen=True)
class GridHours:
    """One grid's volunteers by confirmed minutes in a period, most first."""

    grid: str | None
    people: list[tuple[User, int]]


async def hours_by_grid(
    session: AsyncSession, *, access: Access, community_id: int, start: datetime, end: datetime
) -> list[GridHours]:
    """Staff: confirmed minutes per volunteer in [start, end), grouped by their grid."""
    access.require_manage(community_id)
    rows = (await session.execute(
        select(User, func.sum(col(HoursEntry.delta)), col(Grid.name))
        .join(User, col(User.id) == HoursEntry.user_id)
        .outerjoin(Volunteer, col(Volunteer.user_id) == HoursEntry.user_id)
        .outerjoin(Grid, col(Grid.id) == Volunteer.grid_id)
        .where(col(HoursEntry.community_id) == community_id,
               col(HoursEntry.worked_at) >= start, col(HoursEntry.worked_at) < end)
        .group_by(User, col(Grid.name)))).all()  # type: ignore[arg-type]
    grids: dict[str | None, list[tuple[User, int]]] = {}
    for user, minutes, grid in rows:
        if int(minutes) > 0:
            grids.setdefault(grid, []).append((user, int(minutes)))
    return [GridHours(grid=name, people=sorted(people, key=lambda p: (-p[1], p[0].id or 0)))
            for name, people in sorted(grids.items(), key=lambda g: (g[0] is None, g[0] or ""))]


def hours_text(minutes: int) -> str:
    """Minutes as hours with at most one decimal: 90 → "1.5"."""
    hours = round(minutes / 60, 1)
    return f"{hours:g}"


async def commend(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int,
    user_ids: Iterable[int], year: int, month: int, notify: outbox.Notify | None = None,
) -> int:
    """Staff send a thank-you to chosen volunteers for a month; returns how many were queued.

    Only people with confirmed hours in that month and community are commended.
    """
    async with write(session):
        community = await session.get(Community, community_id)
        if community is None:
            raise NotFound(f"community {community_id}")
        start, end = month_bounds(year, month, zone(community))
        wanted = set(user_ids)
        found = await hours_by_grid(session, access=access, community_id=community_id,
                                    start=start, end=end)
        rows = [outbox.Outgoing(
            user_id=user.id or 0, kind=OutboxKind.STATUS,
            key=N_("🏅 Thank you, {name}! In {month} you gave {hours} to {community}. "
                   "Your neighbours noticed, and they are grateful. 🙏"),
            params={"name": user.first_name or "", "month": outbox.month(year, month),
                    "hours": outbox.hours(minutes), "community": community.name},
            dedupe_key=commend_key(community_id, year, month, user.id))
            for grid in found for user, minutes in grid.people if user.id in wanted]
        queued = await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)
        audit.record(session, clock=clock, actor_id=access.user_id, action="volunteer.commend",
                     community_id=community_id, month=f"{year}-{month:02d}",
                     user_ids=sorted(u.user_id for u in rows))
    return queued


# --- Privacy --------------------------------------------------------------------------


async def erase_hours(session: AsyncSession, user_id: int, _now: datetime) -> None:
    """/deleteme: blank the reasons staff gave for correcting the person's hours; the
    minutes stay, anonymous, for the figures. Runs in erase_user's write transaction."""
    await session.execute(
        update(HoursEntry).where(col(HoursEntry.user_id) == user_id).values(reason=None)
        .execution_options(synchronize_session=False))
