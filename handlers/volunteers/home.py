"""🙋 Volunteer: the volunteer's side: profile, claiming shifts, reminders, check-in/out, hours.

```mermaid
stateDiagram-v2
    [*] --> Home: 🙋 Volunteer
    Home --> Skills: 🙋 become a volunteer / ✏️ change
    Skills --> Skills: tick a skill
    Skills --> Other: ✍️ something else
    Other --> Skills: text sent / ◀ Back
    Times --> Skills: ◀ Back
    Grid --> Times: ◀ Back
    Skills --> Home: ✖ Cancel (on every step: nothing changed)
    Skills --> Times: Next (a skill ticked or typed)
    Times --> Times: tick a time
    Times --> Grid: Next (the community has grids)
    Times --> Home: Next (no grids: saved)
    Grid --> Home: grid chosen (saved)
    Home --> Home: ⏸ pause / ▶️ resume
    Home --> Staff: 🧑‍💼 organise (serving several: the community picker first, see staff)
    Home --> MyShift: 📅 one of my shifts
    Home --> History: 🗂 my shifts so far
    History --> History: ◀ newer / older ▶
    History --> Home: ◀ Back
    Home --> Open: 🔎 shifts needing people
    Open --> MyShift: ✋ claim
    MyShift --> Location: ✅ check in (from 1 h before; the pressed message offers 🏁)
    Location --> [*]: 📍 location shared / No thanks
    MyShift --> Ask: 🙅 can't come (on a reminder too: the pressed message asks)
    Ask --> MyShift: No, keep my place (the message as it was)
    Ask --> [*]: Yes, give my place back (12 h or more before)
    Ask --> [*]: less than 12 h before: a reason pressed or typed is the yes
    MyShift --> [*]: 🏁 check out
```

A reminder or a card whose question is answered (👍 coming, 🙅 can't come, ✅ checked
in) shows the answer and keeps only the buttons that still mean something; a call
whose ✋ is pressed is redrawn as it stands (✅ mine, full shifts gone).

The profile being chosen is a `ProfileDraft` in the FSM data; only the last step
saves. Pings and reminders arrive from the outbox with the same buttons
(VolTakeCb, VolPlaceCb). What a place offers (check in, can't come, check out) is decided
by `services.volunteers.claim_view`. Staff tools are in `staff` and `tasks`,
reached from this screen.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.volunteers import (
    VolGridCb,
    VolHistoryCb,
    VolMenuAction,
    VolMenuCb,
    VolMyShiftCb,
    VolPlaceAction,
    VolPlaceCb,
    VolPlaceVia,
    VolProfileAction,
    VolProfileCb,
    VolReasonCb,
    VolSkillCb,
    VolSlotCb,
    VolStaffAction,
    VolStaffCb,
    VolTakeCb,
)
from bot.filters import MenuButton
from bot.i18n import N_, translations_of
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.confirm import ask_once
from bot.keyboards.menu import main_menu
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import reply_for
from bot.screens import send, set_buttons, show
from bot.titles import on_button, shown, shown_of
from bot.when import say_hours, say_moment
from handlers.volunteers.texts import (
    SKILL_LABELS,
    SLOT_LABELS,
    say_clock,
    say_span,
    skills_text,
    slots_text,
    ticked,
)
from models.communities import Community
from models.users import User
from models.volunteers import OTHER_SKILL_MAX, REASON_MAX, ClaimStatus, Shift, Skill, Slot
from services import communities, scope
from services import volunteer_hours as hours
from services import volunteers as vol
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.errors import DomainError, InvalidInput, NotFound
from services.scope import Serving

router = Router(name=__name__)
Notify = Callable[[], None]


class VolunteerStates(StatesGroup):
    reason = State()
    location = State()


class ProfileStates(StatesGroup):
    skills = State()
    other = State()
    times = State()
    grid = State()


class ProfileDraft(BaseModel):
    """What a volunteer is choosing, saved only at the last step."""

    skills: list[str] = []
    slots: list[str] = []
    other: str | None = None


# --- Shared words ------------------------------------------------------------------------


def reason_labels() -> dict[str, str]:
    return {"ill": _("🤒 I'm unwell"), "family": _("🏠 Family matter"),
            "travel": _("🚌 I can't get there")}


def when_text(shift: Shift, tz: ZoneInfo) -> str:
    return say_span(shift.starts_at, shift.ends_at, tz)


# --- The 🙋 Volunteer screen -------------------------------------------------------------


async def render_home(
    session: AsyncSession, *, user: User, access: Access, clock: Clock
) -> tuple[str, InlineKeyboardBuilder]:
    assert user.id is not None
    builder = InlineKeyboardBuilder()
    volunteer = await vol.get_volunteer(session, user_id=user.id)
    lines = [_("<b>🙋 Volunteer</b>")]
    if volunteer is None:
        lines.append(_("Help your neighbours in the way you like: patrols, visiting elderly "
                       "neighbours, tutoring, repairs and more. You choose what and when."))
        builder.button(text=_("🙋 Become a volunteer"),
                       callback_data=VolMenuCb(action=VolMenuAction.PROFILE))
    else:
        tz = await zone_of(session, volunteer.community_id)
        total = await hours.totals(session, user_id=user.id, clock=clock, tz=tz)
        waiting = await hours.awaiting_confirmation(session, user_id=user.id, clock=clock)
        lines += [
            _("Skills: {skills}").format(skills=html.escape(
                skills_text(volunteer.skills, volunteer.other_skill))),
            _("Free: {times}").format(times=slots_text(volunteer.slots)),
            _("Hours: this month {month}, this year {year}, in total {total}").format(
                month=hours.hours_text(total.month), year=hours.hours_text(total.year),
                total=hours.hours_text(total.total)),
        ]
        if waiting:
            lines.append(_("Shifts waiting for staff to confirm hours: {n}").format(n=waiting))
        if volunteer.paused:
            lines.append(_("⏸ Paused: you get no calls for help."))
        mine = await vol.my_shifts(session, user_id=user.id, clock=clock)
        if mine:
            lines.append("\n" + _("<b>Your shifts</b> (press one for check-in or to cancel):"))
        for item in mine[:8]:
            builder.button(text=on_button(f"📅 {when_text(item.shift, tz)} {shown(item.task)}"),
                           callback_data=VolMyShiftCb(claim_id=item.claim.id or 0))
        builder.button(text=_("🔎 Shifts that need people"),
                       callback_data=VolMenuCb(action=VolMenuAction.OPEN))
        builder.button(text=_("🗂 My shifts so far"), callback_data=VolHistoryCb(page=0))
        builder.button(text=_("✏️ Change my skills and times"),
                       callback_data=VolMenuCb(action=VolMenuAction.PROFILE))
        if volunteer.paused:
            builder.button(text=_("▶️ Resume"), callback_data=VolMenuCb(
                action=VolMenuAction.RESUME))
        else:
            builder.button(text=_("⏸ Pause"), callback_data=VolMenuCb(action=VolMenuAction.PAUSE))
    only = await scope.only_one(session, access=access, serving=Serving.STAFF)
    community = await session.get(Community, only) if only is not None else None
    if community is not None:
        builder.button(text=_("🧑‍💼 Organise: {name}").format(name=community.name),
                       callback_data=VolStaffCb(action=VolStaffAction.HOME,
                                                community_id=community.id or 0))
    elif access.is_admin or access.staff_of:  # several: the shared picker asks which
        builder.button(text=_("🧑‍💼 Organise volunteer work"),
                       callback_data=VolMenuCb(action=VolMenuAction.ORGANISE))
    builder.adjust(1)
    return "\n".join(lines), builder


@router.message(MenuButton("volunteer"))
async def on_volunteer(
    message: Message, user: User, access: Access, session: AsyncSession, clock: Clock,
    state: FSMContext,
) -> None:
    """🙋 Volunteer: hours, coming shifts, and what to do next."""
    await state.clear()
    text, builder = await render_home(session, user=user, access=access, clock=clock)
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(VolMenuCb.filter(F.action == VolMenuAction.HOME))
async def on_home(callback: CallbackQuery, user: User, access: Access, session: AsyncSession,
                  clock: Clock) -> None:
    """◀ Back to the volunteer screen."""
    await callback.answer()
    text, builder = await render_home(session, user=user, access=access, clock=clock)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolMenuCb.filter(F.action.in_({VolMenuAction.PAUSE,
                                                      VolMenuAction.RESUME})))
async def on_pause(callback: CallbackQuery, callback_data: VolMenuCb, user: User,
                   access: Access, session: AsyncSession, clock: Clock) -> None:
    """⏸ Pause (no calls for help) or ▶️ resume."""
    assert user.id is not None
    await vol.set_paused(session, user_id=user.id, clock=clock,
                         paused=callback_data.action == VolMenuAction.PAUSE)
    await callback.answer()
    text, builder = await render_home(session, user=user, access=access, clock=clock)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolMenuCb.filter(F.action == VolMenuAction.OPEN))
async def on_open_shifts(callback: CallbackQuery, user: User, session: AsyncSession,
                         clock: Clock) -> None:
    """🔎 Coming shifts of my community that still need people."""
    assert user.id is not None
    found = await vol.open_shifts(session, user_id=user.id, clock=clock)
    await callback.answer()
    if not found:
        await send(callback, _("No shifts need people right now. We will call you when "
                               "something matches your skills."))
        return
    tz = await zone_of(session, found[0].task.community_id)
    builder = InlineKeyboardBuilder()
    community = await session.get(Community, found[0].task.community_id)
    lines = [_("<b>Shifts that need people</b> · {community} (press one to take a place):")
             .format(community=html.escape(community.name if community else ""))]
    for n, view in enumerate(found, start=1):
        shift, task = view.shift, view.task
        lines.append(ngettext("{n}. {title} · {when} · 📍 {place} · {left} place left",
                              "{n}. {title} · {when} · 📍 {place} · {left} places left",
                              view.left).format(
            n=n, title=html.escape(shown(task)), when=when_text(shift, tz),
            place=html.escape(task.place), left=view.left))
        if view.can_claim:
            builder.button(text=f"✋ {n}. {say_moment(shift.starts_at, tz)}",
                           callback_data=VolTakeCb(shift_id=shift.id or 0))
    builder.adjust(2)
    await send(callback, "\n".join(lines), reply_markup=builder.as_markup())


def standing_text(line: hours.PastShift) -> str:
    """Where a shift of the history stands, in a few words."""
    said = say_hours(line.minutes)
    return {
        hours.Standing.COMING: _("🕒 coming · about {hours}"),
        hours.Standing.WAITING: _("⏳ {hours}, waiting for staff to confirm"),
        hours.Standing.CONFIRMED: _("✅ {hours} confirmed"),
        hours.Standing.ABSENT: _("✖ marked absent"),
    }[line.standing].format(hours=said)


def history_screen(found: hours.History) -> tuple[str, InlineKeyboardBuilder]:
    """🗂 My shifts so far: date, task, community, hours and whether they are confirmed."""
    builder = InlineKeyboardBuilder()
    if not found.lines:
        builder.button(text=_("◀ Back"), callback_data=VolMenuCb(action=VolMenuAction.HOME))
        return _("<b>🗂 My shifts so far</b>\nNo shifts yet. Take one from 🔎 Shifts that need "
                 "people."), builder
    lines = [_("<b>🗂 My shifts so far</b>"),
             ngettext("{n} shift, newest first.", "{n} shifts, newest first.",
                      found.total).format(n=found.total)]
    first = found.page * hours.HISTORY_PAGE
    for n, line in enumerate(found.lines, start=first + 1):
        lines.append(_("{n}. {when}\n    {title} · {community}\n    {standing}").format(
            n=n, when=say_span(line.starts_at, line.ends_at, line.zone),
            title=html.escape(shown_of(line.title, line.titles)),
            community=html.escape(line.community),
            standing=standing_text(line)))
    if found.pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=found.page + 1, pages=found.pages))
    arrows = 0
    if found.has_newer:
        builder.button(text=_("◀ Newer"), callback_data=VolHistoryCb(page=found.page - 1))
        arrows += 1
    if found.has_older:
        builder.button(text=_("Older ▶"), callback_data=VolHistoryCb(page=found.page + 1))
        arrows += 1
    builder.button(text=_("◀ Back"), callback_data=VolMenuCb(action=VolMenuAction.HOME))
    builder.adjust(*([arrows] if arrows else []), 1)
    return "\n".join(lines), builder


@router.callback_query(VolHistoryCb.filter())
async def on_history(callback: CallbackQuery, callback_data: VolHistoryCb, user: User,
                     session: AsyncSession, clock: Clock) -> None:
    """🗂 My shifts so far, a page at a time (◀ Newer / Older ▶ edit the same message)."""
    assert user.id is not None
    found = await hours.history(session, user_id=user.id, clock=clock, page=callback_data.page)
    await callback.answer()
    text, builder = history_screen(found)
    await show(callback, text, reply_markup=builder.as_markup())


async def shift_card(
    session: AsyncSession, *, claim_id: int, user: User, clock: Clock
) -> tuple[str, InlineKeyboardBuilder]:
    view = await vol.my_claim(session, user=user, clock=clock, claim_id=claim_id)
    claim, shift, task = view.claim, view.shift, view.task
    tz = await zone_of(session, task.community_id)
    lines = [f"<b>{html.escape(shown(task))}</b>",
             f"🏘 {html.escape(await vol.where(session, task))}", f"🕒 {when_text(shift, tz)}",
             f"📍 {html.escape(task.place)}"]
    if task.description:
        lines.append(html.escape(task.description))
    if claim.checked_in_at is not None:
        lines.append(_("✅ Checked in at {time}").format(
            time=say_clock(claim.checked_in_at, tz)))
    elif view.can_withdraw and not view.can_check_in:
        lines.append(_("Check-in opens one hour before the shift starts."))
    builder = InlineKeyboardBuilder()
    if view.can_check_in:
        builder.button(text=_("✅ Check in"), callback_data=VolPlaceCb(
            action=VolPlaceAction.CHECK_IN, claim_id=claim_id))
    if view.can_withdraw:
        builder.button(text=_("🙅 Can't come"), callback_data=VolPlaceCb(
            action=VolPlaceAction.CANT, claim_id=claim_id))
    if view.can_check_out:
        builder.button(text=_("🏁 Check out"), callback_data=VolPlaceCb(
            action=VolPlaceAction.CHECK_OUT, claim_id=claim_id))
    builder.button(text=_("◀ Back"), callback_data=VolMenuCb(action=VolMenuAction.HOME))
    builder.adjust(1)
    return "\n".join(lines), builder


@router.callback_query(VolMyShiftCb.filter())
async def on_my_shift(callback: CallbackQuery, callback_data: VolMyShiftCb, user: User,
                      session: AsyncSession, clock: Clock) -> None:
    """📅 One of my shifts: what it offers now."""
    text, builder = await shift_card(session, claim_id=callback_data.claim_id, user=user,
                                     clock=clock)
    await callback.answer()
    await send(callback, text, reply_markup=builder.as_markup())


# --- Profile ------------------------------------------------------------------------------


async def load_profile(state: FSMContext) -> ProfileDraft:
    return ProfileDraft.model_validate((await state.get_data()).get("profile") or {})


async def save_draft(state: FSMContext, draft: ProfileDraft, step: State | None = None) -> None:
    await state.update_data(profile=draft.model_dump(mode="json"))
    if step is not None:
        await state.set_state(step)


@router.callback_query(VolMenuCb.filter(F.action == VolMenuAction.PROFILE))
async def on_start_profile(callback: CallbackQuery, user: User, session: AsyncSession,
                           state: FSMContext) -> None:
    """🙋 Become a volunteer / ✏️ change my skills and times: step 1, the skills."""
    assert user.id is not None
    if user.community_id is None:
        await callback.answer(_("First choose your community in ⚙️ Settings → 🏠 My community."),
                              show_alert=True)
        return
    volunteer = await vol.get_volunteer(session, user_id=user.id)
    draft = ProfileDraft(skills=list(volunteer.skills), slots=list(volunteer.slots),
                         other=volunteer.other_skill) if volunteer else ProfileDraft()
    await save_draft(state, draft, ProfileStates.skills)
    await callback.answer()
    text, builder = skills_screen(draft)
    await send(callback, text, reply_markup=builder.as_markup())


def skills_screen(draft: ProfileDraft) -> tuple[str, InlineKeyboardBuilder]:
    builder = InlineKeyboardBuilder()
    for code, label in SKILL_LABELS.items():
        builder.button(text=ticked(_(label), code in draft.skills),
                       callback_data=VolSkillCb(code=code))
    builder.button(text=ticked(_("✍️ Something else: {skill}").format(skill=draft.other), True)
                   if draft.other else _("✍️ Something else (type it)"),
                   callback_data=VolProfileCb(action=VolProfileAction.OTHER))
    builder.button(text=_("Next ▶"), callback_data=VolProfileCb(
        action=VolProfileAction.SKILLS_DONE))
    builder.adjust(1)
    return (_("<b>Step 1 of 3.</b> What can you do? Press all that fit, then Next."),
            profile_nav(builder, back=False))


def profile_nav(builder: InlineKeyboardBuilder, *, back: bool = True) -> InlineKeyboardBuilder:
    """The row under every profile step: ◀ Back (not on the first) and ✖ Cancel."""
    buttons = [InlineKeyboardButton(text=_("✖ Cancel"), callback_data=VolProfileCb(
        action=VolProfileAction.CANCEL).pack())]
    if back:
        buttons.insert(0, InlineKeyboardButton(text=_("◀ Back"), callback_data=VolProfileCb(
            action=VolProfileAction.BACK).pack()))
    builder.row(*buttons)
    return builder


def times_screen(draft: ProfileDraft) -> tuple[str, InlineKeyboardBuilder]:
    builder = InlineKeyboardBuilder()
    for code, label in SLOT_LABELS.items():
        builder.button(text=ticked(_(label), code in draft.slots),
                       callback_data=VolSlotCb(code=code))
    builder.button(text=_("Next ▶"), callback_data=VolProfileCb(
        action=VolProfileAction.SLOTS_DONE))
    builder.adjust(2, 2, 2, 1)
    return _("<b>Step 2 of 3.</b> When are you usually free? Press all that fit "
             "(none means any time), then Next."), profile_nav(builder)


@router.callback_query(ProfileStates.skills, VolSkillCb.filter())
async def on_skill(callback: CallbackQuery, callback_data: VolSkillCb,
                   state: FSMContext) -> None:
    """Tick or untick a skill."""
    if callback_data.code not in set(Skill):
        raise NotFound(callback_data.code)
    draft = await load_profile(state)
    draft.skills = sorted(set(draft.skills) ^ {callback_data.code})
    await save_draft(state, draft)
    await callback.answer()
    text, builder = skills_screen(draft)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ProfileStates.skills,
                       VolProfileCb.filter(F.action == VolProfileAction.OTHER))
async def on_other(callback: CallbackQuery, state: FSMContext) -> None:
    """✍️ A skill not on the list: ask for it."""
    await state.set_state(ProfileStates.other)
    await callback.answer()
    await send(callback, _("Type your skill in a few words."),
               reply_markup=profile_nav(InlineKeyboardBuilder()).as_markup())


@router.message(ProfileStates.other, F.text, ~F.text.startswith("/"))
async def on_other_skill(message: Message, state: FSMContext) -> None:
    """A skill typed by the volunteer, not on the list."""
    draft = await load_profile(state)
    draft.other = vol.clean_text(message.text, field="other_skill", limit=OTHER_SKILL_MAX,
                                 required=False) or None
    await save_draft(state, draft, ProfileStates.skills)
    text, builder = skills_screen(draft)
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(ProfileStates.skills,
                       VolProfileCb.filter(F.action == VolProfileAction.SKILLS_DONE))
async def on_skills_done(callback: CallbackQuery, state: FSMContext) -> None:
    """Step 2: the usual free times (at least one skill first)."""
    draft = await load_profile(state)
    if not draft.skills and not draft.other:
        raise InvalidInput("skills", "empty")
    await state.set_state(ProfileStates.times)
    await callback.answer()
    text, builder = times_screen(draft)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ProfileStates.times, VolSlotCb.filter())
async def on_slot(callback: CallbackQuery, callback_data: VolSlotCb, state: FSMContext) -> None:
    """Tick or untick a free time."""
    if callback_data.code not in set(Slot):
        raise NotFound(callback_data.code)
    draft = await load_profile(state)
    draft.slots = sorted(set(draft.slots) ^ {callback_data.code})
    await save_draft(state, draft)
    await callback.answer()
    text, builder = times_screen(draft)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ProfileStates.times,
                       VolProfileCb.filter(F.action == VolProfileAction.SLOTS_DONE))
async def on_slots_done(callback: CallbackQuery, user: User, access: Access,
                        session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """Step 3: the grid, if the community has grids; else save now."""
    grids = await communities.list_grids(session, community_id=user.community_id or 0)
    if not grids:
        await save_profile(callback, user=user, access=access, session=session, clock=clock,
                           state=state, grid_id=None)
        return
    builder = InlineKeyboardBuilder()
    for grid in grids:
        builder.button(text=grid.name, callback_data=VolGridCb(grid_id=grid.id or 0))
    builder.button(text=_("Not sure"), callback_data=VolGridCb(grid_id=0))
    builder.adjust(2)
    await state.set_state(ProfileStates.grid)
    await callback.answer()
    await show(callback, _("<b>Step 3 of 3.</b> Which grid (block) do you help in?"),
               reply_markup=profile_nav(builder).as_markup())


@router.callback_query(StateFilter(ProfileStates.other, ProfileStates.times),
                       VolProfileCb.filter(F.action == VolProfileAction.BACK))
async def on_profile_back_to_skills(callback: CallbackQuery, state: FSMContext) -> None:
    """◀ Back to the skills (from the free times, or from typing a skill: ticks kept)."""
    draft = await load_profile(state)
    await state.set_state(ProfileStates.skills)
    await callback.answer()
    text, builder = skills_screen(draft)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ProfileStates.grid, VolProfileCb.filter(F.action == VolProfileAction.BACK))
async def on_profile_back_to_times(callback: CallbackQuery, state: FSMContext) -> None:
    """◀ Back from the grid to the free times (ticks kept)."""
    draft = await load_profile(state)
    await state.set_state(ProfileStates.times)
    await callback.answer()
    text, builder = times_screen(draft)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(StateFilter(ProfileStates),
                       VolProfileCb.filter(F.action == VolProfileAction.CANCEL))
async def on_profile_cancel(callback: CallbackQuery, user: User, access: Access,
                            session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """✖ Cancel on any profile step: nothing is changed; the 🙋 Volunteer screen."""
    await state.clear()
    await callback.answer()
    text, builder = await render_home(session, user=user, access=access, clock=clock)
    await show(callback, _("✖ Cancelled. Nothing was changed.") + "\n\n" + text,
               reply_markup=builder.as_markup())


@router.callback_query(ProfileStates.grid, VolGridCb.filter())
async def on_grid(callback: CallbackQuery, callback_data: VolGridCb, user: User,
                  access: Access, session: AsyncSession, clock: Clock,
                  state: FSMContext) -> None:
    """The grid chosen: the profile is saved."""
    await save_profile(callback, user=user, access=access, session=session, clock=clock,
                       state=state, grid_id=callback_data.grid_id or None)


async def save_profile(
    callback: CallbackQuery, *, user: User, access: Access, session: AsyncSession, clock: Clock,
    state: FSMContext, grid_id: int | None,
) -> None:
    draft = await load_profile(state)
    await vol.save_profile(session, user=user, clock=clock, skills=draft.skills,
                           slots=draft.slots, other_skill=draft.other, grid_id=grid_id)
    await state.clear()
    await callback.answer(_("Saved ✅"))
    text, builder = await render_home(session, user=user, access=access, clock=clock)
    await show(callback, _("Saved ✅ We will call you when help is needed.") + "\n\n" + text,
               reply_markup=builder.as_markup())


# --- Claims, reminders, check-in and out --------------------------------------------------


async def refresh_call(callback: CallbackQuery, *, user: User, session: AsyncSession,
                       clock: Clock) -> None:
    """Redraw the call whose ✋ was pressed (a ping, the list of open shifts) as it stands
    now: a shift still open shows ✋, one the volunteer holds ✅ (pressed again: "you
    have a place"), one full, past or cancelled goes; with nothing left, the call says so."""
    pressed = callback.message
    if not isinstance(pressed, Message) or pressed.reply_markup is None:
        return
    assert user.id is not None
    rows = pressed.reply_markup.inline_keyboard
    calls = {}
    for row in rows:
        for button in row:
            try:
                data = VolTakeCb.unpack(button.callback_data or "")
            except (TypeError, ValueError):
                continue
            calls[button.callback_data] = data.shift_id
    if not calls:
        return
    now = await vol.call_shifts(session, user_id=user.id, clock=clock,
                                shift_ids=sorted(set(calls.values())))
    kept: list[list[InlineKeyboardButton]] = []
    for row in rows:
        line = []
        for button in row:
            shift_id = calls.get(button.callback_data)
            state = now.get(shift_id) if shift_id is not None else None
            if shift_id is None:
                line.append(button)
            elif state is not None and (state.claim_id is not None or state.can_claim):
                mark = ("✋", "✅") if state.claim_id is not None else ("✅", "✋")
                line.append(button.model_copy(update={
                    "text": button.text.replace(*mark, 1)}))
        if line:
            kept.append(line)
    if kept:
        if kept != rows:
            await set_buttons(callback, InlineKeyboardMarkup(inline_keyboard=kept))
        return
    await show(callback, answered(pressed, _("🈵 All places here are taken now. Thank you for "
                                             "offering!")))


def answered(pressed: Message, line: str) -> str:
    """The pressed message's text with the answer given under it (once)."""
    text = pressed.html_text
    return text if line in text else f"{text}\n\n{line}"


async def show_answer(callback: CallbackQuery, line: str,
                      reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Write the answer on the message whose button was pressed (a reminder, a shift card)
    and leave only the buttons that still mean something, so scrolling back never misleads."""
    pressed = callback.message
    if isinstance(pressed, Message) and pressed.text is not None:
        await show(callback, answered(pressed, line), reply_markup=reply_markup)


@router.callback_query(VolTakeCb.filter())
async def on_claim(callback: CallbackQuery, callback_data: VolTakeCb, user: User,
                   session: AsyncSession, clock: Clock,
                   outbox_notify: Notify | None = None) -> None:
    """✋ Take a place on a shift (from a ping or the list); the call is redrawn either way."""
    try:
        claim = await vol.claim_shift(session, user=user, clock=clock,
                                      buttons=OUTBOX_KEYBOARDS.volunteers,
                                      shift_id=callback_data.shift_id, notify=outbox_notify)
    except (vol.ShiftUnavailable, vol.AlreadyClaimed):
        await refresh_call(callback, user=user, session=session, clock=clock)
        raise  # the error router says why
    await callback.answer(_("✅ Your place is booked. Thank you!"))
    await refresh_call(callback, user=user, session=session, clock=clock)
    view = await vol.my_claim(session, user=user, clock=clock, claim_id=claim.id or 0)
    booked = {("24h", "1h"): _("✅ Your place is booked. We will remind you the day before and "
                               "one hour before."),
              ("1h",): _("✅ Your place is booked. We will remind you one hour before.")}.get(
        view.reminders, _("✅ Your place is booked."))
    text, builder = await shift_card(session, claim_id=claim.id or 0, user=user, clock=clock)
    await send(callback, booked + "\n\n" + text, reply_markup=builder.as_markup())


@router.callback_query(VolPlaceCb.filter(F.action == VolPlaceAction.COMING))
async def on_coming(callback: CallbackQuery, callback_data: VolPlaceCb, user: User,
                    session: AsyncSession, clock: Clock) -> None:
    """👍 Still coming (on a reminder): the reminder shows the answer, keeping ✅ Check in
    when it is open."""
    view = await vol.my_claim(session, user=user, clock=clock, claim_id=callback_data.claim_id)
    if view.claim.status != ClaimStatus.CLAIMED:
        raise vol.NotClaimed(str(callback_data.claim_id))
    await callback.answer(_("👍 Thank you! See you there."), show_alert=True)
    builder = InlineKeyboardBuilder()
    if view.can_check_in:
        builder.button(text=_("✅ Check in"), callback_data=VolPlaceCb(
            action=VolPlaceAction.CHECK_IN, claim_id=callback_data.claim_id))
    await show_answer(callback, _("👍 You said you are coming."),
                      builder.as_markup() if view.can_check_in else None)


def give_back_question(view: vol.ClaimView, tz: ZoneInfo) -> str:
    """The question the pressed card or reminder becomes on 🙅 Can't come."""
    if view.needs_reason:
        return _("🙅 Give back your place on <b>{title}</b>, {when}? It is less than 12 hours "
                 "away, so the organisers will be told: press why, or type a few words.").format(
            title=html.escape(shown(view.task)), when=when_text(view.shift, tz))
    return _("🙅 Give back your place on <b>{title}</b>, {when}?").format(
        title=html.escape(shown(view.task)), when=when_text(view.shift, tz))


def without_question(pressed: Message, question: str) -> str:
    """The pressed message's text as it was before it asked `question`."""
    return pressed.html_text.replace(f"\n\n{question}", "")


@router.callback_query(VolPlaceCb.filter(F.action == VolPlaceAction.CANT))
async def on_cant_come(callback: CallbackQuery, callback_data: VolPlaceCb, user: User,
                       session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """🙅 Can't come: asked once, on the pressed message ("Yes, give my place back" /
    "No, keep my place"); less than 12 h before, the ready-made reasons are the yes."""
    claim_id = callback_data.claim_id
    view = await vol.my_claim(session, user=user, clock=clock, claim_id=claim_id)
    vol.check_withdraw(view)
    tz = await zone_of(session, view.task.community_id)
    keep = VolPlaceCb(action=VolPlaceAction.KEEP, claim_id=claim_id, via=callback_data.via)
    if view.needs_reason:
        builder = InlineKeyboardBuilder()
        for code, label in reason_labels().items():
            builder.button(text=label, callback_data=VolReasonCb(claim_id=claim_id, code=code))
        builder.button(text=_("No, keep my place"), callback_data=keep)
        builder.adjust(1)
        markup = builder.as_markup()
        await state.set_state(VolunteerStates.reason)
        pressed = callback.message.message_id if callback.message is not None else None
        await state.update_data(v_claim=claim_id, v_pressed=pressed)
    else:
        markup = ask_once(yes=_("Yes, give my place back"), no=_("No, keep my place"),
                          do=VolPlaceCb(action=VolPlaceAction.GIVE_BACK, claim_id=claim_id,
                                        via=callback_data.via), keep=keep)
    await callback.answer()
    question = give_back_question(view, tz)
    pressed_message = callback.message
    if isinstance(pressed_message, Message) and pressed_message.text is not None:
        await show(callback, answered(pressed_message, question), reply_markup=markup)
    else:
        await send(callback, question, reply_markup=markup)


def without_questions(pressed: Message, view: vol.ClaimView, tz: ZoneInfo) -> str:
    """The pressed message's text as it was before 🙅 asked (early or late: the time may
    have passed 12 h before the start while the question waited)."""
    text = pressed.html_text
    for late in (True, False):  # the longer first: the early question begins the late one
        question = give_back_question(replace(view, needs_reason=late), tz)
        text = text.replace(f"\n\n{question}", "")
    return text


def drawn(keyboard: dict[str, Any]) -> InlineKeyboardMarkup:
    """An outbox keyboard (bot/keyboards/outbox.py, labels as msgids) in the reader's
    language, as the sender draws it."""
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=_(button["text"]), callback_data=button["callback_data"])
         for button in row] for row in keyboard["inline_keyboard"]])


