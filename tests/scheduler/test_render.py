"""What the outbox sends says dates as people say them, in the recipient's language, at
the time it is sent: never ISO."""

from __future__ import annotations

from dataclasses import replace
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


def test_a_title_is_said_in_the_recipients_language_and_escaped() -> None:
    params = {"title": outbox.title("太极 <入门>", {"en": "Tai chi & more"}),
              "when": outbox.moment(SAT_3PM, "Asia/Shanghai")}
    outbox.Outgoing(user_id=1, kind=OutboxKind.REMINDER, key="k", params=params).check()
    zh, _ = render(row("zh", **params), load_i18n(), "zh", now=SAT_3PM - timedelta(days=3))
    assert "“太极 &lt;入门&gt;”" in zh and "Tai chi" not in zh
    en, _ = render(row("en", **params), load_i18n(), "zh", now=SAT_3PM - timedelta(days=3))
    assert "“Tai chi &amp; more”" in en and "太极" not in en
    # A language staff gave no title in reads the title as written.
    fr, _ = render(row("fr", **params), load_i18n(), "zh", now=SAT_3PM - timedelta(days=3))
    assert "太极 &lt;入门&gt;" in fr


def test_a_buttons_label_is_said_per_recipient_plain_and_cut_to_fit() -> None:
    keyboard = {"inline_keyboard": [
        [{"text": "✋ {n}. {when}", "callback_data": "take:1",
          "params": {"n": 1, "when": outbox.moment(SAT_3PM, "Asia/Shanghai")}}],
        [{"text": "{title}", "callback_data": "open:1",
          "params": {"title": outbox.title("课" * 80, {"en": "Tai chi & <more>"})}}]]}
    outbox.Outgoing(user_id=1, kind=OutboxKind.PING, key="k", keyboard=keyboard).check()
    def labels(locale: str) -> list[str]:
        claimed = replace(row(locale, title="巡逻", when=outbox.moment(SAT_3PM, "Asia/Shanghai")),
                          keyboard=keyboard)
        _text, markup = render(claimed, load_i18n(), "zh", now=SAT_3PM - timedelta(days=1))
        assert markup is not None
        return [b.text for line in markup.inline_keyboard for b in line]

    zh = labels("zh")
    assert zh[0] == "✋ 1. 明天（周六）下午3:00"
    assert len(zh[1]) == 64 and zh[1].endswith("…")  # cut at a character with "…"
    assert labels("en") == ["✋ 1. Tomorrow, 3:00 pm", "Tai chi & <more>"]  # not HTML


def test_a_button_whose_params_are_not_said_is_refused_when_queued() -> None:
    import pytest

    from services.errors import InvalidInput

    keyboard = {"inline_keyboard": [[{"text": "{x}", "callback_data": "x",
                                      "params": {"x": object()}}]]}
    with pytest.raises(InvalidInput):
        outbox.Outgoing(user_id=1, kind=OutboxKind.PING, key="k", keyboard=keyboard).check()
