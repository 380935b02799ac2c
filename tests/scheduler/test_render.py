"""What the outbox sends says dates as people say them, in the recipient's language, at
the time it is sent: never ISO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.i18n import load_i18n
from models.outbox import OutboxKind
from scheduler.outbox import render
from services import outbox
from services.outbox import Claimed

SAT_3PM = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai


def row(locale: str, **params: object) -> Claimed:
    return Claimed(id=1, user_id=1, chat_id=1, locale=locale, kind=OutboxKind.REMINDER,
                   text=None, key="⏰ Reminder: “{title}” starts {when}.", params=params,
                   keyboard=None, media=None, file_id=None, blob_id=None, priority=0,
                   urgent=False, attempts=0)


def test_a_reminder_says_tomorrow_in_chinese_and_the_date_in_english() -> None:
    params = {"title": "太极", "when": outbox.moment(SAT_3PM, "Asia/Shanghai")}
    outbox.Outgoing(user_id=1, kind=OutboxKind.REMINDER, key="k", params=params).check()
    the_day_before = SAT_3PM - timedelta(days=1)
    zh, _ = render(row("zh", **params), load_i18n(), "zh", now=the_day_before)
    assert "明天（周六）下午3:00" in zh
    en, _ = render(row("en", **params), load_i18n(), "zh", now=the_day_before - timedelta(days=3))
    assert "Sat 5 Dec, 3:00 pm" in en
    assert "2026-12-05" not in zh + en


def test_shifts_are_numbered_spans() -> None:
    shifts = outbox.numbered([outbox.span(SAT_3PM, SAT_3PM + timedelta(hours=2), "Asia/Shanghai"),
                              outbox.span(SAT_3PM + timedelta(days=7),
                                          SAT_3PM + timedelta(days=7, hours=2), "Asia/Shanghai")])
    params = {"title": "巡逻", "when": shifts}
    outbox.Outgoing(user_id=1, kind=OutboxKind.PING, key="k", params=params).check()
    text, _ = render(row("en", **params), load_i18n(), "zh", now=SAT_3PM - timedelta(hours=3))
    assert "1. Today, 3:00 pm–5:00 pm\n2. Sat 12 Dec, 3:00 pm–5:00 pm" in text
