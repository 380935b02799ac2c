"""Scheduling a session ("I teach"): every date and time is a button.

The draft is a `ScheduleDraft` in the FSM data, holding the absolute day and start
chosen, so a screen drawn at 23:50 and confirmed after midnight means the day it
showed. The day and time steps are handlers/courses/steps.py's (the shared pickers of
bot/keyboards/dates.py, as far ahead as the service allows), which 🔁 Move
(handlers/courses/move.py) installs in its own states.

```mermaid
stateDiagram-v2
    [*] --> Teacher: 🧑‍🏫 Give it to a teacher (staff, open order)
    Teacher --> Day: a teacher (the order is taken for them)
    [*] --> Community: 🗓 Schedule one of my courses (teacher of several communities)
    Community --> Course: a community (remembered, ⭐ next time)
    [*] --> Course: 🗓 Schedule one of my courses (teacher of one community)
    Course --> Day: one of my courses on its menu
    [*] --> Day: 🗓 Schedule a session (taken order or menu course)
    Day --> Day: ◀ ▶ another page of days
    Day --> Time: a day (up to 180 days ahead)
    Time --> Length: a time still ahead
    Length --> Venue: 45 / 60 / 90 / 120 min
    Venue --> Capacity: venue typed
    Capacity --> Confirm: 10 / 20 / 30 / 50, or a number typed
    Confirm --> Weeks: 🔁 Repeat every week
    Weeks --> Confirm: just once, or every week for 2 / 4 / 8 / 12 weeks
    Confirm --> Day: ✅ but the time has passed meanwhile
    Confirm --> [*]: ✅ (services check everything again)
    Day --> [*]: ✖ Cancel (at every step; ◀ Back goes one step back)
```
The day, time, length and seat steps are handlers/courses/steps.py's, shared with 🔁 Move.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.courses import (
    ConfirmCb,
    GiveToCb,
    LengthCb,
    LessonAction,
    LessonCb,
    OrderAction,
    OrderCb,
    SeatsCb,
    StepBackCb,
    StepQuitCb,
    WeeksCb,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.communities import ScopeCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date
from bot.screens import send, show
from bot.titles import shown
from handlers.courses.steps import (
    CAPACITIES,
    LENGTHS,
    WhenDraft,
    WhenSteps,
    lengths_markup,
    quit_wizard,
    seats_markup,
    seats_question,
    seats_range,
    typed_seats,
    venue_question,
    with_nav,
)
from handlers.courses.texts import (
    clash_lines,
    courses_home,
    drop_buttons,
    home_markup,
    person,
    session_text,
    when,
)
from handlers.scope import ask_community, chosen
from models.courses import Category, CourseOrder, CourseStatus, Lesson, OrderStatus
from services import communities, course_orders, course_sessions, courses
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.courses import LessonClosed, OrderClosed
from services.errors import InvalidInput, NotAllowed, NotFound
from services.outbox import Notify
from services.scope import Serving

router = Router(name=__name__)

WEEKS = (1, 2, 4, 8, 12)  # just once, or every week for that many weeks
DRAFT = "schedule"
PLAN_FLOW = "cp"  # the community picker's flow code: a session of one of my courses


class Schedule(StatesGroup):
    day = State()
    time = State()
    length = State()
    venue = State()
    capacity = State()
    weeks = State()
    confirm = State()


class ScheduleDraft(WhenDraft):
    """A session being scheduled: absolute values only."""

    teacher_id: int
    title: str
    category: Category
    minutes: int
    course_id: int | None = None
    order_id: int | None = None
    venue: str = ""
    capacity: int = 0
    weeks: int = 1


# --- Starting -------------------------------------------------------------------------


async def begin(event: CallbackQuery, state: FSMContext, clock: Clock, session: AsyncSession,
                draft: ScheduleDraft) -> None:
    await state.clear()
    await STEPS.keep(state, draft)
    await STEPS.ask_day(event, state, session, clock, draft, new=True,
                        intro=_("Scheduling “{title}”.").format(title=html.escape(draft.title)))


async def load(state: FSMContext) -> ScheduleDraft | None:
    return await STEPS.load(state)


def draft_of_order(order: CourseOrder) -> ScheduleDraft:
    assert order.taken_by is not None
    return ScheduleDraft(community_id=order.community_id, teacher_id=order.taken_by,
                         order_id=order.id, course_id=order.course_id, title=order.topic,
                         category=order.category, minutes=60)


async def _schedulable(session: AsyncSession, access: Access, order_id: int) -> CourseOrder:
    """The order, if this person may schedule it (its teacher, or staff)."""
    order = await course_orders.get_order(session, order_id=order_id)
    if not (access.can_manage(order.community_id) or order.taken_by == access.user_id):
        raise NotAllowed("only the teacher who took it, or staff")
    return order


@router.callback_query(OrderCb.filter(F.action == OrderAction.SCHEDULE))
async def on_schedule_order(
    callback: CallbackQuery, callback_data: OrderCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock,
) -> None:
    """🗓 Schedule a taken order; staff first give an open order to a teacher."""
    try:
        order = await _schedulable(session, access, callback_data.id)
    except NotAllowed:  # words of its own: who may schedule an order
        await callback.answer(_("Only the teacher who took this order, or staff, can "
                                "schedule it."), show_alert=True)
        return
    if order.status == OrderStatus.OPEN and access.can_manage(order.community_id):
        teachers = await courses.teachers_of(session, community_id=order.community_id)
        builder = InlineKeyboardBuilder()
        for teacher in teachers:
            builder.button(text=person(teacher), callback_data=GiveToCb(
                order_id=order.id or 0, teacher_id=teacher.id or 0))
        builder.adjust(1)
        await callback.answer()
        community = await communities.get_community(session, community_id=order.community_id)
        await send(callback, (_("Who will teach it?") if teachers else _(
            "This community has no teachers yet. Invite one in 🛠 Manage community."))
            + "\n" + _("🏠 {community}").format(community=html.escape(community.name)),
            reply_markup=builder.as_markup())
        return
    if order.status != OrderStatus.TAKEN or order.taken_by is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await begin(callback, state, clock, session, draft_of_order(order))


@router.callback_query(GiveToCb.filter())
async def on_give_to(
    callback: CallbackQuery, callback_data: GiveToCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """🧑‍🏫 A teacher for an open order (staff): it is taken for them, then scheduled."""
    try:
        order = await _schedulable(session, access, callback_data.order_id)
        if not access.can_manage(order.community_id):
            raise NotAllowed("staff only")
        order = await course_orders.take_order(session, access=access, clock=clock,
                                               order_id=order.id or 0,
                                               teacher_id=callback_data.teacher_id,
                                               buttons=OUTBOX_KEYBOARDS.courses,
                                               notify=outbox_notify)
    except (NotFound, NotAllowed, OrderClosed):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await begin(callback, state, clock, session, draft_of_order(order))


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
    await begin(callback, state, clock, session, ScheduleDraft(
        community_id=course.community_id, teacher_id=course.teacher_id or access.user_id,
        course_id=course.id, title=course.title, category=Category(course.category),
        minutes=course.minutes))


@router.callback_query(LessonCb.filter(F.action == LessonAction.PLAN))
async def on_plan(callback: CallbackQuery, access: Access, session: AsyncSession,
                  state: FSMContext) -> None:
    """🗓 Schedule one of my courses: the community first, for a teacher of several."""
    if not (access.teacher_of or access.staff_of or access.is_admin):
        await callback.answer(_("Only teachers can do this."), show_alert=True)
        return
    await callback.answer()
    await state.clear()
    community_id = await ask_community(callback, state=state, access=access, session=session,
                                       flow=PLAN_FLOW, serving=Serving.TEACHER,
                                       intro=_("Scheduling a session."))
    if community_id is not None:
        await ask_course(callback, access, session, community_id)


@router.callback_query(ScopeCb.filter(F.flow == PLAN_FLOW))
async def on_plan_community(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                            session: AsyncSession, state: FSMContext) -> None:
    """The community to schedule in (re-checked and remembered); then the course."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.TEACHER)
    await callback.answer()
    await ask_course(callback, access, session, community_id)


