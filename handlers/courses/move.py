"""🔁 Changing a session: its day and time, venue, length or seats. Its button (drawn on
the session's screen by handlers/courses/sessions.py through `move_button`) and its
handlers.

The draft is a `MoveDraft` in the FSM data with the absolute values chosen; the day and
time steps are handlers/courses/steps.py's, which scheduling uses too.

```mermaid
stateDiagram-v2
    [*] --> What: 🔁 Move or change (the session's teacher or staff, before it starts)
    What --> Day: 🕒 Day and time
    Day --> Day: ◀ ▶ another page of days
    Day --> Time: a day (up to 180 days ahead)
    Time --> What: a time still ahead
    What --> Venue: 📍 Venue --> What: typed
    What --> Length: ⏱ Length --> What: 45 / 60 / 90 / 120 min
    What --> Seats: 💺 Seats --> What: a button or a number (never below those enrolled)
    What --> Confirm: ✅ Save the changes
    Confirm --> Day: ✅ but the time has passed meanwhile
    Confirm --> [*]: ✅ (the service checks everything again; everyone is told)
    What --> [*]: ✖ Cancel (at every step; ◀ Back goes one step back)
```
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.courses import (
    ConfirmCb,
    LengthCb,
    LessonAction,
    LessonCb,
    MoveWhatCb,
    SeatsCb,
    StepBackCb,
    StepQuitCb,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date
from bot.screens import show
from bot.titles import shown
from handlers.courses.schedule import done
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
from handlers.courses.texts import clash_lines, when
from models.courses import VENUE_MAX, Lesson
from models.users import User
from services import course_sessions, courses
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.errors import InvalidInput
from services.outbox import Notify

router = Router(name=__name__)
DRAFT = "move"


class Move(StatesGroup):
    what = State()
    day = State()
    time = State()
    venue = State()
    length = State()
    seats = State()
    confirm = State()


class MoveDraft(WhenDraft):
    """A session being changed: its values now, and the new ones chosen (None: as it is)."""

    lesson_id: int
    title: str
    venue: str | None = None
    minutes: int | None = None
    capacity: int | None = None


def move_button(lesson_id: int) -> InlineKeyboardButton:
    """🔁 Move or change, for a session's screen (shown when the service's view says `can_move`)."""
    return InlineKeyboardButton(text=_("🔁 Move or change"),
                                callback_data=LessonCb(action=LessonAction.MOVE,
                                                       id=lesson_id).pack())


def changes(draft: MoveDraft, lesson: Lesson, zone: ZoneInfo) -> list[str]:
    """The changes chosen so far, a line each ("now → new")."""
    lines = []
    if draft.starts_at is not None and draft.starts_at != lesson.starts_at:
        lines.append(_("🕒 {old} → {new}").format(old=when(lesson.starts_at, zone),
                                                 new=when(draft.starts_at, zone)))
    if draft.venue is not None and draft.venue != lesson.venue:
        lines.append(_("📍 {old} → {new}").format(old=html.escape(lesson.venue),
                                                 new=html.escape(draft.venue)))
    if draft.minutes is not None and draft.minutes != lesson.minutes:
        lines.append(_("⏱ {old} → {new} min").format(old=lesson.minutes, new=draft.minutes))
    if draft.capacity is not None and draft.capacity != lesson.capacity:
        lines.append(_("💺 {old} → {new} seats").format(old=lesson.capacity,
                                                        new=draft.capacity))
    return lines


async def ask_what(event: CallbackQuery | Message, state: FSMContext, session: AsyncSession,
                   draft: MoveDraft, *, new: bool = False) -> None:
    """What to change, with the changes chosen so far."""
    await state.set_state(Move.what)
    lesson = await course_sessions.get_session(session, session_id=draft.lesson_id)
    zone = await zone_of(session, lesson.community_id)
    chosen = changes(draft, lesson, zone)
    builder = InlineKeyboardBuilder()
    for label, what in ((_("🕒 Day and time"), "w"), (_("📍 Venue"), "v"),
                        (_("⏱ Length"), "l"), (_("💺 Seats"), "s")):
        builder.button(text=label, callback_data=MoveWhatCb(what=what))
    builder.adjust(2)
    if chosen:
        builder.row(InlineKeyboardButton(text=_("✅ Save the changes"),
                                         callback_data=MoveWhatCb(what="k").pack()))
    text = _("Changing “{title}”. What would you like to change?").format(
        title=html.escape(draft.title))
    if chosen:
        text += "\n\n" + _("Changes so far:") + "\n" + "\n".join(chosen)
    await show(event, text, reply_markup=with_nav(builder), new=new)


async def after_time(callback: CallbackQuery, state: FSMContext, session: AsyncSession,
                     clock: Clock, draft: MoveDraft) -> None:
    await ask_what(callback, state, session, draft)


STEPS = WhenSteps(day=Move.day, time=Move.time, key=DRAFT, model=MoveDraft, then=after_time)
STEPS.install(router)


@router.callback_query(LessonCb.filter(F.action == LessonAction.MOVE))
async def on_move(
    callback: CallbackQuery, callback_data: LessonCb, access: Access, session: AsyncSession,
    state: FSMContext,
) -> None:
    """🔁 Change a session: its day and time, venue, length or seats."""
    lesson = await course_sessions.runnable(session, access=access, lesson_id=callback_data.id)
    await callback.answer()
    await state.clear()
    draft = MoveDraft(lesson_id=lesson.id or 0, community_id=lesson.community_id,
                      title=shown(lesson))  # said to the teacher
    await STEPS.keep(state, draft)
    await ask_what(callback, state, session, draft, new=True)


@router.callback_query(Move.what, MoveWhatCb.filter())
async def on_what(callback: CallbackQuery, callback_data: MoveWhatCb, state: FSMContext,
                  session: AsyncSession, clock: Clock) -> None:
    """One thing to change (or ✅ save them)."""
    draft = await STEPS.load(state)
    if draft is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    if callback_data.what == "w":
        await STEPS.ask_day(callback, state, session, clock, draft)
    elif callback_data.what == "v":
        await state.set_state(Move.venue)
        await show(callback, venue_question(), reply_markup=with_nav())
    elif callback_data.what == "l":
        await state.set_state(Move.length)
        await show(callback, _("How long is it?"), reply_markup=lengths_markup())
    elif callback_data.what == "s":
        await state.set_state(Move.seats)
        await show(callback, seats_question(), reply_markup=seats_markup())
    else:
        await ask_confirm(callback, state, session, draft)


@router.message(Move.venue, F.text, ~F.text.startswith("/"))
async def on_venue(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """The new venue, typed (too long or empty: the error router says so)."""
    draft = await STEPS.load(state)
    if draft is None:
        return
    draft.venue = courses.clean_text(message.text or "", field="venue", limit=VENUE_MAX)
    await STEPS.keep(state, draft)
    await ask_what(message, state, session, draft)


@router.callback_query(Move.length, LengthCb.filter(F.minutes.in_(LENGTHS)))
async def on_length(callback: CallbackQuery, callback_data: LengthCb, state: FSMContext,
                    session: AsyncSession) -> None:
    """The new length."""
    draft = await STEPS.load(state)
    if draft is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    draft.minutes = callback_data.minutes
    await STEPS.keep(state, draft)
    await ask_what(callback, state, session, draft)


@router.callback_query(Move.seats, SeatsCb.filter(F.seats.in_(CAPACITIES)))
async def on_seats(callback: CallbackQuery, callback_data: SeatsCb, state: FSMContext,
                   session: AsyncSession) -> None:
    """The new number of seats, from a button."""
    await callback.answer()
    await take_seats(callback, state, session, callback_data.seats)


@router.message(Move.seats, F.text, ~F.text.startswith("/"))
async def on_seats_text(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """The new number of seats, typed (1 to 500)."""
    seats = typed_seats(message.text or "")
    if seats is None:
        await message.answer(seats_range(), reply_markup=seats_markup())
        return
    await take_seats(message, state, session, seats)


async def take_seats(event: CallbackQuery | Message, state: FSMContext, session: AsyncSession,
                     seats: int) -> None:
    """Seats, never below those already holding one (said at once; the service checks
    again when it is saved)."""
    draft = await STEPS.load(state)
    if draft is None:
        return
    held = (await course_sessions.counts_of(session, session_ids=[draft.lesson_id])).get(
        draft.lesson_id, (0, 0, 0))[0]
    if seats < held:
        await show(event, ngettext("{n} person already holds a seat: please choose at least {n} "
                                   "seat.", "{n} people already hold a seat: please choose at "
                                   "least {n} seats.", held).format(n=held),
                   reply_markup=seats_markup(), new=True)
        return
    draft.capacity = seats
    await STEPS.keep(state, draft)
    await ask_what(event, state, session, draft)


async def ask_confirm(event: CallbackQuery | Message, state: FSMContext, session: AsyncSession,
                      draft: MoveDraft) -> None:
    """The changes once more, with any double booking they would make."""
    lesson = await course_sessions.get_session(session, session_id=draft.lesson_id)
    zone = await zone_of(session, lesson.community_id)
    await state.set_state(Move.confirm)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Yes, that's right"), callback_data=ConfirmCb())
    warnings = clash_lines(await course_sessions.clashes(
        session, community_id=lesson.community_id, teacher_id=lesson.teacher_id,
        starts_at=draft.starts_at or lesson.starts_at, minutes=draft.minutes or lesson.minutes,
        venue=draft.venue or lesson.venue, exclude=lesson.id), zone)
    await show(event, _("Change “{title}”?").format(title=html.escape(draft.title)) + "\n"
               + "\n".join(changes(draft, lesson, zone))
               + ("\n\n" + warnings if warnings else ""), reply_markup=with_nav(builder))


@router.callback_query(Move.confirm, ConfirmCb.filter())
async def on_confirm(
    callback: CallbackQuery, access: Access, session: AsyncSession, state: FSMContext,
    clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """✅: the session changes; the service checks everything again."""
    draft = await STEPS.load(state)
    if draft is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    try:
        lesson = await course_sessions.move_session(
            session, access=access, clock=clock, session_id=draft.lesson_id,
            starts_at=draft.starts_at, venue=draft.venue, minutes=draft.minutes,
            capacity=draft.capacity, buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
    except InvalidInput as error:
        if error.field != "starts_at":
            raise  # (seats below those enrolled meanwhile: the error router says so)
        await callback.answer()  # the chosen time passed before the tap: choose again
        await STEPS.ask_day(callback, state, session, clock, draft, new=True,
                            intro=_("That time has already passed. Please choose again."))
        return
    finally:
        if await state.get_state() == Move.confirm.state:
            await state.clear()
    await callback.answer()
    moved = draft.starts_at is not None
    await done(callback, _("Moved ✅ Everyone enrolled will be told.") if moved else
               _("Changed ✅ Everyone enrolled will be told."), lesson,
               await zone_of(session, lesson.community_id))


@router.callback_query(StateFilter(*Move.__all_states__), StepBackCb.filter())
async def on_back(callback: CallbackQuery, state: FSMContext, session: AsyncSession,
                  clock: Clock, access: Access, user: User) -> None:
    """◀ Back: the step before, with what was chosen kept in the draft."""
    draft = await STEPS.load(state)
    if draft is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    if await state.get_state() == Move.time.state:
        await STEPS.ask_day(callback, state, session, clock, draft)
    elif await state.get_state() == Move.what.state:  # the first step: the session again
        await state.clear()
        from handlers.courses.sessions import session_screen  # sessions imports this module
        text, builder = await session_screen(draft.lesson_id, user=user, access=access,
                                             session=session, clock=clock)
        await show(callback, text, reply_markup=builder.as_markup())
    else:
        await ask_what(callback, state, session, draft)


@router.callback_query(StateFilter(*Move.__all_states__), StepQuitCb.filter())
async def on_quit(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ Cancel: the session stays as it was."""
    await quit_wizard(callback, state)
