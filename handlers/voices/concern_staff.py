"""🗂 Reports to handle: staff triage residents' concerns and ideas.

```mermaid
stateDiagram-v2
    [*] --> List: 🗂 Reports to handle (💬 My voice) / 🗂 Open the report (outbox)
    List --> Ideas: 💡 Ideas, most backed first
    List --> Report: a report
    Ideas --> Report: an idea
    Report --> Assign: 👤 Give it to…
    Assign --> Report: a staff member (they are told)
    Report --> Report: 🔧 Being worked on (the resident is told)
    Report --> Answer: ✅ Resolved / 🚫 Not taken up / ✍️ Write an answer
    Answer --> Answer: empty or too long (asked again)
    Answer --> [*]: text sent (saved; the resident is told)
```

Every press re-checks in the service that the presser manages the report's
community (staff of another community get a refusal and nothing changes).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import TriageAction, TriageCb, VoiceAction, VoiceCb
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.replies import answer_out_of_date, not_allowed, out_of_date
from handlers.voices.concerns import BUTTONS, category_text, short, status_text
from models.communities import Grid
from models.users import User
from models.voices import ANSWER_MAX, Report, ReportStatus
from services import concerns
from services.access import Access
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound

router = Router(name=__name__)
Notify = Callable[[], None]
CAPTION_DESCRIPTION = 600  # the rest of the caption (1024) is the report's details


class TriageStates(StatesGroup):
    text = State()


def refusal(error: DomainError) -> str:
    if isinstance(error, NotAllowed):
        return not_allowed()
    if isinstance(error, concerns.ReportClosed):
        return _("This report is already {status}; that step is no longer possible.").format(
            status=status_text(error.status))
    if isinstance(error, NotFound):
        return out_of_date()
    return _("That is not possible now.")


@router.callback_query(VoiceCb.filter(F.action.in_({VoiceAction.TRIAGE,
                                                    VoiceAction.TRIAGE_IDEAS})))
async def on_list(callback: CallbackQuery, callback_data: VoiceCb, access: Access,
                  session: AsyncSession) -> None:
    """The open reports of a community (or its ideas, most backed first)."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    ideas = callback_data.action == VoiceAction.TRIAGE_IDEAS
    try:
        found = await concerns.triage_list(session, access=access,
                                           community_id=callback_data.id, ideas=ideas)
    except DomainError as error:
        await callback.answer(refusal(error), show_alert=True)
        return
    await callback.answer()
    builder = InlineKeyboardBuilder()
    for report in found:
        mark = f"👍 {report.backers}" if ideas else status_text(report.status).split()[0]
        builder.button(text=f"{mark} #{report.id} {short(report)}",
                       callback_data=TriageCb(action=TriageAction.VIEW, id=report.id or 0))
    if not ideas:
        builder.button(text=_("💡 Ideas, most backed first"), callback_data=VoiceCb(
            action=VoiceAction.TRIAGE_IDEAS, id=callback_data.id))
    builder.adjust(1)
    if ideas:
        text = _("💡 Open ideas, most backed first:") if found else _("No open ideas.")
    else:
        text = _("🗂 Open reports, oldest first:") if found else _("No open reports. 🎉")
    await callback.message.answer(text, reply_markup=builder.as_markup())


async def details(session: AsyncSession, report: Report, limit: int | None = None) -> str:
    """Everything staff see about a report, the resident's name included."""
    author = await session.get(User, report.author_id)
    grid = await session.get(Grid, report.grid_id) if report.grid_id else None
    assignee = await session.get(User, report.assignee_id) if report.assignee_id else None
    description = report.description
    if limit and len(description) > limit:
        description = description[:limit - 1] + "…"
    lines = [f"#{report.id} · {category_text(report.category)} · {status_text(report.status)}",
             _("From: {name}").format(name=html.escape(
                 (author.first_name if author else None) or "—"))]
    if grid:
        lines.append("🏘 " + html.escape(grid.name))
    if report.latitude is not None and report.longitude is not None:
        lines.append(f"📍 {report.latitude:.5f}, {report.longitude:.5f}")
    if report.backers:
        lines.append(_("👍 {count} neighbours back it.").format(count=report.backers))
    if assignee:
        lines.append(_("Handled by: {name}").format(name=html.escape(assignee.first_name or "—")))
    lines += ["", html.escape(description)]
    if report.answer:
        lines += ["", _("💬 Answer: {answer}").format(answer=html.escape(report.answer))]
    if report.decline_reason:
        lines += ["", _("Reason: {reason}").format(reason=html.escape(report.decline_reason))]
    return "\n".join(lines)


def actions(report: Report) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    rid = report.id or 0
    allowed = concerns.NEXT.get(report.status, ())
    if report.status in concerns.OPEN:
        builder.button(text=_("👤 Give it to…"), callback_data=TriageCb(
            action=TriageAction.ASSIGN, id=rid))
    for status, label in ((ReportStatus.IN_PROGRESS, _("🔧 Being worked on")),
                          (ReportStatus.RESOLVED, _("✅ Resolved")),
                          (ReportStatus.DECLINED, _("🚫 Not taken up"))):
        if status in allowed:
            builder.button(text=label, callback_data=TriageCb(
                action=TriageAction.STATUS, id=rid, code=status))
    if report.status != ReportStatus.WITHDRAWN:
        builder.button(text=_("✍️ Write an answer"), callback_data=TriageCb(
            action=TriageAction.ANSWER, id=rid))
    builder.adjust(1)
    return builder


