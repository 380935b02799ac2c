"""The one date and time picker: courses (schedule, move), volunteer shifts and
broadcasts all ask "which day?" and "what time?" with these buttons.

Buttons carry absolute values, never "days from today": a day is its ordinal
(`date.toordinal()`), a time its minutes after local midnight. A screen drawn at
23:50 and pressed after midnight still means the day it showed. A flow's handler
filters on its own FSM state and `DayCb.filter()`, and re-checks the value with
`DayRange.take` (a forged or stale day outside the range is refused).

    days = DayRange.ahead(today, days=180)
    builder = day_keyboard(days, today=today, page=0)     # 14 days a page, ◀ ▶
    ...
    @router.callback_query(Schedule.day, DayCb.filter())
    async def on_day(callback, callback_data: DayCb, ...):
        day = days.take(callback_data.day)                 # None: out of range
        builder = time_keyboard(day, zone=zone, now=clock.now())
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData

from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.pager import add_pager
from bot.when import say_day, say_time

DAYS_PER_PAGE = 14
FIRST_TIME = 7 * 60    # 07:00
LAST_TIME = 21 * 60    # 21:00
STEP = 30              # minutes between two time buttons


class DayCb(CallbackData, prefix="pd"):
    """A day, as its ordinal."""

    day: int


class DayPageCb(CallbackData, prefix="pp"):
    """Another page of days."""

    page: int


class TimeCb(CallbackData, prefix="pt"):
    """A time of day, in minutes after local midnight."""

    minutes: int


@dataclass(frozen=True)
class DayRange:
    """The days a flow may offer, first to last inclusive (as far as its service allows)."""

    first: date
    last: date

    @classmethod
    def ahead(cls, today: date, *, days: int, from_tomorrow: bool = False) -> DayRange:
        first = today + timedelta(days=1 if from_tomorrow else 0)
        return cls(first=first, last=today + timedelta(days=days))

    def take(self, ordinal: int) -> date | None:
        """The day a button claims, if it is within the range (else None: refuse it)."""
        try:
            day = date.fromordinal(ordinal)
        except (ValueError, OverflowError):
            return None
        return day if self.first <= day <= self.last else None

    @property
    def pages(self) -> int:
        return -(-((self.last - self.first).days + 1) // DAYS_PER_PAGE)

    def page_of(self, day: date) -> int:
        return max(0, min(self.pages - 1, (day - self.first).days // DAYS_PER_PAGE))


def times(day: date, *, zone: ZoneInfo, now: datetime, first: int = FIRST_TIME,
          last: int = LAST_TIME, step: int = STEP) -> list[int]:
    """The times of `day` (minutes after midnight) still ahead of `now`."""
    return [minutes for minutes in range(first, last + 1, step)
            if moment(day, minutes, zone) > now]


def moment(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The day and time chosen, as an aware moment in the community's zone."""
    return datetime.combine(day, time(minutes // 60, minutes % 60), zone)


def day_keyboard(days: DayRange, *, today: date, page: int = 0,
                 zone: ZoneInfo | None = None, now: datetime | None = None,
                 last: int = LAST_TIME, columns: int = 2) -> InlineKeyboardBuilder:
    """One page of days as buttons (今天, 明天（周四）, 12月5日（周六）…) with ◀ n/m ▶.

    With `zone` and `now`, a day with no time left (today, late in the evening) is
    not offered."""
    page = max(0, min(page, days.pages - 1))
    builder = InlineKeyboardBuilder()
    start = days.first + timedelta(days=page * DAYS_PER_PAGE)
    for offset in range(DAYS_PER_PAGE):
        day = start + timedelta(days=offset)
        if day > days.last:
            break
        if zone is not None and now is not None and moment(day, last, zone) <= now:
            continue
        builder.button(text=say_day(day, today=today), callback_data=DayCb(day=day.toordinal()))
    builder.adjust(columns)
    add_pager(builder, page=page, pages=days.pages, make=lambda n: DayPageCb(page=n))
    return builder


def time_keyboard(day: date, *, zone: ZoneInfo, now: datetime, first: int = FIRST_TIME,
                  last: int = LAST_TIME, step: int = STEP,
                  columns: int = 4) -> InlineKeyboardBuilder:
    """The times of `day` still ahead, as buttons (上午9:00 / 9:00 am)."""
    builder = InlineKeyboardBuilder()
    for minutes in times(day, zone=zone, now=now, first=first, last=last, step=step):
        builder.button(text=say_time(time(minutes // 60, minutes % 60)),
                       callback_data=TimeCb(minutes=minutes))
    builder.adjust(columns)
    return builder


def take_time(minutes: int, *, day: date, zone: ZoneInfo, now: datetime,
              first: int = FIRST_TIME, last: int = LAST_TIME, step: int = STEP) -> datetime | None:
    """The moment a time button claims, if it is one the picker offers now (else None)."""
    if minutes not in times(day, zone=zone, now=now, first=first, last=last, step=step):
        return None
    return moment(day, minutes, zone)
