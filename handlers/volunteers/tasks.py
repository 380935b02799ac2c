"""Staff compose a volunteer task: words typed, everything else (dates, times, people) by buttons.

```mermaid
stateDiagram-v2
    [*] --> Title: ➕ New task (🙋 Volunteer → 🧑‍💼 Organise)
    [*] --> Day: ➕ Add a shift (a published task; People saves it, ◀ Back leaves it)
    Title --> OtherTitle: title sent
    OtherTitle --> Description: the title in the other language sent / Skip
    Description --> Skills: text sent / Skip
    Skills --> Skills: tick a skill
    Skills --> Grid: Next (the community has grids)
    Skills --> Place: Next (no grids)
    Grid --> Place: grid / whole community
    Place --> Location: place sent
    Location --> Day: location sent / Skip
    Day --> Day: ◀ ▶ another page of days
    Day --> Time: a day (today … MAX_DAYS_AHEAD) with a time still ahead
    Time --> Day: ◀ Back
    Time --> Time: a time that passed meanwhile (refused, drawn again)
    Time --> Length: a time still ahead
    Length --> People: a length
    People --> Summary: a headcount (the shift is checked)
    Summary --> Day: ➕ another shift
    Summary --> Weeks: 🔁 repeat weekly
    Weeks --> Summary: number of weeks
    Summary --> [*]: ✅ Publish (volunteers pinged) / 🗑 Discard
    Weeks --> Summary: ◀ Back
    Day --> Summary: ◀ Back (shifts in the draft already)
    Day --> Location: ◀ Back (the first shift)
    Length --> Time: ◀ Back
    People --> Length: ◀ Back
    Location --> Place: ◀ Back
    Place --> Grid: ◀ Back (Skills when no grids)
    Grid --> Skills: ◀ Back
    Skills --> Description: ◀ Back
    Description --> OtherTitle: ◀ Back
    OtherTitle --> Title: ◀ Back
    Title --> [*]: ✖ Cancel (on every step: the draft dropped, nothing written)
```

The draft is a `TaskDraft` in the FSM data, holding absolute days and moments (a
day picked as "Tomorrow" at 23:50 stays that day after midnight); only publishing
writes, and the service checks everything again then. Each step is its own state,
and each button is handled in the state that drew it.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.volunteers import (
    VolAddShiftCb,
    VolDraftAction,
    VolDraftCb,
    VolDraftGridCb,
    VolDraftLengthCb,
    VolDraftPeopleCb,
    VolDraftSkillCb,
    VolDraftWeeksCb,
    VolStaffAction,
    VolStaffCb,
    VolTaskCb,
)
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
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.screens import send, show
from bot.when import current_locale
from handlers.volunteers.texts import SKILL_LABELS, say_span, skills_text, ticked
from models.communities import Grid
from models.volunteers import DESCRIPTION_MAX, PLACE_MAX, TITLE_MAX, Skill
from services import communities
from services import volunteers as vol
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.errors import InvalidInput, NotAllowed, NotFound
from services.titles import other_locale

router = Router(name=__name__)
Notify = Callable[[], None]

FIRST_TIME, LAST_TIME, TIME_STEP = 6 * 60, 22 * 60 + 30, 30  # 06:00 … 22:30, every half hour
LENGTHS = (30, 60, 90, 120, 180, 240, 360, 480)
HEADCOUNTS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20)
WEEKS = (1, 2, 4, 8, 12)


class DraftStates(StatesGroup):
    title = State()
    other_title = State()  # the title in the other language, for its readers (optional)
    description = State()
    skills = State()
    grid = State()
    place = State()
    location = State()
    day = State()
    time = State()
    length = State()
    people = State()
    summary = State()
    weeks = State()


class DraftShift(BaseModel):
    starts_at: datetime
    ends_at: datetime
    headcount: int

    def spec(self) -> vol.ShiftSpec:
        return vol.ShiftSpec(self.starts_at, self.ends_at, self.headcount)


class TaskDraft(BaseModel):
    """A task being composed; `day`, `starts_at` and `minutes` are the shift in hand;
    `key` makes publishing it twice make one task."""

    community_id: int
    task_id: int | None = None  # a shift being added to this published task
    key: str = Field(default_factory=lambda: secrets.token_hex(8))
    title: str = ""
    titles: dict[str, str] = {}  # the title in other languages (services.titles)
    description: str = ""
    skills: list[str] = []
    grid_id: int | None = None
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    shifts: list[DraftShift] = []
    weeks: int = 1
    day: date | None = None
    starts_at: datetime | None = None
    minutes: int | None = None


async def load(state: FSMContext, access: Access) -> TaskDraft:
    """The draft in hand, after checking (again) that the presser organises its community."""
    raw = (await state.get_data()).get("draft")
    if raw is None:
        raise NotFound("draft")
    draft = TaskDraft.model_validate(raw)
    if not access.can_manage(draft.community_id):
        raise NotAllowed(f"draft for {draft.community_id}")
    return draft


async def save(state: FSMContext, draft: TaskDraft, step: State | None = None) -> None:
    await state.update_data(draft=draft.model_dump(mode="json"))
    if step is not None:
        await state.set_state(step)


async def start_draft(callback: CallbackQuery, *, state: FSMContext, community_id: int) -> None:
    """Begin a new task for `community_id` (the caller checked the right to)."""
    await state.set_state(DraftStates.title)
    await state.set_data({"draft": TaskDraft(community_id=community_id).model_dump(mode="json")})
    text, builder = title_screen()
    await send(callback, text, reply_markup=builder.as_markup())


def nav(builder: InlineKeyboardBuilder, *, back: bool = True) -> InlineKeyboardBuilder:
    """The row under every step: ◀ Back to the step before (not on the first) and ✖ Cancel."""
    buttons = [InlineKeyboardButton(text=_("✖ Cancel"), callback_data=VolDraftCb(
        action=VolDraftAction.CANCEL).pack())]
    if back:
        buttons.insert(0, InlineKeyboardButton(text=_("◀ Back"), callback_data=VolDraftCb(
            action=VolDraftAction.BACK).pack()))
    builder.row(*buttons)
    return builder


def skip_button() -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip ▶"), callback_data=VolDraftCb(action=VolDraftAction.SKIP))
    return nav(builder)


def title_screen() -> tuple[str, InlineKeyboardBuilder]:
    return (_("<b>New volunteer task.</b> What is it called? For example: “Tuesday evening "
              "patrol”."), nav(InlineKeyboardBuilder(), back=False))


def other_title_screen() -> tuple[str, InlineKeyboardBuilder]:
    """The optional title in the other language, for the volunteers who read that one."""
    if other_locale(current_locale()) == "en":
        text = _("🌐 Title in English (optional), shown to volunteers who read English. Send "
                 "it, or press Skip.")
    else:
        text = _("🌐 Title in Chinese (optional), shown to volunteers who read Chinese. Send "
                 "it, or press Skip.")
    return text, skip_button()


def description_screen() -> tuple[str, InlineKeyboardBuilder]:
    return (_("Describe it in a few words: what to do, what to bring, whom to ask. Or press "
              "Skip."), skip_button())


def place_screen() -> tuple[str, InlineKeyboardBuilder]:
    return (_("Where? Send the meeting place, for example “North gate of Block 3”."),
            nav(InlineKeyboardBuilder()))


def location_screen() -> tuple[str, InlineKeyboardBuilder]:
    return (_("If you like, send the place on the map (📎 → Location), so we can tell whether "
              "volunteers checked in there. Or press Skip."), skip_button())


def length_screen() -> tuple[str, InlineKeyboardBuilder]:
    return _("How long is the shift?"), nav(numbers(
        LENGTHS, lambda n: VolDraftLengthCb(minutes=n), length_label, 4))


def people_screen() -> tuple[str, InlineKeyboardBuilder]:
    return _("How many people are needed?"), nav(numbers(
        HEADCOUNTS, lambda n: VolDraftPeopleCb(headcount=n), str, 5))


def weeks_screen() -> tuple[str, InlineKeyboardBuilder]:
    return _("Repeat every week for how many weeks (counting the first)?"), nav(numbers(
        WEEKS, lambda n: VolDraftWeeksCb(weeks=n), str, 5))


def numbers(values: Iterable[int], make: Callable[[int], CallbackData],
            label: Callable[[int], str], width: int) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for value in values:
        builder.button(text=label(value), callback_data=make(value))
    builder.adjust(width)
    return builder


# --- Words ------------------------------------------------------------------------------


@router.message(DraftStates.title, F.text, ~F.text.startswith("/"))
async def on_title(message: Message, state: FSMContext, access: Access) -> None:
    """The task's title."""
    draft = await load(state, access)
    draft.title = vol.clean_text(message.text, field="title", limit=TITLE_MAX)
    await save(state, draft, DraftStates.other_title)
    text, builder = other_title_screen()
    await message.answer(text, reply_markup=builder.as_markup())


