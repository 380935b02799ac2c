"""Staff's volunteer tools: tasks and their fill, rosters, attendance and hours, monthly lists.

```mermaid
stateDiagram-v2
    [*] --> Home: 🙋 Volunteer → 🧑‍💼 Organise (serving one community)
    [*] --> Picking: 🙋 Volunteer → 🧑‍💼 Organise volunteer work (several; admins)
    Picking --> Home: a community (handlers/scope.py: search, ⭐ last choice)
    Home --> Draft: ➕ New task (tasks.py)
    Home --> Tasks: 📋 Tasks
    Tasks --> Task: a task (fill level per shift)
    Task --> Edit: ✏️ title / place / description
    Edit --> Task: text sent (people signed up are told)
    Task --> Draft: ➕ add a shift (tasks.py: day, time, length, people; the suited called)
    Task --> Roster: 👥 a shift
    Task --> Task: ❌ cancel the task (asked, then confirmed)
    Roster --> Roster: ✅ confirm hours / ❌ absent / ➕➖ places / ❌ cancel shift
    Roster --> Hours: ✏️ correct
    Hours --> Reason: hours sent
    Reason --> Roster: reason sent (a new ledger entry)
    Home --> Month: 🏅 Hours by grid
    Month --> Month: ◀ ▶ months
    Month --> ConfirmAll: ✅ Confirm all (shifts over, waiting for hours)
    ConfirmAll --> Month: ✅ Yes (each volunteer told) / ✖ No
    Month --> Commend: 🏅 Commend
    Commend --> Commend: tick people
    Commend --> Month: 📣 Send
    Month --> [*]: 📥 Excel (month / year)
```

Every button names its community; each press checks that the presser organises
it (`community`), and the services check again for every change (a forged
`community_id` gains nothing). What a task and a roster offer is decided by
`services.volunteers.task_view` and `services.volunteer_hours.roster_view`.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.volunteers import (
    VolAddShiftCb,
    VolCancelShiftCb,
    VolCancelTaskCb,
    VolCommendCb,
    VolCommendPickCb,
    VolCommendSendCb,
    VolConfirmAllCb,
    VolCorrectCb,
    VolExportCb,
    VolHoursAction,
    VolHoursCb,
    VolMenuAction,
    VolMenuCb,
    VolMonthCb,
    VolPlacesCb,
    VolRosterCb,
    VolStaffAction,
    VolStaffCb,
    VolTaskCb,
    VolTaskEditCb,
    VolTaskField,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.communities import ScopeCb
from bot.labels import place_line
from bot.screens import send, show
from bot.titles import on_button, shown
from bot.when import current_locale, say_hours, say_moment, say_month
from handlers.scope import ask_community as scope_ask
from handlers.scope import chosen as scope_chosen
from handlers.volunteers.home import when_text
from handlers.volunteers.tasks import start_draft
from handlers.volunteers.texts import say_clock, skills_text, ticked
from models.communities import Community
from models.volunteers import REASON_MAX, ShiftClaim
from services import communities, volunteer_export, volunteer_hours
from services import volunteers as vol
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound
from services.scope import Serving
from services.titles import other_locale, pick

router = Router(name=__name__)
Notify = Callable[[], None]
FLOW = "vs"  # the community picker's flow code for staff's volunteer tools


class StaffStates(StatesGroup):
    edit = State()
    hours = State()
    reason = State()


def community(access: Access, community_id: int) -> int:
    """The button's community, if the presser organises it (else NotAllowed)."""
    if not access.can_manage(community_id):
        raise NotAllowed(str(community_id))
    return community_id


def month_of(yyyymm: int) -> tuple[int, int]:
    """(year, month) of a button's yyyymm; NotFound for a forged one."""
    year, month = divmod(yyyymm, 100)
    if not (1 <= month <= 12 and 2000 <= year <= 9999):
        raise NotFound(f"month {yyyymm}")
    return year, month


def step_month(yyyymm: int, step: int) -> int:
    year, month = divmod(yyyymm, 100)
    index = year * 12 + month - 1 + step
    return (index // 12) * 100 + index % 12 + 1


# --- Home and tasks ---------------------------------------------------------------------


async def render_home(
    session: AsyncSession, cid: int, clock: Clock
) -> tuple[str, InlineKeyboardBuilder]:
    found = await session.get(Community, cid)
    if found is None:
        raise NotFound(f"community {cid}")
    now = clock.now().astimezone(await zone_of(session, cid))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➕ New task"),
                   callback_data=VolStaffCb(action=VolStaffAction.NEW, community_id=cid))
    builder.button(text=_("📋 Tasks and shifts"),
                   callback_data=VolStaffCb(action=VolStaffAction.TASKS, community_id=cid))
    builder.button(text=_("🏅 Hours by grid"),
                   callback_data=VolMonthCb(community_id=cid, month=now.year * 100 + now.month))
    builder.adjust(1)
    return _("<b>🧑‍💼 Volunteer work · {name}</b>").format(name=html.escape(found.name)), \
        builder


