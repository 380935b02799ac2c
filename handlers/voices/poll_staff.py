"""📊 Run polls: staff compose a poll, publish it, watch results as a chart, get the answers.

```mermaid
stateDiagram-v2
    [*] --> Picker: 📊 Run polls (💬 My voice), serving several communities
    Picker --> List: a community (re-checked, remembered with ⭐)
    [*] --> List: 📊 Run polls, serving one
    List --> Poll: a poll
    Poll --> Poll: 📊 chart / 🏘 chart by grid / 📥 Excel
    Poll --> CloseAsk: 🔒 Close it now (the card becomes the question)
    CloseAsk --> Poll: Yes, close it now (🔒 closed, in place) / No, keep it open
    Poll --> Extend: 🗓 Extend the deadline (open polls)
    Extend --> Poll: a later day (it closes that evening) / ◀ Back
    List --> Title: ➕ New poll
    Title --> Title: empty or too long (asked again)
    Title --> Question: title sent
    Question --> Options: question sent
    Options --> Options: fewer than 2, too many, too long or repeated (asked again)
    Options --> Settings: choices, one per line
    Settings --> Settings: single ⇄ multiple / "something else" on ⇄ off
    Settings --> Question: ➕ Add a question
    Settings --> Audience: Next ▶
    Audience --> Grids: 🏘 Choose grids
    Grids --> Grids: toggle a grid
    Grids --> Closing: Done (at least one grid)
    Audience --> Closing: everyone / teachers / …
    Closing --> Closing: ◀ ▶ another page of days
    Closing --> Preview: a day (it closes that evening)
    Preview --> Preview: 📊 send the chart to everyone on closing on ⇄ off
    Preview --> EditQuestion: ✏️ Edit question N
    EditQuestion --> EditOptions: its words again
    EditOptions --> Preview: its choices again
    Preview --> [*]: ✅ Publish (invitations queued) / ✖ Discard
    Preview --> Closing: ◀ Back
    Closing --> Audience: ◀ Back
    Grids --> Audience: ◀ Back
    Audience --> Settings: ◀ Back
    Settings --> Options: ◀ Back (the question's words kept)
    Options --> Question: ◀ Back
    Question --> Title: ◀ Back (the first question; else the settings of the one before)
    Title --> List: ◀ Back
    EditQuestion --> Preview: ◀ Back
    Title --> [*]: ✖ Cancel (at every step)
```

The draft is a `PollDraft` in the FSM data (absolute closing moment), one handler
per (state, button). The closing day comes from the shared picker
(bot/keyboards/dates.py), as far ahead as `services.polls` allows. Screens show what
`polls.staff_view` allows; the service re-checks the presser's community on every
step that reads or changes a poll, and refusals are answered by the error router.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.voices import (
    PollAudienceCb,
    PollDraftAction,
    PollDraftCb,
    PollEditCb,
    PollGridCb,
    PollListCb,
    PollNewCb,
    PollStaffAction,
    PollStaffCb,
    VoiceAction,
    VoiceCb,
)
from bot.fit import send_fitted
from bot.keyboards.broadcasts import audience_label
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.communities import ScopeCb
from bot.keyboards.confirm import ask_once
from bot.keyboards.dates import DayCb, DayPageCb, DayRange, day_keyboard, moment
from bot.keyboards.grids import grid_picker
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date
from bot.screens import send, show
from bot.when import say_moment
from handlers.scope import ask_community, chosen
from handlers.voices.common import drop_buttons
from handlers.voices.polls import closes_text
from models.polls import OPTIONS_MAX, QUESTIONS_MAX, Poll
from services import broadcasts, communities, polls
from services.access import Access
from services.broadcasts import Audience
from services.clock import Clock
from services.communities import zone_of
from services.errors import NotAllowed, NotFound
from services.outbox import Notify
from services.scope import Serving
from services.text import cut

router = Router(name=__name__)
CLOSING_HOUR = 20  # polls close in the evening, after people are home


class Compose(StatesGroup):
    title = State()
    question = State()
    options = State()
    settings = State()
    audience = State()
    closing = State()
    preview = State()
    edit_question = State()  # ✏️ a question's words again, from the last look
    edit_options = State()   # …and its choices


@dataclass
class PollDraft:
    """The poll being composed, kept in the FSM data under "poll". `closes_at` is an
    absolute moment: a day picked at 23:50 and confirmed after midnight is the day shown."""

    community_id: int
    title: str = ""
    question: str = ""                     # the question whose choices are awaited
    questions: list[polls.QuestionDraft] = field(default_factory=list)
    grid_ids: list[int] = field(default_factory=list)
    audience: dict[str, Any] | None = None  # Audience.to_json()
    closes_at: datetime | None = None
    share: bool = False

    @classmethod
    async def load(cls, state: FSMContext) -> PollDraft:
        """The draft a step works on; a step reached without one is out of date."""
        data = (await state.get_data()).get("poll")
        if not data:
            raise NotFound("no poll draft")
        data = dict(data)
        data["questions"] = [polls.QuestionDraft(**q) for q in data["questions"]]
        if data["closes_at"]:
            data["closes_at"] = datetime.fromisoformat(data["closes_at"])
        return cls(**data)

    async def save(self, state: FSMContext) -> None:
        data = asdict(self)
        data["closes_at"] = self.closes_at.isoformat() if self.closes_at else None
        await state.update_data(poll=data)


async def draft_for(state: FSMContext, access: Access) -> PollDraft:
    """The draft, re-checking at each step that the presser may still run its community."""
    draft = await PollDraft.load(state)
    broadcasts.check_scope(access, draft.community_id)
    return draft


def other_label() -> str:
    return _("Something else")


def nav_row(cancel: str | None = None) -> list[InlineKeyboardButton]:
    """Every step's last row: ◀ Back to the step before, ✖ Cancel the whole draft."""
    return [InlineKeyboardButton(text=_("◀ Back"), callback_data=PollDraftCb(
                action=PollDraftAction.BACK).pack()),
            InlineKeyboardButton(text=cancel or _("✖ Cancel"), callback_data=PollDraftCb(
                action=PollDraftAction.DISCARD).pack())]