@router.message(DraftStates.other_title, F.text, ~F.text.startswith("/"))
async def on_other_title(message: Message, state: FSMContext, access: Access) -> None:
    """The task's title in the other language."""
    draft = await load(state, access)
    draft.titles = {other_locale(current_locale()): vol.clean_text(
        message.text, field="title", limit=TITLE_MAX)}
    await save(state, draft, DraftStates.description)
    text, builder = description_screen()
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.other_title, VolDraftCb.filter(F.action == VolDraftAction.SKIP))
async def on_skip_other_title(callback: CallbackQuery, state: FSMContext, access: Access) -> None:
    """No title in the other language."""
    draft = await load(state, access)
    draft.titles = {}
    await save(state, draft, DraftStates.description)
    await callback.answer()
    text, builder = description_screen()
    await send(callback, text, reply_markup=builder.as_markup())


@router.message(DraftStates.description, F.text, ~F.text.startswith("/"))
async def on_description(message: Message, state: FSMContext, access: Access) -> None:
    """The task's description."""
    draft = await load(state, access)
    draft.description = vol.clean_text(message.text, field="description",
                                       limit=DESCRIPTION_MAX, required=False)
    await save(state, draft, DraftStates.skills)
    text, builder = skills_screen(draft)
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.description, VolDraftCb.filter(F.action == VolDraftAction.SKIP))
async def on_skip_description(callback: CallbackQuery, state: FSMContext, access: Access) -> None:
    """No description."""
    draft = await load(state, access)
    draft.description = ""
    await save(state, draft, DraftStates.skills)
    await callback.answer()
    text, builder = skills_screen(draft)
    await send(callback, text, reply_markup=builder.as_markup())