@router.callback_query(VolMenuCb.filter(F.action == VolMenuAction.ORGANISE))
async def on_organise(callback: CallbackQuery, access: Access, session: AsyncSession,
                      clock: Clock, state: FSMContext) -> None:
    """🧑‍💼 Organise volunteer work, for someone serving several communities: which one
    (the shared picker; the staff screen at once when they serve only one)."""
    await callback.answer()
    cid = await scope_ask(callback, state=state, access=access, session=session, flow=FLOW,
                          serving=Serving.STAFF, intro=_("<b>🧑‍💼 Volunteer work</b>"))
    if cid is not None:
        text, builder = await render_home(session, cid, clock)
        await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ScopeCb.filter(F.flow == FLOW))
async def on_community_chosen(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                              session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """The community picked: its staff screen (the choice re-checked and remembered)."""
    cid = await scope_chosen(callback_data, access=access, state=state, serving=Serving.STAFF)
    text, builder = await render_home(session, cid, clock)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolStaffCb.filter(F.action == VolStaffAction.HOME))
async def on_home(callback: CallbackQuery, callback_data: VolStaffCb, access: Access,
                  session: AsyncSession, clock: Clock) -> None:
    """🧑‍💼 Organise: the staff screen of a community."""
    cid = community(access, callback_data.community_id)
    text, builder = await render_home(session, cid, clock)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolStaffCb.filter(F.action == VolStaffAction.NEW))
async def on_new_task(callback: CallbackQuery, callback_data: VolStaffCb, access: Access,
                      state: FSMContext) -> None:
    """➕ New task: the draft begins (tasks.py)."""
    cid = community(access, callback_data.community_id)
    await callback.answer()
    await start_draft(callback, state=state, community_id=cid)


@router.callback_query(VolStaffCb.filter(F.action == VolStaffAction.TASKS))
async def on_tasks(callback: CallbackQuery, callback_data: VolStaffCb, access: Access,
                   session: AsyncSession, clock: Clock) -> None:
    """📋 The tasks with coming shifts, and how full they are."""
    cid = community(access, callback_data.community_id)
    fills = await vol.list_tasks(session, access=access, clock=clock, community_id=cid)
    builder = InlineKeyboardBuilder()
    for fill in fills:
        builder.button(text=on_button(f"{shown(fill.task)} · {fill.taken}/{fill.headcount}"),
                       callback_data=VolTaskCb(community_id=cid, task_id=fill.task.id or 0))
    builder.button(text=_("◀ Back"),
                   callback_data=VolStaffCb(action=VolStaffAction.HOME, community_id=cid))
    builder.adjust(1)
    text = (_("<b>Tasks</b> (places taken / needed):") if fills else
            _("No tasks with coming shifts. Press ➕ New task to add one."))
    text = place_line(await communities.where(session, community_id=cid)) + "\n" + text
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


