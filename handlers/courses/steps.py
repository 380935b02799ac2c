"""The steps that scheduling (handlers/courses/schedule.py) and moving a session
(handlers/courses/move.py) share, in one place: the day and time pickers (the shared ones
of bot/keyboards/dates.py, as far ahead as the service allows), the length and seat
buttons, and the ◀ Back / ✖ Cancel row under every step.

A wizard makes one `WhenSteps` with its own states and draft and installs it on its
router: the day page, day and time handlers are then the same code for both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.courses import LengthCb, SeatsCb, StepBackCb, StepQuitCb
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.dates import (
    DayCb,
    DayPageCb,
    DayRange,
    TimeCb,
    day_keyboard,
    take_time,
    time_keyboard,
)
from bot.replies import answer_out_of_date
from bot.screens import show
from handlers.courses.texts import home_markup
from services import course_sessions
from services.clock import Clock
from services.communities import zone_of

FIRST_SLOT, LAST_SLOT, SLOT = 8 * 60, 20 * 60 + 30, 30  # 08:00 … 20:30, every half hour
LENGTHS = (45, 60, 90, 120)
CAPACITIES = (10, 20, 30, 50)


class WhenDraft(BaseModel):
    """What a draft needs for the day and time steps: absolute values only."""

    community_id: int
    day: date | None = None
    starts_at: datetime | None = None


Draft = TypeVar("Draft", bound=WhenDraft)
Then = Callable[[CallbackQuery, FSMContext, AsyncSession, Clock, Any], Awaitable[None]]


def nav_row() -> list[InlineKeyboardButton]:
    """◀ Back (the state says to which step) and ✖ Cancel (the draft is dropped)."""
    return [InlineKeyboardButton(text=_("◀ Back"), callback_data=StepBackCb().pack()),
            InlineKeyboardButton(text=_("✖ Cancel"), callback_data=StepQuitCb().pack())]


def with_nav(builder: InlineKeyboardBuilder | None = None) -> InlineKeyboardMarkup:
    builder = builder or InlineKeyboardBuilder()
    builder.row(*nav_row())
    return builder.as_markup()


def days_ahead(clock: Clock, zone: ZoneInfo) -> DayRange:
    """The days a session may be put on: today to as far as the service allows (its
    last whole day, so that every time offered on it is allowed too)."""
    return DayRange.ahead(clock.now().astimezone(zone).date(),
                          days=course_sessions.SCHEDULE_AHEAD.days - 1)


def days_markup(clock: Clock, zone: ZoneInfo, page: int = 0) -> InlineKeyboardMarkup:
    days = days_ahead(clock, zone)
    return with_nav(day_keyboard(days, today=days.first, page=page, zone=zone, now=clock.now(),
                                 last=LAST_SLOT))


def times_markup(day: date, clock: Clock, zone: ZoneInfo) -> InlineKeyboardMarkup:
    return with_nav(time_keyboard(day, zone=zone, now=clock.now(), first=FIRST_SLOT,
                                  last=LAST_SLOT, step=SLOT))


def take_moment(minutes: int, day: date, clock: Clock, zone: ZoneInfo) -> datetime | None:
    """The start a time button claims, if the picker offers it now (else None)."""
    return take_time(minutes, day=day, zone=zone, now=clock.now(), first=FIRST_SLOT,
                     last=LAST_SLOT, step=SLOT)


def lengths_markup() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for minutes in LENGTHS:
        builder.button(text=_("{n} min").format(n=minutes), callback_data=LengthCb(minutes=minutes))
    builder.adjust(4)
    return with_nav(builder)


def seats_markup() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for seats in CAPACITIES:
        builder.button(text=str(seats), callback_data=SeatsCb(seats=seats))
    builder.adjust(4)
    return with_nav(builder)


def venue_question() -> str:
    return _("Where is it? Type the place, for example “社区客厅 2楼” (at most 100 "
             "characters).")


def seats_question() -> str:
    return _("How many seats? Tap one, or type a number.")


def typed_seats(text: str) -> int | None:
    """Seats typed as a number, 1 to 500 (else None)."""
    text = text.strip()
    if not text.isdigit() or not 1 <= int(text) <= course_sessions.CAPACITY_RANGE[1]:
        return None
    return int(text)


def seats_range() -> str:
    return _("Please give a number of seats from 1 to {max}.").format(
        max=course_sessions.CAPACITY_RANGE[1])


async def quit_wizard(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ Cancel: the draft is dropped, nothing changed."""
    await callback.answer()
    await state.clear()
    await show(callback, _("Cancelled. Nothing was changed."), reply_markup=home_markup())


