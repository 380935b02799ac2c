"""The one Excel builder every export uses: a workbook that can be handed to a 主任.

Each sheet has a title row, then a bold, frozen header row, then the rows in time order
(the caller gives `order`, the column that says when); columns are as wide as what they
hold. A summary sheet comes first, with totals and percentages. Every word in it (sheet
names, titles, headers, summary labels) is given by the caller in the reader's language:
this module says nothing itself.

```python
book = Workbook(title=_("Audit log · 幸福社区"))
book.summary(_("Summary"), [(_("Actions"), 50, None), (_("by staff"), 40, 0.8)])
book.sheet(_("Actions"), [_("When"), _("Who"), _("What")], rows, order=0)
data = book.save()
```
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.communities import Grid
from models.courses import SEAT_HOLDING, Enrolment, EnrolmentStatus, Lesson, LessonStatus
from models.users import User
from models.voices import Report, ReportNote
from services.access import Access
from services.titles import title_in

Cell = str | int | float | datetime | date | time | None
SHEET_NAME_MAX = 31  # Excel's limit
FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})  # not allowed in a sheet name
WIDTH_MIN, WIDTH_MAX = 8, 60
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"


def local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """Excel has no time zones: a moment as the community's wall-clock time."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment else None


def share(part: float, whole: float) -> float | None:
    """part/whole for a percentage cell; None (an empty cell) when there is no whole."""
    return part / whole if whole else None


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique sheet name (31 characters, none of []:*?/\\)."""
    base = (name.translate(FORBIDDEN).strip() or "Sheet")[:SHEET_NAME_MAX]
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate = base[:SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    taken.add(candidate.lower())
    return candidate


def display_width(value: Cell) -> int:
    """Roughly how many character widths a cell needs (a CJK character takes two)."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    text = f"{value:.2f}" if isinstance(value, float) else str(value)
    longest = max((line for line in text.splitlines()), key=len, default="")
    return sum(2 if ord(c) > 0x2E7F else 1 for c in longest)


@dataclass
class Table:
    """One sheet: a title, headers, rows (already in the reader's words)."""

    name: str
    headers: list[str]
    rows: list[list[Cell]]
    title: str = ""
    percent: set[int] = field(default_factory=set)  # columns shown as percentages


@dataclass
class Workbook:
    """A workbook being put together; `save()` makes the .xlsx bytes."""

    title: str
    tables: list[Table] = field(default_factory=list)
    summary_table: Table | None = None

    def summary(self, name: str, lines: Sequence[tuple[str, float | int | None, float | None]],
                *, headers: Sequence[str] = ("", "", "%")) -> None:
        """The first sheet: (label, total, share of the whole or None) per line."""
        self.summary_table = Table(name=name, headers=list(headers), title=self.title,
                                   rows=[[label, total, part] for label, total, part in lines],
                                   percent={2})

    def sheet(self, name: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], *,
              order: int | None = None, title: str = "", percent: Sequence[int] = ()) -> None:
        """A sheet of rows; `order`: the column (a date or time) they are sorted by, oldest
        first (empty cells last)."""
        listed = [list(row) for row in rows]
        if order is not None:
            listed.sort(key=lambda row: (row[order] is None, _sortable(row[order])))
        self.tables.append(Table(name=name, headers=list(headers), rows=listed,
                                 title=title or self.title, percent=set(percent)))

    def save(self) -> bytes:
        from openpyxl import Workbook as Book  # loaded when a file is made: start-up time, RAM
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        book = Book()
        first = book.active
        assert first is not None
        book.remove(first)
        taken: set[str] = set()
        for table in ([self.summary_table] if self.summary_table else []) + self.tables:
            sheet = book.create_sheet(sheet_name(table.name, taken))
            sheet.append([table.title])
            sheet["A1"].font = Font(bold=True, size=14)
            sheet.append(table.headers)
            for cell in sheet[2]:
                cell.font = Font(bold=True)
            for row in table.rows:
                sheet.append(row)
            sheet.freeze_panes = "A3"  # the title and the header stay in view
            for index in range(len(table.headers)):
                letter = get_column_letter(index + 1)
                widest = max([display_width(table.headers[index])]
                             + [display_width(row[index]) for row in table.rows
                                if index < len(row)])
                sheet.column_dimensions[letter].width = min(max(widest + 2, WIDTH_MIN),
                                                            WIDTH_MAX)
                for cell in sheet[letter][2:]:
                    if index in table.percent:
                        cell.number_format = PERCENT_FORMAT
                    elif isinstance(cell.value, datetime):
                        cell.number_format = DATETIME_FORMAT
                    elif isinstance(cell.value, date):
                        cell.number_format = DATE_FORMAT
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()


def _sortable(value: Cell) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return "" if value is None else str(value) if not isinstance(value, int | float) else \
        f"{value:020.6f}"


# --- What the exports hold (read from each feature's tables; words are the caller's) ------