async def render_task(
    session: AsyncSession, access: Access, cid: int, task_id: int
) -> tuple[str, InlineKeyboardBuilder]:
    view = await vol.task_view(session, access=access, task_id=task_id, community_id=cid)
    task, shifts = view.task, view.shifts
    tz = await zone_of(session, cid)
    lines = [f"<b>{html.escape(shown(task))}</b>",
             place_line(await vol.where(session, task)), f"📍 {html.escape(task.place)}",
             _("Skills: {skills}").format(skills=skills_text(task.skills))]
    other = pick(task.title, task.titles, other_locale(current_locale()))
    if other != shown(task):
        lines.insert(1, f"🌐 {html.escape(other)}")
    if task.description:
        lines.append(html.escape(task.description))
    if task.cancelled_at:
        lines.append(_("❌ Cancelled"))
    builder = InlineKeyboardBuilder()
    for n, shift in enumerate(shifts, start=1):
        lines.append(_("{n}. {when} · {taken} of {headcount}").format(
            n=n, when=when_text(shift, tz), taken=shift.taken, headcount=shift.headcount))
        builder.button(text=f"👥 {n}. {say_moment(shift.starts_at, tz)}",
                       callback_data=VolRosterCb(community_id=cid, shift_id=shift.id or 0))
    if view.can_edit:
        for field, label in ((VolTaskField.TITLE, _("✏️ Title")),
                             (VolTaskField.PLACE, _("✏️ Place")),
                             (VolTaskField.DESCRIPTION, _("✏️ Description")),
                             (VolTaskField.OTHER_TITLE, _("🌐 Other-language title"))):
            builder.button(text=label, callback_data=VolTaskEditCb(
                community_id=cid, task_id=task_id, field=field))
    if view.can_add_shift:
        builder.button(text=_("➕ Add a shift"),
                       callback_data=VolAddShiftCb(community_id=cid, task_id=task_id))
    if view.can_cancel:
        builder.button(text=_("❌ Cancel the task"),
                       callback_data=VolCancelTaskCb(community_id=cid, task_id=task_id))
    builder.button(text=_("◀ Back"),
                   callback_data=VolStaffCb(action=VolStaffAction.TASKS, community_id=cid))
    builder.adjust(*([2] * ((len(shifts) + 1) // 2)), *([3, 1] if view.can_edit else []),
                   *([1] * (view.can_add_shift + view.can_cancel + 1)))
    return "\n".join(lines), builder


@router.callback_query(VolTaskCb.filter())
async def on_task(callback: CallbackQuery, callback_data: VolTaskCb, access: Access,
                  session: AsyncSession) -> None:
    """A task: its shifts and their fill."""
    cid = community(access, callback_data.community_id)
    text, builder = await render_task(session, access, cid, callback_data.task_id)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolTaskEditCb.filter())
async def on_edit(callback: CallbackQuery, callback_data: VolTaskEditCb, access: Access,
                  session: AsyncSession, state: FSMContext) -> None:
    """✏️ Ask for a task's new title, place or description."""
    cid = community(access, callback_data.community_id)
    view = await vol.task_view(session, access=access, task_id=callback_data.task_id,
                               community_id=cid)
    if not view.can_edit:
        raise vol.ShiftUnavailable("cancelled")
    await state.set_state(StaffStates.edit)
    await state.update_data(v_task=callback_data.task_id, v_field=callback_data.field.value,
                            v_cid=cid)
    await callback.answer()
    await send(callback, {VolTaskField.TITLE: _("Send the new title."),
                          VolTaskField.PLACE: _("Send the new place."),
                          VolTaskField.DESCRIPTION: _("Send the new description."),
                          VolTaskField.OTHER_TITLE: other_title_question()}[
        callback_data.field])


@router.message(StaffStates.edit, F.text, ~F.text.startswith("/"))
async def on_edit_text(
    message: Message, access: Access, session: AsyncSession, clock: Clock, state: FSMContext,
    outbox_notify: Notify | None = None,
) -> None:
    """New words for a task's title, place or description."""
    data = await state.get_data()
    field = {VolTaskField.TITLE.value: "title", VolTaskField.PLACE.value: "place",
             VolTaskField.DESCRIPTION.value: "description"}.get(str(data.get("v_field")))
    task_id, cid = int(data.get("v_task") or 0), int(data.get("v_cid") or 0)
    if field is None and data.get("v_field") == VolTaskField.OTHER_TITLE.value:
        await state.clear()
        await vol.set_task_title(session, access=access, clock=clock, task_id=task_id,
                                 locale=other_locale(current_locale()), title=message.text)
        text, builder = await render_task(session, access, cid, task_id)
        await message.answer(_("Saved ✅") + "\n\n" + text, reply_markup=builder.as_markup())
        return
    if field is None:
        await state.clear()
        return
    try:
        await vol.edit_task(session, access=access, clock=clock, task_id=task_id,
                            notify=outbox_notify, **{field: message.text or ""})
    except DomainError as error:
        if not isinstance(error, InvalidInput):  # words to fix keep the question open
            await state.clear()
        raise
    await state.clear()
    text, builder = await render_task(session, access, cid, task_id)
    await message.answer(_("Saved ✅ The people signed up are being told.") + "\n\n" + text,
                         reply_markup=builder.as_markup())


def other_title_question() -> str:
    """✏️ The task's title in the other language: asked in the staff member's language."""
    if other_locale(current_locale()) == "en":
        return _("🌐 Send the title in English, shown to volunteers who read English.")
    return _("🌐 Send the title in Chinese, shown to volunteers who read Chinese.")


def ask_first(question: str, yes: VolCancelTaskCb | VolCancelShiftCb, cid: int,
              task_id: int) -> tuple[str, InlineKeyboardBuilder]:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, cancel it"), callback_data=yes)
    builder.button(text=_("No, keep it"), callback_data=VolTaskCb(community_id=cid,
                                                                   task_id=task_id))
    builder.adjust(1)
    return question, builder


@router.callback_query(VolCancelTaskCb.filter())
async def on_cancel_task(callback: CallbackQuery, callback_data: VolCancelTaskCb,
                         access: Access, session: AsyncSession, clock: Clock,
                         outbox_notify: Notify | None = None) -> None:
    """❌ Cancel the whole task: asked first, cancelled on the second press."""
    cid, task_id = community(access, callback_data.community_id), callback_data.task_id
    view = await vol.task_view(session, access=access, task_id=task_id, community_id=cid)
    await callback.answer()
    if not callback_data.confirmed:
        text, builder = ask_first(
            _("Cancel the whole task? Everyone signed up will be told."),
            callback_data.model_copy(update={"confirmed": True}), cid, task_id)
        await send(callback, text, reply_markup=builder.as_markup())
        return
    await vol.cancel_task(session, access=access, clock=clock, task_id=view.task.id or 0,
                          notify=outbox_notify)
    text, builder = await render_task(session, access, cid, task_id)
    await show(callback, _("Cancelled. The people signed up are being told.") + "\n\n" + text,
               reply_markup=builder.as_markup())


# --- A shift's roster ---------------------------------------------------------------------


async def render_roster(
    session: AsyncSession, access: Access, clock: Clock, cid: int, shift_id: int
) -> tuple[str, InlineKeyboardBuilder]:
    view = await volunteer_hours.roster_view(session, access=access, clock=clock,
                                             shift_id=shift_id)
    shift, task = view.shift, view.task
    tz = await zone_of(session, task.community_id)
    lines = [f"<b>{html.escape(shown(task))}</b>", place_line(await vol.where(session, task)),
             f"🕒 {when_text(shift, tz)}",
             _("Places taken: {taken} of {headcount}").format(taken=shift.taken,
                                                              headcount=shift.headcount)]
    builder = InlineKeyboardBuilder()
    widths: list[int] = []
    for n, line in enumerate(view.people, start=1):
        claim, user = line.claim, line.user
        parts = [f"{n}. {html.escape(user.first_name or '?')}"]
        if claim.checked_in_at:
            parts.append(_("in {time}").format(time=say_clock(claim.checked_in_at, tz)))
        if claim.checked_out_at:
            parts.append(_("out {time}").format(
                time=say_clock(claim.checked_out_at, tz)))
        if claim.near_place is not None:
            parts.append(_("📍 at the place") if claim.near_place else _("📍 away"))
        if claim.attendance == "absent" and line.confirmed is None:
            parts.append(_("❌ did not come"))
        if line.confirmed is not None:
            parts.append(_("✅ {hours} h confirmed").format(
                hours=volunteer_hours.hours_text(line.confirmed)))
        lines.append(" · ".join(parts))
        row = 0
        for allowed, action, label in (
            (line.can_confirm, VolHoursAction.CONFIRM, _("✅ {n}. {name}: {hours} h").format(
                n=n, name=user.first_name or "?",
                hours=volunteer_hours.hours_text(line.proposed))),
            (line.can_mark_absent, VolHoursAction.ABSENT,
             _("❌ {n} did not come").format(n=n)),
            (line.can_correct, VolHoursAction.CORRECT, _("✏️ {n} correct").format(n=n)),
        ):
            if allowed:
                builder.button(text=label, callback_data=VolHoursCb(
                    action=action, community_id=cid, claim_id=claim.id or 0))
                row += 1
        if row:
            widths.append(row)
    if not view.people:
        lines.append(_("Nobody has signed up yet."))
    if view.can_add_place:
        builder.button(text=_("➕ One more place"),
                       callback_data=VolPlacesCb(community_id=cid, shift_id=shift_id, more=True))
    if view.can_remove_place:
        builder.button(text=_("➖ One place fewer"), callback_data=VolPlacesCb(
            community_id=cid, shift_id=shift_id, more=False))
    if view.can_add_place or view.can_remove_place:
        widths.append(int(view.can_add_place) + int(view.can_remove_place))
    if view.can_cancel:
        builder.button(text=_("❌ Cancel this shift"),
                       callback_data=VolCancelShiftCb(community_id=cid, shift_id=shift_id))
        widths.append(1)
    builder.button(text=_("◀ Back"),
                   callback_data=VolTaskCb(community_id=cid, task_id=task.id or 0))
    builder.adjust(*widths, 1)
    return "\n".join(lines), builder


@router.callback_query(VolRosterCb.filter())
async def on_roster(callback: CallbackQuery, callback_data: VolRosterCb, access: Access,
                    session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """👥 Who is signed up for a shift, and who came (also ✖ Cancel of a correction: the
    hours stay as they were)."""
    cid = community(access, callback_data.community_id)
    if await state.get_state() in (StaffStates.hours, StaffStates.reason):
        await state.clear()
    text, builder = await render_roster(session, access, clock, cid, callback_data.shift_id)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolPlacesCb.filter())
async def on_places(callback: CallbackQuery, callback_data: VolPlacesCb, access: Access,
                    session: AsyncSession, clock: Clock) -> None:
    """➕ One more place / ➖ one fewer."""
    cid, shift_id = community(access, callback_data.community_id), callback_data.shift_id
    shift, _task = await vol.get_shift(session, shift_id=shift_id)
    await vol.set_headcount(session, access=access, clock=clock, shift_id=shift_id,
                            headcount=shift.headcount + (1 if callback_data.more else -1))
    text, builder = await render_roster(session, access, clock, cid, shift_id)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolCancelShiftCb.filter())
