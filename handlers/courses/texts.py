"""What the course screens share: names of categories and statuses, lines of text, and
the buttons of the messages the course services queue in the outbox."""

from __future__ import annotations

import html
from contextlib import suppress
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.lists import format_list

from bot.callback_data import (
    CourseAction,
    CourseCb,
    LessonAction,
    LessonCb,
    OrderAction,
    OrderCb,
)
from bot.i18n import N_
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.screens import drop_buttons as drop_buttons  # re-exported for the course screens
from bot.titles import shown, topic_shown
from bot.when import current_locale, say_moment, say_time
from models.courses import Category, CourseOrder, EnrolmentStatus, Lesson, TimeOfDay
from models.users import User
from services import course_sessions
from services.access import Access

CATEGORY_LABELS: dict[Category, str] = {
    Category.CIVIC: N_("🏛 Civic education"),
    Category.HEALTH: N_("🩺 Health education"),
    Category.ARTS: N_("🎨 Arts"),
    Category.SKILLS: N_("🔧 Practical skills"),
    Category.SPORTS: N_("🏃 Sports and fitness"),
    Category.GOVERNANCE: N_("🤝 Community governance"),
}
TIME_LABELS: dict[TimeOfDay, str] = {
    TimeOfDay.ANY: N_("Any time"),
    TimeOfDay.MORNING: N_("Morning"),
    TimeOfDay.AFTERNOON: N_("Afternoon"),
    TimeOfDay.EVENING: N_("Evening"),
}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def category_name(category: str) -> str:
    try:
        return _(CATEGORY_LABELS[Category(category)])
    except ValueError:
        return category


WEEKDAYS_ONLY, WEEKENDS_ONLY = 0b001_1111, 0b110_0000


def days_text(days: int) -> str:
    """The days an order suits, as people say them: "weekdays", "Mon, Wed, and Fri" /
    "工作日", "周一、周三和周五" (Babel's list for the reader's language)."""
    if not days or days == 0b111_1111:
        return _("any day")
    if days == WEEKDAYS_ONLY:
        return _("weekdays")
    if days == WEEKENDS_ONLY:
        return _("weekends")
    return format_list([_(name) for bit, name in enumerate(WEEKDAYS) if days & (1 << bit)],
                       locale=current_locale())


def when(moment: datetime, zone: ZoneInfo | str) -> str:
    """A session's start as people say it, in the community's zone (12月5日（周六）下午3:00 /
    Sat 5 Dec, 3:00 pm)."""
    return say_moment(moment, zone)


def order_text(order: CourseOrder) -> str:
    """One order, in full ("I don't know" how many would come: said so, not "about 0")."""
    words = _("🙋 <b>{topic}</b>\n{category}\nWhen: {days}, {time}\nExpected: about {expected} "
              "people") if order.expected else _(
        "🙋 <b>{topic}</b>\n{category}\nWhen: {days}, {time}\nHow many would come: not known "
        "yet")
    words += "\n" + ngettext("Backed by {backers} neighbour", "Backed by {backers} neighbours",
                             order.backers)
    return words.format(
        topic=html.escape(topic_shown(order)), category=category_name(order.category),
        days=days_text(order.days), time=_(TIME_LABELS[TimeOfDay(order.time_of_day)]).lower(),
        expected=order.expected, backers=order.backers)


def session_text(lesson: Lesson, timezone: ZoneInfo | str, *, held: int | None = None) -> str:
    """One session: what, when, where, seats."""
    text = _("📚 <b>{title}</b>\n🕒 {when}, {minutes} min\n📍 {venue}").format(
        title=html.escape(shown(lesson)), when=when(lesson.starts_at, timezone),
        minutes=lesson.minutes,
        venue=html.escape(lesson.venue))
    if held is not None:
        text += "\n" + seats_left(lesson.capacity - held, lesson.capacity)
    return text


def seats_left(free: int, capacity: int) -> str:
    """"2 places left of 10", or "Full" when none is."""
    if free <= 0:
        return ngettext("👥 Full: the {capacity} place is taken",
                        "👥 Full: all {capacity} places are taken", capacity).format(
            capacity=capacity)
    return ngettext("👥 {n} place left of {capacity}", "👥 {n} places left of {capacity}",
                    free).format(n=free, capacity=capacity)