async def ask_course(callback: CallbackQuery, access: Access, session: AsyncSession,
                     community_id: int) -> None:
    """The courses on that community's menu this person may schedule, a button each."""
    found = await courses.schedulable_courses(session, access=access,
                                              community_id=community_id)
    community = await communities.get_community(session, community_id=community_id)
    builder = InlineKeyboardBuilder()
    for course in found:
        builder.button(text=shown(course),
                       callback_data=LessonCb(action=LessonAction.NEW, id=course.id or 0))
    builder.adjust(1)
    builder.attach(InlineKeyboardBuilder.from_markup(home_markup()))
    await send(callback, (_("Which course, in {community}?") if found else _(
        "You have no course on the menu of {community} yet. Offer one with ➕ Offer a "
        "course.")).format(community=html.escape(community.name)),
        reply_markup=builder.as_markup())


# --- The steps ------------------------------------------------------------------------


async def ask_length(callback: CallbackQuery, state: FSMContext, session: AsyncSession,
                     clock: Clock, draft: ScheduleDraft) -> None:
    """Once a time is chosen: how long?"""
    await state.set_state(Schedule.length)
    await show(callback, _("How long is it?"), reply_markup=lengths_markup())


STEPS = WhenSteps(day=Schedule.day, time=Schedule.time, key=DRAFT, model=ScheduleDraft,
                  then=ask_length)
