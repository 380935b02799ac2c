"""🗂 Reports to handle: staff triage residents' concerns and ideas.

```mermaid
stateDiagram-v2
    [*] --> Picker: 🗂 Reports to handle (💬 My voice), serving several communities
    Picker --> List: a community (re-checked, remembered with ⭐)
    [*] --> List: 🗂 Reports to handle, serving one / 🗂 Open the report (outbox)
    List --> Ideas: 💡 Ideas, most backed first
    List --> Report: a report
    Ideas --> Report: an idea
    Report --> Assign: 👤 Give it to…
    Assign --> Report: a staff member (they are told)
    Report --> Report: 🔧 Being worked on (the resident is told; the card redrawn in place)
    Report --> Answer: ✅ Resolved / 🚫 Not taken up / ✍️ Write an answer
    Answer --> Answer: empty or too long, in UTF-16 units (asked again)
    Answer --> [*]: text sent (saved, the resident told, the card redrawn in place)
    Answer --> [*]: the report moved on meanwhile (refused)
```

Every press re-checks in the service that the presser manages the report's
community (staff of another community get a refusal and nothing changes); the
buttons drawn are those `concerns.staff_view` allows. Refusals are answered by the
error router (bot/replies.py).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.voices import (
    AssignCb,
    TriageAction,
    TriageCb,
    TriageListCb,
    TriageStatusCb,
    VoiceAction,
    VoiceCb,
)
from bot.fit import CAPTION_LIMIT, TEXT_LIMIT, fit, send_fitted
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.communities import ScopeCb
from bot.labels import category_text, place_line, status_text
from bot.replies import answer_out_of_date
from bot.screens import send, show
from bot.when import say_moment
from handlers.scope import ask_community, chosen
from handlers.voices.concerns import BUTTONS, short
from models.communities import Grid
from models.users import User
from models.voices import Report, ReportStatus
from services import communities, concerns
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.errors import DomainError, InvalidInput
from services.outbox import Notify
from services.scope import Serving

router = Router(name=__name__)


class TriageStates(StatesGroup):
    text = State()


FLOW = "vr"  # the community picker's flow code for triage (handlers/scope.py)


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.TRIAGE))
async def on_triage(callback: CallbackQuery, access: Access, session: AsyncSession,
                    state: FSMContext) -> None:
    """🗂 Reports to handle: in the one community served, or the one chosen next."""
    community_id = await ask_community(callback, state=state, access=access, session=session,
                                       flow=FLOW, serving=Serving.STAFF,
                                       intro=_("🗂 Reports to handle"))
    await callback.answer()
    if community_id is not None:
        await show_list(callback, access, session, community_id=community_id, ideas=False)


@router.callback_query(ScopeCb.filter(F.flow == FLOW))
async def on_community(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                       session: AsyncSession, state: FSMContext) -> None:
    """The community chosen (re-checked and remembered): its open reports."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.STAFF)
    await callback.answer()
    await show_list(callback, access, session, community_id=community_id, ideas=False)


@router.callback_query(TriageListCb.filter())
async def on_list(callback: CallbackQuery, callback_data: TriageListCb, access: Access,
                  session: AsyncSession) -> None:
    """The open reports of a community (or its ideas, most backed first)."""
    await callback.answer()
    await show_list(callback, access, session, community_id=callback_data.community_id,
                    ideas=callback_data.ideas)


async def show_list(callback: CallbackQuery, access: Access, session: AsyncSession, *,
                    community_id: int, ideas: bool) -> None:
    found = await concerns.triage_list(session, access=access, community_id=community_id,
                                       ideas=ideas)
    builder = InlineKeyboardBuilder()
    for report in found:
        mark = f"👍 {report.backers}" if ideas else status_text(report.status).split()[0]
        builder.button(text=f"{mark} #{report.id} {short(report)}",
                       callback_data=TriageCb(action=TriageAction.VIEW,
                                              report_id=report.id or 0))
    if not ideas:
        builder.button(text=_("💡 Ideas, most backed first"), callback_data=TriageListCb(
            community_id=community_id, ideas=True))
    builder.adjust(1)
    if ideas:
        text = _("💡 Open ideas, most backed first:") if found else _("No open ideas.")
    else:
        text = _("🗂 Open reports, oldest first:") if found else _("No open reports. 🎉")
    place = await communities.where(session, community_id=community_id)
    await send(callback, place_line(place) + "\n" + text, reply_markup=builder.as_markup())


