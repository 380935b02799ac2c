"""🙋 Volunteer: the volunteer's side: profile, claiming shifts, reminders, check-in/out, hours.

```mermaid
stateDiagram-v2
    [*] --> Home: 🙋 Volunteer
    Home --> Skills: ✏️ become a volunteer / change
    Skills --> Skills: tick a skill
    Skills --> Other: ✍️ something else
    Other --> Skills: text sent
    Skills --> Times: Next
    Times --> Times: tick a time
    Times --> Grid: Next
    Grid --> Home: grid chosen (saved)
    Home --> MyShift: one of my shifts
    Home --> Open: shifts needing people
    Open --> MyShift: ✋ claim
    MyShift --> Location: ✅ check in
    Location --> Home: 📍 location shared / no thanks
    MyShift --> Reason: 🙅 can't come (less than 12 h before)
    Reason --> Home: reason chosen or typed
    MyShift --> Home: 🙅 can't come (earlier) / 🏁 check out
```

Pings and reminders arrive from the outbox with the same buttons (VolShiftCb).
Staff tools are in handlers/volunteer_staff.py and handlers/volunteer_tasks.py,
reached from this screen.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import (
    VolMenuAction,
    VolMenuCb,
    VolProfileAction,
    VolProfileCb,
    VolShiftAction,
    VolShiftCb,
    VolStaffAction,
    VolStaffCb,
)
from bot.filters import MenuButton
from bot.i18n import N_, translations_of
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.menu import main_menu
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date, out_of_date
from handlers.volunteers.texts import (
    SKILL_LABELS,
    SLOT_LABELS,
    skills_text,
    slots_text,
    ticked,
)
from models.communities import Community
from models.users import User
from models.volunteers import OTHER_SKILL_MAX, REASON_MAX, ClaimStatus, Shift, Skill, Slot
from services import communities
from services import volunteer_hours as hours
from services import volunteers as vol
from services.access import Access
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound

router = Router(name=__name__)
Notify = Callable[[], None]



class VolunteerStates(StatesGroup):
    other_skill = State()
    reason = State()
    location = State()


# --- Shared words ------------------------------------------------------------------------


def reason_labels() -> dict[str, str]:
    return {"ill": _("🤒 I'm unwell"), "family": _("🏠 Family matter"),
            "travel": _("🚌 I can't get there")}


def error_text(error: DomainError) -> str:
    """What a volunteer is told when a rule says no."""
    if isinstance(error, vol.ShiftUnavailable):
        return {
            "full": _("Sorry, this shift is full. Thank you for offering!"),
            "past": _("This shift has already started or is over."),
            "started": _("This shift has already started."),
            "cancelled": _("This shift was cancelled."),
        }.get(error.reason, _("This shift can't be claimed now."))
    if isinstance(error, vol.AlreadyClaimed):
        return _("You already have a place on this shift. See you there!")
    if isinstance(error, vol.NotAVolunteer):
        return _("Please become a volunteer first: press 🙋 Volunteer in the menu.")
    if isinstance(error, vol.NotClaimed):
        return _("You don't have a place on this shift.")
    if isinstance(error, vol.CheckInClosed):
        return {
            "early": _("Check-in opens one hour before the shift starts."),
            "late": _("This shift is over, so it is too late to check in or out."),
            "not_in": _("Please check in first."),
        }.get(error.reason, _("Not possible now."))
    if isinstance(error, NotAllowed):
        return _("This button is not for you.")
    if isinstance(error, NotFound):
        return out_of_date()
    if isinstance(error, InvalidInput) and error.field == "skills":
        return _("Please choose at least one skill, or type one.")
    return _("That is not possible now.")


def when_text(shift: Shift, tz: ZoneInfo) -> str:
    return vol.format_span(shift.starts_at, shift.ends_at, tz)


async def community_zone(session: AsyncSession, community_id: int | None) -> ZoneInfo:
    community = await session.get(Community, community_id) if community_id else None
    return ZoneInfo(community.timezone) if community else ZoneInfo("Asia/Shanghai")


def managed_communities(access: Access, user: User) -> list[int]:
    """Communities whose volunteer work this person organises."""
    ids = set(access.staff_of)
    if access.is_admin and user.community_id is not None:
        ids.add(user.community_id)
    return sorted(ids)


async def reply(callback: CallbackQuery, text: str, builder: InlineKeyboardBuilder | None = None,
                *, edit: bool = False) -> None:
    """Answer a button with a new message (or by editing the one pressed)."""
    markup = builder.as_markup() if builder else None
    if isinstance(callback.message, Message):
        if edit:
            await callback.message.edit_text(text, reply_markup=markup)
        else:
            await callback.message.answer(text, reply_markup=markup)


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
        tz = await community_zone(session, volunteer.community_id)
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
            builder.button(text=f"📅 {when_text(item.shift, tz)} {item.task.title}"[:60],
                           callback_data=VolMenuCb(action=VolMenuAction.SHIFT,
                                                   id=item.claim.id or 0))
        builder.button(text=_("🔎 Shifts that need people"),
                       callback_data=VolMenuCb(action=VolMenuAction.OPEN))
        builder.button(text=_("✏️ Change my skills and times"),
                       callback_data=VolMenuCb(action=VolMenuAction.PROFILE))
        if volunteer.paused:
            builder.button(text=_("▶️ Resume"), callback_data=VolMenuCb(
                action=VolMenuAction.RESUME))
        else:
            builder.button(text=_("⏸ Pause"), callback_data=VolMenuCb(action=VolMenuAction.PAUSE))
    for cid in managed_communities(access, user):
        community = await session.get(Community, cid)
        if community is not None:
            builder.button(text=_("🧑‍💼 Organise: {name}").format(name=community.name),
                           callback_data=VolStaffCb(action=VolStaffAction.HOME, cid=cid))
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


@router.callback_query(VolMenuCb.filter())
async def on_menu_button(
    callback: CallbackQuery, callback_data: VolMenuCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, state: FSMContext,
) -> None:
    """The volunteer screen's buttons."""
    assert user.id is not None
    try:
        match callback_data.action:
            case VolMenuAction.HOME:
                text, builder = await render_home(session, user=user, access=access, clock=clock)
                await reply(callback, text, builder, edit=True)
            case VolMenuAction.PROFILE:
                await start_profile(callback, user=user, session=session, state=state)
                return
            case VolMenuAction.PAUSE | VolMenuAction.RESUME:
                await vol.set_paused(session, user_id=user.id, clock=clock,
                                     paused=callback_data.action == VolMenuAction.PAUSE)
                text, builder = await render_home(session, user=user, access=access, clock=clock)
                await reply(callback, text, builder, edit=True)
            case VolMenuAction.OPEN:
                await show_open_shifts(callback, user=user, session=session, clock=clock)
            case VolMenuAction.SHIFT:
                await show_my_shift(callback, user=user, session=session, clock=clock,
                                    claim_id=callback_data.id)
    except DomainError as error:
        await callback.answer(error_text(error), show_alert=True)
        return
    await callback.answer()