STEPS.install(router)


async def ask_venue(event: CallbackQuery | Message, state: FSMContext) -> None:
    await state.set_state(Schedule.venue)
    await show(event, venue_question(), reply_markup=with_nav())


async def ask_capacity(event: CallbackQuery | Message, state: FSMContext) -> None:
    await state.set_state(Schedule.capacity)
    await show(event, seats_question(), reply_markup=seats_markup())


async def ask_weeks(event: CallbackQuery | Message, state: FSMContext) -> None:
    await state.set_state(Schedule.weeks)
    builder = InlineKeyboardBuilder()
    for weeks in WEEKS:
        builder.button(text=_("Just once") if weeks == 1 else ngettext(
            "Every week, {n} time", "Every week, {n} times", weeks).format(n=weeks),
            callback_data=WeeksCb(weeks=weeks))
    builder.adjust(1, 2, 2)
    await show(event, _("Just once, or every week at the same time and place?"),
               reply_markup=with_nav(builder))


@router.callback_query(Schedule.length, LengthCb.filter(F.minutes.in_(LENGTHS)))
async def on_length(callback: CallbackQuery, callback_data: LengthCb,
                    state: FSMContext) -> None:
    """The length; then the venue is typed."""
    draft = await load(state)
    if draft is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    draft.minutes = callback_data.minutes
    await STEPS.keep(state, draft)
    await ask_venue(callback, state)


@router.message(Schedule.venue, F.text, ~F.text.startswith("/"))
async def on_venue(message: Message, state: FSMContext) -> None:
    """The venue; then the number of seats."""
    draft = await load(state)
    if draft is None:
        return
    draft.venue = courses.clean_text(message.text or "", field="venue", limit=100)
    await STEPS.keep(state, draft)
    await ask_capacity(message, state)


@router.callback_query(Schedule.capacity, SeatsCb.filter(F.seats.in_(CAPACITIES)))
async def on_capacity(callback: CallbackQuery, callback_data: SeatsCb,
                      state: FSMContext, session: AsyncSession) -> None:
    """Seats from a button; then the confirmation."""
    await callback.answer()
    await take_capacity(callback, state, session, callback_data.seats)


@router.message(Schedule.capacity, F.text, ~F.text.startswith("/"))
async def on_capacity_text(message: Message, state: FSMContext,
                           session: AsyncSession) -> None:
    """Seats typed as a number (checked: 1 to 500)."""
    seats = typed_seats(message.text or "")
    if seats is None:
        await message.answer(seats_range(), reply_markup=seats_markup())
        return
    await take_capacity(message, state, session, seats)


async def take_capacity(event: CallbackQuery | Message, state: FSMContext,
                        session: AsyncSession, seats: int) -> None:
    draft = await load(state)
    if draft is None:
        return
    draft.capacity = seats
    await STEPS.keep(state, draft)
    await ask_confirm(event, state, session)


@router.callback_query(Schedule.confirm, WeeksCb.filter(F.weeks == 0))
async def on_repeat(callback: CallbackQuery, state: FSMContext) -> None:
    """🔁 Repeat every week: how many times."""
    await callback.answer()
    await ask_weeks(callback, state)


@router.callback_query(Schedule.weeks, WeeksCb.filter(F.weeks.in_(WEEKS)))
async def on_weeks(callback: CallbackQuery, callback_data: WeeksCb, state: FSMContext,
                   session: AsyncSession) -> None:
    """Once or weekly; then the confirmation."""
    draft = await load(state)
    if draft is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    draft.weeks = callback_data.weeks
    await STEPS.keep(state, draft)
    await ask_confirm(callback, state, session)


@router.callback_query(StateFilter(*Schedule.__all_states__), StepBackCb.filter())
async def on_back(callback: CallbackQuery, state: FSMContext, session: AsyncSession,
                  clock: Clock, access: Access) -> None:
    """◀ Back: the step before, with what was chosen kept in the draft."""
    draft = await load(state)
    current = await state.get_state()
    if draft is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    if current == Schedule.day.state:  # the first step: back to 📚 Courses
        await state.clear()
        await show(callback, _("📚 Courses. What would you like to do?"),
                   reply_markup=courses_home(access).as_markup())
    elif current == Schedule.time.state:
        await STEPS.ask_day(callback, state, session, clock, draft)
    elif current == Schedule.length.state:
        await STEPS.ask_time(callback, state, session, clock, draft)
    elif current == Schedule.venue.state:
        await state.set_state(Schedule.length)
        await show(callback, _("How long is it?"), reply_markup=lengths_markup())
    elif current == Schedule.capacity.state:
        await ask_venue(callback, state)
    elif current == Schedule.confirm.state:
        await ask_capacity(callback, state)
    else:  # how many weeks: the confirmation again
        await ask_confirm(callback, state, session)


