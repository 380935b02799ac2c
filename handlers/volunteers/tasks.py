"""Staff compose a volunteer task: words typed, everything else (dates, times, people) by buttons.

```mermaid
stateDiagram-v2
    [*] --> Title: ➕ New task (🙋 Volunteer → 🧑‍💼 Organise)
    Title --> Description: title sent
    Description --> Skills: text sent / Skip
    Skills --> Skills: tick a skill
    Skills --> Grid: Next (the community has grids)
    Skills --> Place: Next (no grids)
    Grid --> Place: grid / whole community
    Place --> Map: place sent
    Map --> Day: location sent / Skip
    Day --> Hour --> Minute --> Length --> Headcount
    Headcount --> Summary: shift checked
    Summary --> Day: ➕ another shift
    Summary --> Weeks: 🔁 repeat weekly
    Weeks --> Summary: number of weeks
    Summary --> [*]: ✅ Publish (volunteers pinged) / 🗑 Discard
```

The draft lives in the FSM data until it is published; only publishing writes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import VolDraftAction, VolDraftCb
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import not_allowed, out_of_date
from handlers.volunteers.home import community_zone
from handlers.volunteers.texts import SKILL_LABELS, skills_text, ticked
from models.communities import Grid
from models.volunteers import DESCRIPTION_MAX, PLACE_MAX, TITLE_MAX, Skill
from services import communities
from services import volunteers as vol
from services.access import Access
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound

router = Router(name=__name__)
Notify = Callable[[], None]

DAYS_AHEAD = 14
HOURS = range(6, 23)
MINUTES = (0, 15, 30, 45)
LENGTHS = (30, 60, 90, 120, 180, 240, 360, 480)
HEADCOUNTS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20)
WEEKS = (1, 2, 4, 8, 12)


class DraftStates(StatesGroup):
    title = State()
    description = State()
    place = State()
    location = State()


def weekday(moment: datetime) -> str:
    names = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
    return names[moment.weekday()]


def draft_error(error: DomainError) -> str:
    if isinstance(error, InvalidInput):
        return {
            ("shift", "ends_before_start"): _("A shift must end after it starts."),
            ("shift", "past"): _("That time has already passed. Please choose a later one."),
            ("shift", "too_long"): _("A shift can be at most 24 hours."),
            ("headcount", "zero"): _("A shift needs at least 1 person."),
            ("headcount", "too_many"): _("That is too many people for one shift."),
            ("title", "too_long"): _("The title is too long (at most {n} characters).").format(
                n=TITLE_MAX),
            ("place", "too_long"): _("The place is too long (at most {n} characters).").format(
                n=PLACE_MAX),
            ("shifts", "too_many"): _("That is too many shifts for one task."),
            ("shifts", "empty"): _("Please add at least one shift."),
        }.get((error.field, error.reason), _("Please check what you entered."))
    if isinstance(error, NotAllowed):
        return not_allowed()
    return out_of_date()


async def start_draft(message: Message, *, state: FSMContext, community_id: int) -> None:
    """Begin a new task for `community_id` (the caller checked the right to)."""
    await state.set_state(DraftStates.title)
    await state.set_data({"vd": {"cid": community_id, "skills": [], "shifts": [], "weeks": 1,
                                 "cur": {}}})
    await message.answer(_("<b>New volunteer task.</b> What is it called? For example: "
                           "“Tuesday evening patrol”. (Send /cancel to stop.)"))


async def get_draft(state: FSMContext) -> dict[str, Any] | None:
    draft = (await state.get_data()).get("vd")
    return draft if isinstance(draft, dict) else None


async def put_draft(state: FSMContext, draft: dict[str, Any]) -> None:
    await state.update_data(vd=draft)


def skip_button() -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip ▶"), callback_data=VolDraftCb(action=VolDraftAction.SKIP))
    return builder


@router.message(DraftStates.title, F.text, ~F.text.startswith("/"))
async def on_title(message: Message, state: FSMContext) -> None:
    """The task's title."""
    draft = await get_draft(state)
    title = " ".join((message.text or "").split())
    if draft is None:
        await state.clear()
        return
    if len(title) > TITLE_MAX:
        await message.answer(draft_error(InvalidInput("title", "too_long")))
        return
    draft["title"] = title
    await put_draft(state, draft)
    await state.set_state(DraftStates.description)
    await message.answer(_("Describe it in a few words: what to do, what to bring, whom to "
                           "ask. Or press Skip."), reply_markup=skip_button().as_markup())