async def details(session: AsyncSession, report: Report) -> str:
    """Everything staff see about a report, the resident's name included."""
    author = await session.get(User, report.author_id)
    grid = await session.get(Grid, report.grid_id) if report.grid_id else None
    assignee = await session.get(User, report.assignee_id) if report.assignee_id else None
    zone = await zone_of(session, report.community_id)
    answers = []
    for note in await concerns.thread(session, report_id=report.id or 0):
        writer = await session.get(User, note.author_id) if note.author_id else None
        name = (writer.first_name if writer else None) or "—"
        resident = note.author_id == report.author_id
        text = note.text
        if note.voice_file_id:
            text = (text + " " if text else "") + _("🎤 a voice message (below)")
        answers.append(Answer(by=f"🙋 {name}" if resident else name,
                              when=say_moment(note.created_at, zone), text=text,
                              resident=resident))
    return details_text(report, author=author.first_name if author else None,
                        grid=grid.name if grid else None,
                        assignee=(assignee.first_name or "—") if assignee else None,
                        answers=answers,
                        community=await concerns.community_name(session, report.community_id))


@dataclass(frozen=True)
class Answer:
    """One answer of the report's thread, as staff read it."""

    by: str
    when: str
    text: str
    resident: bool = False  # the resident's reply, not staff's answer


def details_text(report: Report, *, author: str | None, grid: str | None,
                 assignee: str | None, answers: Sequence[Answer] = (),
                 community: str = "") -> str:
    """The staff view's text, from the report, the names it refers to and the thread of
    answers (oldest first; rows from before the thread show their one answer)."""
    lines = [f"#{report.id} · {category_text(report.category)} · {status_text(report.status)}",
             place_line(communities.place_name(community, grid)),
             _("From: {name}").format(name=html.escape(author or "—"))]
    if report.latitude is not None and report.longitude is not None:
        lines.append(_("📍 The place is on the map above."))
    if report.photo_file_id and report.voice_file_id:
        lines.append(_("🎤 Its voice message is below."))
    if report.backers:
        lines.append(ngettext("👍 {count} neighbour backs it.", "👍 {count} neighbours back it.",
                              report.backers).format(count=report.backers))
    if assignee:
        lines.append(_("Handled by: {name}").format(name=html.escape(assignee)))
    lines += ["", html.escape(report.description)]
    for answer in answers:
        mark = "" if answer.resident else "💬 "
        lines += ["", f"{mark}{html.escape(answer.by)} · {answer.when}",
                  html.escape(answer.text)]
    if report.answer and not answers:
        lines += ["", _("💬 Answer: {answer}").format(answer=html.escape(report.answer))]
    if report.decline_reason and not answers:
        lines += ["", _("Reason: {reason}").format(reason=html.escape(report.decline_reason))]
    return "\n".join(lines)


def actions(view: concerns.StaffView) -> InlineKeyboardBuilder:
    """The buttons the service says this report may have now."""
    builder = InlineKeyboardBuilder()
    rid = view.report.id or 0
    if view.can_assign:
        builder.button(text=_("👤 Give it to…"), callback_data=TriageCb(
            action=TriageAction.ASSIGN, report_id=rid))
    reopen = view.report.status in concerns.FINAL
    for allowed, status, label in (
            (view.can_take, ReportStatus.IN_PROGRESS,
             _("🔁 Reopen") if reopen else _("🔧 Being worked on")),
            (view.can_resolve, ReportStatus.RESOLVED, _("✅ Resolved")),
            (view.can_decline, ReportStatus.DECLINED, _("🚫 Not taken up"))):
        if allowed:
            builder.button(text=label, callback_data=TriageStatusCb(report_id=rid,
                                                                    status=status))
    if view.can_answer:
        builder.button(text=_("✍️ Write an answer"), callback_data=TriageCb(
            action=TriageAction.ANSWER, report_id=rid))
    builder.adjust(1)
    return builder


async def show_report(event: CallbackQuery | Message, session: AsyncSession,
                      report: Report) -> None:
    """The report as a new message (its card): its photo or voice note with the details
    as the caption, or the details as text; fitted to Telegram's limits (bot/fit.py),
    buttons on the last part. The place, if given, comes first as a map pin; a voice note
    beside a photo follows the card."""
    bot = event.bot
    assert bot is not None
    chat_id = event.chat.id if isinstance(event, Message) else event.from_user.id
    if report.latitude is not None and report.longitude is not None:
        await bot.send_location(chat_id, latitude=report.latitude,
                                longitude=report.longitude)
    await send_fitted(event, await details(session, report),
                      reply_markup=actions(concerns.staff_view(report)).as_markup(),
                      photo=report.photo_file_id,
                      voice=None if report.photo_file_id else report.voice_file_id)
    if report.photo_file_id and report.voice_file_id:
        await bot.send_voice(chat_id, report.voice_file_id)
    zone = await zone_of(session, report.community_id)
    for note in await concerns.thread(session, report_id=report.id or 0):
        if note.voice_file_id:  # the resident's voice replies, to play
            await bot.send_voice(chat_id, note.voice_file_id, caption=_(
                "🎤 Reply on report #{id} · {when}").format(
                    id=report.id, when=say_moment(note.created_at, zone)))


