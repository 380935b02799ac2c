"""The hours workbook: one row per volunteer and shift, for a month or a year, built by
services/exports.py (a summary sheet, a title row, a bold frozen header, widths, rows in
time order). Every word in it is the caller's, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select as select_rows
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.communities import Community, Grid
from models.db import begin_write
from models.users import User
from models.volunteers import Attendance, ClaimStatus, Shift, ShiftClaim, Volunteer, VolunteerTask
from services import audit, exports
from services.access import Access
from services.clock import Clock
from services.errors import NotFound
from services.titles import title_in
from services.volunteer_hours import confirmed_minutes, proposed_minutes
from services.volunteers import zone

# Column headers are given by the caller, in the reader's language, in this order.
COLUMNS = ("volunteer", "grid", "task", "place", "start", "end", "checked_in", "checked_out",
           "attendance", "proposed_hours", "confirmed_hours")
START = COLUMNS.index("start")


@dataclass(frozen=True)
class HoursWords:
    """The reader's words for the hours workbook (services speak no language)."""

    title: str                        # the title row: "Volunteer hours · 幸福社区 · 2026-03"
    summary_name: str                 # the summary sheet's name
    list_name: str                    # the shifts sheet's name
    headers: Sequence[str]            # one per COLUMNS
    summary_headers: tuple[str, str, str]   # what, how many, share
    attendance: Mapping[str, str]     # Attendance value -> word
    unmarked: str                     # attendance not marked yet
    shifts: str                       # shifts taken (the whole)
    volunteers: str                   # people who took them
    proposed: str                     # hours from check-in
    confirmed: str                    # hours confirmed (share: of those from check-in)


async def export_hours(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int,
    start: datetime, end: datetime, words: HoursWords, locale: str | None = None,
) -> bytes:
    """An .xlsx of the community's claimed shifts starting in [start, end), oldest first,
    after a summary: shifts, attendance, volunteers, hours from check-in and confirmed; task
    titles in `locale` where staff gave one."""
    access.require_manage(community_id)
    await begin_write(session)  # it writes an audit entry after reading
    community = await session.get(Community, community_id)
    if community is None:
        raise NotFound(f"community {community_id}")
    tz = zone(community)
    rows = (await session.execute(
        select_rows(ShiftClaim, Shift, VolunteerTask, User, Grid)
        .join(Shift, col(Shift.id) == ShiftClaim.shift_id)
        .join(VolunteerTask, col(VolunteerTask.id) == Shift.task_id)
        .join(User, col(User.id) == ShiftClaim.user_id)
        .outerjoin(Volunteer, col(Volunteer.user_id) == ShiftClaim.user_id)
        .outerjoin(Grid, col(Grid.id) == Volunteer.grid_id)
        .where(col(VolunteerTask.community_id) == community_id,
               col(ShiftClaim.status) == ClaimStatus.CLAIMED,
               col(Shift.starts_at) >= start, col(Shift.starts_at) < end)
        .order_by(col(Shift.starts_at), col(User.first_name), col(User.id)))).all()
    confirmed = await confirmed_minutes(session, claim_ids=[c.id or 0 for c, *_ in rows])
    table: list[list[exports.Cell]] = []
    for claim, shift, task, user, grid in rows:
        done = confirmed.get(claim.id or 0)
        table.append([
            user.first_name or "", grid.name if grid else "", title_in(task, locale), task.place,
            exports.local(shift.starts_at, tz), exports.local(shift.ends_at, tz),
            exports.local(claim.checked_in_at, tz), exports.local(claim.checked_out_at, tz),
            words.attendance.get(str(claim.attendance), words.unmarked)
            if claim.attendance else words.unmarked,
            round(proposed_minutes(claim, shift) / 60, 2),
            round(done / 60, 2) if done is not None else None,
        ])
    shifts = len(rows)
    marked = {value: sum(1 for claim, *_ in rows if claim.attendance == value)
              for value in Attendance}
    unmarked = shifts - sum(marked.values())
    proposed = round(sum(proposed_minutes(claim, shift) for claim, shift, *_ in rows) / 60, 2)
    hours = round(sum(confirmed.values()) / 60, 2)
    book = exports.Workbook(title=words.title)
    book.summary(words.summary_name, [
        (words.shifts, shifts, exports.share(shifts, shifts)),
        *((words.attendance.get(value, value), n, exports.share(n, shifts))
          for value, n in marked.items()),
        (words.unmarked, unmarked, exports.share(unmarked, shifts)),
        (words.volunteers, len({claim.user_id for claim, *_ in rows}), None),
        (words.proposed, proposed, None),
        (words.confirmed, hours, exports.share(hours, proposed))],
        headers=words.summary_headers)
    book.sheet(words.list_name, words.headers, table, order=START)
    data = book.save()
    audit.record(session, clock=clock, actor_id=access.user_id, action="volunteer.export",
                 community_id=community_id, start=start.isoformat(), end=end.isoformat(),
                 rows=len(rows))
    await session.commit()
    return data