# --- Skills and grid --------------------------------------------------------------------


def skills_screen(draft: TaskDraft) -> tuple[str, InlineKeyboardBuilder]:
    builder = InlineKeyboardBuilder()
    for code, label in SKILL_LABELS.items():
        builder.button(text=ticked(_(label), code in draft.skills),
                       callback_data=VolDraftSkillCb(code=code))
    builder.button(text=_("Next ▶"), callback_data=VolDraftCb(action=VolDraftAction.SKILLS_DONE))
    builder.adjust(1)
    return _("Which skills are wanted? Volunteers with them are called. "
             "Choose none if anyone can help."), nav(builder)


@router.callback_query(DraftStates.skills, VolDraftSkillCb.filter())
async def on_skill(callback: CallbackQuery, callback_data: VolDraftSkillCb, state: FSMContext,
                   access: Access) -> None:
    """Tick or untick a wanted skill."""
    draft = await load(state, access)
    if callback_data.code not in set(Skill):
        raise NotFound(callback_data.code)
    draft.skills = sorted(set(draft.skills) ^ {callback_data.code})
    await save(state, draft)
    await callback.answer()
    text, builder = skills_screen(draft)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.skills,
                       VolDraftCb.filter(F.action == VolDraftAction.SKILLS_DONE))
async def on_skills_done(callback: CallbackQuery, state: FSMContext, access: Access,
                         session: AsyncSession) -> None:
    """The skills are chosen: the grid next, if the community has grids, else the place."""
    draft = await load(state, access)
    await callback.answer()
    screen = await grid_screen(session, draft)
    if screen is None:
        await ask_place(callback, state)
        return
    await state.set_state(DraftStates.grid)
    await send(callback, screen[0], reply_markup=screen[1].as_markup())


async def grid_screen(session: AsyncSession,
                      draft: TaskDraft) -> tuple[str, InlineKeyboardBuilder] | None:
    """Which grid, or None when the community has no grids (the step is left out)."""
    grids = await communities.list_grids(session, community_id=draft.community_id)
    if not grids:
        return None
    builder = InlineKeyboardBuilder()
    for grid in grids:
        builder.button(text=grid.name, callback_data=VolDraftGridCb(grid_id=grid.id or 0))
    builder.button(text=_("Whole community"), callback_data=VolDraftGridCb(grid_id=0))
    builder.adjust(2)
    return _("Which grid is it in?"), nav(builder)


