"""📊 Run polls: staff compose a poll, publish it, watch results as a chart, get the answers.

```mermaid
stateDiagram-v2
    [*] --> List: 📊 Run polls (💬 My voice)
    List --> Poll: a poll
    Poll --> Poll: 📊 chart / 🏘 chart by grid / 📥 Excel / 🔒 close now
    List --> Title: ➕ New poll
    Title --> Question: title sent
    Question --> Options: question sent
    Options --> Settings: choices, one per line
    Settings --> Settings: single ⇄ multiple / "something else" on ⇄ off
    Settings --> Question: ➕ Add a question
    Settings --> Audience: Next ▶
    Audience --> Grids: choose grids
    Grids --> Grids: toggle a grid
    Grids --> Closing: Done
    Audience --> Closing: everyone / teachers / …
    Closing --> Preview: in 1 day / 3 days / 1 week / 2 weeks
    Preview --> Preview: 📊 send the chart to everyone on closing on ⇄ off
    Preview --> [*]: ✅ Publish (invitations queued) / ✖ Discard
```

Screens decide what is shown; `services.polls` re-checks the presser's
community on every step that reads or changes a poll.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import (
    PollDraftAction,
    PollDraftCb,
    PollStaffAction,
    PollStaffCb,
    VoiceAction,
    VoiceCb,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.grids import grid_picker
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date, not_allowed, out_of_date
from handlers.broadcasts import audience_label
from handlers.voices.polls import closes_text
from models.communities import Community
from models.polls import OPTIONS_MAX, QUESTIONS_MAX
from services import broadcasts, communities, polls
from services.access import Access
from services.broadcasts import Audience
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound

router = Router(name=__name__)
Notify = Callable[[], None]
CLOSING_DAYS = (1, 3, 7, 14)
CLOSING_HOUR = 20  # polls close in the evening, after people are home
CAPTION_MAX = 1024


class PollDraft(StatesGroup):
    title = State()
    question = State()
    options = State()
    settings = State()
    audience = State()
    preview = State()


def refusal(error: DomainError) -> str:
    if isinstance(error, NotAllowed):
        return not_allowed()
    if isinstance(error, polls.PollClosed):
        return _("This poll has already closed.")
    if isinstance(error, NotFound):
        return out_of_date()
    return _("That is not possible now.")


def other_label() -> str:
    return _("Something else")


# --- The list and one poll -------------------------------------------------------------------


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.POLL_ADMIN))
async def on_list(callback: CallbackQuery, callback_data: VoiceCb, access: Access,
                  session: AsyncSession, clock: Clock) -> None:
    """The community's latest polls and ➕ New poll."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    try:
        found = await polls.list_for_staff(session, access=access, community_id=callback_data.id)
    except DomainError as error:
        await callback.answer(refusal(error), show_alert=True)
        return
    await callback.answer()
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➕ New poll"), callback_data=PollStaffCb(
        action=PollStaffAction.NEW, id=callback_data.id))
    for poll in found:
        mark = "🟢" if polls.is_open(poll, clock.now()) else "🔒"
        builder.button(text=f"{mark} {poll.title[:50]}", callback_data=PollStaffCb(
            action=PollStaffAction.VIEW, id=poll.id or 0))
    builder.adjust(1)
    await callback.message.answer(_("📊 Polls (🟢 open, 🔒 closed):"),
                                  reply_markup=builder.as_markup())


def counts_text(found: polls.Results, limit: int = CAPTION_MAX) -> str:
    """The counts in words, beside the chart (and for screen readers)."""
    lines = [_("📊 “{title}”: {count} people answered.").format(
        title=html.escape(found.poll.title), count=found.respondents)]
    for number, result in enumerate(found.questions, start=1):
        lines.append(f"\n{number}. {html.escape(result.question.text)}")
        for option, count in zip(result.question.options, result.counts, strict=True):
            lines.append(f"  {html.escape(option)}: {count}")
        if result.question.allow_other:
            lines.append(f"  {other_label()}: {result.other}")
    text = "\n".join(lines)
    return text if len(text) <= limit else text[:limit - 1] + "…"


async def show_poll(message: Message, session: AsyncSession, poll_id: int, access: Access,
                    clock: Clock) -> None:
    poll = await polls.get_for_staff(session, access=access, poll_id=poll_id)
    found = await polls.results(session, poll=poll)
    is_open = polls.is_open(poll, clock.now())
    state = (_("🟢 Open until {time}") if is_open else _("🔒 Closed at {time}")).format(
        time=await closes_text(session, poll))
    builder = InlineKeyboardBuilder()
    for label, action in ((_("📊 Chart"), PollStaffAction.CHART),
                          (_("🏘 Chart by grid"), PollStaffAction.GRIDS),
                          (_("📥 Excel"), PollStaffAction.EXCEL)):
        builder.button(text=label, callback_data=PollStaffCb(action=action, id=poll_id))
    if is_open:
        builder.button(text=_("🔒 Close it now"), callback_data=PollStaffCb(
            action=PollStaffAction.CLOSE, id=poll_id))
    builder.adjust(1)
    await message.answer(f"{state}\n{counts_text(found, limit=3500)}",
                         reply_markup=builder.as_markup())