@router.callback_query(StateFilter(*Schedule.__all_states__), StepQuitCb.filter())
async def on_quit(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ Cancel: nothing is scheduled."""
    await quit_wizard(callback, state)


async def ask_confirm(event: CallbackQuery | Message, state: FSMContext,
                      session: AsyncSession) -> None:
    draft = await load(state)
    if draft is None or draft.starts_at is None:
        return
    zone = await zone_of(session, draft.community_id)
    await state.set_state(Schedule.confirm)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Yes, that's right"), callback_data=ConfirmCb())
    builder.button(text=_("🔁 Repeat every week"), callback_data=WeeksCb(weeks=0))
    builder.adjust(1)
    community = await communities.get_community(session, community_id=draft.community_id)
    warnings = clash_lines(await course_sessions.series_clashes(  # every week of a series
        session, community_id=draft.community_id, teacher_id=draft.teacher_id,
        starts_at=draft.starts_at, minutes=draft.minutes, venue=draft.venue,
        weeks=draft.weeks), zone, draft.starts_at)
    text = _("Please check:\n📚 {title}\n🕒 {when}, {minutes} min\n"
             "📍 {venue}\nSeats: {capacity}").format(
        title=html.escape(draft.title), when=when(draft.starts_at, zone),
        minutes=draft.minutes, venue=html.escape(draft.venue), capacity=draft.capacity)
    if draft.weeks > 1:
        text += "\n" + ngettext("🔁 Every week, {n} time in all", "🔁 Every week, {n} times in all",
                                draft.weeks).format(n=draft.weeks)
    text += "\n" + _("🏠 {community}").format(community=html.escape(community.name))
    await show(event, text + ("\n\n" + warnings if warnings else ""),
               reply_markup=with_nav(builder))


@router.callback_query(Schedule.confirm, ConfirmCb.filter())
async def on_confirm(
    callback: CallbackQuery, access: Access, session: AsyncSession, state: FSMContext,
    clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """✅: the session is scheduled; the service checks everything again."""
    draft = await load(state)
    if draft is None or draft.starts_at is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    zone = await zone_of(session, draft.community_id)
    try:
        lesson = await course_sessions.schedule_session(
            session, access=access, clock=clock, community_id=draft.community_id,
            teacher_id=draft.teacher_id, title=draft.title, category=draft.category,
            starts_at=draft.starts_at, minutes=draft.minutes, venue=draft.venue,
            capacity=draft.capacity, course_id=draft.course_id, order_id=draft.order_id,
            weeks=draft.weeks, buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
    except InvalidInput as error:
        await callback.answer()
        if error.field == "starts_at":  # the chosen time passed before the tap: choose again
            await STEPS.ask_day(callback, state, session, clock, draft, new=True,
                                intro=_("That time has already passed. Please choose again."))
            return
        await state.clear()
        await send(callback, _("Something in it is not right ({what}). Please start "
                               "again.").format(what=error.field))
        return
    except (NotAllowed, NotFound, OrderClosed, LessonClosed):
        await state.clear()  # the draft can never go through: it is dropped
        await answer_out_of_date(callback, use_menu=True)
        return
    await state.clear()
    await callback.answer()
    await done(callback, _("Scheduled ✅ Everyone who ordered or backed it will be told.")
               if draft.weeks == 1 else ngettext(
                   "Scheduled ✅ {n} session, one a week. Everyone who ordered or backed it "
                   "will be told.", "Scheduled ✅ {n} sessions, one a week. Everyone who "
                   "ordered or backed it will be told.", draft.weeks).format(n=draft.weeks),
               lesson, zone)


async def done(callback: CallbackQuery, note: str, lesson: Lesson, zone: ZoneInfo) -> None:
    """The draft's last screen loses its buttons; the result comes as a new message."""
    await drop_buttons(callback)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("👀 Open the session"),
                   callback_data=LessonCb(action=LessonAction.VIEW, id=lesson.id or 0))
    builder.attach(InlineKeyboardBuilder.from_markup(home_markup()))
    builder.adjust(1)
    await send(callback, note + "\n\n" + session_text(lesson, zone),
               reply_markup=builder.as_markup())
