"""The one date picker: absolute days, as far as the flow allows, nothing already past."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import load_i18n
from bot.keyboards.dates import (
    DAYS_PER_PAGE,
    DayCb,
    DayRange,
    day_keyboard,
    take_time,
    time_keyboard,
)
from bot.when import say_day, say_moment

SHANGHAI = ZoneInfo("Asia/Shanghai")


def labels(builder: object) -> list[str]:
    markup = builder.as_markup()  # type: ignore[attr-defined]
    return [b.text for row in markup.inline_keyboard for b in row]


def data(builder: object) -> list[str]:
    markup = builder.as_markup()  # type: ignore[attr-defined]
    return [b.callback_data for row in markup.inline_keyboard for b in row]


def test_a_day_button_means_the_day_it_showed_after_midnight() -> None:
    today = date(2026, 12, 2)
    days = DayRange.ahead(today, days=180)
    tomorrow = DayCb(day=(today + timedelta(days=1)).toordinal()).pack()
    i18n = load_i18n()
    with i18n.context(), i18n.use_locale("en"):
        builder = day_keyboard(days, today=today)
    assert tomorrow in data(builder)
    # pressed the next day, the same button still means 3 December
    after_midnight = DayRange.ahead(today + timedelta(days=1), days=180)
    assert after_midnight.take(DayCb.unpack(tomorrow).day) == date(2026, 12, 3)


def test_the_range_reaches_as_far_as_the_service_allows_in_pages() -> None:
    today = date(2026, 12, 2)
    days = DayRange.ahead(today, days=180)
    assert days.pages == -(-181 // DAYS_PER_PAGE)
    assert days.take((today + timedelta(days=180)).toordinal()) is not None
    assert days.take((today + timedelta(days=181)).toordinal()) is None
    assert days.take((today - timedelta(days=1)).toordinal()) is None
    assert days.take(10**12) is None  # forged
    i18n = load_i18n()
    with i18n.context(), i18n.use_locale("en"):
        last_page = day_keyboard(days, today=today, page=days.pages - 1)
    assert DayCb(day=days.last.toordinal()).pack() in data(last_page)


def test_today_late_in_the_evening_and_past_times_are_not_offered() -> None:
    today = date(2026, 12, 2)
    late = datetime(2026, 12, 2, 21, 10, tzinfo=SHANGHAI)
    days = DayRange.ahead(today, days=14)
    i18n = load_i18n()
    with i18n.context(), i18n.use_locale("zh"):
        builder = day_keyboard(days, today=today, zone=SHANGHAI, now=late)
        assert labels(builder)[0] == "明天（周四）"
        afternoon = datetime(2026, 12, 2, 15, 5, tzinfo=SHANGHAI)
        offered = labels(time_keyboard(today, zone=SHANGHAI, now=afternoon))
        assert offered[0] == "下午3:30" and "下午3:00" not in offered
    assert take_time(15 * 60, day=today, zone=SHANGHAI, now=afternoon) is None
    assert take_time(16 * 60, day=today, zone=SHANGHAI, now=afternoon) == \
        datetime(2026, 12, 2, 16, 0, tzinfo=SHANGHAI)


def test_dates_are_said_as_people_say_them() -> None:
    moment = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)  # 3 pm in Shanghai, a Saturday
    i18n = load_i18n()
    with i18n.context(), i18n.use_locale("zh"):
        assert say_moment(moment, SHANGHAI) == "12月5日（周六）下午3:00"
        assert say_moment(moment, SHANGHAI, now=moment) == "今天下午3:00"
        assert say_day(date(2027, 1, 3), today=date(2026, 12, 2)) == "2027年1月3日（周日）"
    with i18n.context(), i18n.use_locale("en"):
        assert say_moment(moment, SHANGHAI) == "Sat 5 Dec, 3:00 pm"
        assert say_moment(moment, SHANGHAI, now=moment - timedelta(days=1)) == \
            "Tomorrow, 3:00 pm"


@pytest.mark.parametrize(("locale", "minutes", "said"), [
    ("en", 60, "1 hour"), ("en", 90, "1.5 hours"), ("en", 120, "2 hours"),
    ("en", 1500, "25 hours"), ("zh", 90, "1.5 小时"), ("zh", 60, "1 小时"),
])
def test_lengths_of_time_are_counted_as_people_count(locale: str, minutes: int,
                                                     said: str) -> None:
    from bot.when import say_hours
    assert say_hours(minutes, locale=locale) == said


def test_a_month_is_said_not_written_as_iso() -> None:
    from bot.when import say_month
    assert say_month(2026, 11, locale="zh") == "2026年11月"
    assert say_month(2026, 11, locale="en") == "November 2026"