@router.callback_query(DraftStates.grid, VolDraftGridCb.filter())
async def on_grid(callback: CallbackQuery, callback_data: VolDraftGridCb, state: FSMContext,
                  access: Access, session: AsyncSession) -> None:
    """The task's grid, or the whole community."""
    draft = await load(state, access)
    if callback_data.grid_id:
        chosen = await session.get(Grid, callback_data.grid_id)
        if chosen is None or chosen.community_id != draft.community_id:
            raise NotFound(f"grid {callback_data.grid_id}")
    draft.grid_id = callback_data.grid_id or None
    await save(state, draft)
    await callback.answer()
    await ask_place(callback, state)


# --- Place --------------------------------------------------------------------------------


async def ask_place(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(DraftStates.place)
    text, builder = place_screen()
    await send(callback, text, reply_markup=builder.as_markup())


@router.message(DraftStates.place, F.text, ~F.text.startswith("/"))
async def on_place(message: Message, state: FSMContext, access: Access) -> None:
    """The meeting place, in words."""
    draft = await load(state, access)
    draft.place = vol.clean_text(message.text, field="place", limit=PLACE_MAX)
    await save(state, draft, DraftStates.location)
    text, builder = location_screen()
    await message.answer(text, reply_markup=builder.as_markup())


@router.message(DraftStates.location, F.location)
async def on_place_location(message: Message, state: FSMContext, access: Access,
                            session: AsyncSession, clock: Clock) -> None:
    """The meeting place on the map."""
    draft = await load(state, access)
    assert message.location is not None
    draft.latitude, draft.longitude = message.location.latitude, message.location.longitude
    await save(state, draft, DraftStates.day)
    text, builder = await day_screen(session, draft, clock)
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.location, VolDraftCb.filter(F.action == VolDraftAction.SKIP))
async def on_skip_location(callback: CallbackQuery, state: FSMContext, access: Access,
                           session: AsyncSession, clock: Clock) -> None:
    """No place on the map."""
    draft = await load(state, access)
    await save(state, draft, DraftStates.day)
    await callback.answer()
    text, builder = await day_screen(session, draft, clock)
    await send(callback, text, reply_markup=builder.as_markup())


# --- A shift: day, time, length, people -----------------------------------------------------


async def shift_days(session: AsyncSession, draft: TaskDraft,
                     clock: Clock) -> tuple[DayRange, date]:
    """The days a shift may be on: today to as far as the service allows."""
    today = clock.now().astimezone(await zone_of(session, draft.community_id)).date()
    return DayRange.ahead(today, days=vol.MAX_DAYS_AHEAD), today


async def day_screen(session: AsyncSession, draft: TaskDraft, clock: Clock,
                     page: int = 0) -> tuple[str, InlineKeyboardBuilder]:
    days, today = await shift_days(session, draft, clock)
    builder = day_keyboard(days, today=today, page=page,
                           zone=await zone_of(session, draft.community_id), now=clock.now(),
                           last=LAST_TIME)
    if draft.task_id is not None:
        return _("A new shift for <b>{title}</b>: which day?").format(
            title=html.escape(draft.title)), nav(builder)
    return _("Shift {n}: which day?").format(n=len(draft.shifts) + 1), nav(builder)


@router.callback_query(DraftStates.day, DayPageCb.filter())
async def on_day_page(callback: CallbackQuery, callback_data: DayPageCb, state: FSMContext,
                      access: Access, session: AsyncSession, clock: Clock) -> None:
    """Another page of days."""
    draft = await load(state, access)
    await callback.answer()
    text, builder = await day_screen(session, draft, clock, page=callback_data.page)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.day, DayCb.filter())