@dataclass(frozen=True)
class ReportRow:
    number: int
    received: datetime
    category: str
    grid: str | None
    status: str
    first_answer: datetime | None
    closed: datetime | None
    rating: int | None
    backers: int
    author: str  # "" once the author erased their data


@dataclass(frozen=True)
class LessonRow:
    starts: datetime
    title: str
    teacher: str
    venue: str
    cancelled: bool
    capacity: int
    enrolled: int
    waiting: int
    attended: int
    ratings: int
    average: float | None


@dataclass(frozen=True)
class PlaceRow:
    starts: datetime
    title: str
    person: str
    status: str
    attended: datetime | None
    rating: int | None


@dataclass(frozen=True)
class ResidentRow:
    grid: str | None
    name: str
    joined: datetime


async def report_rows(session: AsyncSession, *, access: Access,
                      community_id: int) -> list[ReportRow]:
    """The community's reports, oldest first (names: staff see them, as the privacy
    notice says; an erased author has none left)."""
    access.require_manage(community_id)
    found = (await session.execute(
        select_columns(Report, col(Grid.name), col(User.first_name))
        .outerjoin(Grid, col(Grid.id) == col(Report.grid_id))
        .outerjoin(User, col(User.id) == col(Report.author_id))
        .where(col(Report.community_id) == community_id)
        .order_by(col(Report.created_at), col(Report.id)))).all()
    firsts = dict((await session.execute(
        select_columns(col(ReportNote.report_id), func.min(col(ReportNote.created_at)))
        .join(Report, col(Report.id) == col(ReportNote.report_id))
        .where(col(Report.community_id) == community_id)
        .group_by(col(ReportNote.report_id)))).all())
    return [ReportRow(number=r.id or 0, received=r.created_at, category=str(r.category),
                      grid=grid, status=str(r.status), first_answer=firsts.get(r.id or 0),
                      closed=r.closed_at, rating=r.rating, backers=r.backers,
                      author=name or "") for r, grid, name in found]


async def lesson_rows(session: AsyncSession, *, access: Access, community_id: int,
                      locale: str | None = None) -> tuple[list[LessonRow], list[PlaceRow]]:
    """Every session of the community with its seats, waiting list, attendance and
    ratings, and every place in them (one row a person), in time order; titles in
    `locale` where staff gave one."""
    access.require_manage(community_id)
    lessons = (await session.execute(
        select_columns(Lesson, col(User.first_name))
        .outerjoin(User, col(User.id) == col(Lesson.teacher_id))
        .where(col(Lesson.community_id) == community_id)
        .order_by(col(Lesson.starts_at), col(Lesson.id)))).all()
    places = (await session.execute(
        select_columns(Enrolment, col(User.first_name))
        .join(User, col(User.id) == col(Enrolment.user_id))
        .join(Lesson, col(Lesson.id) == col(Enrolment.session_id))
        .where(col(Lesson.community_id) == community_id)
        .order_by(col(Enrolment.queued_at), col(Enrolment.id)))).all()
    by_lesson: dict[int, list[Enrolment]] = {}
    for place, _name in places:
        by_lesson.setdefault(place.session_id, []).append(place)
    rows = []
    for lesson, teacher in lessons:
        mine = by_lesson.get(lesson.id or 0, [])
        stars = [p.rating for p in mine if p.rating is not None]
        rows.append(LessonRow(
            starts=lesson.starts_at, title=title_in(lesson, locale), teacher=teacher or "",
            venue=lesson.venue, cancelled=lesson.status == LessonStatus.CANCELLED,
            capacity=lesson.capacity,
            enrolled=sum(1 for p in mine if p.status in SEAT_HOLDING or p.attended_at),
            waiting=sum(1 for p in mine if p.status == EnrolmentStatus.WAITING),
            attended=sum(1 for p in mine if p.attended_at is not None), ratings=len(stars),
            average=sum(stars) / len(stars) if stars else None))
    titles = {lesson.id: lesson for lesson, _t in lessons}
    people = [PlaceRow(starts=titles[p.session_id].starts_at,
                       title=title_in(titles[p.session_id], locale),
                       person=name or "", status=str(p.status), attended=p.attended_at,
                       rating=p.rating) for p, name in places]
    people.sort(key=lambda row: (row.starts, row.title))
    return rows, people


async def resident_rows(session: AsyncSession, *, access: Access,
                        community_id: int) -> list[ResidentRow]:
    """The community's residents by grid, each with the day they joined."""
    access.require_manage(community_id)
    found = (await session.execute(
        select_columns(col(Grid.name), col(User.first_name), col(User.created_at))
        .outerjoin(Grid, col(Grid.id) == col(User.grid_id))
        .where(col(User.community_id) == community_id, col(User.consented_at).is_not(None),
               col(User.deleted_at).is_(None))
        .order_by(col(User.created_at), col(User.id)))).all()
    return [ResidentRow(grid=grid, name=name or "", joined=joined)
            for grid, name, joined in found]