async def show_open_shifts(
    callback: CallbackQuery, *, user: User, session: AsyncSession, clock: Clock
) -> None:
    assert user.id is not None
    volunteer = await vol.get_volunteer(session, user_id=user.id)
    if volunteer is None:
        raise vol.NotAVolunteer(str(user.id))
    tz = await community_zone(session, volunteer.community_id)
    found = await vol.open_shifts(session, community_id=volunteer.community_id, clock=clock)
    if not found:
        await reply(callback, _("No shifts need people right now. We will call you when "
                                "something matches your skills."))
        return
    builder = InlineKeyboardBuilder()
    lines = [_("<b>Shifts that need people</b> (press one to take a place):")]
    for n, (shift, task) in enumerate(found, start=1):
        lines.append(_("{n}. {title} · {when} · 📍 {place} · {left} places left").format(
            n=n, title=html.escape(task.title), when=when_text(shift, tz),
            place=html.escape(task.place), left=shift.headcount - shift.taken))
        builder.button(text=f"✋ {n}. {shift.starts_at.astimezone(tz):%m-%d %H:%M}",
                       callback_data=VolShiftCb(action=VolShiftAction.CLAIM, id=shift.id or 0))
    builder.adjust(2)
    await reply(callback, "\n".join(lines), builder)