@router.message(DraftStates.description, F.text, ~F.text.startswith("/"))
async def on_description(message: Message, state: FSMContext) -> None:
    """The task's description."""
    draft = await get_draft(state)
    if draft is None:
        await state.clear()
        return
    draft["description"] = (message.text or "").strip()[:DESCRIPTION_MAX]
    await put_draft(state, draft)
    await state.set_state(None)
    text, builder = skills_screen(draft)
    await message.answer(text, reply_markup=builder.as_markup())


def skills_screen(draft: dict[str, Any]) -> tuple[str, InlineKeyboardBuilder]:
    builder = InlineKeyboardBuilder()
    for code, label in SKILL_LABELS.items():
        builder.button(text=ticked(_(label), code in draft["skills"]),
                       callback_data=VolDraftCb(action=VolDraftAction.SKILL, code=code))
    builder.button(text=_("Next ▶"), callback_data=VolDraftCb(action=VolDraftAction.SKILLS_DONE))
    builder.adjust(1)
    return _("Which skills are wanted? Volunteers with them are called. "
             "Choose none if anyone can help."), builder


async def ask_place(target: Message, state: FSMContext) -> None:
    await state.set_state(DraftStates.place)
    await target.answer(_("Where? Send the meeting place, for example “North gate of "
                          "Block 3”."))


@router.message(DraftStates.place, F.text, ~F.text.startswith("/"))
async def on_place(message: Message, state: FSMContext) -> None:
    """The meeting place, in words."""
    draft = await get_draft(state)
    if draft is None:
        await state.clear()
        return
    place = " ".join((message.text or "").split())
    if len(place) > PLACE_MAX:
        await message.answer(draft_error(InvalidInput("place", "too_long")))
        return
    draft["place"] = place
    await put_draft(state, draft)
    await state.set_state(DraftStates.location)
    await message.answer(_("If you like, send the place on the map (📎 → Location), so we can "
                           "tell whether volunteers checked in there. Or press Skip."),
                         reply_markup=skip_button().as_markup())


@router.message(DraftStates.location, F.location)
async def on_place_location(
    message: Message, state: FSMContext, session: AsyncSession, clock: Clock
) -> None:
    """The meeting place on the map."""
    draft = await get_draft(state)
    if draft is None or message.location is None:
        await state.clear()
        return
    draft["lat"], draft["lon"] = message.location.latitude, message.location.longitude
    await put_draft(state, draft)
    await state.set_state(None)
    text, builder = await day_screen(session, draft, clock)
    await message.answer(text, reply_markup=builder.as_markup())


async def day_screen(
    session: AsyncSession, draft: dict[str, Any], clock: Clock
) -> tuple[str, InlineKeyboardBuilder]:
    tz = await community_zone(session, draft["cid"])
    today = clock.now().astimezone(tz)
    builder = InlineKeyboardBuilder()
    for n in range(DAYS_AHEAD):
        day = today + timedelta(days=n)
        label = _("Today") if n == 0 else _("Tomorrow") if n == 1 else weekday(day)
        builder.button(text=f"{label} {day:%m-%d}",
                       callback_data=VolDraftCb(action=VolDraftAction.DAY, n=n))
    builder.adjust(2)
    return _("Shift {n}: which day?").format(n=len(draft["shifts"]) + 1), builder


def numbers(action: VolDraftAction, values: Any, label: Callable[[int], str],
            width: int) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for value in values:
        builder.button(text=label(value), callback_data=VolDraftCb(action=action, n=value))
    builder.adjust(width)
    return builder


def length_label(minutes: int) -> str:
    return _("{hours} h").format(hours=f"{minutes / 60:g}")


def shift_start(draft: dict[str, Any], clock: Clock, tz: Any) -> datetime:
    cur = draft["cur"]
    day = (clock.now().astimezone(tz) + timedelta(days=int(cur["day"]))).date()
    return datetime(day.year, day.month, day.day, int(cur["hour"]), int(cur["minute"]),
                    tzinfo=tz)