async def on_day(callback: CallbackQuery, callback_data: DayCb, state: FSMContext,
                 access: Access, session: AsyncSession, clock: Clock) -> None:
    """The shift's day, as the button showed it; the times of that day still ahead next."""
    draft = await load(state, access)
    days, _today = await shift_days(session, draft, clock)
    day = days.take(callback_data.day)
    zone = await zone_of(session, draft.community_id)
    if day is None and callback_data.day > days.last.toordinal():
        raise InvalidInput("shift", "too_far", limit=vol.MAX_DAYS_AHEAD)
    builder = time_screen(day, zone=zone, now=clock.now()) if day is not None else None
    if builder is None:  # a page drawn yesterday, a forged day, or today with no time left
        text, picker = await day_screen(session, draft, clock)
        await show(callback, text, reply_markup=picker.as_markup())
        raise InvalidInput("shift", "past")
    draft.day, draft.starts_at, draft.minutes = day, None, None
    await save(state, draft, DraftStates.time)
    await callback.answer()
    await send(callback, _("What time does it start?"), reply_markup=builder.as_markup())


def time_screen(day: date, *, zone: ZoneInfo, now: datetime) -> InlineKeyboardBuilder | None:
    """The times of `day` still ahead and ◀ Back to the days; None when none is left."""
    builder = time_keyboard(day, zone=zone, now=now, first=FIRST_TIME, last=LAST_TIME,
                            step=TIME_STEP)
    if not list(builder.buttons):
        return None
    builder.row(InlineKeyboardButton(text=_("◀ Back"), callback_data=VolDraftCb(
        action=VolDraftAction.DAYS).pack()),
                InlineKeyboardButton(text=_("✖ Cancel"), callback_data=VolDraftCb(
                    action=VolDraftAction.CANCEL).pack()))
    return builder


@router.callback_query(DraftStates.time, VolDraftCb.filter(F.action == VolDraftAction.DAYS))
async def on_back_to_days(callback: CallbackQuery, state: FSMContext, access: Access,
                          session: AsyncSession, clock: Clock) -> None:
    """◀ Back from the times to the days."""
    draft = await load(state, access)
    draft.day = None
    await save(state, draft, DraftStates.day)
    await callback.answer()
    text, builder = await day_screen(session, draft, clock)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.time, TimeCb.filter())
async def on_time(callback: CallbackQuery, callback_data: TimeCb, state: FSMContext,
                  access: Access, session: AsyncSession, clock: Clock) -> None:
    """The shift's start, on the day chosen; a time already past is refused and the times
    are drawn again as they are now (or the days, when none of that day is left)."""
    draft = await load(state, access)
    if draft.day is None:
        raise NotFound("day")
    zone = await zone_of(session, draft.community_id)
    starts_at = take_time(callback_data.minutes, day=draft.day, zone=zone, now=clock.now(),
                          first=FIRST_TIME, last=LAST_TIME, step=TIME_STEP)
    if starts_at is None:
        builder = time_screen(draft.day, zone=zone, now=clock.now())
        if builder is not None:
            await show(callback, _("What time does it start?"), reply_markup=builder.as_markup())
        else:
            draft.day = None
            await save(state, draft, DraftStates.day)
            text, days = await day_screen(session, draft, clock)
            await show(callback, text, reply_markup=days.as_markup())
        raise InvalidInput("shift", "past")
    draft.starts_at = starts_at
    await save(state, draft, DraftStates.length)
    await callback.answer()
    text, builder = length_screen()
    await send(callback, text, reply_markup=builder.as_markup())


def length_label(minutes: int) -> str:
    return _("{hours} h").format(hours=f"{minutes / 60:g}")


@router.callback_query(DraftStates.length, VolDraftLengthCb.filter())
async def on_length(callback: CallbackQuery, callback_data: VolDraftLengthCb, state: FSMContext,
                    access: Access, clock: Clock) -> None:
    """How long the shift lasts (a forged length is refused here, before more is asked)."""
    draft = await load(state, access)
    if draft.starts_at is None:
        raise NotFound("time")
    vol.check_shift(vol.ShiftSpec(draft.starts_at, draft.starts_at + timedelta(
        minutes=callback_data.minutes), 1), now=clock.now())
    draft.minutes = callback_data.minutes
    await save(state, draft, DraftStates.people)
    await callback.answer()
    text, builder = people_screen()
    await send(callback, text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.people, VolDraftPeopleCb.filter())