@router.callback_query(PollStaffCb.filter())
async def on_staff_button(callback: CallbackQuery, callback_data: PollStaffCb, access: Access,
                          session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """Staff's buttons on polls; each re-checks the presser manages the poll's community."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    message = callback.message
    action, target = callback_data.action, callback_data.id
    try:
        if action == PollStaffAction.NEW:
            broadcasts.check_scope(access, target)
            await callback.answer()
            await state.clear()
            await state.set_state(PollDraft.title)
            await state.update_data(community_id=target, questions=[])
            await message.answer(_("➕ New poll. What is it about? Write a short title. "
                                   "(Send /cancel to stop.)"))
        elif action == PollStaffAction.VIEW:
            await callback.answer()
            await show_poll(message, session, target, access, clock)
        elif action in (PollStaffAction.CHART, PollStaffAction.GRIDS):
            poll = await polls.get_for_staff(session, access=access, poll_id=target)
            found = await polls.results(session, poll=poll)
            await callback.answer(_("Drawing the chart…"))
            # Drawing takes a moment of CPU: off the event loop, so others are answered.
            png = await asyncio.to_thread(
                polls.chart, found, other=other_label(), no_grid=_("No grid"),
                by_grid=action == PollStaffAction.GRIDS,
                footer=_("{count} people answered"))
            await message.answer_photo(BufferedInputFile(png, f"poll-{target}.png"),
                                       caption=counts_text(found))
        elif action == PollStaffAction.EXCEL:
            data = await polls.export_xlsx(session, access=access, clock=clock, poll_id=target,
                                           headers={"respondent": _("No."), "grid": _("Grid"),
                                                    "answered": _("Answered at"),
                                                    "other": other_label()})
            await callback.answer()
            await message.answer_document(BufferedInputFile(data, f"poll-{target}.xlsx"),
                                          caption=_("📥 The answers, one row per person."))
        elif action == PollStaffAction.CLOSE:
            await polls.close_now(session, access=access, clock=clock, poll_id=target)
            await callback.answer(_("🔒 Closed. No more answers are taken."))
            await message.edit_reply_markup(reply_markup=None)
        else:
            await answer_out_of_date(callback)
    except DomainError as error:
        await callback.answer(refusal(error), show_alert=True)


# --- Composing ---------------------------------------------------------------------------------


@router.message(PollDraft.title, F.text & ~F.text.startswith("/"))
async def on_title(message: Message, state: FSMContext) -> None:
    """The poll's title."""
    try:
        title = polls.check_title(message.text or "")
    except InvalidInput:
        await message.answer(_("Please write a short title (at most 200 characters)."))
        return
    await state.update_data(title=title)
    await ask_question(message, state)


async def ask_question(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    await state.set_state(PollDraft.question)
    await message.answer(_("Question {n}: write the question.").format(
        n=len(data.get("questions", [])) + 1))


@router.message(PollDraft.question, F.text & ~F.text.startswith("/"))
async def on_question(message: Message, state: FSMContext) -> None:
    """A question's words."""
    try:
        text = polls.check_question(message.text or "")
    except InvalidInput:
        await message.answer(_("Please write the question (at most 300 characters)."))
        return
    await state.update_data(question=text)
    await state.set_state(PollDraft.options)
    await message.answer(_("Now the choices, one per line (2 to {max}). For example:\n"
                           "Yes\nNo").format(max=OPTIONS_MAX))


@router.message(PollDraft.options, F.text & ~F.text.startswith("/"))
async def on_options(message: Message, state: FSMContext) -> None:
    """The question's choices, one per line."""
    try:
        options = polls.parse_options(message.text or "")
    except InvalidInput as error:
        await message.answer({
            "too_few": _("Please give at least 2 choices, one per line."),
            "too_many": _("At most {max} choices, please.").format(max=OPTIONS_MAX),
            "too_long": _("Each choice can be at most 60 characters."),
        }.get(error.reason, _("Each choice only once, please.")))
        return
    data = await state.get_data()
    questions = [*data.get("questions", []), {"text": data["question"], "options": options,
                                               "multiple": False, "allow_other": False}]
    await state.update_data(questions=questions)
    await state.set_state(PollDraft.settings)
    await message.answer(**settings_screen(questions))


@router.message(PollDraft.title)
@router.message(PollDraft.question)
@router.message(PollDraft.options)
async def on_not_text(message: Message) -> None:
    """Anything but words while composing."""
    await message.answer(_("Please write it in words (or /cancel)."))


def settings_screen(questions: list[dict[str, Any]]) -> dict[str, Any]:
    question = questions[-1]
    lines = [_("Question {n}: {text}").format(n=len(questions), text=html.escape(
        question["text"]))] + [f"• {html.escape(o)}" for o in question["options"]]
    builder = InlineKeyboardBuilder()
    builder.button(text=_("☑️ Several answers allowed") if question["multiple"]
                   else _("🔘 One answer only"),
                   callback_data=PollDraftCb(action=PollDraftAction.MULTI))
    builder.button(text=_("✍️ “Something else”: on") if question["allow_other"]
                   else _("✍️ “Something else”: off"),
                   callback_data=PollDraftCb(action=PollDraftAction.OTHER))
    if len(questions) < QUESTIONS_MAX:
        builder.button(text=_("➕ Add a question"), callback_data=PollDraftCb(
            action=PollDraftAction.MORE))
    builder.button(text=_("Next ▶"), callback_data=PollDraftCb(action=PollDraftAction.DONE))
    builder.adjust(1)
    return {"text": "\n".join(lines), "reply_markup": builder.as_markup()}


async def grid_keyboard(session: AsyncSession, community_id: int,
                        chosen: list[int]) -> InlineKeyboardMarkup:
    return grid_picker(
        await communities.list_grids(session, community_id=community_id), chosen,
        toggle=lambda grid_id: PollDraftCb(action=PollDraftAction.GRID, id=grid_id),
        done=PollDraftCb(action=PollDraftAction.GRIDS_DONE))


def closing_keyboard() -> Any:
    builder = InlineKeyboardBuilder()
    labels = {1: _("In 1 day"), 3: _("In 3 days"), 7: _("In 1 week"), 14: _("In 2 weeks")}
    for days in CLOSING_DAYS:
        builder.button(text=labels[days], callback_data=PollDraftCb(
            action=PollDraftAction.CLOSE, id=days))
    builder.adjust(2)
    return builder.as_markup()


async def preview(session: AsyncSession, access: Access, data: dict[str, Any]) -> dict[str, Any]:
    count = await broadcasts.count_audience(session, access=access,
                                            community_id=int(data["community_id"]),
                                            audience=Audience.from_json(data["audience"]))
    lines = [_("Check the poll:"), f"<b>{html.escape(data['title'])}</b>"]
    for number, question in enumerate(data["questions"], start=1):
        kind = _("several answers") if question["multiple"] else _("one answer")
        lines.append(f"\n{number}. {html.escape(question['text'])} ({kind})")
        lines += [f"  • {html.escape(o)}" for o in question["options"]]
        if question["allow_other"]:
            lines.append(f"  • {other_label()} ✍️")
    lines += ["", _("It will go to {count} people and close on {time}.").format(
        count=count, time=data["closes_label"])]
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📊 Send everyone the chart at the end: yes") if data.get("share")
                   else _("📊 Send everyone the chart at the end: no"),
                   callback_data=PollDraftCb(action=PollDraftAction.SHARE))
    builder.button(text=_("✅ Publish"), callback_data=PollDraftCb(
        action=PollDraftAction.PUBLISH))
    builder.button(text=_("✖ Discard"), callback_data=PollDraftCb(
        action=PollDraftAction.DISCARD))
    builder.adjust(1)
    return {"text": "\n".join(lines), "reply_markup": builder.as_markup()}


@router.callback_query(PollDraftCb.filter())
async def on_draft_button(callback: CallbackQuery, callback_data: PollDraftCb, access: Access,
                          session: AsyncSession, state: FSMContext, clock: Clock,
                          outbox_notify: Notify) -> None:
    """Buttons of the poll being composed; the community is re-checked at each step."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    message = callback.message
    data = await state.get_data()
    step = await state.get_state()
    action = callback_data.action
    if "community_id" not in data or not data.get("questions"):
        await answer_out_of_date(callback)
        return
    community_id = int(data["community_id"])
    try:
        broadcasts.check_scope(access, community_id)
    except NotAllowed as error:
        await callback.answer(refusal(error), show_alert=True)
        return
    questions: list[dict[str, Any]] = data["questions"]
    if action in (PollDraftAction.MULTI, PollDraftAction.OTHER) and step == PollDraft.settings:
        key = "multiple" if action == PollDraftAction.MULTI else "allow_other"
        questions[-1][key] = not questions[-1][key]
        await state.update_data(questions=questions)
        await callback.answer()
        await message.edit_text(**settings_screen(questions))
    elif action == PollDraftAction.MORE and step == PollDraft.settings \
            and len(questions) < QUESTIONS_MAX:
        await callback.answer()
        await message.edit_reply_markup(reply_markup=None)
        await ask_question(message, state)
    elif action == PollDraftAction.DONE and step == PollDraft.settings:
        await callback.answer()
        await message.edit_reply_markup(reply_markup=None)
        await state.set_state(PollDraft.audience)
        builder = InlineKeyboardBuilder()
        for kind in broadcasts.AUDIENCES:
            builder.button(text=audience_label(kind), callback_data=PollDraftCb(
                action=PollDraftAction.AUDIENCE, kind=kind))
        builder.adjust(1)
        await message.answer(_("Who is the poll for?"), reply_markup=builder.as_markup())
    elif action == PollDraftAction.AUDIENCE and step == PollDraft.audience \
            and callback_data.kind in broadcasts.AUDIENCES:
        await callback.answer()
        if callback_data.kind == "grids":
            await state.update_data(grid_ids=[])
            await message.edit_text(_("Choose the grids, then press Done:"),
                                    reply_markup=await grid_keyboard(session, community_id, []))
            return
        await state.update_data(audience=Audience(kind=callback_data.kind).to_json())
        await message.edit_text(_("When should it close?"), reply_markup=closing_keyboard())
    elif action == PollDraftAction.GRID and step == PollDraft.audience:
        grid = await communities.get_grid(session, grid_id=callback_data.id)
        if grid.community_id != community_id:
            await callback.answer(refusal(NotAllowed("grid")), show_alert=True)
            return
        chosen = list(data.get("grid_ids", []))
        chosen.remove(grid.id) if grid.id in chosen else chosen.append(grid.id)
        await state.update_data(grid_ids=chosen)
        await callback.answer()
        await message.edit_reply_markup(reply_markup=await grid_keyboard(
            session, community_id, chosen))
    elif action == PollDraftAction.GRIDS_DONE and step == PollDraft.audience:
        if not data.get("grid_ids"):
            await callback.answer(_("Choose at least one grid."), show_alert=True)
            return
        await callback.answer()
        await state.update_data(audience=Audience(kind="grids",
                                                  ids=tuple(data["grid_ids"])).to_json())
        await message.edit_text(_("When should it close?"), reply_markup=closing_keyboard())
    elif action == PollDraftAction.CLOSE and step == PollDraft.audience \
            and callback_data.id in CLOSING_DAYS and data.get("audience"):
        community = await session.get(Community, community_id)
        zone = ZoneInfo(community.timezone if community else "Asia/Shanghai")
        closes_at = (clock.now().astimezone(zone) + timedelta(days=callback_data.id)).replace(
            hour=CLOSING_HOUR, minute=0, second=0, microsecond=0)
        await state.update_data(closes_at=closes_at.isoformat(),
                                closes_label=closes_at.strftime("%Y-%m-%d %H:%M"), share=False)
        await state.set_state(PollDraft.preview)
        await callback.answer()
        await message.edit_text(**await preview(session, access, await state.get_data()))
    elif action == PollDraftAction.SHARE and step == PollDraft.preview:
        await state.update_data(share=not data.get("share"))
        await callback.answer()
        await message.edit_text(**await preview(session, access, await state.get_data()))
    elif action == PollDraftAction.PUBLISH and step == PollDraft.preview:
        await publish(callback, access, session, state, clock, outbox_notify, data)
    elif action == PollDraftAction.DISCARD:
        await state.clear()
        await callback.answer()
        await message.edit_text(_("Discarded. Nothing was sent."))
    else:
        await answer_out_of_date(callback)


async def publish(callback: CallbackQuery, access: Access, session: AsyncSession,
                  state: FSMContext, clock: Clock, notify: Notify, data: dict[str, Any]) -> None:
    """✅ Publish: the service checks everything again and invites the audience."""
    assert isinstance(callback.message, Message)
    try:
        poll = await polls.create_poll(
            session, access=access, clock=clock, community_id=int(data["community_id"]),
            title=data["title"], questions=[polls.QuestionDraft(**q) for q in data["questions"]],
            audience=Audience.from_json(data["audience"]),
            closes_at=datetime.fromisoformat(data["closes_at"]),
            send_results=bool(data.get("share")), buttons=OUTBOX_KEYBOARDS.polls, notify=notify)
    except InvalidInput as error:
        await callback.answer(
            _("Nobody is in that audience yet, so nothing was sent.")
            if error.field == "audience" else _("That is not possible now."), show_alert=True)
        return
    except DomainError as error:
        await callback.answer(refusal(error), show_alert=True)
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_text(
        _("✅ Poll #{id} is out. People are being invited now; it closes on {time}. See the "
          "results any time under 📊 Run polls.").format(id=poll.id, time=data["closes_label"]))