def specs(draft: dict[str, Any]) -> list[vol.ShiftSpec]:
    return [vol.ShiftSpec(starts_at=datetime.fromisoformat(s), ends_at=datetime.fromisoformat(e),
                          headcount=int(n)) for s, e, n in draft["shifts"]]


async def summary(
    session: AsyncSession, draft: dict[str, Any]
) -> tuple[str, InlineKeyboardBuilder]:
    tz = await community_zone(session, draft["cid"])
    grid = await session.get(Grid, draft["grid"]) if draft.get("grid") else None
    lines = [_("<b>Check the task, then publish it.</b>"),
             f"<b>{html.escape(draft.get('title', ''))}</b>"]
    if draft.get("description"):
        lines.append(html.escape(draft["description"]))
    lines += [
        _("Skills: {skills}").format(skills=skills_text(draft["skills"])),
        _("Grid: {grid}").format(grid=html.escape(grid.name) if grid else _("whole community")),
        f"📍 {html.escape(draft.get('place', ''))}" + (" 🗺" if draft.get("lat") else ""),
        _("Shifts:"),
    ]
    for n, spec in enumerate(specs(draft), start=1):
        lines.append(_("{n}. {when}, {people} people").format(
            n=n, when=vol.format_span(spec.starts_at, spec.ends_at, tz), people=spec.headcount))
    if draft["weeks"] > 1:
        lines.append(_("🔁 Every week, {n} weeks").format(n=draft["weeks"]))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Publish"), callback_data=VolDraftCb(action=VolDraftAction.PUBLISH))
    builder.button(text=_("➕ Add another shift"),
                   callback_data=VolDraftCb(action=VolDraftAction.ADD))
    builder.button(text=_("🔁 Repeat weekly"),
                   callback_data=VolDraftCb(action=VolDraftAction.WEEKS))
    builder.button(text=_("🗑 Discard"), callback_data=VolDraftCb(action=VolDraftAction.DISCARD))
    builder.adjust(1)
    return "\n".join(lines), builder