async def on_people(callback: CallbackQuery, callback_data: VolDraftPeopleCb, state: FSMContext,
                    access: Access, session: AsyncSession, clock: Clock,
                    outbox_notify: Notify | None = None) -> None:
    """How many people the shift needs; the shift joins the draft (or, added to a published
    task, is saved and the volunteers it suits are called)."""
    draft = await load(state, access)
    if draft.starts_at is None or draft.minutes is None:
        raise NotFound("length")
    shift = DraftShift(starts_at=draft.starts_at,
                       ends_at=draft.starts_at + timedelta(minutes=draft.minutes),
                       headcount=callback_data.headcount)
    vol.check_shift(shift.spec(), now=clock.now())
    if draft.task_id is not None:
        await add_to_task(callback, state, access=access, session=session, clock=clock,
                          draft=draft, shift=shift, notify=outbox_notify)
        return
    draft.shifts.append(shift)
    draft.day, draft.starts_at, draft.minutes = None, None, None
    await save(state, draft, DraftStates.summary)
    await callback.answer()
    text, builder = await summary(session, draft)
    await send(callback, text, reply_markup=builder.as_markup())


# --- The summary --------------------------------------------------------------------------


async def summary(session: AsyncSession, draft: TaskDraft) -> tuple[str, InlineKeyboardBuilder]:
    tz = await zone_of(session, draft.community_id)
    grid = await session.get(Grid, draft.grid_id) if draft.grid_id else None
    lines = [_("<b>Check the task, then publish it.</b>"), f"<b>{html.escape(draft.title)}</b>"]
    lines += [f"🌐 {html.escape(other)}" for other in draft.titles.values()]
    if draft.description:
        lines.append(html.escape(draft.description))
    lines += [
        _("Skills: {skills}").format(skills=skills_text(draft.skills)),
        _("Grid: {grid}").format(grid=html.escape(grid.name) if grid else _("whole community")),
        f"📍 {html.escape(draft.place)}" + (" 🗺" if draft.latitude is not None else ""),
        _("Shifts:"),
    ]
    for n, shift in enumerate(draft.shifts, start=1):
        lines.append(ngettext("{n}. {when}, {people} person", "{n}. {when}, {people} people",
                              shift.headcount).format(
            n=n, when=say_span(shift.starts_at, shift.ends_at, tz),
            people=shift.headcount))
    if draft.weeks > 1:
        lines.append(ngettext("🔁 Every week, {n} week", "🔁 Every week, {n} weeks",
                              draft.weeks).format(n=draft.weeks))
    builder = InlineKeyboardBuilder()
    for label, action in ((_("✅ Publish"), VolDraftAction.PUBLISH),
                          (_("➕ Add another shift"), VolDraftAction.ADD),
                          (_("🔁 Repeat weekly"), VolDraftAction.REPEAT),
                          (_("🗑 Discard"), VolDraftAction.DISCARD)):
        builder.button(text=label, callback_data=VolDraftCb(action=action))
    builder.adjust(1)
    return "\n".join(lines), builder


@router.callback_query(DraftStates.summary, VolDraftCb.filter(F.action == VolDraftAction.ADD))
async def on_add_shift(callback: CallbackQuery, state: FSMContext, access: Access,
                       session: AsyncSession, clock: Clock) -> None:
    """Another shift for the same task."""
    draft = await load(state, access)
    await state.set_state(DraftStates.day)
    await callback.answer()
    text, builder = await day_screen(session, draft, clock)
    await send(callback, text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.summary, VolDraftCb.filter(F.action == VolDraftAction.REPEAT))
async def on_repeat(callback: CallbackQuery, state: FSMContext, access: Access) -> None:
    """Ask for how many weeks the shifts repeat."""
    await load(state, access)
    await state.set_state(DraftStates.weeks)
    await callback.answer()
    text, builder = weeks_screen()
    await send(callback, text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.weeks, VolDraftWeeksCb.filter())
async def on_weeks(callback: CallbackQuery, callback_data: VolDraftWeeksCb, state: FSMContext,
                   access: Access, session: AsyncSession) -> None:
    """The number of weeks; back to the summary."""
    draft = await load(state, access)
    if not 1 <= callback_data.weeks <= vol.MAX_WEEKS:
        raise InvalidInput("weeks", "range")
    draft.weeks = callback_data.weeks
    await save(state, draft, DraftStates.summary)
    await callback.answer()
    text, builder = await summary(session, draft)
    await send(callback, text, reply_markup=builder.as_markup())


