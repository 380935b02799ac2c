"""Dates and times as people say them, in the reader's language (Babel's formats):

    zh: 12月5日（周六）下午3:00     今天下午3:00     明天（周日）上午9:30
    en: Sat 5 Dec, 3:00 pm         Today, 3:00 pm   Tomorrow, 9:30 am

Never ISO in a message. The language is the current one (the person's, set by the
locale middleware, or the recipient's when the outbox sends) unless one is given.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import get_i18n
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from bot.i18n import N_, load_i18n

BABEL = {"zh": "zh_Hans_CN", "en": "en_GB"}


def current_locale() -> str:
    try:
        return get_i18n().current_locale
    except LookupError:
        return "zh"


def _(message: str, locale: str) -> str:
    """`message` in `locale`, with or without a current i18n context (the outbox sender
    says moments in each recipient's language)."""
    return load_i18n().gettext(message, locale=locale)


def ngettext(singular: str, plural: str, n: int, *, locale: str) -> str:
    """`singular` or `plural` in `locale` as `n` asks, with or without an i18n context."""
    return load_i18n().gettext(singular, plural, n, locale=locale)


def _babel(locale: str | None) -> str:
    return BABEL.get(locale or current_locale(), "en_GB")


def say_time(moment: time | datetime, *, locale: str | None = None) -> str:
    """下午3:00 / 3:00 pm."""
    lang = locale or current_locale()
    if lang == "zh":
        return format_time(moment, "ah:mm", locale=_babel(lang))
    return format_time(moment, "h:mm a", locale=_babel(lang)).lower()


def say_day(day: date, *, today: date | None = None, locale: str | None = None) -> str:
    """今天 / 明天（周日）/ 12月5日（周六）; Today / Tomorrow / Sat 5 Dec."""
    lang = locale or current_locale()
    weekday = format_date(day, "EEE", locale=_babel(lang))
    if today is not None and day == today:
        return _(N_("Today"), lang)
    if today is not None and (day - today).days == 1:
        return _(N_("Tomorrow"), lang) + (f"（{weekday}）" if lang == "zh" else "")
    if lang == "zh":
        same_year = today is None or day.year == today.year
        return format_date(day, "M月d日" if same_year else "y年M月d日",
                           locale=_babel(lang)) + f"（{weekday}）"
    same_year = today is None or day.year == today.year
    return format_date(day, "EEE d MMM" if same_year else "EEE d MMM y", locale=_babel(lang))


def say_moment(moment: datetime, zone: ZoneInfo | str, *, now: datetime | None = None,
               locale: str | None = None) -> str:
    """12月5日（周六）下午3:00 / Sat 5 Dec, 3:00 pm, in the community's time zone; 今天/明天
    where true when `now` is given."""
    lang = locale or current_locale()
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = moment.astimezone(tz)
    today = now.astimezone(tz).date() if now is not None else None
    day = say_day(local.date(), today=today, locale=lang)
    return f"{day}{say_time(local, locale=lang)}" if lang == "zh" else \
        f"{day}, {say_time(local, locale=lang)}"


def say_month(year: int, month: int, *, locale: str | None = None) -> str:
    """2026年11月 / November 2026."""
    lang = locale or current_locale()
    return format_date(date(year, month, 1), "y年M月" if lang == "zh" else "MMMM y",
                       locale=_babel(lang))


def say_hours(minutes: int, *, locale: str | None = None) -> str:
    """90 minutes as "1.5 hours" / "1.5 小时", 60 as "1 hour": at most one decimal."""
    lang = locale or current_locale()
    hours = round(minutes / 60, 1)
    number = format_decimal(hours, format="#,##0.#", locale=_babel(lang))
    return ngettext("{hours} hour", "{hours} hours", 1 if hours == 1 else 2,
                    locale=lang).format(hours=number)
