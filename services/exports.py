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