async def shift_card(
    session: AsyncSession, *, claim_id: int, user: User, clock: Clock
) -> tuple[str, InlineKeyboardBuilder]:
    claim, shift, task = await vol.get_claim(session, user=user, claim_id=claim_id)
    tz = await community_zone(session, task.community_id)
    lines = [f"<b>{html.escape(task.title)}</b>", f"🕒 {when_text(shift, tz)}",
             f"📍 {html.escape(task.place)}"]
    if task.description:
        lines.append(html.escape(task.description))
    builder = InlineKeyboardBuilder()
    if claim.checked_in_at is None:
        builder.button(text=_("✅ Check in"), callback_data=VolShiftCb(
            action=VolShiftAction.CHECK_IN, id=claim_id))
        builder.button(text=_("🙅 Can't come"), callback_data=VolShiftCb(
            action=VolShiftAction.CANT, id=claim_id))
    else:
        lines.append(_("✅ Checked in at {time}").format(
            time=f"{claim.checked_in_at.astimezone(tz):%H:%M}"))
        if claim.checked_out_at is None:
            builder.button(text=_("🏁 Check out"), callback_data=VolShiftCb(
                action=VolShiftAction.CHECK_OUT, id=claim_id))
    builder.button(text=_("◀ Back"), callback_data=VolMenuCb(action=VolMenuAction.HOME))
    builder.adjust(1)
    return "\n".join(lines), builder


async def show_my_shift(
    callback: CallbackQuery, *, user: User, session: AsyncSession, clock: Clock, claim_id: int
) -> None:
    text, builder = await shift_card(session, claim_id=claim_id, user=user, clock=clock)
    await reply(callback, text, builder)


# --- Profile ------------------------------------------------------------------------------


async def start_profile(
    callback: CallbackQuery, *, user: User, session: AsyncSession, state: FSMContext
) -> None:
    assert user.id is not None
    if user.community_id is None:
        await callback.answer(_("First choose your community in ⚙️ Settings → 🏠 My community."),
                              show_alert=True)
        return
    volunteer = await vol.get_volunteer(session, user_id=user.id)
    await state.set_state(None)
    await state.update_data(
        v_skills=list(volunteer.skills) if volunteer else [],
        v_slots=list(volunteer.slots) if volunteer else [],
        v_other=volunteer.other_skill if volunteer else None)
    await callback.answer()
    text, builder = await skills_screen(state)
    await reply(callback, text, builder)


async def skills_screen(state: FSMContext) -> tuple[str, InlineKeyboardBuilder]:
    data = await state.get_data()
    chosen = set(data.get("v_skills") or [])
    builder = InlineKeyboardBuilder()
    for code, label in SKILL_LABELS.items():
        builder.button(text=ticked(_(label), code in chosen), callback_data=VolProfileCb(
            action=VolProfileAction.SKILL, code=code))
    other = data.get("v_other")
    builder.button(text=ticked(_("✍️ Something else: {skill}").format(skill=other), True)
                   if other else _("✍️ Something else (type it)"),
                   callback_data=VolProfileCb(action=VolProfileAction.OTHER))
    builder.button(text=_("Next ▶"), callback_data=VolProfileCb(
        action=VolProfileAction.SKILLS_DONE))
    builder.adjust(1)
    return _("<b>Step 1 of 3.</b> What can you do? Press all that fit, then Next."), builder


async def times_screen(state: FSMContext) -> tuple[str, InlineKeyboardBuilder]:
    chosen = set((await state.get_data()).get("v_slots") or [])
    builder = InlineKeyboardBuilder()
    for code, label in SLOT_LABELS.items():
        builder.button(text=ticked(_(label), code in chosen), callback_data=VolProfileCb(
            action=VolProfileAction.SLOT, code=code))
    builder.button(text=_("Next ▶"), callback_data=VolProfileCb(
        action=VolProfileAction.SLOTS_DONE))
    builder.adjust(2, 2, 2, 1)
    return _("<b>Step 2 of 3.</b> When are you usually free? Press all that fit "
             "(none means any time), then Next."), builder