async def on_cancel_shift(callback: CallbackQuery, callback_data: VolCancelShiftCb,
                          access: Access, session: AsyncSession, clock: Clock,
                          outbox_notify: Notify | None = None) -> None:
    """❌ Cancel one shift: asked first, cancelled on the second press."""
    cid = community(access, callback_data.community_id)
    shift, task = await vol.get_shift(session, shift_id=callback_data.shift_id)
    access.require_manage(task.community_id)
    await callback.answer()
    if not callback_data.confirmed:
        text, builder = ask_first(
            _("Cancel this shift? Everyone signed up will be told."),
            callback_data.model_copy(update={"confirmed": True}), cid, shift.task_id)
        await send(callback, text, reply_markup=builder.as_markup())
        return
    await vol.cancel_task(session, access=access, clock=clock, task_id=shift.task_id,
                          shift_id=callback_data.shift_id, notify=outbox_notify)
    text, builder = await render_task(session, access, cid, shift.task_id)
    await show(callback, _("Cancelled. The people signed up are being told.") + "\n\n" + text,
               reply_markup=builder.as_markup())


async def shift_of_claim(session: AsyncSession, claim_id: int) -> int:
    claim = await session.get(ShiftClaim, claim_id)
    if claim is None:
        raise NotFound(f"claim {claim_id}")
    return claim.shift_id