@dataclass(frozen=True)
class WhenSteps(Generic[Draft]):
    """The day and time steps of one wizard: its states, its draft (kept under `key` in
    the FSM data) and what comes once a time is chosen."""

    day: State
    time: State
    key: str
    model: type[Draft]
    then: Then

    async def load(self, state: FSMContext) -> Draft | None:
        raw = (await state.get_data()).get(self.key)
        return self.model.model_validate(raw) if raw else None

    async def keep(self, state: FSMContext, draft: Draft) -> None:
        await state.update_data({self.key: draft.model_dump(mode="json")})

    async def ask_day(self, event: CallbackQuery | Message, state: FSMContext,
                      session: AsyncSession, clock: Clock, draft: Draft, intro: str = "",
                      *, new: bool = False) -> None:
        """Which day? (`new`: below the screen before, which stays readable)."""
        await state.set_state(self.day)
        zone = await zone_of(session, draft.community_id)
        await show(event, (intro + "\n\n" if intro else "") + _("Which day?"),
                   reply_markup=days_markup(clock, zone), new=new)

    async def ask_time(self, event: CallbackQuery, state: FSMContext, session: AsyncSession,
                       clock: Clock, draft: Draft) -> None:
        assert draft.day is not None
        await state.set_state(self.time)
        await show(event, _("What time does it start?"), reply_markup=times_markup(
            draft.day, clock, await zone_of(session, draft.community_id)))

    def install(self, router: Router) -> None:
        """The day page, day and time handlers, filtered on this wizard's states."""

        async def on_day_page(callback: CallbackQuery, callback_data: DayPageCb,
                              state: FSMContext, session: AsyncSession, clock: Clock) -> None:
            """◀ ▶ Another page of days."""
            draft = await self.load(state)
            if draft is None:
                await answer_out_of_date(callback, use_menu=True)
                return
            await callback.answer()
            await show(callback, _("Which day?"), reply_markup=days_markup(
                clock, await zone_of(session, draft.community_id), callback_data.page))

        async def on_day(callback: CallbackQuery, callback_data: DayCb, state: FSMContext,
                         session: AsyncSession, clock: Clock) -> None:
            """A day (re-checked); then the time, half-hourly, times already past left out."""
            draft = await self.load(state)
            zone = await zone_of(session, draft.community_id) if draft else None
            day = days_ahead(clock, zone).take(callback_data.day) if zone else None
            if draft is None or day is None:
                await answer_out_of_date(callback, use_menu=True)
                return
            await callback.answer()
            draft.day = day
            await self.keep(state, draft)
            await self.ask_time(callback, state, session, clock, draft)

        async def on_time(callback: CallbackQuery, callback_data: TimeCb, state: FSMContext,
                          session: AsyncSession, clock: Clock) -> None:
            """A time (re-checked: still ahead, on the picker); then the wizard's next step."""
            draft = await self.load(state)
            zone = await zone_of(session, draft.community_id) if draft else None
            moment = (take_moment(callback_data.minutes, draft.day, clock, zone)
                      if draft and draft.day and zone else None)
            if draft is None or moment is None:
                await answer_out_of_date(callback, use_menu=True)
                return
            await callback.answer()
            draft.starts_at = moment
            await self.keep(state, draft)
            await self.then(callback, state, session, clock, draft)

        router.callback_query(self.day, DayPageCb.filter())(on_day_page)
        router.callback_query(self.day, DayCb.filter())(on_day)
        router.callback_query(self.time, TimeCb.filter())(on_time)