@router.callback_query(VolPlaceCb.filter(F.action == VolPlaceAction.KEEP))
async def on_keep_place(callback: CallbackQuery, callback_data: VolPlaceCb, user: User,
                        session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """No, keep my place: the card or reminder as it was, with what it offers now."""
    claim_id = callback_data.claim_id
    view = await vol.my_claim(session, user=user, clock=clock, claim_id=claim_id)
    if await state.get_state() == VolunteerStates.reason:
        await state.set_state(None)
    await callback.answer(_("👍 Your place is kept."))
    pressed = callback.message
    if not isinstance(pressed, Message) or pressed.text is None:
        return
    tz = await zone_of(session, view.task.community_id)
    if callback_data.via == VolPlaceVia.REMINDER:
        offers = view.can_withdraw or view.can_check_in
        markup = drawn(OUTBOX_KEYBOARDS.volunteers.reminder(
            claim_id, check_in=view.can_check_in)) if offers else None
    else:
        _card, builder = await shift_card(session, claim_id=claim_id, user=user, clock=clock)
        markup = builder.as_markup()
    await show(callback, without_questions(pressed, view, tz), reply_markup=markup)


@router.callback_query(VolPlaceCb.filter(F.action == VolPlaceAction.GIVE_BACK))
async def on_give_back(callback: CallbackQuery, callback_data: VolPlaceCb, user: User,
                       session: AsyncSession, clock: Clock, state: FSMContext,
                       outbox_notify: Notify | None = None) -> None:
    """Yes, give my place back: re-checked now (the question may be old: less than 12 h
    to go, the reasons are asked for on the same message)."""
    claim_id = callback_data.claim_id
    view = await vol.my_claim(session, user=user, clock=clock, claim_id=claim_id)
    vol.check_withdraw(view)
    if view.needs_reason:
        await on_cant_come(callback, callback_data, user=user, session=session, clock=clock,
                           state=state)
        return
    await vol.withdraw(session, user=user, clock=clock, claim_id=claim_id, notify=outbox_notify)
    await callback.answer(_("Your place is given back. Thank you for letting us know."))
    await settle_card(callback, session, view, _("🙅 You gave this place back. Thank you for "
                                                 "letting us know."))


async def settle_card(callback: CallbackQuery, session: AsyncSession, view: vol.ClaimView,
                      line: str) -> None:
    """The pressed card or reminder without its question, with the answer under it and no
    buttons left, so scrolling back never misleads."""
    pressed = callback.message
    if isinstance(pressed, Message) and pressed.text is not None:
        text = without_questions(pressed, view, await zone_of(session, view.task.community_id))
        await show(callback, text if line in text else f"{text}\n\n{line}")


@router.callback_query(VolReasonCb.filter())
async def on_reason_button(callback: CallbackQuery, callback_data: VolReasonCb, user: User,
                           session: AsyncSession, clock: Clock, state: FSMContext,
                           outbox_notify: Notify | None = None) -> None:
    """A ready-made reason for a late "can't come" (the yes to the question)."""
    label = reason_labels().get(callback_data.code)
    if label is None:
        raise NotFound(callback_data.code)
    view = await vol.my_claim(session, user=user, clock=clock, claim_id=callback_data.claim_id)
    try:
        await vol.withdraw(session, user=user, clock=clock, claim_id=callback_data.claim_id,
                           reason=label, notify=outbox_notify)
    finally:  # done or refused: either way the question is over
        await state.set_state(None)
    await callback.answer()
    await settle_card(callback, session, view, _("Your place is given back and the organisers "
                                                 "are told. Thank you for letting us know."))


@router.message(VolunteerStates.reason, F.text, ~F.text.startswith("/"))
async def on_reason_text(
    message: Message, user: User, session: AsyncSession, clock: Clock, state: FSMContext,
    outbox_notify: Notify | None = None,
) -> None:
    """A typed reason for a late "can't come"; the message that asked loses its buttons."""
    text = " ".join((message.text or "").split())[:REASON_MAX]
    data = await state.get_data()
    claim_id, pressed = int(data.get("v_claim") or 0), data.get("v_pressed")
    try:
        await vol.withdraw(session, user=user, clock=clock, claim_id=claim_id, reason=text,
                           notify=outbox_notify)
    finally:  # done or refused: either way the question is over
        await state.set_state(None)
    if pressed and message.bot is not None:
        with suppress(TelegramBadRequest):
            await message.bot.edit_message_reply_markup(chat_id=user.tg_id, message_id=pressed)
    await message.answer(_("Your place is given back and the organisers are told. Thank you "
                           "for letting us know."))


@router.callback_query(VolPlaceCb.filter(F.action == VolPlaceAction.CHECK_IN))
async def on_check_in(callback: CallbackQuery, callback_data: VolPlaceCb, user: User,
                      session: AsyncSession, clock: Clock, state: FSMContext,
                      outbox_notify: Notify | None = None) -> None:
    """✅ Check in (a nudge to check out is queued for the end); then, if they like, the
    location."""
    claim_id = callback_data.claim_id
    claim, task = await vol.check_in(session, user=user, clock=clock, claim_id=claim_id,
                                     buttons=OUTBOX_KEYBOARDS.volunteers, notify=outbox_notify)
    await callback.answer(_("✅ Checked in"))
    assert claim.checked_in_at is not None
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🏁 Check out"), callback_data=VolPlaceCb(
        action=VolPlaceAction.CHECK_OUT, claim_id=claim_id))
    await show_answer(callback, _("✅ Checked in at {time}").format(
        time=say_clock(claim.checked_in_at, await zone_of(session, task.community_id))),
        builder.as_markup())
    await state.set_state(VolunteerStates.location)
    await state.update_data(v_claim=claim_id)
    keyboard = ReplyKeyboardMarkup(keyboard=[
        [KeyboardButton(text=_("📍 Share my location"), request_location=True)],
        [KeyboardButton(text=_("No thanks"))]], resize_keyboard=True, one_time_keyboard=True)
    await send(callback, _("✅ Checked in. Thank you for coming!\nIf you like, share your "
                           "location so the organisers know you are at the place. We keep "
                           "only whether you were nearby."), reply_markup=keyboard)