async def show_report(message: Message, session: AsyncSession, report: Report) -> None:
    markup = actions(report).as_markup()
    if report.photo_file_id:
        caption = await details(session, report, limit=CAPTION_DESCRIPTION)
        await message.answer_photo(report.photo_file_id, caption=caption, reply_markup=markup)
    else:
        await message.answer(await details(session, report), reply_markup=markup)


@router.callback_query(TriageCb.filter())
async def on_triage_button(callback: CallbackQuery, callback_data: TriageCb, access: Access,
                           session: AsyncSession, state: FSMContext, clock: Clock,
                           outbox_notify: Notify) -> None:
    """Staff's buttons on one report; the service re-checks the community every time."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    message = callback.message
    action, report_id = callback_data.action, callback_data.id
    try:
        report = await concerns.get_for_staff(session, access=access, report_id=report_id)
        if action == TriageAction.VIEW:
            await callback.answer()
            await show_report(message, session, report)
        elif action == TriageAction.ASSIGN:
            people = await concerns.staff_choices(session, access=access,
                                                  community_id=report.community_id)
            builder = InlineKeyboardBuilder()
            for person in people:
                builder.button(text=("👤 " + (person.first_name or str(person.id))),
                               callback_data=TriageCb(action=TriageAction.ASSIGN_TO,
                                                      id=report_id, n=person.id or 0))
            builder.adjust(1)
            await callback.answer()
            await message.answer(_("Who will handle report #{id}?").format(id=report_id),
                                 reply_markup=builder.as_markup())
        elif action == TriageAction.ASSIGN_TO:
            report = await concerns.assign(session, access=access, clock=clock,
                                           report_id=report_id, assignee_id=callback_data.n,
                                           buttons=BUTTONS, notify=outbox_notify)
            assignee = await session.get(User, callback_data.n)
            await callback.answer(_("Given to {name}.").format(
                name=assignee.first_name if assignee else "—"))
            await message.edit_text(_("Report #{id} is now handled by {name}.").format(
                id=report_id, name=html.escape((assignee.first_name if assignee else "") or "—")))
        elif action == TriageAction.STATUS and callback_data.code == ReportStatus.IN_PROGRESS:
            report = await concerns.set_status(session, access=access, clock=clock,
                                               report_id=report_id,
                                               status=ReportStatus.IN_PROGRESS,
                                               buttons=BUTTONS, notify=outbox_notify)
            await callback.answer(_("Marked as being worked on. The resident has been told."))
            await show_report(message, session, report)
        elif action == TriageAction.STATUS and callback_data.code in (
                ReportStatus.RESOLVED, ReportStatus.DECLINED):
            if ReportStatus(callback_data.code) not in concerns.NEXT.get(report.status, ()):
                raise concerns.ReportClosed(report.status)
            await ask_text(callback, state, report_id, callback_data.code)
        elif action == TriageAction.ANSWER:
            if report.status == ReportStatus.WITHDRAWN:
                raise concerns.ReportClosed(report.status)
            await ask_text(callback, state, report_id, "")
        else:
            await answer_out_of_date(callback)
    except InvalidInput:
        await callback.answer(_("That is not possible now."), show_alert=True)
    except DomainError as error:
        await callback.answer(refusal(error), show_alert=True)


async def ask_text(callback: CallbackQuery, state: FSMContext, report_id: int,
                   status: str) -> None:
    assert isinstance(callback.message, Message)
    await callback.answer()
    await state.set_state(TriageStates.text)
    await state.update_data(report_id=report_id, status=status)
    prompt = {
        str(ReportStatus.RESOLVED): _("✅ What was done? Write the answer the resident will see."),
        str(ReportStatus.DECLINED): _("🚫 Why can't it be taken up? Write the reason the resident "
                                 "will see."),
    }.get(status, _("✍️ Write the answer the resident will see."))
    await callback.message.answer(prompt + "\n" + _("(Send /cancel to stop.)"))


@router.message(TriageStates.text, F.text & ~F.text.startswith("/"))
async def on_text(message: Message, access: Access, session: AsyncSession, state: FSMContext,
                  clock: Clock, outbox_notify: Notify) -> None:
    """The public answer or the reason; saved with the status change, the resident told."""
    data = await state.get_data()
    report_id, status = int(data["report_id"]), str(data.get("status") or "")
    try:
        if status:
            report = await concerns.set_status(
                session, access=access, clock=clock, report_id=report_id,
                status=ReportStatus(status), text=message.text or "", buttons=BUTTONS,
                notify=outbox_notify)
        else:
            report = await concerns.answer(session, access=access, clock=clock,
                                           report_id=report_id, text=message.text or "",
                                           notify=outbox_notify)
    except InvalidInput as error:
        await message.answer(
            _("That is too long: please keep it under {max} characters.").format(max=ANSWER_MAX)
            if error.reason == "too_long" else _("Please write a few words."))
        return
    except DomainError as error:
        await state.clear()
        await message.answer(refusal(error))
        return
    await state.clear()
    await message.answer(_("Saved. The resident has been told."))
    await show_report(message, session, report)


@router.message(TriageStates.text)
async def on_other(message: Message) -> None:
    """Anything but words while an answer is awaited."""
    await message.answer(_("Please write the answer in words (or /cancel)."))