def with_nav(markup: InlineKeyboardMarkup | None = None,
             cancel: str | None = None) -> InlineKeyboardMarkup:
    rows = list(markup.inline_keyboard) if markup else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, nav_row(cancel)])


# --- The list and one poll -------------------------------------------------------------------


FLOW = "vp"  # the community picker's flow code for running polls (handlers/scope.py)


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.RUN_POLLS))
async def on_run_polls(callback: CallbackQuery, access: Access, session: AsyncSession,
                       state: FSMContext, clock: Clock) -> None:
    """📊 Run polls: in the one community served, or the one chosen next."""
    community_id = await ask_community(callback, state=state, access=access, session=session,
                                       flow=FLOW, serving=Serving.STAFF,
                                       intro=_("📊 Run polls"))
    await callback.answer()
    if community_id is not None:
        await show_list(callback, access, session, clock, community_id=community_id)


@router.callback_query(ScopeCb.filter(F.flow == FLOW))
async def on_community(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                       session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """The community chosen (re-checked and remembered): its polls."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.STAFF)
    await callback.answer()
    await show_list(callback, access, session, clock, community_id=community_id)


@router.callback_query(PollListCb.filter())
async def on_list(callback: CallbackQuery, callback_data: PollListCb, access: Access,
                  session: AsyncSession, clock: Clock) -> None:
    """The community's latest polls and ➕ New poll."""
    await callback.answer()
    await show_list(callback, access, session, clock, community_id=callback_data.community_id)


async def show_list(callback: CallbackQuery, access: Access, session: AsyncSession,
                    clock: Clock, *, community_id: int) -> None:
    found = await polls.list_for_staff(session, access=access, community_id=community_id)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➕ New poll"), callback_data=PollNewCb(community_id=community_id))
    for poll in found:
        mark = "🟢" if polls.is_open(poll, clock.now()) else "🔒"
        builder.button(text=f"{mark} {cut(poll.title, 50)}", callback_data=PollStaffCb(
            action=PollStaffAction.VIEW, poll_id=poll.id or 0))
    builder.adjust(1)
    await send(callback, _("📊 Polls (🟢 open, 🔒 closed):"), reply_markup=builder.as_markup())


def counts_text(found: polls.Results) -> str:
    """The counts in words, beside the chart (and for screen readers)."""
    lines = [ngettext("📊 “{title}”: {count} person answered.",
                      "📊 “{title}”: {count} people answered.", found.respondents).format(
        title=html.escape(found.poll.title), count=found.respondents)]
    for number, result in enumerate(found.questions, start=1):
        lines.append(f"\n{number}. {html.escape(result.question.text)}")
        for option, count in zip(result.question.options, result.counts, strict=True):
            lines.append(f"  {html.escape(option)}: {count}")
        if result.question.allow_other:
            lines.append(f"  {other_label()}: {result.other}")
    return "\n".join(lines)


async def poll_card(session: AsyncSession, view: polls.StaffPollView,
                    clock: Clock) -> tuple[str, InlineKeyboardMarkup]:
    """One poll as staff see it: open or 🔒 closed, its community, the counts, and the
    buttons the service allows now."""
    poll_id = view.poll.id or 0
    state = (_("🟢 Open until {time}") if view.is_open else _("🔒 Closed at {time}")).format(
        time=await closes_text(session, view.poll, clock))
    community = await communities.get_community(session, community_id=view.poll.community_id)
    builder = InlineKeyboardBuilder()
    if view.shows_results:
        for label, action in ((_("📊 Chart"), PollStaffAction.CHART),
                              (_("🏘 Chart by grid"), PollStaffAction.GRIDS)):
            builder.button(text=label, callback_data=PollStaffCb(action=action, poll_id=poll_id))
    if view.can_export:
        builder.button(text=_("📥 Excel"), callback_data=PollStaffCb(
            action=PollStaffAction.EXCEL, poll_id=poll_id))
    if view.can_extend:
        builder.button(text=_("🗓 Extend the deadline"), callback_data=PollStaffCb(
            action=PollStaffAction.EXTEND, poll_id=poll_id))
    if view.can_close:
        builder.button(text=_("🔒 Close it now"), callback_data=PollStaffCb(
            action=PollStaffAction.CLOSE, poll_id=poll_id))
    builder.adjust(1)
    text = f"{state}\n🏘 {html.escape(community.name)}\n{counts_text(view.results)}"
    return text, builder.as_markup()


async def show_poll(callback: CallbackQuery, session: AsyncSession, access: Access,
                    clock: Clock, poll_id: int, *, new: bool) -> None:
    view = await polls.staff_view(session, access=access, clock=clock, poll_id=poll_id)
    text, markup = await poll_card(session, view, clock)
    await send_fitted(callback, text, reply_markup=markup, new=new)


@router.callback_query(PollStaffCb.filter(F.action == PollStaffAction.VIEW))
async def on_view(callback: CallbackQuery, callback_data: PollStaffCb, access: Access,
                  session: AsyncSession, clock: Clock) -> None:
    """One poll: its state, the counts, and what staff may do with it now. Checked
    before the press is answered, so a refusal reaches the presser."""
    view = await polls.staff_view(session, access=access, clock=clock,
                                  poll_id=callback_data.poll_id)
    await callback.answer()
    text, markup = await poll_card(session, view, clock)
    await send_fitted(callback, text, reply_markup=markup)


@router.callback_query(PollStaffCb.filter(F.action == PollStaffAction.KEEP))
async def on_keep_open(callback: CallbackQuery, callback_data: PollStaffCb, access: Access,
                       session: AsyncSession, clock: Clock) -> None:
    """No, keep it open (or ◀ Back from a later day): the card put back in place."""
    await polls.staff_view(session, access=access, clock=clock, poll_id=callback_data.poll_id)
    await callback.answer()
    await show_poll(callback, session, access, clock, callback_data.poll_id, new=False)


@router.callback_query(PollStaffCb.filter(F.action.in_({PollStaffAction.CHART,
                                                       PollStaffAction.GRIDS})))
async def on_chart(callback: CallbackQuery, callback_data: PollStaffCb, access: Access,
                   session: AsyncSession, clock: Clock) -> None:
    """📊 The results as a picture (overall, or by grid), the counts as its caption."""
    view = await polls.staff_view(session, access=access, clock=clock,
                                  poll_id=callback_data.poll_id)
    if not view.shows_results:
        raise NotAllowed("results hidden")
    await callback.answer(_("Drawing the chart…"))
    # Drawing takes a moment of CPU: off the event loop, so others are answered.
    png = await asyncio.to_thread(
        polls.chart, view.results, other=other_label(), no_grid=_("No grid"),
        by_grid=callback_data.action == PollStaffAction.GRIDS,
        footer=_("People who answered: {count}"))
    # The counts are the caption, fitted to 1024 (the rest follows as text).
    await send_fitted(callback, counts_text(view.results),
                      photo=BufferedInputFile(png, f"poll-{callback_data.poll_id}.png"))


@router.callback_query(PollStaffCb.filter(F.action == PollStaffAction.EXCEL))
async def on_excel(callback: CallbackQuery, callback_data: PollStaffCb, access: Access,
                   session: AsyncSession, clock: Clock) -> None:
    """📥 Every answer as a spreadsheet (numbered people, never names), after a summary."""
    view = await polls.staff_view(session, access=access, clock=clock,
                                  poll_id=callback_data.poll_id)
    community = await communities.get_community(session, community_id=view.poll.community_id)
    data = await polls.export_xlsx(session, access=access, clock=clock,
                                   poll_id=callback_data.poll_id, words=polls.ExportWords(
                                       title=_("Poll “{title}” · {community}").format(
                                           title=view.poll.title, community=community.name),
                                       summary_name=_("Summary"), answers_name=_("Answers"),
                                       respondent=_("No."), grid=_("Grid"),
                                       answered=_("Answered at"), other=other_label(),
                                       respondents=_("People who answered"),
                                       summary_headers=("", _("People"), _("Share"))))
    await callback.answer()
    if callback.bot is not None:
        await callback.bot.send_document(
            callback.from_user.id, BufferedInputFile(data, f"poll-{callback_data.poll_id}.xlsx"),
            caption=_("📥 The answers, one row per person."))


@router.callback_query(PollStaffCb.filter(F.action == PollStaffAction.CLOSE))
async def on_close(callback: CallbackQuery, callback_data: PollStaffCb, access: Access,
                   session: AsyncSession, clock: Clock) -> None:
    """🔒 Close it now: the card becomes the question, asked once."""
    view = await polls.staff_view(session, access=access, clock=clock,
                                  poll_id=callback_data.poll_id)
    if not view.can_close:
        raise polls.AlreadyClosed(f"poll {callback_data.poll_id}")
    await callback.answer()
    poll_id = callback_data.poll_id
    await show(callback, ngettext(
        "Close the poll “{title}” now? {count} person has answered; no more answers will be "
        "taken.",
        "Close the poll “{title}” now? {count} people have answered; no more answers will be "
        "taken.", view.results.respondents).format(
        title=html.escape(view.poll.title), count=view.results.respondents),
        reply_markup=ask_once(
            yes=_("Yes, close it now"),
            do=PollStaffCb(action=PollStaffAction.CLOSE_YES, poll_id=poll_id),
            no=_("No, keep it open"),
            keep=PollStaffCb(action=PollStaffAction.KEEP, poll_id=poll_id)))


@router.callback_query(PollStaffCb.filter(F.action == PollStaffAction.CLOSE_YES))
async def on_close_yes(callback: CallbackQuery, callback_data: PollStaffCb, access: Access,
                       session: AsyncSession, clock: Clock) -> None:
    """Yes, close it now (re-checked); the closing sweep sends any results; the card says
    🔒 closed, in place."""
    await polls.close_now(session, access=access, clock=clock, poll_id=callback_data.poll_id)
    await callback.answer(_("🔒 Closed. No more answers are taken."))
    await show_poll(callback, session, access, clock, callback_data.poll_id, new=False)


class Extend(StatesGroup):
    day = State()


async def extend_days(session: AsyncSession, clock: Clock,
                      poll: Poll) -> tuple[DayRange, date]:
    """The later days an open poll may close on: after the day it closes now, as far as
    the service allows from today."""
    zone = await zone_of(session, poll.community_id)
    today = clock.now().astimezone(zone).date()
    first = max(today, poll.closes_at.astimezone(zone).date()) + timedelta(days=1)
    return DayRange(first=first, last=today + timedelta(days=polls.OPEN_DAYS_MAX)), today


@router.callback_query(PollStaffCb.filter(F.action == PollStaffAction.EXTEND))
async def on_extend(callback: CallbackQuery, callback_data: PollStaffCb, access: Access,
                    session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """🗓 Extend the deadline: a later day (it closes that evening), or ◀ Back."""
    view = await polls.staff_view(session, access=access, clock=clock,
                                  poll_id=callback_data.poll_id)
    if not view.can_extend:
        raise polls.AlreadyClosed(f"poll {callback_data.poll_id}")
    await callback.answer()
    await state.clear()
    await state.set_state(Extend.day)
    await state.update_data(extend=callback_data.poll_id)
    await ask_extend_day(callback, session, clock, view.poll)


async def ask_extend_day(callback: CallbackQuery, session: AsyncSession, clock: Clock,
                         poll: Poll, page: int = 0) -> None:
    days, today = await extend_days(session, clock, poll)
    builder = day_keyboard(days, today=today, page=page)
    builder.row(InlineKeyboardButton(text=_("◀ Back"), callback_data=PollStaffCb(
        action=PollStaffAction.KEEP, poll_id=poll.id or 0).pack()))
    await show(callback, _("Until when should it stay open? It now closes on {time}.").format(
        time=await closes_text(session, poll, clock)), reply_markup=builder.as_markup())


@router.callback_query(Extend.day, DayPageCb.filter())
async def on_extend_page(callback: CallbackQuery, callback_data: DayPageCb, access: Access,
                         session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """◀ ▶ another page of later days."""
    poll = await polls.get_for_staff(session, access=access,
                                     poll_id=int((await state.get_data()).get("extend") or 0))
    await callback.answer()
    await ask_extend_day(callback, session, clock, poll, page=callback_data.page)


@router.callback_query(Extend.day, DayCb.filter())
async def on_extend_day(callback: CallbackQuery, callback_data: DayCb, access: Access,
                        session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """A later day: the poll now closes at 20:00 that evening; the card shows it in place
    (a day off the picker is out of date)."""
    poll = await polls.get_for_staff(session, access=access,
                                     poll_id=int((await state.get_data()).get("extend") or 0))
    days, _today = await extend_days(session, clock, poll)
    day = days.take(callback_data.day)
    if day is None:
        await answer_out_of_date(callback)
        return
    poll_id = poll.id or 0
    await polls.extend(session, access=access, clock=clock, poll_id=poll_id,
                       closes_at=moment(day, CLOSING_HOUR * 60,
                                        await zone_of(session, poll.community_id)))
    await state.clear()
    await callback.answer(_("🗓 The deadline is extended."))
    await show_poll(callback, session, access, clock, poll_id, new=False)


# --- Composing ---------------------------------------------------------------------------------


@router.callback_query(PollNewCb.filter())
async def on_new(callback: CallbackQuery, callback_data: PollNewCb, access: Access,
                 state: FSMContext) -> None:
    """➕ New poll: a fresh draft."""
    broadcasts.check_scope(access, callback_data.community_id)
    await callback.answer()
    await state.clear()
    await state.set_state(Compose.title)
    draft = PollDraft(community_id=callback_data.community_id)
    await draft.save(state)
    await ask_title(callback, state, draft)


async def ask_title(event: Message | CallbackQuery, state: FSMContext,
                    draft: PollDraft) -> None:
    await state.set_state(Compose.title)
    text = _("➕ New poll. What is it about? Write a short title.")
    if draft.title:
        text += "\n" + _("Now: «{text}»").format(text=html.escape(draft.title))
    await send(event, text, reply_markup=with_nav())


@router.message(Compose.title, F.text & ~F.text.startswith("/"))
async def on_title(message: Message, state: FSMContext, access: Access) -> None:
    """The poll's title (empty or too long: the error router says so, the step stays)."""
    draft = await draft_for(state, access)
    draft.title = polls.check_title(message.text or "")
    await draft.save(state)
    await ask_question(message, state, draft)


async def ask_question(event: Message | CallbackQuery, state: FSMContext,
                       draft: PollDraft) -> None:
    await state.set_state(Compose.question)
    await send(event, _("Question {n}: write the question.").format(n=len(draft.questions) + 1),
               reply_markup=with_nav())


@router.message(Compose.question, F.text & ~F.text.startswith("/"))
async def on_question(message: Message, state: FSMContext, access: Access) -> None:
    """A question's words."""
    draft = await draft_for(state, access)
    draft.question = polls.check_question(message.text or "")
    await draft.save(state)
    await ask_options(message, state)


async def ask_options(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Compose.options)
    await send(event, _("Now the choices, one per line (2 to {max}). For example:\n"
                        "Yes\nNo").format(max=OPTIONS_MAX), reply_markup=with_nav())


@router.message(Compose.options, F.text & ~F.text.startswith("/"))
async def on_options(message: Message, state: FSMContext, access: Access) -> None:
    """The question's choices, one per line."""
    draft = await draft_for(state, access)
    options = polls.parse_options(message.text or "")
    draft.questions.append(polls.QuestionDraft(text=draft.question, options=options))
    draft.question = ""
    await draft.save(state)
    await state.set_state(Compose.settings)
    text, markup = settings_screen(draft)
    await message.answer(text, reply_markup=markup)


@router.message(Compose.title)
@router.message(Compose.question)
@router.message(Compose.options)
async def on_not_text(message: Message) -> None:
    """Anything but words while composing."""
    await message.answer(_("Please write it in words, or press ◀ Back."))


def settings_screen(draft: PollDraft) -> tuple[str, InlineKeyboardMarkup]:
    question = draft.questions[-1]
    lines = [_("Question {n}: {text}").format(n=len(draft.questions), text=html.escape(
        question.text))] + [f"• {html.escape(o)}" for o in question.options]
    builder = InlineKeyboardBuilder()
    builder.button(text=_("☑️ Several answers allowed") if question.multiple
                   else _("🔘 One answer only"),
                   callback_data=PollDraftCb(action=PollDraftAction.MULTI))
    builder.button(text=_("✍️ “Something else”: on") if question.allow_other
                   else _("✍️ “Something else”: off"),
                   callback_data=PollDraftCb(action=PollDraftAction.OTHER))
    if len(draft.questions) < QUESTIONS_MAX:
        builder.button(text=_("➕ Add a question"), callback_data=PollDraftCb(
            action=PollDraftAction.MORE))
    builder.button(text=_("Next ▶"), callback_data=PollDraftCb(action=PollDraftAction.DONE))
    builder.adjust(1)
    return "\n".join(lines), with_nav(builder.as_markup())


@router.callback_query(Compose.settings, PollDraftCb.filter(
    F.action.in_({PollDraftAction.MULTI, PollDraftAction.OTHER})))
async def on_toggle(callback: CallbackQuery, callback_data: PollDraftCb, access: Access,
                    state: FSMContext) -> None:
    """Single ⇄ multiple choice, or "something else" on ⇄ off, for the last question."""
    draft = await draft_for(state, access)
    question = draft.questions[-1]
    if callback_data.action == PollDraftAction.MULTI:
        question.multiple = not question.multiple
    else:
        question.allow_other = not question.allow_other
    await draft.save(state)
    await callback.answer()
    text, markup = settings_screen(draft)
    await show(callback, text, reply_markup=markup)


@router.callback_query(Compose.settings, PollDraftCb.filter(F.action == PollDraftAction.MORE))
async def on_more(callback: CallbackQuery, access: Access, state: FSMContext) -> None:
    """➕ Add a question (up to the most a poll may have)."""
    draft = await draft_for(state, access)
    if len(draft.questions) >= QUESTIONS_MAX:
        await answer_out_of_date(callback)
        return
    await callback.answer()
    await drop_buttons(callback)
    await ask_question(callback, state, draft)


@router.callback_query(Compose.settings, PollDraftCb.filter(F.action == PollDraftAction.DONE))
async def on_questions_done(callback: CallbackQuery, access: Access,
                            state: FSMContext) -> None:
    """Next ▶: who is it for?"""
    await draft_for(state, access)
    await callback.answer()
    await drop_buttons(callback)
    await ask_audience(callback, state)


async def ask_audience(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Compose.audience)
    await state.update_data(choosing_grids=False)
    builder = InlineKeyboardBuilder()
    for kind in broadcasts.AUDIENCES:
        builder.button(text=audience_label(kind), callback_data=PollAudienceCb(kind=kind))
    builder.adjust(1)
    await send(callback, _("Who is the poll for?"), reply_markup=with_nav(builder.as_markup()))


async def grid_keyboard(session: AsyncSession, community_id: int,
                        chosen: list[int]) -> InlineKeyboardMarkup:
    return with_nav(grid_picker(
        await communities.list_grids(session, community_id=community_id), chosen,
        toggle=lambda grid_id: PollGridCb(grid_id=grid_id),
        done=PollDraftCb(action=PollDraftAction.GRIDS_DONE)))


@router.callback_query(Compose.audience, PollAudienceCb.filter(
    F.kind.in_(set(broadcasts.AUDIENCES))))
async def on_audience(callback: CallbackQuery, callback_data: PollAudienceCb, access: Access,
                      session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """An audience; 🏘 Choose grids asks which."""
    draft = await draft_for(state, access)
    await callback.answer()
    if callback_data.kind == "grids":
        draft.grid_ids = []
        await draft.save(state)
        await state.update_data(choosing_grids=True)
        await show(callback, _("Choose the grids, then press Done:"),
                   reply_markup=await grid_keyboard(session, draft.community_id, []))
        return
    draft.audience = Audience(kind=callback_data.kind).to_json()
    await draft.save(state)
    await ask_closing(callback, session, state, clock, draft)


@router.callback_query(Compose.audience, PollGridCb.filter())
async def on_grid(callback: CallbackQuery, callback_data: PollGridCb, access: Access,
                  session: AsyncSession, state: FSMContext) -> None:
    """A grid ticked on or off (re-checked: the draft's community only)."""
    draft = await draft_for(state, access)
    grid = await communities.get_grid(session, grid_id=callback_data.grid_id)
    if grid.community_id != draft.community_id:
        raise NotAllowed("grid of another community")
    grid_id = grid.id or 0
    if grid_id in draft.grid_ids:
        draft.grid_ids.remove(grid_id)
    else:
        draft.grid_ids.append(grid_id)
    await draft.save(state)
    await callback.answer()
    await show(callback, _("Choose the grids, then press Done:"),
               reply_markup=await grid_keyboard(session, draft.community_id, draft.grid_ids))


@router.callback_query(Compose.audience, PollDraftCb.filter(
    F.action == PollDraftAction.GRIDS_DONE))
async def on_grids_done(callback: CallbackQuery, access: Access, session: AsyncSession,
                        state: FSMContext, clock: Clock) -> None:
    """Done: those grids (at least one)."""
    draft = await draft_for(state, access)
    if not draft.grid_ids:
        await callback.answer(_("Choose at least one grid."), show_alert=True)
        return
    await callback.answer()
    draft.audience = Audience(kind="grids", ids=tuple(draft.grid_ids)).to_json()
    await draft.save(state)
    await ask_closing(callback, session, state, clock, draft)


async def closing_days(session: AsyncSession, clock: Clock,
                       draft: PollDraft) -> tuple[DayRange, date]:
    """The days a poll may close on: from tomorrow evening, as far as the service allows."""
    zone = await zone_of(session, draft.community_id)
    today = clock.now().astimezone(zone).date()
    return DayRange.ahead(today, days=polls.OPEN_DAYS_MAX, from_tomorrow=True), today


async def ask_closing(callback: CallbackQuery, session: AsyncSession, state: FSMContext,
                      clock: Clock, draft: PollDraft, page: int = 0) -> None:
    await state.set_state(Compose.closing)
    days, today = await closing_days(session, clock, draft)
    builder = day_keyboard(days, today=today, page=page)
    await show(callback, _("When should it close?"),
               reply_markup=with_nav(builder.as_markup()))


@router.callback_query(Compose.closing, DayPageCb.filter())
async def on_closing_page(callback: CallbackQuery, callback_data: DayPageCb, access: Access,
                          session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """◀ ▶ another page of days."""
    draft = await draft_for(state, access)
    await callback.answer()
    await ask_closing(callback, session, state, clock, draft, page=callback_data.page)


@router.callback_query(Compose.closing, DayCb.filter())
async def on_closing_day(callback: CallbackQuery, callback_data: DayCb, access: Access,
                         session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """A day: the poll closes at 20:00 that evening (a day off the picker is refused)."""
    draft = await draft_for(state, access)
    days, _today = await closing_days(session, clock, draft)
    day = days.take(callback_data.day)
    if day is None or draft.audience is None:
        await answer_out_of_date(callback)
        return
    draft.closes_at = moment(day, CLOSING_HOUR * 60, await zone_of(session, draft.community_id))
    draft.share = False
    await draft.save(state)
    await state.set_state(Compose.preview)
    await callback.answer()
    await show_preview(callback, session, access, clock, draft)


async def show_preview(callback: CallbackQuery | Message, session: AsyncSession,
                       access: Access, clock: Clock, draft: PollDraft) -> None:
    assert draft.audience is not None and draft.closes_at is not None
    count = await broadcasts.count_audience(session, access=access,
                                            community_id=draft.community_id,
                                            audience=Audience.from_json(draft.audience))
    text = preview_text(draft, count=count, closes=await closing_label(session, clock, draft))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📊 Send everyone the chart at the end: yes") if draft.share
                   else _("📊 Send everyone the chart at the end: no"),
                   callback_data=PollDraftCb(action=PollDraftAction.SHARE))
    for position in range(len(draft.questions)):
        builder.button(text=_("✏️ Edit question {n}").format(n=position + 1),
                       callback_data=PollEditCb(position=position))
    builder.button(text=_("✅ Publish"), callback_data=PollDraftCb(
        action=PollDraftAction.PUBLISH))
    builder.adjust(1)
    await send_fitted(callback, text, reply_markup=with_nav(builder.as_markup(),
                                                           cancel=_("✖ Discard")), new=False)


def preview_text(draft: PollDraft, *, count: int, closes: str) -> str:
    """The whole poll as it will go out, for a last look."""
    lines = [_("Check the poll:"), f"<b>{html.escape(draft.title)}</b>"]
    for number, question in enumerate(draft.questions, start=1):
        kind = _("several answers") if question.multiple else _("one answer")
        lines.append(f"\n{number}. {html.escape(question.text)} ({kind})")
        lines += [f"  • {html.escape(o)}" for o in question.options]
        if question.allow_other:
            lines.append(f"  • {other_label()} ✍️")
    lines += ["", ngettext("It will go to {count} person and close on {time}.",
                           "It will go to {count} people and close on {time}.", count).format(
        count=count, time=closes)]
    return "\n".join(lines)


async def closing_label(session: AsyncSession, clock: Clock, draft: PollDraft) -> str:
    assert draft.closes_at is not None
    return say_moment(draft.closes_at, await zone_of(session, draft.community_id),
                      now=clock.now())


@router.callback_query(Compose.preview, PollDraftCb.filter(F.action == PollDraftAction.SHARE))
async def on_share(callback: CallbackQuery, access: Access, session: AsyncSession,
                   state: FSMContext, clock: Clock) -> None:
    """📊 Send everyone the chart at the end: yes ⇄ no."""
    draft = await draft_for(state, access)
    draft.share = not draft.share
    await draft.save(state)
    await callback.answer()
    await show_preview(callback, session, access, clock, draft)


@router.callback_query(Compose.preview, PollDraftCb.filter(
    F.action == PollDraftAction.PUBLISH))
async def on_publish(callback: CallbackQuery, access: Access, session: AsyncSession,
                     state: FSMContext, clock: Clock, outbox_notify: Notify) -> None:
    """✅ Publish: the service checks everything again and invites the audience."""
    draft = await draft_for(state, access)
    assert draft.audience is not None and draft.closes_at is not None
    closes = await closing_label(session, clock, draft)  # before the invitations start
    poll = await polls.create_poll(
        session, access=access, clock=clock, community_id=draft.community_id,
        title=draft.title, questions=draft.questions,
        audience=Audience.from_json(draft.audience), closes_at=draft.closes_at,
        send_results=draft.share, buttons=OUTBOX_KEYBOARDS.polls, notify=outbox_notify)
    await state.clear()
    await callback.answer()
    await show(callback, _("✅ Poll #{id} is out. People are being invited now; it closes on "
                           "{time}. See the results any time under 📊 Run polls.").format(
        id=poll.id, time=closes))


@router.callback_query(Compose.preview, PollEditCb.filter())
async def on_edit_question(callback: CallbackQuery, callback_data: PollEditCb, access: Access,
                           state: FSMContext) -> None:
    """✏️ Edit question N: its words again, then its choices, then the last look again."""
    draft = await draft_for(state, access)
    if not 0 <= callback_data.position < len(draft.questions):
        await answer_out_of_date(callback)
        return
    await callback.answer()
    await drop_buttons(callback)
    await state.set_state(Compose.edit_question)
    await state.update_data(edit_position=callback_data.position)
    question = draft.questions[callback_data.position]
    await send(callback, _("✏️ Question {n}: write the question again. Now it reads:\n"
                           "«{text}»").format(n=callback_data.position + 1,
                                              text=html.escape(question.text)),
               reply_markup=with_nav())


async def edit_position(state: FSMContext, draft: PollDraft) -> int:
    position = int((await state.get_data()).get("edit_position", -1))
    if not 0 <= position < len(draft.questions):
        raise NotFound("no question to edit")
    return position


@router.message(Compose.edit_question, F.text & ~F.text.startswith("/"))
async def on_edited_question(message: Message, state: FSMContext, access: Access) -> None:
    """The question's new words; its choices next."""
    draft = await draft_for(state, access)
    await edit_position(state, draft)
    draft.question = polls.check_question(message.text or "")
    await draft.save(state)
    await state.set_state(Compose.edit_options)
    await message.answer(_("Now the choices, one per line (2 to {max}). For example:\n"
                           "Yes\nNo").format(max=OPTIONS_MAX), reply_markup=with_nav())


@router.message(Compose.edit_options, F.text & ~F.text.startswith("/"))
async def on_edited_options(message: Message, state: FSMContext, access: Access,
                            session: AsyncSession, clock: Clock) -> None:
    """The new choices: the question replaced (its single/multiple and "something else"
    kept), and the last look again."""
    draft = await draft_for(state, access)
    position = await edit_position(state, draft)
    options = polls.parse_options(message.text or "")
    old = draft.questions[position]
    draft.questions[position] = polls.QuestionDraft(
        text=draft.question, options=options, multiple=old.multiple,
        allow_other=old.allow_other)
    draft.question = ""
    await draft.save(state)
    await state.set_state(Compose.preview)
    await show_preview(message, session, access, clock, draft)


@router.message(Compose.edit_question)
@router.message(Compose.edit_options)
async def on_edit_not_text(message: Message) -> None:
    """Anything but words while editing a question."""
    await message.answer(_("Please write it in words, or press ◀ Back."))


# --- ◀ Back, one handler per step -------------------------------------------------------------


BACK = PollDraftCb.filter(F.action == PollDraftAction.BACK)


@router.callback_query(Compose.title, BACK)
async def on_back_from_title(callback: CallbackQuery, access: Access, session: AsyncSession,
                             state: FSMContext, clock: Clock) -> None:
    """◀ Back from the title: the community's polls (nothing kept)."""
    draft = await draft_for(state, access)
    await callback.answer()
    await state.clear()
    await drop_buttons(callback)
    await show_list(callback, access, session, clock, community_id=draft.community_id)


@router.callback_query(Compose.question, BACK)
async def on_back_from_question(callback: CallbackQuery, access: Access,
                                state: FSMContext) -> None:
    """◀ Back from a question: the title (the first question) or the question before."""
    draft = await draft_for(state, access)
    await callback.answer()
    await drop_buttons(callback)
    if not draft.questions:
        await ask_title(callback, state, draft)
        return
    await state.set_state(Compose.settings)
    text, markup = settings_screen(draft)
    await send(callback, text, reply_markup=markup)


@router.callback_query(Compose.options, BACK)
async def on_back_from_options(callback: CallbackQuery, access: Access,
                               state: FSMContext) -> None:
    """◀ Back from the choices: the question's words again."""
    draft = await draft_for(state, access)
    await callback.answer()
    await drop_buttons(callback)
    await ask_question(callback, state, draft)


@router.callback_query(Compose.settings, BACK)
async def on_back_from_settings(callback: CallbackQuery, access: Access,
                                state: FSMContext) -> None:
    """◀ Back from a question's settings: its choices again (its words kept)."""
    draft = await draft_for(state, access)
    await callback.answer()
    await drop_buttons(callback)
    last = draft.questions.pop()
    draft.question = last.text
    await draft.save(state)
    await ask_options(callback, state)


@router.callback_query(Compose.audience, BACK)
async def on_back_from_audience(callback: CallbackQuery, access: Access,
                                state: FSMContext) -> None:
    """◀ Back from the grids: the audiences; from the audiences: the last question."""
    draft = await draft_for(state, access)
    await callback.answer()
    await drop_buttons(callback)
    if (await state.get_data()).get("choosing_grids"):
        await ask_audience(callback, state)
        return
    await state.set_state(Compose.settings)
    text, markup = settings_screen(draft)
    await send(callback, text, reply_markup=markup)


@router.callback_query(Compose.closing, BACK)
async def on_back_from_closing(callback: CallbackQuery, access: Access,
                               state: FSMContext) -> None:
    """◀ Back from the closing day: who it is for."""
    await draft_for(state, access)
    await callback.answer()
    await drop_buttons(callback)
    await ask_audience(callback, state)


@router.callback_query(Compose.preview, BACK)
async def on_back_from_preview(callback: CallbackQuery, access: Access, session: AsyncSession,
                               state: FSMContext, clock: Clock) -> None:
    """◀ Back from the last look: the closing day again."""
    draft = await draft_for(state, access)
    await callback.answer()
    await ask_closing(callback, session, state, clock, draft)


@router.callback_query(Compose.edit_question, BACK)
@router.callback_query(Compose.edit_options, BACK)
async def on_back_from_edit(callback: CallbackQuery, access: Access, session: AsyncSession,
                            state: FSMContext, clock: Clock) -> None:
    """◀ Back while editing a question: the last look, the question as it was."""
    draft = await draft_for(state, access)
    draft.question = ""
    await draft.save(state)
    await callback.answer()
    await drop_buttons(callback)
    await state.set_state(Compose.preview)
    await show_preview(callback, session, access, clock, draft)


@router.callback_query(StateFilter(Compose), PollDraftCb.filter(
    F.action == PollDraftAction.DISCARD))
async def on_discard(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ Discard, at any step."""
    await state.clear()
    await callback.answer()
    await show(callback, _("Discarded. Nothing was sent."))


@router.callback_query(PollDraftCb.filter())
@router.callback_query(PollEditCb.filter())
@router.callback_query(PollAudienceCb.filter())
@router.callback_query(PollGridCb.filter())
async def on_stale_draft_button(callback: CallbackQuery) -> None:
    """A draft's button pressed at another step (or after it was published)."""
    await answer_out_of_date(callback)