async def redraw_card(bot: Bot, chat_id: int, message_id: int, session: AsyncSession,
                      report: Report, *, photo: bool) -> bool:
    """The report's card brought up to date where it is; False when it cannot be (too long
    for one message now, or gone), and then the caller sends it anew."""
    text = await details(session, report)
    pieces = fit(text, CAPTION_LIMIT if photo else TEXT_LIMIT)
    if len(pieces) != 1:
        return False
    markup = actions(concerns.staff_view(report)).as_markup()
    try:
        if photo:
            await bot.edit_message_caption(chat_id=chat_id, message_id=message_id,
                                           caption=pieces[0], reply_markup=markup)
        else:
            await bot.edit_message_text(pieces[0], chat_id=chat_id, message_id=message_id,
                                        reply_markup=markup)
    except TelegramBadRequest as error:
        return "not modified" in str(error)
    return True


async def redraw_pressed(callback: CallbackQuery, session: AsyncSession,
                         report: Report) -> None:
    """The pressed card redrawn in place (or, when it cannot be, sent anew)."""
    card = callback.message
    if not isinstance(card, Message) or callback.bot is None or not await redraw_card(
            callback.bot, card.chat.id, card.message_id, session, report,
            photo=bool(card.photo or card.voice)):
        await show_report(callback, session, report)


@router.callback_query(TriageCb.filter(F.action == TriageAction.VIEW))
async def on_view(callback: CallbackQuery, callback_data: TriageCb, access: Access,
                  session: AsyncSession) -> None:
    """One report, with what staff may do with it now."""
    report = await concerns.get_for_staff(session, access=access,
                                          report_id=callback_data.report_id)
    await callback.answer()
    await show_report(callback, session, report)


@router.callback_query(TriageCb.filter(F.action == TriageAction.ASSIGN))
async def on_assign(callback: CallbackQuery, callback_data: TriageCb, access: Access,
                    session: AsyncSession) -> None:
    """👤 Give it to…: the community's staff."""
    report = await concerns.get_for_staff(session, access=access,
                                          report_id=callback_data.report_id)
    people = await concerns.staff_choices(session, access=access,
                                          community_id=report.community_id)
    builder = InlineKeyboardBuilder()
    for person in people:
        builder.button(text=("👤 " + (person.first_name or str(person.id))),
                       callback_data=AssignCb(report_id=report.id or 0,
                                              assignee_id=person.id or 0))
    builder.adjust(1)
    await callback.answer()
    await send(callback, _("Who will handle report #{id}?").format(id=report.id),
               reply_markup=builder.as_markup())


@router.callback_query(AssignCb.filter())
async def on_assign_to(callback: CallbackQuery, callback_data: AssignCb, access: Access,
                       session: AsyncSession, clock: Clock, outbox_notify: Notify) -> None:
    """A staff member chosen: they are told (unless it is oneself)."""
    try:
        await concerns.assign(session, access=access, clock=clock,
                              report_id=callback_data.report_id,
                              assignee_id=callback_data.assignee_id, buttons=BUTTONS,
                              notify=outbox_notify)
    except InvalidInput as error:  # a forged assignee: a button, not a typed text
        raise DomainError("not staff") from error
    assignee = await session.get(User, callback_data.assignee_id)
    await callback.answer(_("Given to {name}.").format(
        name=assignee.first_name if assignee else "—"))
    await show(callback, _("Report #{id} is now handled by {name}.").format(
        id=callback_data.report_id,
        name=html.escape((assignee.first_name if assignee else "") or "—")))