@router.callback_query(DraftStates.summary, VolDraftCb.filter(F.action == VolDraftAction.PUBLISH))
async def on_publish(callback: CallbackQuery, state: FSMContext, access: Access,
                     session: AsyncSession, clock: Clock,
                     outbox_notify: Notify | None = None) -> None:
    """Publish: the service checks everything again, saves, and pings matching volunteers."""
    draft = await load(state, access)
    task = await vol.create_task(
        session, access=access, clock=clock, buttons=OUTBOX_KEYBOARDS.volunteers,
        community_id=draft.community_id, title=draft.title, titles=draft.titles,
        description=draft.description,
        skills=draft.skills, grid_id=draft.grid_id, place=draft.place,
        latitude=draft.latitude, longitude=draft.longitude,
        shifts=[s.spec() for s in draft.shifts], weeks=draft.weeks, draft_key=draft.key,
        notify=outbox_notify)
    await state.clear()
    await callback.answer(_("Published ✅"))
    await show(callback, _("✅ Published: <b>{title}</b>. Volunteers whose skills and free times "
                           "match are being told.").format(title=html.escape(task.title)))


@router.callback_query(DraftStates.summary, VolDraftCb.filter(F.action == VolDraftAction.DISCARD))
async def on_discard(callback: CallbackQuery, state: FSMContext) -> None:
    """Drop the draft; nothing was written."""
    await state.clear()
    await callback.answer()
    await show(callback, _("The draft was discarded."))


# --- ◀ Back and ✖ Cancel, on every step ------------------------------------------------------


async def go_back(callback: CallbackQuery, state: FSMContext, step: State,
                  screen: tuple[str, InlineKeyboardBuilder]) -> None:
    """Show the step before in place of the pressed one; what the draft holds stays."""
    await state.set_state(step)
    await callback.answer()
    await show(callback, screen[0], reply_markup=screen[1].as_markup())