@router.callback_query(VolProfileCb.filter())
async def on_profile_button(
    callback: CallbackQuery, callback_data: VolProfileCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, state: FSMContext,
) -> None:
    """Ticking skills and times, then choosing the grid (which saves)."""
    data = await state.get_data()
    if "v_skills" not in data:  # an old screen: the choices were already saved or dropped
        await answer_out_of_date(callback)
        return
    action, code = callback_data.action, callback_data.code
    if action in (VolProfileAction.SKILL, VolProfileAction.SLOT):
        key, allowed = (("v_skills", set(Skill)) if action == VolProfileAction.SKILL
                        else ("v_slots", set(Slot)))
        if code not in allowed:
            await answer_out_of_date(callback)
            return
        chosen = set(data.get(key) or [])
        chosen.symmetric_difference_update({code})
        await state.update_data({key: sorted(chosen)})
        text, builder = await (skills_screen(state) if key == "v_skills" else times_screen(state))
        await reply(callback, text, builder, edit=True)
    elif action == VolProfileAction.OTHER:
        await state.set_state(VolunteerStates.other_skill)
        await reply(callback, _("Type your skill in a few words (or /cancel)."))
    elif action == VolProfileAction.SKILLS_DONE:
        if not data.get("v_skills") and not data.get("v_other"):
            await callback.answer(_("Please choose at least one skill, or type one."),
                                  show_alert=True)
            return
        text, builder = await times_screen(state)
        await reply(callback, text, builder, edit=True)
    elif action == VolProfileAction.SLOTS_DONE:
        grids = await communities.list_grids(session, community_id=user.community_id or 0)
        if not grids:
            await save_profile(callback, user=user, access=access, session=session, clock=clock,
                               state=state, grid_id=None)
            return
        builder = InlineKeyboardBuilder()
        for grid in grids:
            builder.button(text=grid.name, callback_data=VolProfileCb(
                action=VolProfileAction.GRID, id=grid.id or 0))
        builder.button(text=_("Not sure"), callback_data=VolProfileCb(
            action=VolProfileAction.GRID, id=0))
        builder.adjust(2)
        await reply(callback, _("<b>Step 3 of 3.</b> Which grid (block) do you help in?"),
                    builder, edit=True)
    elif action == VolProfileAction.GRID:
        await save_profile(callback, user=user, access=access, session=session, clock=clock,
                           state=state, grid_id=callback_data.id or None)
        return
    await callback.answer()


async def save_profile(
    callback: CallbackQuery, *, user: User, access: Access, session: AsyncSession, clock: Clock,
    state: FSMContext, grid_id: int | None,
) -> None:
    data = await state.get_data()
    try:
        await vol.save_profile(session, user=user, clock=clock, skills=data.get("v_skills") or [],
                               slots=data.get("v_slots") or [], other_skill=data.get("v_other"),
                               grid_id=grid_id)
    except (DomainError, ValueError) as error:
        text = (error_text(error) if isinstance(error, DomainError)
                else _("This button is out of date."))
        await callback.answer(text, show_alert=True)
        return
    await state.clear()
    await callback.answer(_("Saved ✅"))
    text, builder = await render_home(session, user=user, access=access, clock=clock)
    await reply(callback, _("Saved ✅ We will call you when help is needed.") + "\n\n" + text,
                builder, edit=True)


@router.message(VolunteerStates.other_skill, F.text, ~F.text.startswith("/"))
async def on_other_skill(message: Message, state: FSMContext) -> None:
    """A skill typed by the volunteer, not on the list."""
    text = " ".join((message.text or "").split())
    if len(text) > OTHER_SKILL_MAX:
        await message.answer(_("That is too long (at most {n} characters). Please send it "
                               "again.").format(n=OTHER_SKILL_MAX))
        return
    await state.set_state(None)
    await state.update_data(v_other=text or None)
    text, builder = await skills_screen(state)
    await message.answer(text, reply_markup=builder.as_markup())


# --- Claims, reminders, check-in and out --------------------------------------------------