@router.callback_query(TriageStatusCb.filter(F.status == ReportStatus.IN_PROGRESS))
async def on_take(callback: CallbackQuery, callback_data: TriageStatusCb, access: Access,
                  session: AsyncSession, clock: Clock, outbox_notify: Notify) -> None:
    """🔧 Being worked on, or 🔁 Reopen a closed one: no words needed; the resident is
    told."""
    before = await concerns.get_for_staff(session, access=access,
                                          report_id=callback_data.report_id)
    reopening = before.status in concerns.FINAL
    report = await concerns.set_status(session, access=access, clock=clock,
                                       report_id=callback_data.report_id,
                                       status=ReportStatus.IN_PROGRESS, buttons=BUTTONS,
                                       notify=outbox_notify)
    await callback.answer(_("Reopened. The resident has been told.") if reopening else
                          _("Marked as being worked on. The resident has been told."))
    await redraw_pressed(callback, session, report)


@router.callback_query(TriageStatusCb.filter(F.status.in_({ReportStatus.RESOLVED,
                                                          ReportStatus.DECLINED})))
async def on_close(callback: CallbackQuery, callback_data: TriageStatusCb, access: Access,
                   session: AsyncSession, state: FSMContext) -> None:
    """✅ Resolved / 🚫 Not taken up: first the words the resident will see."""
    report = await concerns.get_for_staff(session, access=access,
                                          report_id=callback_data.report_id)
    if not concerns.may_move(report, callback_data.status):
        raise concerns.StepClosed(report.status)
    await ask_text(callback, state, callback_data.report_id, callback_data.status)


@router.callback_query(TriageCb.filter(F.action == TriageAction.ANSWER))
async def on_answer(callback: CallbackQuery, callback_data: TriageCb, access: Access,
                    session: AsyncSession, state: FSMContext) -> None:
    """✍️ Write an answer (the status stays)."""
    report = await concerns.get_for_staff(session, access=access,
                                          report_id=callback_data.report_id)
    if not concerns.staff_view(report).can_answer:
        raise concerns.StepClosed(report.status)
    await ask_text(callback, state, callback_data.report_id, "")


@router.callback_query(TriageStatusCb.filter())
async def on_stale_status(callback: CallbackQuery, access: Access, session: AsyncSession,
                          callback_data: TriageStatusCb) -> None:
    """A status staff cannot choose (received, withdrawn): a forged button."""
    await concerns.get_for_staff(session, access=access, report_id=callback_data.report_id)
    raise DomainError(f"status {callback_data.status} is not a step")


async def ask_text(callback: CallbackQuery, state: FSMContext, report_id: int,
                   status: str) -> None:
    await callback.answer()
    await state.set_state(TriageStates.text)
    card = callback.message
    await state.update_data(report_id=report_id, status=status,
                            card=card.message_id if isinstance(card, Message) else None,
                            card_photo=bool(isinstance(card, Message)
                                            and (card.photo or card.voice)))
    prompt = {
        str(ReportStatus.RESOLVED): _("✅ What was done? Write the answer the resident will see."),
        str(ReportStatus.DECLINED): _("🚫 Why can't it be taken up? Write the reason the resident "
                                      "will see."),
    }.get(status, _("✍️ Write the answer the resident will see."))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=TriageCb(action=TriageAction.CANCEL,
                                                              report_id=report_id))
    await send(callback, prompt, reply_markup=builder.as_markup())


@router.callback_query(TriageStates.text, TriageCb.filter(F.action == TriageAction.CANCEL))
async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ Cancel the answer: nothing changes, the report stays as it was."""
    await state.clear()
    await callback.answer()
    await show(callback, _("Cancelled. Nothing was changed."))


@router.callback_query(TriageCb.filter(F.action == TriageAction.CANCEL))
async def on_stale_cancel(callback: CallbackQuery) -> None:
    """✖ Cancel of an answer already sent or stopped."""
    await answer_out_of_date(callback)


@router.message(TriageStates.text, F.text & ~F.text.startswith("/"))
async def on_text(message: Message, access: Access, session: AsyncSession, state: FSMContext,
                  clock: Clock, outbox_notify: Notify) -> None:
    """The public answer or the reason; saved with the status change, the resident told.
    Empty or too long: the error router says why and the step stays; any other refusal
    (the report moved on meanwhile) ends the step."""
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
                                           notify=outbox_notify, buttons=BUTTONS)
    except InvalidInput:
        raise
    except DomainError:
        await state.clear()
        raise
    await state.clear()
    card = data.get("card")
    if not isinstance(card, int) or message.bot is None or not await redraw_card(
            message.bot, message.chat.id, card, session, report,
            photo=bool(data.get("card_photo"))):
        await show_report(message, session, report)
    await message.answer(_("Saved. The resident has been told."))


@router.message(TriageStates.text)
async def on_other(message: Message) -> None:
    """Anything but words while an answer is awaited."""
    await message.answer(_("Please write the answer in words, or press ✖ Cancel."))