@router.callback_query(DraftStates.other_title,
                       VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_to_title(callback: CallbackQuery, state: FSMContext, access: Access) -> None:
    """◀ Back from the other-language title to the title (typed again)."""
    await load(state, access)
    await go_back(callback, state, DraftStates.title, title_screen())


@router.callback_query(DraftStates.description,
                       VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_to_other_title(callback: CallbackQuery, state: FSMContext,
                                 access: Access) -> None:
    """◀ Back from the description to the other-language title."""
    await load(state, access)
    await go_back(callback, state, DraftStates.other_title, other_title_screen())


@router.callback_query(DraftStates.skills, VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_to_description(callback: CallbackQuery, state: FSMContext,
                                 access: Access) -> None:
    """◀ Back from the skills to the description."""
    await load(state, access)
    await go_back(callback, state, DraftStates.description, description_screen())


@router.callback_query(DraftStates.grid, VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_to_skills(callback: CallbackQuery, state: FSMContext,
                            access: Access) -> None:
    """◀ Back from the grid to the skills (ticks kept)."""
    draft = await load(state, access)
    await go_back(callback, state, DraftStates.skills, skills_screen(draft))


@router.callback_query(DraftStates.place, VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_from_place(callback: CallbackQuery, state: FSMContext, access: Access,
                             session: AsyncSession) -> None:
    """◀ Back from the place to the grid, or to the skills when there are no grids."""
    draft = await load(state, access)
    screen = await grid_screen(session, draft)
    if screen is None:
        await go_back(callback, state, DraftStates.skills, skills_screen(draft))
    else:
        await go_back(callback, state, DraftStates.grid, screen)


@router.callback_query(DraftStates.location,
                       VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_to_place(callback: CallbackQuery, state: FSMContext, access: Access) -> None:
    """◀ Back from the map to the place (typed again)."""
    await load(state, access)
    await go_back(callback, state, DraftStates.place, place_screen())


@router.callback_query(DraftStates.day, VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_from_day(callback: CallbackQuery, state: FSMContext, access: Access,
                           session: AsyncSession) -> None:
    """◀ Back from a shift's day: to the summary when shifts are in the draft already (this
    one is not added), else to the map."""
    draft = await load(state, access)
    draft.day, draft.starts_at, draft.minutes = None, None, None
    await save(state, draft)
    if draft.task_id is not None:  # adding a shift to a published task: nothing added
        await state.clear()
        await callback.answer()
        await show(callback, _("No shift was added."),
                   reply_markup=back_to_task(draft.community_id, draft.task_id).as_markup())
        return
    if draft.shifts:
        await go_back(callback, state, DraftStates.summary, await summary(session, draft))
    else:
        await go_back(callback, state, DraftStates.location, location_screen())


@router.callback_query(DraftStates.length, VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_to_time(callback: CallbackQuery, state: FSMContext, access: Access,
                          session: AsyncSession, clock: Clock) -> None:
    """◀ Back from the length to the times of the day chosen (or the days, if none is left)."""
    draft = await load(state, access)
    builder = time_screen(draft.day, zone=await zone_of(session, draft.community_id),
                          now=clock.now()) if draft.day is not None else None
    if builder is None:
        draft.day = None
        await save(state, draft)
        await go_back(callback, state, DraftStates.day, await day_screen(session, draft, clock))
    else:
        await go_back(callback, state, DraftStates.time, (_("What time does it start?"), builder))


@router.callback_query(DraftStates.people, VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_to_length(callback: CallbackQuery, state: FSMContext, access: Access) -> None:
    """◀ Back from the headcount to the length."""
    await load(state, access)
    await go_back(callback, state, DraftStates.length, length_screen())


@router.callback_query(DraftStates.weeks, VolDraftCb.filter(F.action == VolDraftAction.BACK))
async def on_back_from_weeks(callback: CallbackQuery, state: FSMContext, access: Access,
                             session: AsyncSession) -> None:
    """◀ Back from the weeks to the summary, unchanged."""
    draft = await load(state, access)
    await go_back(callback, state, DraftStates.summary, await summary(session, draft))


@router.callback_query(StateFilter(DraftStates),
                       VolDraftCb.filter(F.action == VolDraftAction.CANCEL))
async def on_cancel(callback: CallbackQuery, state: FSMContext, access: Access) -> None:
    """✖ Cancel on any step: the draft is dropped (nothing was written); back to the
    community's volunteer work."""
    draft = await load(state, access)
    await state.clear()
    await callback.answer()
    builder = InlineKeyboardBuilder()
    builder.button(text=_("◀ Volunteer work"), callback_data=VolStaffCb(
        action=VolStaffAction.HOME, community_id=draft.community_id))
    await show(callback, _("✖ Cancelled. The draft was dropped; nothing was published."),
               reply_markup=builder.as_markup())


# --- ➕ A shift added to a published task (the same day, time, length and people steps) -----


def back_to_task(community_id: int, task_id: int) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("◀ Back to the task"),
                   callback_data=VolTaskCb(community_id=community_id, task_id=task_id))
    return builder


@router.callback_query(VolAddShiftCb.filter())
async def on_add_to_task(callback: CallbackQuery, callback_data: VolAddShiftCb, access: Access,
                         session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """➕ Add a shift to a published task: its day first."""
    view = await vol.task_view(session, access=access, task_id=callback_data.task_id,
                               community_id=callback_data.community_id)
    if not view.can_add_shift:
        raise vol.ShiftUnavailable("cancelled")
    draft = TaskDraft(community_id=callback_data.community_id, task_id=callback_data.task_id,
                      title=view.task.title)
    await save(state, draft, DraftStates.day)
    await callback.answer()
    text, builder = await day_screen(session, draft, clock)
    await send(callback, text, reply_markup=builder.as_markup())


async def add_to_task(callback: CallbackQuery, state: FSMContext, *, access: Access,
                      session: AsyncSession, clock: Clock, draft: TaskDraft, shift: DraftShift,
                      notify: Notify | None) -> None:
    assert draft.task_id is not None
    await vol.add_shift(session, access=access, clock=clock, buttons=OUTBOX_KEYBOARDS.volunteers,
                        task_id=draft.task_id, spec=shift.spec(), notify=notify)
    await state.clear()
    await callback.answer(_("Added ✅"))
    tz = await zone_of(session, draft.community_id)
    await show(callback, ngettext(
        "✅ Shift added to <b>{title}</b>: {when}, {people} person. Volunteers whose skills and "
        "free times match are being told.",
        "✅ Shift added to <b>{title}</b>: {when}, {people} people. Volunteers whose skills and "
        "free times match are being told.", shift.headcount).format(
        title=html.escape(draft.title), when=say_span(shift.starts_at, shift.ends_at, tz),
        people=shift.headcount),
        reply_markup=back_to_task(draft.community_id, draft.task_id).as_markup())
