"""Scheduling a session ("I teach") and moving one: every date and time is a button.

```mermaid
stateDiagram-v2
    [*] --> Teacher: 🧑‍🏫 Give it to a teacher (staff, open order)
    Teacher --> Day: a teacher (the order is taken for them)
    [*] --> Day: 🗓 Schedule a session (taken order or menu course)
    [*] --> Day: 🔁 Move (a session)
    Day --> Time: one of the next 14 days
    Time --> Confirm: moving
    Time --> Length: scheduling
    Length --> Venue: 45 / 60 / 90 / 120 min
    Venue --> Capacity: venue typed
    Capacity --> Confirm: 10 / 20 / 30 / 50, or a number typed
    Confirm --> [*]: ✅ (services check everything again)
```
"""

from __future__ import annotations

import html
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import (
    LessonAction,
    LessonCb,
    OrderAction,
    OrderCb,
    PickAction,
    PickCb,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date
from handlers.courses.texts import (
    home_markup,
    person,
    session_text,
    weekday,
    when,
)
from models.communities import Community
from models.courses import CourseStatus, OrderStatus
from services import course_orders, course_sessions, courses
from services.access import Access
from services.clock import Clock
from services.courses import LessonClosed, OrderClosed
from services.errors import InvalidInput, NotAllowed, NotFound
from services.outbox import Notify

router = Router(name=__name__)

DAYS_AHEAD = 14
FIRST_SLOT, LAST_SLOT, SLOT = 8 * 60, 20 * 60 + 30, 30  # 08:00 … 20:30, every half hour
LENGTHS = (45, 60, 90, 120)
CAPACITIES = (10, 20, 30, 50)


class Schedule(StatesGroup):
    teacher = State()
    day = State()
    time = State()
    length = State()
    venue = State()
    capacity = State()
    confirm = State()


async def _zone(session: AsyncSession, community_id: int) -> str:
    community = await session.get(Community, community_id)
    return community.timezone if community else "Asia/Shanghai"


async def ask_day(message: Message, state: FSMContext, clock: Clock, zone: str,
                  intro: str = "") -> None:
    """The next 14 days as buttons."""
    await state.set_state(Schedule.day)
    today = clock.now().astimezone(ZoneInfo(zone)).date()
    builder = InlineKeyboardBuilder()
    for offset in range(DAYS_AHEAD):
        day = today + timedelta(days=offset)
        label = (_("Today") if offset == 0 else _("Tomorrow") if offset == 1
                 else f"{day:%m-%d} " + weekday(datetime.combine(day, time(12), ZoneInfo(zone)),
                                                zone))
        builder.button(text=label, callback_data=PickCb(action=PickAction.DAY, value=offset))
    builder.adjust(2, 3)
    await message.answer((intro + "\n\n" if intro else "") + _("Which day?"),
                         reply_markup=builder.as_markup())


def starts_at(data: dict[str, Any], clock: Clock, zone: str) -> datetime:
    """The chosen day and time, as a moment."""
    tz = ZoneInfo(zone)
    day = clock.now().astimezone(tz).date() + timedelta(days=int(data["day"]))
    minutes = int(data["time"])
    return datetime.combine(day, time(minutes // 60, minutes % 60), tz)


async def begin(message: Message, state: FSMContext, clock: Clock, session: AsyncSession,
                **data: Any) -> None:
    await state.clear()
    await state.update_data(**data)
    await ask_day(message, state, clock, await _zone(session, int(data["community_id"])),
                  intro=_("Scheduling “{title}”.").format(title=html.escape(str(data["title"]))))


@router.callback_query(OrderCb.filter(F.action == OrderAction.SCHEDULE))
async def on_schedule_order(
    callback: CallbackQuery, callback_data: OrderCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """🗓 Schedule a taken order; staff first give an open order to a teacher."""
    try:
        order = await course_orders.get_order(session, order_id=callback_data.id)
    except NotFound:
        await answer_out_of_date(callback, use_menu=True)
        return
    staff = access.can_manage(order.community_id)
    if not (staff or order.taken_by == access.user_id):
        await callback.answer(_("Only the teacher who took this order, or staff, can "
                                "schedule it."), show_alert=True)
        return
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    if order.status == OrderStatus.OPEN and staff:
        if not callback_data.value:
            teachers = await courses.teachers_of(session, community_id=order.community_id)
            builder = InlineKeyboardBuilder()
            for teacher in teachers:
                builder.button(text=person(teacher), callback_data=OrderCb(
                    action=OrderAction.SCHEDULE, id=order.id or 0, value=teacher.id or 0))
            builder.adjust(1)
            await callback.answer()
            await callback.message.answer(
                _("Who will teach it?") if teachers else
                _("This community has no teachers yet. Invite one in 🛠 Manage community."),
                reply_markup=builder.as_markup())
            return
        try:
            order = await course_orders.take_order(session, access=access, clock=clock,
                                                   order_id=order.id or 0,
                                                   teacher_id=callback_data.value,
                                                   notify=outbox_notify)
        except (NotAllowed, OrderClosed):
            await answer_out_of_date(callback, use_menu=True)
            return
    if order.status != OrderStatus.TAKEN or order.taken_by is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await begin(callback.message, state, clock, session, mode="new",
                community_id=order.community_id, teacher_id=order.taken_by,
                order_id=order.id, course_id=order.course_id, title=order.topic,
                category=order.category, minutes=60)


@router.callback_query(LessonCb.filter(F.action == LessonAction.NEW))
async def on_schedule_course(
    callback: CallbackQuery, callback_data: LessonCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock,
) -> None:
    """🗓 Schedule a session of a menu course (its teacher, or staff)."""
    try:
        course = await courses.get_course(session, course_id=callback_data.id)
    except NotFound:
        course = None
    if course is None or course.status != CourseStatus.APPROVED or not (
            course.teacher_id == access.user_id or access.can_manage(course.community_id)):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await begin(callback.message, state, clock, session, mode="new",
                    community_id=course.community_id,
                    teacher_id=course.teacher_id or access.user_id, order_id=None,
                    course_id=course.id, title=course.title, category=course.category,
                    minutes=course.minutes)


@router.callback_query(LessonCb.filter(F.action == LessonAction.MOVE))
async def on_move(
    callback: CallbackQuery, callback_data: LessonCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock,
) -> None:
    """🔁 Move a session: a new day and time."""
    try:
        lesson = await course_sessions.get_session(session, session_id=callback_data.id)
    except NotFound:
        lesson = None
    if lesson is None or not course_sessions.may_run(access, lesson):
        await callback.answer(_("Only the teacher or staff can change this session."),
                              show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await state.clear()
        await state.update_data(mode="move", session_id=lesson.id,
                                community_id=lesson.community_id, title=lesson.title)
        await ask_day(callback.message, state, clock, await _zone(session, lesson.community_id),
                      intro=_("Moving “{title}”.").format(title=html.escape(lesson.title)))


@router.callback_query(PickCb.filter(F.action == PickAction.DAY))
async def on_day(callback: CallbackQuery, callback_data: PickCb, state: FSMContext,
                 session: AsyncSession, clock: Clock) -> None:
    """A day; then the time, half-hourly (times already past today are left out)."""
    data = await state.get_data()
    if await state.get_state() != Schedule.day.state or not 0 <= callback_data.value < \
            DAYS_AHEAD:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.update_data(day=callback_data.value)
    await state.set_state(Schedule.time)
    zone = await _zone(session, int(data["community_id"]))
    builder = InlineKeyboardBuilder()
    for minutes in range(FIRST_SLOT, LAST_SLOT + 1, SLOT):
        moment = starts_at({"day": callback_data.value, "time": minutes}, clock, zone)
        if moment > clock.now():
            builder.button(text=f"{minutes // 60:02d}:{minutes % 60:02d}",
                           callback_data=PickCb(action=PickAction.TIME, value=minutes))
    builder.adjust(4)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("What time does it start?"),
                                         reply_markup=builder.as_markup())


@router.callback_query(PickCb.filter(F.action == PickAction.TIME))
async def on_time(
    callback: CallbackQuery, callback_data: PickCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock,
) -> None:
    """A time; then (scheduling) the length, or (moving) the confirmation."""
    data = await state.get_data()
    if await state.get_state() != Schedule.time.state or not \
            FIRST_SLOT <= callback_data.value <= LAST_SLOT:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.update_data(time=callback_data.value)
    if not isinstance(callback.message, Message):
        return
    if data.get("mode") == "move":
        await ask_confirm(callback.message, state, session, clock)
        return
    await state.set_state(Schedule.length)
    builder = InlineKeyboardBuilder()
    for minutes in LENGTHS:
        builder.button(text=_("{n} min").format(n=minutes),
                       callback_data=PickCb(action=PickAction.LENGTH, value=minutes))
    builder.adjust(4)
    await callback.message.edit_text(_("How long is it?"), reply_markup=builder.as_markup())


@router.callback_query(PickCb.filter(F.action == PickAction.LENGTH))
async def on_length(callback: CallbackQuery, callback_data: PickCb, state: FSMContext) -> None:
    """The length; then the venue is typed."""
    if await state.get_state() != Schedule.length.state or callback_data.value not in LENGTHS:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.update_data(minutes=callback_data.value)
    await state.set_state(Schedule.venue)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("Where is it? Type the place, for example "
                                           "“社区客厅 2楼” (at most 100 characters)."))


@router.message(Schedule.venue, F.text, ~F.text.startswith("/"))
async def on_venue(message: Message, state: FSMContext) -> None:
    """The venue; then the number of seats."""
    try:
        venue = courses.clean_text(message.text or "", field="venue", limit=100)
    except InvalidInput as error:
        await message.answer(_("That is too long: at most {limit} characters. Please send it "
                               "again.").format(limit=100) if error.reason == "too_long"
                             else _("That is empty. Please send it again."))
        return
    await state.update_data(venue=venue)
    await state.set_state(Schedule.capacity)
    builder = InlineKeyboardBuilder()
    for seats in CAPACITIES:
        builder.button(text=str(seats),
                       callback_data=PickCb(action=PickAction.CAPACITY, value=seats))
    builder.adjust(4)
    await message.answer(_("How many seats? Tap one, or type a number."),
                         reply_markup=builder.as_markup())


@router.callback_query(Schedule.capacity, PickCb.filter(F.action == PickAction.CAPACITY))
async def on_capacity(callback: CallbackQuery, callback_data: PickCb, state: FSMContext,
                      session: AsyncSession, clock: Clock) -> None:
    """Seats from a button."""
    await callback.answer()
    await state.update_data(capacity=callback_data.value)
    if isinstance(callback.message, Message):
        await ask_confirm(callback.message, state, session, clock)


@router.message(Schedule.capacity, F.text, ~F.text.startswith("/"))
async def on_capacity_text(message: Message, state: FSMContext, session: AsyncSession,
                           clock: Clock) -> None:
    """Seats typed as a number (checked: 1 to 500)."""
    text = (message.text or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= course_sessions.CAPACITY_RANGE[1]:
        await message.answer(_("Please give a number of seats from 1 to {max}.").format(
            max=course_sessions.CAPACITY_RANGE[1]))
        return
    await state.update_data(capacity=int(text))
    await ask_confirm(message, state, session, clock)


async def ask_confirm(message: Message, state: FSMContext, session: AsyncSession,
                      clock: Clock) -> None:
    data = await state.get_data()
    zone = await _zone(session, int(data["community_id"]))
    moment = starts_at(data, clock, zone)
    await state.set_state(Schedule.confirm)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Yes, that's right"), callback_data=PickCb(action=PickAction.CONFIRM))
    if data.get("mode") == "move":
        text = _("Move “{title}” to {when} ({weekday})?").format(
            title=html.escape(str(data["title"])), when=when(moment, zone),
            weekday=weekday(moment, zone))
    else:
        text = _("Please check:\n📚 {title}\n🕒 {when} ({weekday}), {minutes} min\n📍 {venue}\n"
                 "Seats: {capacity}").format(
            title=html.escape(str(data["title"])), when=when(moment, zone),
            weekday=weekday(moment, zone), minutes=data["minutes"],
            venue=html.escape(str(data["venue"])), capacity=data["capacity"])
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(PickCb.filter(F.action == PickAction.CONFIRM))
async def on_confirm(
    callback: CallbackQuery, access: Access, session: AsyncSession, state: FSMContext,
    clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """✅: the session is scheduled (or moved); the services check everything again."""
    data = await state.get_data()
    if await state.get_state() != Schedule.confirm.state:
        await answer_out_of_date(callback, use_menu=True)
        return
    zone = await _zone(session, int(data["community_id"]))
    moment = starts_at(data, clock, zone)
    try:
        if data.get("mode") == "move":
            lesson = await course_sessions.move_session(
                session, access=access, clock=clock, session_id=int(data["session_id"]),
                starts_at=moment, buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
            done = _("Moved ✅ Everyone enrolled will be told.")
        else:
            lesson = await course_sessions.schedule_session(
                session, access=access, clock=clock, community_id=int(data["community_id"]),
                teacher_id=int(data["teacher_id"]), title=str(data["title"]),
                category=data["category"], starts_at=moment, minutes=int(data["minutes"]),
                venue=str(data["venue"]), capacity=int(data["capacity"]),
                course_id=data.get("course_id"), order_id=data.get("order_id"),
                buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
            done = _("Scheduled ✅ Everyone who ordered or backed it will be told.")
    except InvalidInput as error:
        await callback.answer()
        if error.field == "starts_at" and isinstance(callback.message, Message):
            await ask_day(callback.message, state, clock, zone,
                          intro=_("That time has already passed. Please choose again."))
            return
        await state.clear()
        if isinstance(callback.message, Message):
            await callback.message.answer(_("Something in it is not right ({what}). Please "
                                            "start again.").format(what=error.field))
        return
    except (NotAllowed, NotFound, OrderClosed, LessonClosed):
        await state.clear()
        await answer_out_of_date(callback, use_menu=True)
        return
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        builder = InlineKeyboardBuilder()
        builder.button(text=_("👀 Open the session"),
                       callback_data=LessonCb(action=LessonAction.VIEW, id=lesson.id or 0))
        builder.attach(InlineKeyboardBuilder.from_markup(home_markup()))
        builder.adjust(1)
        await callback.message.answer(done + "\n\n" + session_text(lesson, zone),
                                      reply_markup=builder.as_markup())