@router.callback_query(VolHoursCb.filter(F.action.in_({VolHoursAction.CONFIRM,
                                                       VolHoursAction.ABSENT})))
async def on_attendance(callback: CallbackQuery, callback_data: VolHoursCb, access: Access,
                        session: AsyncSession, clock: Clock,
                        outbox_notify: Notify | None = None) -> None:
    """✅ Confirm the proposed hours (the volunteer is told) / ❌ did not come."""
    cid, claim_id = community(access, callback_data.community_id), callback_data.claim_id
    if callback_data.action == VolHoursAction.CONFIRM:
        await volunteer_hours.confirm_hours(session, access=access, clock=clock,
                                            claim_id=claim_id, notify=outbox_notify)
    else:
        await volunteer_hours.mark_absent(session, access=access, clock=clock, claim_id=claim_id)
    text, builder = await render_roster(session, access, clock, cid,
                                        await shift_of_claim(session, claim_id))
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolHoursCb.filter(F.action == VolHoursAction.CORRECT))
async def on_correct(callback: CallbackQuery, callback_data: VolHoursCb, access: Access,
                     session: AsyncSession, state: FSMContext) -> None:
    """✏️ Correct the hours: ask for the number."""
    cid = community(access, callback_data.community_id)
    await volunteer_hours.staff_claim(session, access=access, claim_id=callback_data.claim_id)
    shift_id = await shift_of_claim(session, callback_data.claim_id)
    await state.set_state(StaffStates.hours)
    await state.update_data(v_claim=callback_data.claim_id, v_cid=cid, v_shift=shift_id)
    await callback.answer()
    builder = InlineKeyboardBuilder()
    for minutes in CORRECT_MINUTES:
        builder.button(text=say_hours(minutes), callback_data=VolCorrectCb(minutes=minutes))
    builder.adjust(4)
    builder.row(InlineKeyboardButton(text=_("✖ Cancel"), callback_data=VolRosterCb(
        community_id=cid, shift_id=shift_id).pack()))
    await send(callback, _("How many hours were they, really? Press one, or send another "
                           "number, for example 1.5 (0 if they did not come)."),
               reply_markup=builder.as_markup())