def status_name(status: str) -> str:
    return {
        EnrolmentStatus.ENROLLED: _("you are enrolled ✅"),
        EnrolmentStatus.OFFERED: _("a seat is kept for you: please confirm"),
        EnrolmentStatus.WAITING: _("you are on the waiting list"),
    }.get(EnrolmentStatus(status), "")


def person(user: User) -> str:
    return html.escape(user.first_name or _("(no name)"))


def home_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("◀ Courses"),
                                callback_data=CourseCb(action=CourseAction.HOME).pack())


def home_markup() -> InlineKeyboardMarkup:
    """Just the ◀ Courses button."""
    return InlineKeyboardMarkup(inline_keyboard=[[home_button()]])


def courses_home(access: Access) -> InlineKeyboardBuilder:
    """The 📚 Courses screen: resident's buttons first, then teacher's and staff's."""
    builder = InlineKeyboardBuilder()
    rows: list[tuple[str, Any]] = [
        (_("📖 Course menu"), CourseCb(action=CourseAction.MENU)),
        (_("🔍 Search courses"), CourseCb(action=CourseAction.SEARCH)),
        (_("🗓 Sessions coming up"), LessonCb(action=LessonAction.LIST)),
        (_("🙋 Order a course"), OrderCb(action=OrderAction.NEW)),
        (_("👥 Neighbours' orders"), OrderCb(action=OrderAction.LIST)),
        (_("🎒 My courses"), LessonCb(action=LessonAction.MINE)),
    ]
    if access.is_teacher:
        rows += [
            (_("✋ Orders I can teach"), OrderCb(action=OrderAction.TEACH)),
            (_("🧑‍🏫 My teaching"), LessonCb(action=LessonAction.TEACHING)),
            (_("➕ Offer a course"), CourseCb(action=CourseAction.OFFER)),
            (_("🏷 What I teach"), CourseCb(action=CourseAction.SUBJECT)),
        ]
    if access.is_staff or access.is_admin:
        if not access.is_teacher:
            rows.append((_("➕ Offer a course"), CourseCb(action=CourseAction.OFFER)))
        rows += [
            (_("✅ Course offers to review"), CourseCb(action=CourseAction.REVIEW)),
            (_("📊 Community sessions"), LessonCb(action=LessonAction.STAFF)),
            (_("⚙️ Course rules"), CourseCb(action=CourseAction.RULES)),
        ]
    for label, data in rows:
        builder.button(text=label, callback_data=data)
    builder.adjust(1)
    return builder


async def mark_answered(callback: CallbackQuery, answer: str) -> None:
    """Write `answer` under the question the pressed message asked (a reminder's "are you
    coming?", an offer's "do you want it?") and take its buttons off, so that scrolling
    back shows what was said and offers nothing stale. Only the message that carries the
    pressed button is changed; one too old to edit keeps its buttons (re-checked anyway)."""
    pressed = callback.message
    if not isinstance(pressed, Message) or pressed.text is None:
        return
    rows = pressed.reply_markup.inline_keyboard if pressed.reply_markup else []
    if not any(b.callback_data == callback.data for row in rows for b in row):
        return
    with suppress(TelegramBadRequest):  # "not modified" (a double tap) or too old
        await pressed.edit_text(pressed.html_text + "\n\n" + answer, reply_markup=None)


def clash_lines(found: course_sessions.Clashes, zone: ZoneInfo,
                day: datetime | None = None) -> str:
    """The warnings of a double booking, for a confirmation screen ("" when none): staff
    may still go ahead. A clash on another day than `day`'s (a later week of a series)
    says its date."""
    if not found:
        return ""

    def span(lesson: Lesson) -> str:
        local = lesson.starts_at.astimezone(zone)
        same_day = day is None or local.date() == day.astimezone(zone).date()
        start = say_time(local) if same_day else when(lesson.starts_at, zone)
        return f"{start}–{say_time(course_sessions.ends_at(lesson).astimezone(zone))}"

    lines = [_("⚠️ {venue} is already booked then: “{title}”, {span}.").format(
        venue=html.escape(lesson.venue), title=html.escape(shown(lesson)), span=span(lesson))
        for lesson in found.venue]
    name = person(found.teacher_user) if found.teacher_user else ""
    lines += [_("⚠️ {teacher} teaches “{title}” at {venue} then, {span}.").format(
        teacher=name, title=html.escape(shown(lesson)), venue=html.escape(lesson.venue),
        span=span(lesson)) for lesson in found.teacher]
    lines.append(_("You can still go ahead."))
    return "\n".join(lines)