@router.callback_query(VolShiftCb.filter())
async def on_shift_button(
    callback: CallbackQuery, callback_data: VolShiftCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, state: FSMContext, outbox_notify: Notify | None = None,
) -> None:
    """Claim, still coming, can't come (with a reason when late), check in, check out."""
    claim_id = callback_data.id
    try:
        match callback_data.action:
            case VolShiftAction.CLAIM:
                claim = await vol.claim_shift(session, user=user, clock=clock,
                                              buttons=OUTBOX_KEYBOARDS.volunteers,
                                              shift_id=callback_data.id, notify=outbox_notify)
                await callback.answer(_("✅ Your place is booked. Thank you!"))
                text, builder = await shift_card(session, claim_id=claim.id or 0, user=user,
                                                 clock=clock)
                await reply(callback, _("✅ Your place is booked. We will remind you the day "
                                        "before and one hour before.") + "\n\n" + text, builder)
                return
            case VolShiftAction.COMING:
                claim, _shift, _task = await vol.get_claim(session, user=user, claim_id=claim_id)
                if claim.status != ClaimStatus.CLAIMED:
                    raise vol.NotClaimed(str(claim_id))
                await callback.answer(_("👍 Thank you! See you there."), show_alert=True)
                return
            case VolShiftAction.CANT:
                claim, shift, _task = await vol.get_claim(session, user=user, claim_id=claim_id)
                if claim.status != ClaimStatus.CLAIMED:
                    raise vol.NotClaimed(str(claim_id))
                if vol.withdrawal_needs_reason(shift, clock.now()):
                    await ask_reason(callback, state=state, claim_id=claim_id)
                    await callback.answer()
                    return
                await vol.withdraw(session, user=user, clock=clock, claim_id=claim_id,
                                   notify=outbox_notify)
                await callback.answer()
                await reply(callback, _("Your place is given back. Thank you for letting "
                                        "us know."))
                return
            case VolShiftAction.REASON:
                label = reason_labels().get(callback_data.code)
                if label is None:
                    raise NotFound(callback_data.code)
                await withdraw_late(callback, user=user, session=session, clock=clock,
                                    state=state, claim_id=claim_id, reason=label,
                                    notify=outbox_notify)
                return
            case VolShiftAction.CHECK_IN:
                await vol.check_in(session, user=user, clock=clock,
                                                 claim_id=claim_id)
                await callback.answer(_("✅ Checked in"))
                await state.set_state(VolunteerStates.location)
                await state.update_data(v_claim=claim_id)
                await reply_location_ask(callback)
                return
            case VolShiftAction.CHECK_OUT:
                claim = await vol.check_out(session, user=user, clock=clock, claim_id=claim_id)
                _c, shift, _t = await vol.get_claim(session, user=user, claim_id=claim_id)
                await callback.answer()
                await reply(callback, _("🏁 Checked out. About {hours} hours; staff will confirm "
                                        "them. Thank you!").format(
                    hours=hours.hours_text(hours.proposed_minutes(claim, shift))))
                return
    except DomainError as error:
        await callback.answer(error_text(error), show_alert=True)


async def ask_reason(callback: CallbackQuery, *, state: FSMContext, claim_id: int) -> None:
    builder = InlineKeyboardBuilder()
    for code, label in reason_labels().items():
        builder.button(text=label, callback_data=VolShiftCb(action=VolShiftAction.REASON,
                                                            id=claim_id, code=code))
    builder.adjust(1)
    await state.set_state(VolunteerStates.reason)
    await state.update_data(v_claim=claim_id)
    await reply(callback, _("The shift is less than 12 hours away, so the organisers will be "
                            "told. Why can't you come? Press one, or type a few words."), builder)


async def withdraw_late(
    event: CallbackQuery | Message, *, user: User, session: AsyncSession, clock: Clock,
    state: FSMContext, claim_id: int, reason: str, notify: Notify | None,
) -> None:
    try:
        await vol.withdraw(session, user=user, clock=clock, claim_id=claim_id, reason=reason,
                           notify=notify)
    except DomainError as error:
        await state.set_state(None)
        if isinstance(event, CallbackQuery):
            await event.answer(error_text(error), show_alert=True)
        else:
            await event.answer(error_text(error))
        return
    await state.set_state(None)
    text = _("Your place is given back and the organisers are told. Thank you for letting "
             "us know.")
    if isinstance(event, CallbackQuery):
        await event.answer()
        await reply(event, text)
    else:
        await event.answer(text)


@router.message(VolunteerStates.reason, F.text, ~F.text.startswith("/"))
async def on_reason_text(
    message: Message, user: User, session: AsyncSession, clock: Clock, state: FSMContext,
    outbox_notify: Notify | None = None,
) -> None:
    """A typed reason for a late "can't come"."""
    text = " ".join((message.text or "").split())[:REASON_MAX]
    claim_id = int((await state.get_data()).get("v_claim") or 0)
    await withdraw_late(message, user=user, session=session, clock=clock, state=state,
                        claim_id=claim_id, reason=text, notify=outbox_notify)


async def reply_location_ask(callback: CallbackQuery) -> None:
    keyboard = ReplyKeyboardMarkup(keyboard=[
        [KeyboardButton(text=_("📍 Share my location"), request_location=True)],
        [KeyboardButton(text=_("No thanks"))]], resize_keyboard=True, one_time_keyboard=True)
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("✅ Checked in. Thank you for coming!\nIf you like, share your location so the "
              "organisers know you are at the place. We keep only whether you were nearby."),
            reply_markup=keyboard)


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
    except DomainError as error:
        await message.answer(error_text(error), reply_markup=main_menu(access))
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
