"""The hours spreadsheet: one row per volunteer and shift, for a month or a year."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select as select_rows
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.communities import Community, Grid
from models.db import begin_write
from models.users import User
from models.volunteers import ClaimStatus, Shift, ShiftClaim, Volunteer, VolunteerTask
from services import audit
from services.access import Access
from services.clock import Clock
from services.errors import NotFound
from services.titles import title_in
from services.volunteer_hours import confirmed_minutes, proposed_minutes
from services.volunteers import zone

# Column headers are given by the caller, in the reader's language, in this order.
COLUMNS = ("volunteer", "grid", "task", "place", "start", "end", "checked_in", "checked_out",
           "attendance", "proposed_hours", "confirmed_hours")


async def export_hours(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int,
    start: datetime, end: datetime, headers: Sequence[str], title: str,
    locale: str | None = None,
) -> bytes:
    """An .xlsx of the community's claimed shifts starting in [start, end); task titles in
    `locale` where staff gave one."""
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
        .order_by(col(User.first_name), col(User.id), col(Shift.starts_at)))).all()
    confirmed = await confirmed_minutes(session, claim_ids=[c.id or 0 for c, *_ in rows])

    def local(moment: datetime | None) -> datetime | None:
        # Excel has no time zones: write the community's wall-clock time.
        return moment.astimezone(tz).replace(tzinfo=None) if moment else None

    from openpyxl import Workbook  # loaded when a file is made: it costs start-up time and RAM

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(headers))
    for claim, shift, task, user, grid in rows:
        done = confirmed.get(claim.id or 0)
        sheet.append([
            user.first_name or "", grid.name if grid else "", title_in(task, locale), task.place,
            local(shift.starts_at), local(shift.ends_at), local(claim.checked_in_at),
            local(claim.checked_out_at), str(claim.attendance or ""),
            round(proposed_minutes(claim, shift) / 60, 2),
            round(done / 60, 2) if done is not None else None,
        ])
    for letter in "EFGH":
        for cell in sheet[letter][1:]:
            cell.number_format = "yyyy-mm-dd hh:mm"
        sheet.column_dimensions[letter].width = 17
    for letter in "ACD":
        sheet.column_dimensions[letter].width = 20
    buffer = io.BytesIO()
    book.save(buffer)
    audit.record(session, clock=clock, actor_id=access.user_id, action="volunteer.export",
                 community_id=community_id, start=start.isoformat(), end=end.isoformat(),
                 rows=len(rows))
    await session.commit()
    return buffer.getvalue()
