"""🔁 Moving a session to another day and time: its button (drawn on the session's
screen by handlers/courses/sessions.py through `move_button`) and its handlers.

The draft is a `MoveDraft` in the FSM data with the absolute day and start chosen; the
pickers are the ones scheduling uses (handlers/courses/schedule.py), as far ahead as
the service allows.

```mermaid
stateDiagram-v2
    [*] --> Day: 🔁 Move (the session's teacher or staff, before it starts)
    Day --> Day: ◀ ▶ another page of days
    Day --> Time: a day (up to 180 days ahead)
    Time --> Confirm: a time still ahead
    Confirm --> Day: ✅ but the time has passed meanwhile
    Confirm --> [*]: ✅ (the service checks everything again; everyone is told)
```
"""

from __future__ import annotations

import html
from datetime import date, datetime

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.courses import ConfirmCb, LessonAction, LessonCb
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.dates import DayCb, DayPageCb, TimeCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date
from bot.screens import send, show
from handlers.courses.schedule import days_ahead, days_markup, done, take_moment, times_markup
from handlers.courses.texts import clash_lines, when
from services import course_sessions
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.errors import InvalidInput
from services.outbox import Notify

router = Router(name=__name__)
DRAFT = "move"


class Move(StatesGroup):
    day = State()
    time = State()
    confirm = State()


class MoveDraft(BaseModel):
    """A session being moved: absolute values only."""

    lesson_id: int
    community_id: int
    title: str
    day: date | None = None
    starts_at: datetime | None = None


async def load(state: FSMContext) -> MoveDraft | None:
    raw = (await state.get_data()).get(DRAFT)
    return MoveDraft.model_validate(raw) if raw else None


async def keep(state: FSMContext, draft: MoveDraft) -> None:
    await state.update_data({DRAFT: draft.model_dump(mode="json")})


def move_button(lesson_id: int) -> InlineKeyboardButton:
    """🔁 Move, for a session's screen (shown when the service's view says `can_move`)."""
    return InlineKeyboardButton(text=_("🔁 Move"), callback_data=LessonCb(
        action=LessonAction.MOVE, id=lesson_id).pack())


async def ask_day(callback: CallbackQuery, state: FSMContext, clock: Clock, draft: MoveDraft,
                  session: AsyncSession, intro: str) -> None:
    await state.set_state(Move.day)
    await send(callback, intro + "\n\n" + _("Which day?"), reply_markup=days_markup(
        clock, await zone_of(session, draft.community_id)))


@router.callback_query(LessonCb.filter(F.action == LessonAction.MOVE))
async def on_move(
    callback: CallbackQuery, callback_data: LessonCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock,
) -> None:
    """🔁 Move a session: a new day and time."""
    lesson = await course_sessions.runnable(session, access=access, lesson_id=callback_data.id)
    await callback.answer()
    await state.clear()
    draft = MoveDraft(lesson_id=lesson.id or 0, community_id=lesson.community_id,
                      title=lesson.title)
    await keep(state, draft)
    await ask_day(callback, state, clock, draft, session,
                  _("Moving “{title}”.").format(title=html.escape(lesson.title)))


@router.callback_query(Move.day, DayPageCb.filter())
async def on_day_page(callback: CallbackQuery, callback_data: DayPageCb, state: FSMContext,
                      session: AsyncSession, clock: Clock) -> None:
    """◀ ▶ Another page of days."""
    draft = await load(state)
    if draft is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await show(callback, _("Which day?"), reply_markup=days_markup(
        clock, await zone_of(session, draft.community_id), callback_data.page))


@router.callback_query(Move.day, DayCb.filter())
async def on_day(callback: CallbackQuery, callback_data: DayCb, state: FSMContext,
                 session: AsyncSession, clock: Clock) -> None:
    """A day; then the time."""
    draft = await load(state)
    zone = await zone_of(session, draft.community_id) if draft else None
    day = days_ahead(clock, zone).take(callback_data.day) if zone else None
    if draft is None or zone is None or day is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    draft.day = day
    await keep(state, draft)
    await state.set_state(Move.time)
    await show(callback, _("What time does it start?"),
               reply_markup=times_markup(day, clock, zone))


@router.callback_query(Move.time, TimeCb.filter())
async def on_time(callback: CallbackQuery, callback_data: TimeCb, state: FSMContext,
                  session: AsyncSession, clock: Clock) -> None:
    """A time; then the confirmation."""
    draft = await load(state)
    zone = await zone_of(session, draft.community_id) if draft else None
    moment = (take_moment(callback_data.minutes, draft.day, clock, zone)
              if draft and draft.day and zone else None)
    if draft is None or zone is None or moment is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    draft.starts_at = moment
    await keep(state, draft)
    await state.set_state(Move.confirm)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Yes, that's right"), callback_data=ConfirmCb())
    lesson = await course_sessions.get_session(session, session_id=draft.lesson_id)
    warnings = clash_lines(await course_sessions.clashes(
        session, community_id=lesson.community_id, teacher_id=lesson.teacher_id,
        starts_at=moment, minutes=lesson.minutes, venue=lesson.venue, exclude=lesson.id), zone)
    await send(callback, _("Move “{title}” to {when}?").format(
        title=html.escape(draft.title), when=when(moment, zone))
        + ("\n\n" + warnings if warnings else ""),
        reply_markup=builder.as_markup())


@router.callback_query(Move.confirm, ConfirmCb.filter())
async def on_confirm(
    callback: CallbackQuery, access: Access, session: AsyncSession, state: FSMContext,
    clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """✅: the session moves; the service checks everything again."""
    draft = await load(state)
    if draft is None or draft.starts_at is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    try:
        lesson = await course_sessions.move_session(
            session, access=access, clock=clock, session_id=draft.lesson_id,
            starts_at=draft.starts_at, buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
    except InvalidInput as error:
        if error.field != "starts_at":
            raise
        await callback.answer()  # the chosen time passed before the tap: choose again
        await ask_day(callback, state, clock, draft, session,
                      _("That time has already passed. Please choose again."))
        return
    finally:
        if await state.get_state() == Move.confirm.state:
            await state.clear()
    await callback.answer()
    await done(callback, _("Moved ✅ Everyone enrolled will be told."), lesson,
               await zone_of(session, lesson.community_id))