@router.callback_query(VolPlaceCb.filter(F.action == VolPlaceAction.CHECK_OUT))
async def on_check_out(callback: CallbackQuery, callback_data: VolPlaceCb, user: User,
                       session: AsyncSession, clock: Clock) -> None:
    """🏁 Check out: the hours staff will confirm."""
    claim_id = callback_data.claim_id
    claim = await vol.check_out(session, user=user, clock=clock, claim_id=claim_id)
    view = await vol.my_claim(session, user=user, clock=clock, claim_id=claim_id)
    await callback.answer()
    assert claim.checked_out_at is not None
    await show_answer(callback, _("🏁 Checked out at {time}").format(
        time=say_clock(claim.checked_out_at, await zone_of(session, view.task.community_id))))
    await send(callback, _("🏁 Checked out. About {hours}; staff will confirm them. "
                           "Thank you!").format(
        hours=say_hours(hours.proposed_minutes(claim, view.shift))))


@router.message(VolunteerStates.location, F.location)
async def on_location(
    message: Message, user: User, access: Access, session: AsyncSession, state: FSMContext,
) -> None:
    """The location shared at check-in: only "near the place or not" is kept."""
    claim_id = int((await state.get_data()).get("v_claim") or 0)
    await state.set_state(None)
    assert message.location is not None
    try:
        near = await vol.note_location(session, user=user, claim_id=claim_id,
                                       latitude=message.location.latitude,
                                       longitude=message.location.longitude)
    except DomainError as error:  # answered with the main menu back, not bare
        await message.answer(reply_for(error), reply_markup=main_menu(access))
        return
    text = {True: _("📍 Thank you: you are at the place."),
            False: _("📍 Thank you. You seem to be some way from the place; that's fine, "
                     "the organisers will confirm your hours."),
            None: _("📍 Thank you.")}[near]
    await message.answer(text, reply_markup=main_menu(access))


@router.message(VolunteerStates.location, F.text.in_(translations_of(N_("No thanks"))))
async def on_no_location(message: Message, access: Access, state: FSMContext) -> None:
    """No location after check-in: that is fine."""
    await state.set_state(None)
    await message.answer(_("All right. Press 🏁 Check out on your shift when you finish."),
                         reply_markup=main_menu(access))
