"""Staff's volunteer tools: tasks and their fill, rosters, attendance and hours, monthly lists.

```mermaid
stateDiagram-v2
    [*] --> Home: 🙋 Volunteer → 🧑‍💼 Organise
    Home --> Draft: ➕ New task (handlers/volunteer_tasks.py)
    Home --> Tasks: 📋 Tasks
    Tasks --> Task: a task (fill level per shift)
    Task --> Edit: ✏️ title / place / description
    Edit --> Task: text sent (people signed up are told)
    Task --> Roster: 👥 a shift
    Task --> [*]: ❌ cancel the task (confirmed)
    Roster --> Roster: ✅ confirm hours / ❌ absent / ➕➖ places / ❌ cancel shift
    Roster --> Hours: ✏️ correct
    Hours --> Reason: hours sent
    Reason --> Roster: reason sent (a new ledger entry)
    Home --> Month: 🏅 Hours by grid
    Month --> Month: ◀ ▶ months
    Month --> Commend: 🏅 Commend
    Commend --> Commend: tick people
    Commend --> Month: 📣 Send
    Month --> [*]: 📥 Excel (month / year)
```

The screens check the presser's rights up front for a plain answer; the
services check them again for every change (a forged `cid` gains nothing).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import VolStaffAction, VolStaffCb
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.replies import answer_out_of_date, not_allowed, out_of_date
from handlers.volunteers.home import community_zone, when_text
from handlers.volunteers.tasks import start_draft
from handlers.volunteers.texts import skills_text, ticked
from models.communities import Community
from models.volunteers import REASON_MAX, ShiftClaim
from services import volunteer_export, volunteer_hours
from services import volunteers as vol
from services.access import Access
from services.clock import Clock
from services.errors import AlreadyExists, DomainError, InvalidInput, NotAllowed, NotFound

router = Router(name=__name__)
Notify = Callable[[], None]


class StaffStates(StatesGroup):
    edit = State()
    hours = State()
    reason = State()


def staff_error(error: DomainError) -> str:
    if isinstance(error, NotAllowed):
        return not_allowed()
    if isinstance(error, AlreadyExists):
        return _("These hours are already confirmed. Use ✏️ to correct them.")
    if isinstance(error, vol.ShiftUnavailable):
        if error.reason == "not_started":
            return _("The shift has not started yet.")
        return _("This task or shift was cancelled.")
    if isinstance(error, vol.NotClaimed):
        return _("This person no longer has a place on the shift.")
    if isinstance(error, InvalidInput):
        return {
            ("headcount", "below_taken"): _("More people have already signed up than that."),
            ("headcount", "zero"): _("A shift needs at least 1 person."),
            ("hours", "range"): _("Please send a number of hours between 0 and 24."),
            ("reason", "empty"): _("Please say why, in a few words."),
        }.get((error.field, error.reason), _("Please check what you entered."))
    return out_of_date()


def this_month(clock: Clock, tz: ZoneInfo) -> int:
    now = clock.now().astimezone(tz)
    return now.year * 100 + now.month


def step_month(yyyymm: int, step: int) -> int:
    year, month = divmod(yyyymm, 100)
    index = year * 12 + month - 1 + step
    return (index // 12) * 100 + index % 12 + 1


async def render_home(
    session: AsyncSession, cid: int, clock: Clock
) -> tuple[str, InlineKeyboardBuilder]:
    community = await session.get(Community, cid)
    if community is None:
        raise NotFound(f"community {cid}")
    builder = InlineKeyboardBuilder()
    month = this_month(clock, await community_zone(session, cid))
    for action, label, n in (
        (VolStaffAction.NEW, _("➕ New task"), 0),
        (VolStaffAction.TASKS, _("📋 Tasks and shifts"), 0),
        (VolStaffAction.MONTH, _("🏅 Hours by grid"), month),
    ):
        builder.button(text=label, callback_data=VolStaffCb(action=action, cid=cid, n=n))
    builder.adjust(1)
    return _("<b>🧑‍💼 Volunteer work · {name}</b>").format(name=html.escape(community.name)), \
        builder


async def render_tasks(
    session: AsyncSession, access: Access, clock: Clock, cid: int
) -> tuple[str, InlineKeyboardBuilder]:
    fills = await vol.list_tasks(session, access=access, clock=clock, community_id=cid)
    builder = InlineKeyboardBuilder()
    for fill in fills:
        builder.button(text=f"{fill.task.title} · {fill.taken}/{fill.headcount}"[:60],
                       callback_data=VolStaffCb(action=VolStaffAction.TASK, cid=cid,
                                                id=fill.task.id or 0))
    builder.button(text=_("◀ Back"), callback_data=VolStaffCb(action=VolStaffAction.HOME, cid=cid))
    builder.adjust(1)
    if not fills:
        return _("No tasks with coming shifts. Press ➕ New task to add one."), builder
    return _("<b>Tasks</b> (places taken / needed):"), builder


async def render_task(
    session: AsyncSession, clock: Clock, cid: int, task_id: int
) -> tuple[str, InlineKeyboardBuilder]:
    task = await vol.get_task(session, task_id=task_id)
    if task.community_id != cid:
        raise NotAllowed(f"task {task_id} not in {cid}")
    tz = await community_zone(session, cid)
    shifts = [s for s in await vol.task_shifts(session, task_id=task_id) if s.cancelled_at is None]
    lines = [f"<b>{html.escape(task.title)}</b>", f"📍 {html.escape(task.place)}",
             _("Skills: {skills}").format(skills=skills_text(task.skills))]
    if task.description:
        lines.append(html.escape(task.description))
    if task.cancelled_at:
        lines.append(_("❌ Cancelled"))
    builder = InlineKeyboardBuilder()
    for n, shift in enumerate(shifts, start=1):
        lines.append(_("{n}. {when} · {taken} of {headcount}").format(
            n=n, when=when_text(shift, tz), taken=shift.taken, headcount=shift.headcount))
        builder.button(text=f"👥 {n}. {shift.starts_at.astimezone(tz):%m-%d %H:%M}",
                       callback_data=VolStaffCb(action=VolStaffAction.SHIFT, cid=cid,
                                                id=shift.id or 0))
    edits = ((1, _("✏️ Title")), (2, _("✏️ Place")), (3, _("✏️ Description")))
    if task.cancelled_at is None:
        for field, label in edits:
            builder.button(text=label, callback_data=VolStaffCb(
                action=VolStaffAction.EDIT, cid=cid, id=task_id, n=field))
        builder.button(text=_("❌ Cancel the task"), callback_data=VolStaffCb(
            action=VolStaffAction.CANCEL_TASK, cid=cid, id=task_id))
    builder.button(text=_("◀ Back"), callback_data=VolStaffCb(action=VolStaffAction.TASKS,
                                                              cid=cid))
    builder.adjust(*([2] * ((len(shifts) + 1) // 2)), 3, 1, 1)
    return "\n".join(lines), builder


async def render_roster(
    session: AsyncSession, access: Access, clock: Clock, cid: int, shift_id: int
) -> tuple[str, InlineKeyboardBuilder]:
    shift, task, people = await vol.roster(session, access=access, shift_id=shift_id)
    tz = await community_zone(session, task.community_id)
    confirmed = await volunteer_hours.confirmed_minutes(
        session, claim_ids=[c.id or 0 for c, _u in people])
    started = shift.starts_at <= clock.now()
    lines = [f"<b>{html.escape(task.title)}</b>", f"🕒 {when_text(shift, tz)}",
             _("Places taken: {taken} of {headcount}").format(taken=shift.taken,
                                                              headcount=shift.headcount)]
    builder = InlineKeyboardBuilder()
    widths: list[int] = []
    for n, (claim, user) in enumerate(people, start=1):
        name = html.escape(user.first_name or "?")
        parts = [f"{n}. {name}"]
        if claim.checked_in_at:
            parts.append(_("in {time}").format(time=f"{claim.checked_in_at.astimezone(tz):%H:%M}"))
        if claim.checked_out_at:
            parts.append(_("out {time}").format(
                time=f"{claim.checked_out_at.astimezone(tz):%H:%M}"))
        if claim.near_place is not None:
            parts.append(_("📍 at the place") if claim.near_place else _("📍 away"))
        if claim.attendance == "absent" and claim.id not in confirmed:
            parts.append(_("❌ did not come"))
        if claim.id in confirmed:
            parts.append(_("✅ {hours} h confirmed").format(
                hours=volunteer_hours.hours_text(confirmed[claim.id or 0])))
        lines.append(" · ".join(parts))
        if not started:
            continue
        cb = VolStaffCb(action=VolStaffAction.CONFIRM, cid=cid, id=claim.id or 0)
        row = 0
        if claim.id not in confirmed and claim.attendance != "absent":
            proposed = volunteer_hours.proposed_minutes(claim, shift)
            builder.button(text=_("✅ {n}. {name}: {hours} h").format(
                n=n, name=user.first_name or "?", hours=volunteer_hours.hours_text(proposed)),
                callback_data=cb)
            builder.button(text=_("❌ {n} did not come").format(n=n), callback_data=cb.model_copy(
                update={"action": VolStaffAction.ABSENT}))
            row += 2
        builder.button(text=_("✏️ {n} correct").format(n=n), callback_data=cb.model_copy(
            update={"action": VolStaffAction.CORRECT}))
        widths.append(row + 1)
    if not people:
        lines.append(_("Nobody has signed up yet."))
    base = VolStaffCb(action=VolStaffAction.MORE, cid=cid, id=shift_id)
    if shift.cancelled_at is None and not started:
        builder.button(text=_("➕ One more place"), callback_data=base)
        builder.button(text=_("➖ One place fewer"), callback_data=base.model_copy(
            update={"action": VolStaffAction.FEWER}))
        builder.button(text=_("❌ Cancel this shift"), callback_data=base.model_copy(
            update={"action": VolStaffAction.CANCEL_SHIFT}))
        widths += [2, 1]
    builder.button(text=_("◀ Back"), callback_data=VolStaffCb(
        action=VolStaffAction.TASK, cid=cid, id=task.id or 0))
    builder.adjust(*widths, 1)
    return "\n".join(lines), builder


async def render_month(
    session: AsyncSession, access: Access, cid: int, yyyymm: int
) -> tuple[str, InlineKeyboardBuilder]:
    tz = await community_zone(session, cid)
    year, month = divmod(yyyymm, 100)
    start, end = volunteer_hours.month_bounds(year, month, tz)
    grids = await volunteer_hours.hours_by_grid(session, access=access, community_id=cid,
                                                start=start, end=end)
    lines = [_("<b>🏅 Confirmed volunteer hours, {month}</b>").format(
        month=f"{year}-{month:02d}")]
    for grid in grids:
        lines.append("\n<b>" + html.escape(grid.grid or _("No grid")) + "</b>")
        for n, (user, minutes) in enumerate(grid.people, start=1):
            lines.append(_("{n}. {name}: {hours} h").format(
                n=n, name=html.escape(user.first_name or "?"),
                hours=volunteer_hours.hours_text(minutes)))
    if not grids:
        lines.append(_("No confirmed hours in this month."))
    builder = InlineKeyboardBuilder()
    for text, action, n in (
        ("◀", VolStaffAction.MONTH, step_month(yyyymm, -1)),
        ("▶", VolStaffAction.MONTH, step_month(yyyymm, 1)),
        (_("🏅 Commend"), VolStaffAction.COMMEND, yyyymm),
        (_("📥 Excel: this month"), VolStaffAction.EXPORT, yyyymm),
        (_("📥 Excel: whole year"), VolStaffAction.EXPORT, year),
        (_("◀ Back"), VolStaffAction.HOME, 0),
    ):
        builder.button(text=text, callback_data=VolStaffCb(action=action, cid=cid, n=n))
    builder.adjust(2, 1, 1, 1, 1)
    return "\n".join(lines), builder


async def render_commend(
    session: AsyncSession, access: Access, cid: int, yyyymm: int, chosen: set[int]
) -> tuple[str, InlineKeyboardBuilder]:
    tz = await community_zone(session, cid)
    year, month = divmod(yyyymm, 100)
    start, end = volunteer_hours.month_bounds(year, month, tz)
    grids = await volunteer_hours.hours_by_grid(session, access=access, community_id=cid,
                                                start=start, end=end)
    builder = InlineKeyboardBuilder()
    for grid in grids:
        for user, minutes in grid.people:
            builder.button(text=ticked(f"{user.first_name or '?'} · "
                                       f"{volunteer_hours.hours_text(minutes)} h",
                                       user.id in chosen),
                           callback_data=VolStaffCb(action=VolStaffAction.TOGGLE, cid=cid,
                                                    id=user.id or 0, n=yyyymm))
    builder.button(text=_("📣 Send the thanks ({n})").format(n=len(chosen)),
                   callback_data=VolStaffCb(action=VolStaffAction.SEND, cid=cid, n=yyyymm))
    builder.button(text=_("◀ Back"), callback_data=VolStaffCb(action=VolStaffAction.MONTH,
                                                              cid=cid, n=yyyymm))
    builder.adjust(1)
    return _("Whom do you want to commend for {month}? Press names, then Send.").format(
        month=f"{year}-{month:02d}"), builder


def export_headers() -> list[str]:
    return [_("Volunteer"), _("Grid"), _("Task"), _("Place"), _("Start"), _("End"),
            _("Checked in"), _("Checked out"), _("Attendance"), _("Hours (from check-in)"),
            _("Hours confirmed")]


@router.callback_query(VolStaffCb.filter())
async def on_staff_button(
    callback: CallbackQuery, callback_data: VolStaffCb, access: Access, session: AsyncSession,
    clock: Clock, state: FSMContext, outbox_notify: Notify | None = None,
) -> None:
    """Every staff button; the community comes from the button and is checked again."""
    message = callback.message
    cid, item, n = callback_data.cid, callback_data.id, callback_data.n
    if not isinstance(message, Message):
        await callback.answer()
        return
    if not access.can_manage(cid):
        await callback.answer(staff_error(NotAllowed(str(cid))), show_alert=True)
        return
    text: str | None = None
    builder: InlineKeyboardBuilder | None = None
    edit = True
    try:
        match callback_data.action:
            case VolStaffAction.HOME:
                text, builder = await render_home(session, cid, clock)
            case VolStaffAction.NEW:
                await callback.answer()
                await start_draft(message, state=state, community_id=cid)
                return
            case VolStaffAction.TASKS:
                text, builder = await render_tasks(session, access, clock, cid)
            case VolStaffAction.TASK:
                text, builder = await render_task(session, clock, cid, item)
            case VolStaffAction.SHIFT:
                text, builder = await render_roster(session, access, clock, cid, item)
            case VolStaffAction.CONFIRM | VolStaffAction.ABSENT:
                if callback_data.action == VolStaffAction.CONFIRM:
                    await volunteer_hours.confirm_hours(session, access=access, clock=clock,
                                                        claim_id=item)
                else:
                    await volunteer_hours.mark_absent(session, access=access, clock=clock,
                                                      claim_id=item)
                claim_shift = await shift_of_claim(session, item)
                text, builder = await render_roster(session, access, clock, cid, claim_shift)
            case VolStaffAction.CORRECT:
                await volunteer_hours.staff_claim(session, access=access, claim_id=item)
                await state.set_state(StaffStates.hours)
                await state.update_data(v_claim=item, v_cid=cid)
                text, edit = _("Send the correct number of hours, for example 2 or 1.5 "
                               "(0 if they did not come)."), False
            case VolStaffAction.MORE | VolStaffAction.FEWER:
                shift, _task = await vol.get_shift(session, shift_id=item)
                step = 1 if callback_data.action == VolStaffAction.MORE else -1
                await vol.set_headcount(session, access=access, clock=clock, shift_id=item,
                                        headcount=shift.headcount + step)
                text, builder = await render_roster(session, access, clock, cid, item)
            case VolStaffAction.CANCEL_SHIFT | VolStaffAction.CANCEL_TASK:
                text, builder, edit = await cancel(callback_data, session, access, clock,
                                                   outbox_notify)
            case VolStaffAction.EDIT:
                task = await vol.get_task(session, task_id=item)
                access.require_manage(task.community_id)
                if n not in (1, 2, 3):
                    raise NotFound(f"field {n}")
                await state.set_state(StaffStates.edit)
                await state.update_data(v_task=item, v_field=n, v_cid=cid)
                text, edit = {1: _("Send the new title."), 2: _("Send the new place."),
                              3: _("Send the new description.")}[n], False
            case VolStaffAction.MONTH:
                text, builder = await render_month(session, access, cid, n)
            case VolStaffAction.COMMEND | VolStaffAction.TOGGLE:
                chosen = set((await state.get_data()).get("v_commend") or [])
                if callback_data.action == VolStaffAction.TOGGLE:
                    chosen ^= {item}
                else:
                    chosen = set()
                await state.update_data(v_commend=sorted(chosen))
                text, builder = await render_commend(session, access, cid, n, chosen)
            case VolStaffAction.SEND:
                chosen = set((await state.get_data()).get("v_commend") or [])
                if not chosen:
                    await callback.answer(_("Press at least one name first."), show_alert=True)
                    return
                year, month = divmod(n, 100)
                sent = await volunteer_hours.commend(
                    session, access=access, clock=clock, community_id=cid, user_ids=chosen,
                    year=year, month=month, notify=outbox_notify)
                await state.update_data(v_commend=[])
                await callback.answer(_("Thanks sent to {n} people 🏅").format(n=sent),
                                      show_alert=True)
                text, builder = await render_month(session, access, cid, n)
                await message.edit_text(text, reply_markup=builder.as_markup())
                return
            case VolStaffAction.EXPORT:
                await callback.answer()
                await send_export(message, session, access, clock, cid, n)
                return
    except DomainError as error:
        await callback.answer(staff_error(error), show_alert=True)
        return
    except ValueError:
        await answer_out_of_date(callback)
        return
    await callback.answer()
    if text is not None:
        markup = builder.as_markup() if builder else None
        if edit:
            await message.edit_text(text, reply_markup=markup)
        else:
            await message.answer(text, reply_markup=markup)


async def shift_of_claim(session: AsyncSession, claim_id: int) -> int:
    claim = await session.get(ShiftClaim, claim_id)
    if claim is None:
        raise NotFound(f"claim {claim_id}")
    return claim.shift_id


async def cancel(
    callback_data: VolStaffCb, session: AsyncSession, access: Access, clock: Clock,
    notify: Notify | None,
) -> tuple[str, InlineKeyboardBuilder | None, bool]:
    """Ask first (n=0); cancel on the second press (n=1)."""
    whole = callback_data.action == VolStaffAction.CANCEL_TASK
    cid, item = callback_data.cid, callback_data.id
    if whole:
        task_id, shift_id = item, None
    else:
        shift, _task = await vol.get_shift(session, shift_id=item)
        task_id, shift_id = shift.task_id, item
    task = await vol.get_task(session, task_id=task_id)
    access.require_manage(task.community_id)
    if callback_data.n != 1:
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Yes, cancel it"), callback_data=callback_data.model_copy(
            update={"n": 1}))
        builder.button(text=_("No, keep it"), callback_data=VolStaffCb(
            action=VolStaffAction.TASK, cid=cid, id=task_id))
        builder.adjust(1)
        question = (_("Cancel the whole task? Everyone signed up will be told.") if whole
                    else _("Cancel this shift? Everyone signed up will be told."))
        return question, builder, False
    await vol.cancel_task(session, access=access, clock=clock, task_id=task_id,
                          shift_id=shift_id, notify=notify)
    text, builder = await render_task(session, clock, cid, task_id)
    return _("Cancelled. The people signed up are being told.") + "\n\n" + text, builder, True


async def send_export(
    message: Message, session: AsyncSession, access: Access, clock: Clock, cid: int, n: int
) -> None:
    tz = await community_zone(session, cid)
    if n > 9999:
        year, month = divmod(n, 100)
        start, end = volunteer_hours.month_bounds(year, month, tz)
        label = f"{year}-{month:02d}"
    else:
        start, end = volunteer_hours.year_bounds(n, tz)
        label = str(n)
    data = await volunteer_export.export_hours(
        session, access=access, clock=clock, community_id=cid, start=start, end=end,
        headers=export_headers(), title=label)
    await message.answer_document(
        BufferedInputFile(data, filename=f"volunteer-hours-{label}.xlsx"),
        caption=_("Volunteer hours, {period}: one row per volunteer and shift.").format(
            period=label))


@router.message(StaffStates.edit, F.text, ~F.text.startswith("/"))
async def on_edit_text(
    message: Message, access: Access, session: AsyncSession, clock: Clock, state: FSMContext,
    outbox_notify: Notify | None = None,
) -> None:
    """New words for a task's title, place or description."""
    data = await state.get_data()
    field = {1: "title", 2: "place", 3: "description"}.get(int(data.get("v_field") or 0))
    task_id, cid = int(data.get("v_task") or 0), int(data.get("v_cid") or 0)
    if field is None:
        await state.clear()
        return
    try:
        await vol.edit_task(session, access=access, clock=clock, task_id=task_id,
                            notify=outbox_notify, **{field: message.text or ""})
    except DomainError as error:
        await message.answer(staff_error(error))
        if not isinstance(error, InvalidInput):
            await state.clear()
        return
    await state.clear()
    text, builder = await render_task(session, clock, cid, task_id)
    await message.answer(_("Saved ✅ The people signed up are being told.") + "\n\n" + text,
                         reply_markup=builder.as_markup())


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
    if minutes is None or not 0 <= minutes <= volunteer_hours.MAX_MINUTES:
        await message.answer(_("Please send a number of hours between 0 and 24."))
        return
    await state.update_data(v_minutes=minutes)
    await state.set_state(StaffStates.reason)
    await message.answer(_("Why are you correcting them? A few words (everyone can see who "
                           "changed what and why)."))


@router.message(StaffStates.reason, F.text, ~F.text.startswith("/"))
async def on_reason_text(
    message: Message, access: Access, session: AsyncSession, clock: Clock, state: FSMContext,
) -> None:
    """Why the hours were corrected: saved with the new ledger entry."""
    data = await state.get_data()
    claim_id, cid = int(data.get("v_claim") or 0), int(data.get("v_cid") or 0)
    try:
        await volunteer_hours.correct_hours(
            session, access=access, clock=clock, claim_id=claim_id,
            minutes=int(data.get("v_minutes") or 0), reason=(message.text or "")[:REASON_MAX])
        shift_id = await shift_of_claim(session, claim_id)
        text, builder = await render_roster(session, access, clock, cid, shift_id)
    except DomainError as error:
        await message.answer(staff_error(error))
        if not (isinstance(error, InvalidInput) and error.field == "reason"):
            await state.clear()
        return
    await state.clear()
    await message.answer(_("Corrected ✅") + "\n\n" + text, reply_markup=builder.as_markup())