CORRECT_MINUTES = (0, 30, 60, 90, 120, 150, 180, 240, 300, 360, 480, 600)


@router.callback_query(StaffStates.hours, VolCorrectCb.filter())
async def on_hours_button(callback: CallbackQuery, callback_data: VolCorrectCb,
                          state: FSMContext) -> None:
    """The corrected hours, pressed; the reason comes next."""
    await callback.answer()
    await take_hours(callback, state, callback_data.minutes)


def parse_hours(text: str) -> int | None:
    """ "2", "1.5", "1,5", "2h" → minutes; None if it is not a number."""
    cleaned = text.strip().lower().rstrip("h小时 ").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return round(value * 60) if value == value else None  # NaN is not a number of hours


@router.message(StaffStates.hours, F.text, ~F.text.startswith("/"))
async def on_hours_text(message: Message, state: FSMContext) -> None:
    """The corrected hours; the reason comes next."""
    minutes = parse_hours(message.text or "")
    if minutes is None:
        raise InvalidInput("hours", "range")
    await take_hours(message, state, minutes)


async def take_hours(event: CallbackQuery | Message, state: FSMContext, minutes: int) -> None:
    if not 0 <= minutes <= volunteer_hours.MAX_MINUTES:
        raise InvalidInput("hours", "range")
    await state.update_data(v_minutes=minutes)
    await state.set_state(StaffStates.reason)
    data = await state.get_data()
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=VolRosterCb(
        community_id=int(data.get("v_cid") or 0), shift_id=int(data.get("v_shift") or 0)))
    await show(event, _("Why are you correcting them? A few words (everyone can see who "
                        "changed what and why)."), reply_markup=builder.as_markup())


@router.message(StaffStates.reason, F.text, ~F.text.startswith("/"))
async def on_reason_text(
    message: Message, access: Access, session: AsyncSession, clock: Clock, state: FSMContext,
    outbox_notify: Notify | None = None,
) -> None:
    """Why the hours were corrected: saved with the new ledger entry (the volunteer is told)."""
    data = await state.get_data()
    claim_id, cid = int(data.get("v_claim") or 0), int(data.get("v_cid") or 0)
    try:
        await volunteer_hours.correct_hours(
            session, access=access, clock=clock, claim_id=claim_id,
            minutes=int(data.get("v_minutes") or 0), reason=(message.text or "")[:REASON_MAX],
            notify=outbox_notify)
        shift_id = await shift_of_claim(session, claim_id)
        text, builder = await render_roster(session, access, clock, cid, shift_id)
    except DomainError as error:
        if not (isinstance(error, InvalidInput) and error.field == "reason"):
            await state.clear()
        raise
    await state.clear()
    await message.answer(_("Corrected ✅") + "\n\n" + text, reply_markup=builder.as_markup())


# --- Months: hours by grid, commendations, the Excel file ----------------------------------


async def render_month(
    session: AsyncSession, access: Access, clock: Clock, cid: int, yyyymm: int
) -> tuple[str, InlineKeyboardBuilder]:
    tz = await zone_of(session, cid)
    year, month = month_of(yyyymm)
    start, end = volunteer_hours.month_bounds(year, month, tz)
    grids = await volunteer_hours.hours_by_grid(session, access=access, community_id=cid,
                                                start=start, end=end)
    lines = [_("<b>🏅 Confirmed volunteer hours, {month}</b>").format(
        month=say_month(year, month)),
             place_line(await communities.where(session, community_id=cid))]
    for grid in grids:
        lines.append("\n<b>" + html.escape(grid.grid or _("No grid")) + "</b>")
        for n, (user, minutes) in enumerate(grid.people, start=1):
            lines.append(_("{n}. {name}: {hours} h").format(
                n=n, name=html.escape(user.first_name or "?"),
                hours=volunteer_hours.hours_text(minutes)))
    if not grids:
        lines.append(_("No confirmed hours in this month."))
    waiting = await volunteer_hours.waiting_in_month(session, access=access, clock=clock,
                                                     community_id=cid, start=start, end=end)
    if waiting:
        lines.append("\n" + _("Shifts waiting for hours to be confirmed: {n}").format(n=waiting))
    builder = InlineKeyboardBuilder()
    builder.button(text="◀", callback_data=VolMonthCb(community_id=cid,
                                                      month=step_month(yyyymm, -1)))
    builder.button(text="▶", callback_data=VolMonthCb(community_id=cid,
                                                      month=step_month(yyyymm, 1)))
    if waiting:
        builder.button(text=_("✅ Confirm all ({n})").format(n=waiting),
                       callback_data=VolConfirmAllCb(community_id=cid, month=yyyymm))
    builder.button(text=_("🏅 Commend"), callback_data=VolCommendCb(community_id=cid,
                                                                   month=yyyymm))
    builder.button(text=_("📥 Excel: this month"),
                   callback_data=VolExportCb(community_id=cid, year=year, month=month))
    builder.button(text=_("📥 Excel: whole year"),
                   callback_data=VolExportCb(community_id=cid, year=year))
    builder.button(text=_("◀ Back"),
                   callback_data=VolStaffCb(action=VolStaffAction.HOME, community_id=cid))
    builder.adjust(2, *([1] * (5 + bool(waiting))))
    return "\n".join(lines), builder