@router.callback_query(VolDraftCb.filter())
async def on_draft_button(
    callback: CallbackQuery, callback_data: VolDraftCb, access: Access, session: AsyncSession,
    clock: Clock, state: FSMContext, outbox_notify: Notify | None = None,
) -> None:
    """Every button of the task draft; publishing re-checks everything in the service."""
    draft = await get_draft(state)
    message = callback.message
    if draft is None or not isinstance(message, Message):
        await callback.answer(_("This draft is no longer open. Start again from 🙋 Volunteer."),
                              show_alert=True)
        return
    if not access.can_manage(draft["cid"]):
        await callback.answer(draft_error(NotAllowed("draft")), show_alert=True)
        return
    action, n = callback_data.action, callback_data.n
    tz = await community_zone(session, draft["cid"])
    text: str | None = None
    builder: InlineKeyboardBuilder | None = None
    try:
        match action:
            case VolDraftAction.SKIP:
                current = await state.get_state()
                if current == DraftStates.description.state:
                    draft["description"] = ""
                    await state.set_state(None)
                    text, builder = skills_screen(draft)
                elif current == DraftStates.location.state:
                    await state.set_state(None)
                    text, builder = await day_screen(session, draft, clock)
                else:
                    raise NotFound("skip")
            case VolDraftAction.SKILL:
                if callback_data.code not in set(Skill):
                    raise NotFound(callback_data.code)
                draft["skills"] = sorted(set(draft["skills"]) ^ {callback_data.code})
                text, builder = skills_screen(draft)
                await put_draft(state, draft)
                await message.edit_text(text, reply_markup=builder.as_markup())
                await callback.answer()
                return
            case VolDraftAction.SKILLS_DONE:
                grids = await communities.list_grids(session, community_id=draft["cid"])
                if grids:
                    builder = InlineKeyboardBuilder()
                    for grid in grids:
                        builder.button(text=grid.name, callback_data=VolDraftCb(
                            action=VolDraftAction.GRID, n=grid.id or 0))
                    builder.button(text=_("Whole community"),
                                   callback_data=VolDraftCb(action=VolDraftAction.GRID, n=0))
                    builder.adjust(2)
                    text = _("Which grid is it in?")
                else:
                    await ask_place(message, state)
            case VolDraftAction.GRID:
                if n:
                    chosen = await session.get(Grid, n)
                    if chosen is None or chosen.community_id != draft["cid"]:
                        raise NotFound(f"grid {n}")
                draft["grid"] = n or None
                await ask_place(message, state)
            case VolDraftAction.DAY | VolDraftAction.ADD:
                if action == VolDraftAction.DAY:
                    if not 0 <= n < DAYS_AHEAD:
                        raise NotFound(f"day {n}")
                    draft["cur"] = {"day": n}
                    text = _("What time does it start?")
                    builder = numbers(VolDraftAction.HOUR, HOURS, lambda h: f"{h:02d}:..", 4)
                else:
                    text, builder = await day_screen(session, draft, clock)
            case VolDraftAction.HOUR:
                if "day" not in draft["cur"] or not 0 <= n < 24:
                    raise NotFound(f"hour {n}")
                draft["cur"]["hour"] = n
                text = _("Starting at {hour}:.. which minute?").format(hour=f"{n:02d}")
                hour = n
                builder = numbers(VolDraftAction.MINUTE, MINUTES,
                                  lambda m: f"{hour:02d}:{m:02d}", 4)
            case VolDraftAction.MINUTE:
                if "hour" not in draft["cur"] or not 0 <= n < 60:
                    raise NotFound(f"minute {n}")
                draft["cur"]["minute"] = n
                text = _("How long is the shift?")
                builder = numbers(VolDraftAction.LENGTH, LENGTHS, length_label, 4)
            case VolDraftAction.LENGTH:
                if "minute" not in draft["cur"]:
                    raise NotFound("length")
                start = shift_start(draft, clock, tz)
                # A forged length of 0 or less is caught here, before any more is asked.
                vol.check_shift(vol.ShiftSpec(start, start + timedelta(minutes=n), 1),
                                now=clock.now())
                draft["cur"]["length"] = n
                text = _("How many people are needed?")
                builder = numbers(VolDraftAction.HEADCOUNT, HEADCOUNTS, str, 5)
            case VolDraftAction.HEADCOUNT:
                if "length" not in draft["cur"]:
                    raise NotFound("headcount")
                start = shift_start(draft, clock, tz)
                spec = vol.ShiftSpec(start, start + timedelta(minutes=int(draft["cur"]["length"])),
                                     n)
                vol.check_shift(spec, now=clock.now())
                draft["shifts"].append([spec.starts_at.isoformat(), spec.ends_at.isoformat(), n])
                draft["cur"] = {}
                text, builder = await summary(session, draft)
            case VolDraftAction.WEEKS:
                if n == 0:
                    text = _("Repeat every week for how many weeks (counting the first)?")
                    builder = numbers(VolDraftAction.WEEKS, WEEKS, str, 5)
                else:
                    if not 1 <= n <= vol.MAX_WEEKS:
                        raise InvalidInput("weeks", "range")
                    draft["weeks"] = n
                    text, builder = await summary(session, draft)
            case VolDraftAction.PUBLISH:
                task = await vol.create_task(
                    session, access=access, clock=clock, buttons=OUTBOX_KEYBOARDS.volunteers,
                    community_id=draft["cid"], title=draft.get("title", ""),
                    description=draft.get("description", ""), skills=draft["skills"],
                    grid_id=draft.get("grid"), place=draft.get("place", ""),
                    latitude=draft.get("lat"), longitude=draft.get("lon"),
                    shifts=specs(draft), weeks=draft["weeks"], notify=outbox_notify)
                await state.clear()
                await callback.answer(_("Published ✅"))
                await message.edit_text(_("✅ Published: <b>{title}</b>. Volunteers whose skills "
                                          "and free times match are being told.").format(
                    title=html.escape(task.title)))
                return
            case VolDraftAction.DISCARD:
                await state.clear()
                await callback.answer()
                await message.edit_text(_("The draft was discarded."))
                return
    except DomainError as error:
        await callback.answer(draft_error(error), show_alert=True)
        return
    await put_draft(state, draft)
    await callback.answer()
    if text is not None:
        await message.answer(text, reply_markup=builder.as_markup() if builder else None)