@router.callback_query(VolMonthCb.filter())
async def on_month(callback: CallbackQuery, callback_data: VolMonthCb, access: Access,
                   session: AsyncSession, clock: Clock) -> None:
    """🏅 Confirmed hours by grid for a month; ◀ ▶ to the others."""
    cid = community(access, callback_data.community_id)
    text, builder = await render_month(session, access, clock, cid, callback_data.month)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolConfirmAllCb.filter(F.confirmed.is_(False)))
async def on_confirm_all(callback: CallbackQuery, callback_data: VolConfirmAllCb,
                         access: Access, session: AsyncSession, clock: Clock) -> None:
    """✅ Confirm all: asked once, with two big buttons."""
    cid = community(access, callback_data.community_id)
    year, month = month_of(callback_data.month)
    start, end = volunteer_hours.month_bounds(year, month, await zone_of(session, cid))
    waiting = await volunteer_hours.waiting_in_month(session, access=access, clock=clock,
                                                     community_id=cid, start=start, end=end)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Yes, confirm {n}").format(n=waiting), callback_data=VolConfirmAllCb(
        community_id=cid, month=callback_data.month, confirmed=True))
    builder.button(text=_("✖ No"), callback_data=VolMonthCb(community_id=cid,
                                                            month=callback_data.month))
    builder.adjust(1)
    await callback.answer()
    await show(callback, ngettext(
        "Confirm the hours of {n} shift in {month} as proposed (from check-in and check-out, "
        "else the whole shift)?",
        "Confirm the hours of {n} shifts in {month} as proposed (from check-in and "
        "check-out, else the whole shift)?", waiting).format(
            n=waiting, month=f"{year}-{month:02d}"), reply_markup=builder.as_markup())


@router.callback_query(VolConfirmAllCb.filter(F.confirmed.is_(True)))
async def on_confirm_all_yes(callback: CallbackQuery, callback_data: VolConfirmAllCb,
                             access: Access, session: AsyncSession, clock: Clock,
                             outbox_notify: Notify | None = None) -> None:
    """✅ Yes: every place of the month still waiting gets its proposed hours (the
    volunteers are told); pressed again, none is left."""
    cid = community(access, callback_data.community_id)
    year, month = month_of(callback_data.month)
    start, end = volunteer_hours.month_bounds(year, month, await zone_of(session, cid))
    done = await volunteer_hours.confirm_all(session, access=access, clock=clock,
                                             community_id=cid, start=start, end=end,
                                             notify=outbox_notify)
    await callback.answer(_("✅ Confirmed: {n}").format(n=done))
    text, builder = await render_month(session, access, clock, cid, callback_data.month)
    await show(callback, text, reply_markup=builder.as_markup())


async def render_commend(
    session: AsyncSession, access: Access, cid: int, yyyymm: int, chosen: set[int]
) -> tuple[str, InlineKeyboardBuilder]:
    tz = await zone_of(session, cid)
    year, month = month_of(yyyymm)
    start, end = volunteer_hours.month_bounds(year, month, tz)
    grids = await volunteer_hours.hours_by_grid(session, access=access, community_id=cid,
                                                start=start, end=end)
    builder = InlineKeyboardBuilder()
    for grid in grids:
        for user, minutes in grid.people:
            builder.button(text=ticked(f"{user.first_name or '?'} · "
                                       f"{volunteer_hours.hours_text(minutes)} h",
                                       user.id in chosen),
                           callback_data=VolCommendPickCb(community_id=cid, month=yyyymm,
                                                          user_id=user.id or 0))
    builder.button(text=_("📣 Send the thanks ({n})").format(n=len(chosen)),
                   callback_data=VolCommendSendCb(community_id=cid, month=yyyymm))
    builder.button(text=_("◀ Back"), callback_data=VolMonthCb(community_id=cid, month=yyyymm))
    builder.adjust(1)
    return place_line(await communities.where(session, community_id=cid)) + "\n" + _(
        "Whom do you want to commend for {month}? Press names, then Send.").format(
        month=say_month(year, month)), builder


@router.callback_query(VolCommendCb.filter())
async def on_commend(callback: CallbackQuery, callback_data: VolCommendCb, access: Access,
                     session: AsyncSession, state: FSMContext) -> None:
    """🏅 Commend: choose whom, starting from no one."""
    cid = community(access, callback_data.community_id)
    await state.update_data(v_commend=[])
    text, builder = await render_commend(session, access, cid, callback_data.month, set())
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolCommendPickCb.filter())
async def on_commend_pick(callback: CallbackQuery, callback_data: VolCommendPickCb,
                          access: Access, session: AsyncSession, state: FSMContext) -> None:
    """Tick or untick one person to commend."""
    cid = community(access, callback_data.community_id)
    chosen = set((await state.get_data()).get("v_commend") or []) ^ {callback_data.user_id}
    await state.update_data(v_commend=sorted(chosen))
    text, builder = await render_commend(session, access, cid, callback_data.month, chosen)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(VolCommendSendCb.filter())
async def on_commend_send(callback: CallbackQuery, callback_data: VolCommendSendCb,
                          access: Access, session: AsyncSession, clock: Clock,
                          state: FSMContext, outbox_notify: Notify | None = None) -> None:
    """📣 Send the thanks to the people ticked."""
    cid = community(access, callback_data.community_id)
    chosen = set((await state.get_data()).get("v_commend") or [])
    if not chosen:
        await callback.answer(_("Press at least one name first."), show_alert=True)
        return
    year, month = month_of(callback_data.month)
    sent = await volunteer_hours.commend(
        session, access=access, clock=clock, community_id=cid, user_ids=chosen,
        year=year, month=month, notify=outbox_notify)
    await state.update_data(v_commend=[])
    await callback.answer(ngettext("Thanks sent to {n} person 🏅", "Thanks sent to {n} people 🏅",
                                   sent).format(n=sent), show_alert=True)
    text, builder = await render_month(session, access, clock, cid, callback_data.month)
    await show(callback, text, reply_markup=builder.as_markup())


def export_words(title: str) -> volunteer_export.HoursWords:
    """The hours workbook in the reader's language."""
    return volunteer_export.HoursWords(
        title=title, summary_name=_("Summary"), list_name=_("Shifts"),
        headers=[_("Volunteer"), _("Grid"), _("Task"), _("Place"), _("Start"), _("End"),
                 _("Checked in"), _("Checked out"), _("Attendance"),
                 _("Hours (from check-in)"), _("Hours confirmed")],
        summary_headers=("", _("Number"), _("Share")),
        attendance={"present": _("present"), "absent": _("absent")},
        unmarked=_("not marked yet"), shifts=_("Shifts taken"), volunteers=_("Volunteers"),
        proposed=_("Hours (from check-in)"), confirmed=_("Hours confirmed"))


@router.callback_query(VolExportCb.filter())
async def on_export(callback: CallbackQuery, callback_data: VolExportCb, access: Access,
                    session: AsyncSession, clock: Clock) -> None:
    """📥 The Excel file of a month or a whole year: a summary, then one row per volunteer
    and shift in time order."""
    cid = community(access, callback_data.community_id)
    tz = await zone_of(session, cid)
    year, month = month_of(callback_data.year * 100 + (callback_data.month or 1))
    if callback_data.month:
        start, end = volunteer_hours.month_bounds(year, month, tz)
        label = f"{year}-{month:02d}"
        period = say_month(year, month)
    else:
        start, end = volunteer_hours.year_bounds(year, tz)
        label = period = str(year)
    found = await session.get(Community, cid)
    title = _("Volunteer hours · {community} · {period}").format(
        community=found.name if found else "", period=period)
    data = await volunteer_export.export_hours(
        session, access=access, clock=clock, community_id=cid, start=start, end=end,
        words=export_words(title), locale=current_locale())
    await callback.answer()
    if callback.bot is not None:
        await callback.bot.send_document(
            callback.from_user.id,
            BufferedInputFile(data, filename=f"volunteer-hours-{label}.xlsx"),
            caption=_("Volunteer hours, {period}: one row per volunteer and shift.").format(
                period=period))
