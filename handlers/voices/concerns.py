"""💬 My voice: the screen itself, and a resident's concerns and ideas.

```mermaid
stateDiagram-v2
    [*] --> Home: 💬 My voice
    Home --> Description: a category, right on the screen (a quick report)
    Home --> Category: 📝 Report a problem
    Category --> Category: words typed first (kept; the category asked again)
    Category --> Category: a photo, a voice note or a place sent first (kept)
    Category --> Confirm: a category, after a photo, a voice note or a place
    Category --> Photo: a category, the words already typed
    Home --> Description: 💡 Share an idea
    Category --> Description: a category
    Description --> Description: empty or too long (asked again)
    Description --> Photo: text
    Description --> Confirm: text (a quick report or an idea: the resident's own grid)
    Confirm --> Photo: 📷 Add a photo, a voice message or my location (quick)
    Confirm --> Description: ◀ Back (quick)
    Photo --> Photo: a file instead of a photo (asked again)
    Photo --> Location: a photo / a voice note / Skip
    Location --> Location: other text (asked again)
    Location --> Grid: 📍 location / Skip (community has grids)
    Location --> Confirm: 📍 location / Skip (no grids)
    Grid --> Grid: a grid that is not there (refused, the draft kept)
    Grid --> Confirm: a grid / the whole community
    Confirm --> [*]: ✅ Send (staff are told) / ✖ Discard
    [*] --> Offered: words, a photo, a voice note or a place sent outside a conversation
    Offered --> Offered: words naming a course (or 报名): those courses, 📝 as a report
    Offered --> Confirm: a category (the draft is what was said, in the resident's grid)
    Confirm --> Offered: ◀ Back (made from something said)
    Confirm --> Grid: ◀ Back
    Grid --> Location: ◀ Back
    Location --> Photo: ◀ Back
    Photo --> Description: ◀ Back
    Description --> Category: ◀ Back
    Category --> Home: ◀ Back
    Category --> [*]: ✖ Cancel (at every step)
    Home --> Mine: 📋 My reports
    Mine --> Report: one report
    Report --> WithdrawAsk: ↩️ Withdraw (only while received)
    WithdrawAsk --> Report: No, keep my report
    WithdrawAsk --> Mine: Yes, withdraw it
    Report --> Reply: 💬 Reply (also under staff's answer)
    Reply --> Reply: empty or too long (asked again)
    Reply --> [*]: words or a voice note (whoever handles it is told)
    Report --> Report: 🔁 Reopen (resolved, rated 1–2 ⭐, within 7 days)
    Home --> Ideas: 👍 Neighbours' ideas
    Ideas --> Idea: one idea
    Idea --> Idea: 👍 Me too / take it back
```

The draft is a `ReportDraft` in the FSM data, one handler per (state, button).
Status updates and the 1–5 rating question arrive from the outbox with `RateCb`
buttons. Staff triage is in concern_staff.py, polls in polls.py and poll_staff.py,
all reached from the same screen. Refusals are answered by the error router
(bot/replies.py).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from uuid import uuid4

from aiogram import F, Router
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
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.courses import CourseAction, CourseCb
from bot.callback_data.voices import (
    IdeaAction,
    IdeaCb,
    OwnReportAction,
    OwnReportCb,
    RateCb,
    ReportCategoryCb,
    ReportDraftAction,
    ReportDraftCb,
    ReportGridCb,
    ReportSendCb,
    VoiceAction,
    VoiceCb,
)
from bot.filters import MenuButton
from bot.fit import send_fitted
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.confirm import ask_once
from bot.keyboards.menu import main_menu
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.labels import CATEGORY_LABELS, category_text, status_text
from bot.replies import answer_out_of_date
from bot.screens import send, show
from bot.when import say_moment
from handlers.voices.common import drop_buttons
from models.users import User
from models.voices import DESCRIPTION_MAX, Report, ReportCategory
from services import communities, concerns, polls
from services.access import Access
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotFound
from services.outbox import Notify
from services.text import cut

router = Router(name=__name__)

BUTTONS: concerns.Buttons = OUTBOX_KEYBOARDS.reports


class ReportStates(StatesGroup):
    offered = State()   # something said outside a conversation, offered as a report
    category = State()
    description = State()
    photo = State()
    location = State()
    grid = State()
    confirm = State()
    reply = State()     # the author's reply in a report's thread (words or a voice note)


@dataclass
class ReportDraft:
    """The report being written, kept in the FSM data under "report"."""

    category: ReportCategory
    description: str = ""
    photo: str | None = None
    voice: str | None = None  # a voice note's file id, played back to staff
    latitude: float | None = None
    longitude: float | None = None
    grid_id: int | None = None
    offered: bool = False  # made from something said outside a conversation
    # Begun on 💬 My voice's category buttons, or an idea: the words go straight to ✅ Send
    # (in the resident's own grid); a photo, a voice note or a place is one tap to add.
    quick: bool = False
    # Names this draft: ✅ Send carries it, so a second press finds the report it made.
    key: str = field(default_factory=lambda: uuid4().hex)

    def __post_init__(self) -> None:
        self.category = ReportCategory(self.category)

    @classmethod
    async def load(cls, state: FSMContext) -> ReportDraft | None:
        data = (await state.get_data()).get("report")
        return cls(**data) if data else None

    async def save(self, state: FSMContext) -> None:
        await state.update_data(report=asdict(self))


async def draft_of(state: FSMContext) -> ReportDraft:
    """The draft a step works on; a step reached without one is out of date."""
    draft = await ReportDraft.load(state)
    if draft is None:
        raise NotFound("no report draft")
    return draft


def needs_community(user: User) -> None:
    if user.community_id is None:
        raise concerns.NoCommunity("choose a community first")


# --- The 💬 My voice screen ---------------------------------------------------------------


@router.message(MenuButton("voice"))
async def on_menu(message: Message, user: User, access: Access, session: AsyncSession,
                  state: FSMContext, clock: Clock) -> None:
    """💬 My voice: report, share an idea, see my reports, answer polls (and staff tools)."""
    await state.clear()
    await show_home(message, user, access, session, clock)


async def show_home(event: Message | CallbackQuery, user: User, access: Access,
                    session: AsyncSession, clock: Clock) -> None:
    builder = InlineKeyboardBuilder()
    open_polls = await polls.open_for(session, clock=clock, user=user)
    quick = [code for code in CATEGORY_LABELS if code != ReportCategory.IDEA]
    if user.community_id is not None:  # a report in two taps: its category, then ✅ Send
        for code in quick:
            builder.button(text=_(CATEGORY_LABELS[code]), callback_data=ReportCategoryCb(
                category=ReportCategory(code)))
    for label, action in ((_("📝 Report a problem"), VoiceAction.REPORT),
                          (_("💡 Share an idea"), VoiceAction.IDEA),
                          (_("📋 My reports"), VoiceAction.MINE),
                          (_("👍 Neighbours' ideas"), VoiceAction.IDEAS)):
        builder.button(text=label, callback_data=VoiceCb(action=action))
    builder.button(text=_("🗳 Polls for me ({count})").format(count=len(open_polls)),
                   callback_data=VoiceCb(action=VoiceAction.POLLS))
    if access.is_admin or access.staff_of:
        # Anyone serving several communities chooses one next (handlers/scope.py).
        builder.button(text=_("🗂 Reports to handle"),
                       callback_data=VoiceCb(action=VoiceAction.TRIAGE))
        builder.button(text=_("📊 Run polls"), callback_data=VoiceCb(action=VoiceAction.RUN_POLLS))
    if user.community_id is not None:
        builder.adjust(*([2] * (len(quick) // 2)), *([1] * 20))
    else:
        builder.adjust(1)
    await show(event, _("💬 <b>My voice</b>\nTell your community about a problem: tap what it "
                        "is about, then write a few words. Or share an idea for the "
                        "neighbourhood, or answer a poll. Staff will answer you here."),
               reply_markup=builder.as_markup())


@router.callback_query(StateFilter(None), ReportCategoryCb.filter())
async def on_quick_category(callback: CallbackQuery, callback_data: ReportCategoryCb,
                            user: User, state: FSMContext) -> None:
    """A category tapped on 💬 My voice: the words next, then ✅ Send."""
    needs_community(user)
    await callback.answer()
    await ReportDraft(category=callback_data.category, grid_id=user.grid_id,
                      quick=True).save(state)
    await ask_description(callback, state, idea=callback_data.category == ReportCategory.IDEA)


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.HOME))
async def on_home(callback: CallbackQuery, user: User, access: Access, session: AsyncSession,
                  clock: Clock) -> None:
    """◀ back to 💬 My voice, in place."""
    await callback.answer()
    await show_home(callback, user, access, session, clock)


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.REPORT))
async def on_report(callback: CallbackQuery, user: User, state: FSMContext,
                    session: AsyncSession) -> None:
    """📝 Report a problem: choose a category first (no community yet: the list of them,
    right there)."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # onboarding imports handlers.courses
        await offer_home(callback, session, state)
        return
    await callback.answer()
    await state.clear()
    await ask_category(callback, state)


def category_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, label in CATEGORY_LABELS.items():
        builder.button(text=_(label), callback_data=ReportCategoryCb(
            category=ReportCategory(code)))
    builder.adjust(1)
    return with_nav(builder).as_markup()


def with_nav(builder: InlineKeyboardBuilder, *, cancel: str | None = None,
             ) -> InlineKeyboardBuilder:
    """Every step's last row: ◀ Back to the step before, ✖ Cancel the whole report."""
    builder.row(
        InlineKeyboardButton(text=_("◀ Back"), callback_data=ReportDraftCb(
            action=ReportDraftAction.BACK).pack()),
        InlineKeyboardButton(text=cancel or _("✖ Cancel"), callback_data=ReportDraftCb(
            action=ReportDraftAction.DISCARD).pack()))
    return builder


async def ask_category(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ReportStates.category)
    await send(event, _("What is it about?") + "\n" + _(
        "(You may also send a photo, a voice message or your location first: it goes with "
        "the report.)"), reply_markup=category_keyboard())


@router.message(ReportStates.category, F.photo | F.voice | F.location)
async def on_early_said(message: Message, state: FSMContext) -> None:
    """A photo, a voice note or a place sent before the category: kept (with any words
    typed first, or the photo's caption); the category then goes straight to the last
    look."""
    said = Said.of(message)
    assert said is not None
    data = await state.get_data()
    said.text = concerns.check_description(said.text or data.get("early_words") or "",
                                           required=False)
    await state.update_data(said=asdict(said))
    await message.answer(_("I have kept it. Now, what is it about?"),
                         reply_markup=category_keyboard())


@router.message(ReportStates.category, F.text & ~F.text.startswith("/"))
async def on_early_words(message: Message, state: FSMContext) -> None:
    """The report's words typed before its category: kept (checked as the words are), and
    the category asked again; they will not be asked for a second time."""
    words = concerns.check_description(message.text or "")
    await state.update_data(early_words=words)
    await message.answer(_("I have kept your words. Now, what is it about?"),
                         reply_markup=category_keyboard())


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.IDEA))
async def on_idea(callback: CallbackQuery, user: User, state: FSMContext,
                  session: AsyncSession) -> None:
    """💡 Share an idea: straight to the words (no community yet: the list of them)."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # onboarding imports handlers.courses
        await offer_home(callback, session, state)
        return
    await callback.answer()
    await state.clear()
    await ReportDraft(category=ReportCategory.IDEA, grid_id=user.grid_id, quick=True).save(state)
    await ask_description(callback, state, idea=True)


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.MINE))
async def on_mine(callback: CallbackQuery, user: User, session: AsyncSession) -> None:
    """📋 My reports."""
    needs_community(user)
    await callback.answer()
    found = await concerns.own_reports(session, user_id=user.id or 0)
    if not found:
        await send(callback, _("You have not sent any reports yet."))
        return
    builder = InlineKeyboardBuilder()
    for report in found:
        builder.button(text=f"{status_text(report.status).split()[0]} #{report.id} "
                            f"{short(report)}",
                       callback_data=OwnReportCb(action=OwnReportAction.VIEW,
                                                 report_id=report.id or 0))
    builder.adjust(1)
    await send(callback, _("📋 Your reports:"), reply_markup=builder.as_markup())


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.IDEAS))
async def on_ideas(callback: CallbackQuery, user: User, session: AsyncSession) -> None:
    """👍 Neighbours' ideas, most backed first."""
    needs_community(user)
    await callback.answer()
    found = await concerns.community_ideas(session, user=user)
    if not found:
        await send(callback, _("No ideas yet. Share the first one with 💡 Share an idea!"))
        return
    builder = InlineKeyboardBuilder()
    for idea in found:
        builder.button(text=f"👍 {idea.backers} · {short(idea)}",
                       callback_data=IdeaCb(action=IdeaAction.VIEW, report_id=idea.id or 0))
    builder.adjust(1)
    await send(callback, _("👍 Ideas from your neighbours. Open one to back it:"),
               reply_markup=builder.as_markup())


# --- Writing a report ---------------------------------------------------------------------


async def ask_description(event: Message | CallbackQuery, state: FSMContext,
                          idea: bool) -> None:
    await state.set_state(ReportStates.description)
    await send(event,
               _("💡 Describe your idea in your own words: what, where, and why it would help.")
               if idea else
               _("Describe the problem in your own words: what and where (at most {max} "
                 "characters).").format(max=DESCRIPTION_MAX),
               reply_markup=with_nav(InlineKeyboardBuilder()).as_markup())


@router.callback_query(ReportStates.category, ReportCategoryCb.filter())
async def on_category(callback: CallbackQuery, callback_data: ReportCategoryCb,
                      user: User, session: AsyncSession, state: FSMContext) -> None:
    """The category; the question is replaced by the answer. Words typed before it are the
    report's words, so the next step is the photo."""
    await callback.answer()
    data = await state.get_data()
    if data.get("said"):  # a photo, a voice note or a place came first: that is the report
        said = Said(**data["said"])
        draft = ReportDraft(category=callback_data.category, description=said.text,
                            photo=said.photo, voice=said.voice, latitude=said.latitude,
                            longitude=said.longitude, grid_id=user.grid_id)
        await draft.save(state)
        await show(callback, category_text(callback_data.category))
        await show_confirm(callback, state, session, draft)
        return
    early = data.get("early_words")
    draft = ReportDraft(category=callback_data.category, description=early or "")
    await draft.save(state)
    await show(callback, category_text(callback_data.category))
    if early:
        await ask_photo(callback, state)
        return
    await ask_description(callback, state, idea=callback_data.category == ReportCategory.IDEA)


@router.message(ReportStates.description, F.text & ~F.text.startswith("/"))
async def on_description(message: Message, session: AsyncSession, state: FSMContext) -> None:
    """The words of the report; empty or too long is refused (the error router says why)
    and the step stays."""
    draft = await draft_of(state)
    draft.description = concerns.check_description(message.text or "")
    await draft.save(state)
    if draft.quick:
        await show_confirm(message, state, session, draft)
        return
    await ask_photo(message, state)


async def ask_photo(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ReportStates.photo)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip ▶"), callback_data=ReportDraftCb(action=ReportDraftAction.SKIP))
    await send(event, _("📷 A photo helps. Send one now (or a voice message), or press Skip."),
               reply_markup=with_nav(builder).as_markup())


@router.message(ReportStates.description)
async def on_description_other(message: Message) -> None:
    """A photo, sticker… where words are wanted."""
    await message.answer(_("Please write a few words about it first. You can add a photo "
                           "in the next step."))


@router.message(ReportStates.photo, F.photo)
async def on_photo(message: Message, state: FSMContext) -> None:
    """The report's photo (the largest size Telegram made)."""
    assert message.photo
    draft = await draft_of(state)
    draft.photo = message.photo[-1].file_id
    await draft.save(state)
    await ask_location(message, state)


@router.message(ReportStates.photo, F.voice)
async def on_voice(message: Message, state: FSMContext) -> None:
    """A voice note in place of a photo: staff will play it."""
    assert message.voice
    draft = await draft_of(state)
    draft.voice = message.voice.file_id
    await draft.save(state)
    await ask_location(message, state)


@router.callback_query(ReportStates.photo, ReportDraftCb.filter(
    F.action == ReportDraftAction.SKIP))
async def on_skip_photo(callback: CallbackQuery, state: FSMContext) -> None:
    """Skip ▶: no photo."""
    await callback.answer()
    await drop_buttons(callback)
    await ask_location(callback, state)


@router.message(ReportStates.photo)
async def on_photo_other(message: Message) -> None:
    """A document or anything else where a photo is wanted: nothing is kept."""
    if message.document:
        await message.answer(_("That was sent as a file, not as a photo. Please send a "
                               "picture as a photo (📎 → Photo), or press Skip."))
    else:
        await message.answer(_("Please send a photo, or press Skip."))


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[
        [KeyboardButton(text=_("📍 Share my location"), request_location=True)],
        [KeyboardButton(text=_("Skip ▶"))],
        [KeyboardButton(text=_("◀ Back")), KeyboardButton(text=_("✖ Cancel"))]],
        resize_keyboard=True, one_time_keyboard=True)


async def ask_location(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ReportStates.location)
    await send(event, _("📍 Are you where it is? Share your location so staff can find it, "
                        "or press Skip."), reply_markup=location_keyboard())


@router.message(ReportStates.location, F.location)
@router.message(ReportStates.location, F.text)
async def on_location(message: Message, user: User, access: Access, session: AsyncSession,
                      state: FSMContext) -> None:
    """📍 a location, or Skip (or ◀ Back, ✖ Cancel: the step's reply keyboard)."""
    draft = await draft_of(state)
    if message.text == _("✖ Cancel"):
        await state.clear()
        await message.answer(_("Discarded. Nothing was sent."), reply_markup=main_menu(access))
        return
    if message.text == _("◀ Back"):
        await message.answer(_("◀ Back."), reply_markup=main_menu(access))
        await ask_photo(message, state)
        return
    if message.location:
        draft.latitude = message.location.latitude
        draft.longitude = message.location.longitude
        await draft.save(state)
    elif message.text != _("Skip ▶"):
        await message.answer(_("Please press 📍 Share my location, or Skip."),
                             reply_markup=location_keyboard())
        return
    await message.answer(_("👍 Thank you."), reply_markup=main_menu(access))
    if not await ask_grid(message, user, session, state):
        await show_confirm(message, state, session, draft)


async def ask_grid(event: Message | CallbackQuery, user: User, session: AsyncSession,
                   state: FSMContext) -> bool:
    """Which part of the community (the resident's own first); False when it has none."""
    grids = await communities.list_grids(session, community_id=user.community_id or 0)
    if not grids:
        return False
    await state.set_state(ReportStates.grid)
    builder = InlineKeyboardBuilder()
    for grid in sorted(grids, key=lambda g: g.id != user.grid_id):
        mark = "🏠 " if grid.id == user.grid_id else ""
        builder.button(text=mark + grid.name, callback_data=ReportGridCb(grid_id=grid.id or 0))
    builder.button(text=_("🏘 The whole community"), callback_data=ReportGridCb(grid_id=0))
    builder.adjust(1)
    await send(event, _("Which part of the community is it in?"),
               reply_markup=with_nav(builder).as_markup())
    return True


@router.callback_query(ReportStates.grid, ReportGridCb.filter())
async def on_grid(callback: CallbackQuery, callback_data: ReportGridCb, user: User,
                  session: AsyncSession, state: FSMContext) -> None:
    """The part of the community (re-checked: a grid of another community, or one that
    is not there, is out of date and the draft stays as it was)."""
    draft = await draft_of(state)
    grid_id = callback_data.grid_id or None
    if grid_id is not None:
        grid = await communities.get_grid(session, grid_id=grid_id)
        if grid.community_id != user.community_id:
            await answer_out_of_date(callback)
            return
    await callback.answer()
    draft.grid_id = grid_id
    await draft.save(state)
    await drop_buttons(callback)
    await show_confirm(callback, state, session, draft)


async def show_confirm(event: Message | CallbackQuery, state: FSMContext,
                       session: AsyncSession, draft: ReportDraft) -> None:
    await state.set_state(ReportStates.confirm)
    lines = [_("Please check your report:"), category_text(draft.category)]
    if draft.description:
        lines.append(html.escape(draft.description))
    if draft.photo:
        lines.append(_("📷 with a photo"))
    if draft.voice:
        lines.append(_("🎤 with a voice message"))
    if draft.latitude is not None:
        lines.append(_("📍 with your location"))
    if draft.grid_id:
        grid = await communities.get_grid(session, grid_id=draft.grid_id)
        lines.append("🏘 " + html.escape(grid.name))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Send"), callback_data=ReportSendCb(key=draft.key))
    if draft.quick and not (draft.photo or draft.voice or draft.latitude is not None):
        builder.button(text=_("📷 Add a photo, a voice message or my location"),
                       callback_data=ReportDraftCb(action=ReportDraftAction.ADD))
    builder.adjust(1)
    await send_fitted(event, "\n".join(lines),
                      reply_markup=with_nav(builder, cancel=_("✖ Discard")).as_markup())


@router.callback_query(ReportSendCb.filter())
async def on_send(callback: CallbackQuery, callback_data: ReportSendCb, user: User,
                  session: AsyncSession, state: FSMContext, clock: Clock,
                  outbox_notify: Notify) -> None:
    """✅ Send: the service records it and tells the community's staff. A second press of
    the same draft (a double tap, an old message) files nothing and says it was sent."""
    draft = await ReportDraft.load(state)
    if draft is None or draft.key != callback_data.key \
            or await state.get_state() != ReportStates.confirm.state:
        # A fresh look: the first press of a double tap may have filed it after this
        # update's read began (SQLite reads one snapshot per transaction).
        user_id = user.id or 0
        await session.commit()
        sent = await concerns.sent_from(session, user_id=user_id,
                                        draft_key=callback_data.key)
        if sent is not None:
            raise concerns.AlreadySent(sent)
        raise NotFound("no such draft to send")
    try:
        report = await concerns.create_report(
            session, clock=clock, user=user, category=draft.category,
            description=draft.description, grid_id=draft.grid_id, photo_file_id=draft.photo,
            latitude=draft.latitude, longitude=draft.longitude, buttons=BUTTONS,
            notify=outbox_notify, draft_key=draft.key, voice_file_id=draft.voice)
    except concerns.AlreadySent:
        await state.clear()  # the draft is done either way
        raise
    await state.clear()
    await callback.answer()
    await show(callback, _("✅ Thank you! Your report #{id} has gone to the community staff. "
                           "You will get a message here each time it moves on. See it under "
                           "📋 My reports.").format(id=report.id))


@router.callback_query(ReportStates.confirm, ReportDraftCb.filter(
    F.action == ReportDraftAction.ADD))
async def on_add(callback: CallbackQuery, state: FSMContext) -> None:
    """📷 Add a photo, a voice message or my location, to a quick report: the photo step,
    then the place (and the part of the community), then the last look again."""
    draft = await draft_of(state)
    draft.quick = False  # the steps after the words, as the long way has them
    await draft.save(state)
    await callback.answer()
    await drop_buttons(callback)
    await ask_photo(callback, state)


@router.callback_query(StateFilter(ReportStates), ReportDraftCb.filter(
    F.action == ReportDraftAction.DISCARD))
async def on_discard(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ Discard, at any step of the draft."""
    await state.clear()
    await callback.answer()
    await show(callback, _("Discarded. Nothing was sent."))


# --- Anything said outside a conversation (handlers/fallback.py hands it here) ----------------


@dataclass
class Said:
    """What a resident sent outside any conversation, kept in the FSM data under "said"
    until they choose a category: it becomes the report's body as it is."""

    text: str = ""
    photo: str | None = None
    voice: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @classmethod
    def of(cls, message: Message) -> Said | None:
        """Words, a photo (with or without its caption), a voice note or a place; None
        for anything else (a sticker, a file…)."""
        words = message.text or message.caption or ""
        if message.photo:
            return cls(text=words, photo=message.photo[-1].file_id)
        if message.voice:
            return cls(text=words, voice=message.voice.file_id)
        if message.location:
            return cls(latitude=message.location.latitude,
                       longitude=message.location.longitude)
        if message.text:
            return cls(text=words)
        return None

    @property
    def only_words(self) -> bool:
        return not (self.photo or self.voice or self.latitude is not None)


def offer_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, label in CATEGORY_LABELS.items():
        builder.button(text=_(label), callback_data=ReportCategoryCb(
            category=ReportCategory(code)))
    builder.button(text=_("✖ No, thanks"), callback_data=ReportDraftCb(
        action=ReportDraftAction.DISCARD))
    builder.adjust(1)
    return builder.as_markup()


async def offer(message: Message, user: User, session: AsyncSession,
                state: FSMContext) -> bool:
    """Offer what was said as a report, one tap to its category and one to ✅ Send; words
    that name a course of the community, or ask to enrol, get those courses first (and
    the report still one tap away). False when it is nothing a report can carry."""
    said = Said.of(message)
    if said is None or user.community_id is None:
        return False
    if said.only_words and said.text in (_("Skip ▶"), _("◀ Back"), _("✖ Cancel")):
        return False  # a step's button pressed on a keyboard left over from it
    said.text = concerns.check_description(said.text, required=False)
    await state.clear()
    await state.set_state(ReportStates.offered)
    await state.update_data(said=asdict(said))
    if said.only_words:
        found = await concerns.courses_meant(session, community_id=user.community_id,
                                             words=said.text)
        if found:
            builder = InlineKeyboardBuilder()
            for course in found:
                builder.button(text="📚 " + cut(course.title, 40), callback_data=CourseCb(
                    action=CourseAction.COURSE, id=course.id or 0))
            builder.button(text=_("📝 Send it to my community as a report"),
                           callback_data=ReportDraftCb(action=ReportDraftAction.OFFER))
            builder.adjust(1)
            await message.answer(_("These courses may be what you are looking for. Open one "
                                   "to see it and enrol:"), reply_markup=builder.as_markup())
            return True
    await message.answer(_("Send this to your community staff as a report? Choose what it "
                           "is about:"), reply_markup=offer_keyboard())
    return True


@router.callback_query(ReportStates.offered, ReportDraftCb.filter(
    F.action == ReportDraftAction.OFFER))
async def on_offer_report(callback: CallbackQuery) -> None:
    """📝 Send it as a report (under the courses the words named): the categories."""
    await callback.answer()
    await show(callback, _("Send this to your community staff as a report? Choose what it "
                           "is about:"), reply_markup=offer_keyboard())


@router.callback_query(ReportStates.offered, ReportCategoryCb.filter())
async def on_offered_category(callback: CallbackQuery, callback_data: ReportCategoryCb,
                              user: User, session: AsyncSession, state: FSMContext) -> None:
    """The category of what was said: the draft made from it as it is (in the resident's
    own grid), straight to ✅ Send."""
    data = (await state.get_data()).get("said")
    if not data or user.community_id is None:
        raise NotFound("nothing said to send")
    said = Said(**data)
    draft = ReportDraft(category=callback_data.category, description=said.text,
                        photo=said.photo, voice=said.voice, latitude=said.latitude,
                        longitude=said.longitude, grid_id=user.grid_id, offered=True)
    await draft.save(state)
    await callback.answer()
    await show(callback, category_text(callback_data.category))
    await show_confirm(callback, state, session, draft)


# --- ◀ Back, one handler per step ----------------------------------------------------------


@router.callback_query(ReportStates.category, ReportDraftCb.filter(
    F.action == ReportDraftAction.BACK))
async def on_back_from_category(callback: CallbackQuery, user: User, access: Access,
                                session: AsyncSession, state: FSMContext,
                                clock: Clock) -> None:
    """◀ Back from the category: 💬 My voice, in place."""
    await callback.answer()
    await state.clear()
    await show_home(callback, user, access, session, clock)


@router.callback_query(ReportStates.description, ReportDraftCb.filter(
    F.action == ReportDraftAction.BACK))
async def on_back_from_description(callback: CallbackQuery, user: User, access: Access,
                                   session: AsyncSession, state: FSMContext,
                                   clock: Clock) -> None:
    """◀ Back from the words: the category again (an idea or a quick report: 💬 My voice)."""
    draft = await draft_of(state)
    await callback.answer()
    if draft.category == ReportCategory.IDEA or draft.quick:
        await state.clear()
        await show_home(callback, user, access, session, clock)
        return
    await drop_buttons(callback)
    await ask_category(callback, state)


@router.callback_query(ReportStates.photo, ReportDraftCb.filter(
    F.action == ReportDraftAction.BACK))
async def on_back_from_photo(callback: CallbackQuery, state: FSMContext) -> None:
    """◀ Back from the photo: the words again (what was written is replaced when sent)."""
    draft = await draft_of(state)
    await callback.answer()
    await drop_buttons(callback)
    await ask_description(callback, state, idea=draft.category == ReportCategory.IDEA)


@router.callback_query(ReportStates.grid, ReportDraftCb.filter(
    F.action == ReportDraftAction.BACK))
async def on_back_from_grid(callback: CallbackQuery, state: FSMContext) -> None:
    """◀ Back from the part of the community: the location again."""
    await draft_of(state)
    await callback.answer()
    await drop_buttons(callback)
    await ask_location(callback, state)


@router.callback_query(ReportStates.confirm, ReportDraftCb.filter(
    F.action == ReportDraftAction.BACK))
async def on_back_from_confirm(callback: CallbackQuery, user: User, session: AsyncSession,
                               state: FSMContext) -> None:
    """◀ Back from the last look: the step before it (for something said outside a
    conversation, its category)."""
    draft = await draft_of(state)
    await callback.answer()
    await drop_buttons(callback)
    if draft.offered:
        await state.set_state(ReportStates.offered)
        await send(callback, _("Send this to your community staff as a report? Choose what it "
                               "is about:"), reply_markup=offer_keyboard())
        return
    if draft.quick:  # the words again
        await ask_description(callback, state, idea=draft.category == ReportCategory.IDEA)
        return
    if not await ask_grid(callback, user, session, state):
        await ask_location(callback, state)


@router.callback_query(ReportCategoryCb.filter())
@router.callback_query(ReportGridCb.filter())
@router.callback_query(ReportDraftCb.filter())
async def on_stale_draft_button(callback: CallbackQuery) -> None:
    """A draft's button pressed at another step (or after it was sent)."""
    await answer_out_of_date(callback)


# --- My reports, neighbours' ideas, ratings --------------------------------------------------


def short(report: Report, limit: int = 30) -> str:
    return concerns.summary(report, limit)


@dataclass(frozen=True)
class Entry:
    """One entry of the report's thread as its author reads it."""

    mine: bool
    when: str
    text: str
    voice: bool = False


def own_report_text(report: Report, thread: Sequence[Entry] = (), community: str = "") -> str:
    head = f"#{report.id} · {html.escape(community)} · " if community else f"#{report.id} · "
    lines = [head + category_text(report.category),
             _("Status: {status}").format(status=status_text(report.status))]
    if report.description:
        lines += ["", html.escape(report.description)]
    if thread:
        for entry in thread:
            who = _("🙋 You") if entry.mine else _("💬 Staff")
            words = html.escape(entry.text) or ""
            if entry.voice:
                words = (words + " " if words else "") + _("🎤 a voice message")
            lines += ["", f"{who} · {entry.when}", words]
    else:
        if report.answer:
            lines += ["", _("💬 Answer: {answer}").format(answer=html.escape(report.answer))]
        if report.decline_reason:
            lines += ["", _("Reason: {reason}").format(
                reason=html.escape(report.decline_reason))]
    if report.rating:
        lines.append(_("Your rating: {stars}").format(stars="⭐" * report.rating))
    return "\n".join(lines)


def own_report_keyboard(view: concerns.OwnView) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    rid = view.report.id or 0
    if view.can_reply:
        builder.button(text=_("💬 Reply"), callback_data=OwnReportCb(
            action=OwnReportAction.REPLY, report_id=rid))
    if view.can_reopen:
        builder.button(text=_("🔁 Reopen it"), callback_data=OwnReportCb(
            action=OwnReportAction.REOPEN, report_id=rid))
    if view.can_withdraw:
        builder.button(text=_("↩️ Withdraw it"), callback_data=OwnReportCb(
            action=OwnReportAction.WITHDRAW, report_id=rid))
    builder.adjust(1)
    return builder


async def own_card(session: AsyncSession, report: Report,
                   clock: Clock) -> tuple[str, InlineKeyboardMarkup]:
    """The author's card of their report: its thread, and what they may do now."""
    zone = await communities.zone_of(session, report.community_id)
    thread = [Entry(mine=note.author_id == report.author_id,
                    when=say_moment(note.created_at, zone), text=note.text,
                    voice=note.voice_file_id is not None)
              for note in await concerns.thread(session, report_id=report.id or 0)]
    text = own_report_text(report, thread,
                           await concerns.community_name(session, report.community_id))
    view = concerns.own_view(report, clock.now())
    return text, own_report_keyboard(view).as_markup()


@router.callback_query(OwnReportCb.filter(F.action == OwnReportAction.VIEW))
async def on_own_report(callback: CallbackQuery, callback_data: OwnReportCb, user: User,
                        session: AsyncSession, clock: Clock) -> None:
    """One of my reports (mine only: the service checks), with its thread."""
    report = await concerns.get_own(session, user_id=user.id or 0,
                                    report_id=callback_data.report_id)
    await callback.answer()
    text, markup = await own_card(session, report, clock)
    await send_fitted(callback, text, reply_markup=markup)


@router.callback_query(OwnReportCb.filter(F.action == OwnReportAction.REPLY))
async def on_reply(callback: CallbackQuery, callback_data: OwnReportCb, user: User,
                   session: AsyncSession, state: FSMContext) -> None:
    """💬 Reply (under staff's answer, or on my report): words or a voice note next."""
    report = await concerns.get_own(session, user_id=user.id or 0,
                                    report_id=callback_data.report_id)
    if not concerns.repliable(report):
        raise concerns.ReportClosed(report.status)
    await callback.answer()
    await state.clear()
    await state.set_state(ReportStates.reply)
    await state.update_data(reply_to=report.id)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=ReportDraftCb(
        action=ReportDraftAction.DISCARD))
    await send(callback, _("💬 Write your reply to report #{id}, or send a voice message.\n"
                           "«{summary}»").format(id=report.id,
                                                 summary=html.escape(short(report, 60))),
               reply_markup=builder.as_markup())


@router.message(ReportStates.reply, F.voice)
@router.message(ReportStates.reply, F.text & ~F.text.startswith("/"))
async def on_reply_said(message: Message, user: User, session: AsyncSession,
                        state: FSMContext, clock: Clock, outbox_notify: Notify) -> None:
    """The reply: into the thread, and whoever handles the report is told. Empty or too
    long: the error router says why and the step stays."""
    report_id = int((await state.get_data()).get("reply_to") or 0)
    try:
        await concerns.reply(session, clock=clock, user_id=user.id or 0, report_id=report_id,
                             text=message.text or "",
                             voice_file_id=message.voice.file_id if message.voice else None,
                             buttons=BUTTONS, notify=outbox_notify)
    except InvalidInput:
        raise
    except DomainError:
        await state.clear()  # the report moved on (withdrawn): the step is over
        raise
    await state.clear()
    await message.answer(_("✅ Your reply has gone to the staff of report #{id}. You will "
                           "hear back here.").format(id=report_id))


@router.message(ReportStates.reply)
async def on_reply_other(message: Message) -> None:
    """A photo, sticker… where a reply is wanted."""
    await message.answer(_("Please write your reply, or send a voice message."))


@router.callback_query(OwnReportCb.filter(F.action == OwnReportAction.REOPEN))
async def on_reopen(callback: CallbackQuery, callback_data: OwnReportCb, user: User,
                    session: AsyncSession, clock: Clock, outbox_notify: Notify) -> None:
    """🔁 Reopen it (a resolved report rated 1–2 ⭐, within 7 days): worked on again."""
    report = await concerns.reopen_own(session, clock=clock, user_id=user.id or 0,
                                       report_id=callback_data.report_id, buttons=BUTTONS,
                                       notify=outbox_notify)
    await callback.answer(_("Reopened. Staff have been told."))
    text, markup = await own_card(session, report, clock)
    await send_fitted(callback, text, reply_markup=markup, new=False)


@router.callback_query(OwnReportCb.filter(F.action == OwnReportAction.WITHDRAW))
async def on_withdraw(callback: CallbackQuery, callback_data: OwnReportCb, user: User,
                      session: AsyncSession) -> None:
    """↩️ Withdraw it: the card becomes the question, asked once (bot/keyboards/confirm.py)."""
    report = await concerns.get_own(session, user_id=user.id or 0,
                                    report_id=callback_data.report_id)
    if not concerns.own_view(report).can_withdraw:
        raise concerns.ReportClosed(report.status)
    await callback.answer()
    rid = report.id or 0
    await show(callback, _("Withdraw your report #{id}?\n«{summary}»\nStaff will not work on "
                           "it any more.").format(id=rid, summary=html.escape(short(report, 60))),
               reply_markup=ask_once(
                   yes=_("Yes, withdraw it"),
                   do=OwnReportCb(action=OwnReportAction.WITHDRAW_YES, report_id=rid),
                   no=_("No, keep my report"),
                   keep=OwnReportCb(action=OwnReportAction.KEEP, report_id=rid)))


@router.callback_query(OwnReportCb.filter(F.action == OwnReportAction.WITHDRAW_YES))
async def on_withdraw_yes(callback: CallbackQuery, callback_data: OwnReportCb, user: User,
                          session: AsyncSession, clock: Clock) -> None:
    """Yes, withdraw it (re-checked: staff may have started on it meanwhile)."""
    report = await concerns.withdraw(session, clock=clock, user_id=user.id or 0,
                                     report_id=callback_data.report_id)
    await callback.answer(_("Withdrawn."))
    text, _markup = await own_card(session, report, clock)
    await send_fitted(callback, text, new=False)


@router.callback_query(OwnReportCb.filter(F.action == OwnReportAction.KEEP))
async def on_keep(callback: CallbackQuery, callback_data: OwnReportCb, user: User,
                  session: AsyncSession, clock: Clock) -> None:
    """No, keep my report: the card put back as it was."""
    report = await concerns.get_own(session, user_id=user.id or 0,
                                    report_id=callback_data.report_id)
    await callback.answer()
    text, markup = await own_card(session, report, clock)
    await send_fitted(callback, text, new=False, reply_markup=markup)


@router.callback_query(RateCb.filter())
async def on_rate(callback: CallbackQuery, callback_data: RateCb, user: User,
                  session: AsyncSession, clock: Clock, outbox_notify: Notify) -> None:
    """1–5 ⭐ under the "resolved" update (1–2 ⭐ reach staff at once)."""
    report = await concerns.rate(session, clock=clock, user_id=user.id or 0,
                                 report_id=callback_data.report_id, stars=callback_data.stars,
                                 buttons=BUTTONS, notify=outbox_notify)
    await callback.answer(_("Thank you for your rating!"))
    await drop_buttons(callback)
    view = concerns.own_view(report, clock.now())
    text = _("Thank you! You gave {stars}.").format(stars="⭐" * (report.rating or 0))
    if view.can_reopen:
        text += "\n" + _("Not solved after all? Reopen it within {days} days, or reply to "
                         "tell staff what is still wrong.").format(days=concerns.REOPEN_DAYS)
    builder = own_report_keyboard(view) if view.can_reopen else InlineKeyboardBuilder()
    await send(callback, text, reply_markup=builder.as_markup())


def idea_text(idea: Report) -> str:
    return "\n".join([_("💡 Idea #{id}").format(id=idea.id), html.escape(idea.description),
                      "", ngettext("👍 {count} neighbour backs it.",
                                   "👍 {count} neighbours back it.",
                                   idea.backers).format(count=idea.backers),
                      _("Status: {status}").format(status=status_text(idea.status))])


async def idea_screen(session: AsyncSession, user: User,
                      idea: Report) -> tuple[str, InlineKeyboardBuilder]:
    # No name and no photo: only staff of the community see who wrote it.
    view = await concerns.idea_view(session, user=user, idea=idea)
    text = idea_text(idea)
    builder = InlineKeyboardBuilder()
    if view.is_own:
        return text + "\n" + _("(This is your idea.)"), builder
    if view.can_unback:
        builder.button(text=_("↩️ Take back my 👍"), callback_data=IdeaCb(
            action=IdeaAction.UNBACK, report_id=idea.id or 0))
    if view.can_back:
        builder.button(text=_("👍 Me too"), callback_data=IdeaCb(
            action=IdeaAction.BACK, report_id=idea.id or 0))
    return text, builder


@router.callback_query(IdeaCb.filter(F.action == IdeaAction.VIEW))
async def on_idea_view(callback: CallbackQuery, callback_data: IdeaCb, user: User,
                       session: AsyncSession) -> None:
    """A neighbour's idea (of my own community only)."""
    idea = await concerns.get_idea(session, user=user, report_id=callback_data.report_id)
    await callback.answer()
    text, builder = await idea_screen(session, user, idea)
    await send_fitted(callback, text, reply_markup=builder.as_markup())


@router.callback_query(IdeaCb.filter(F.action.in_({IdeaAction.BACK, IdeaAction.UNBACK})))
async def on_back(callback: CallbackQuery, callback_data: IdeaCb, user: User,
                  session: AsyncSession, clock: Clock) -> None:
    """👍 Me too, or take it back; the idea is redrawn in place."""
    backing = callback_data.action == IdeaAction.BACK
    idea = await concerns.back(session, clock=clock, user=user,
                               report_id=callback_data.report_id, on=backing)
    await callback.answer(_("👍 Thank you for backing it!") if backing else _("Taken back."))
    text, builder = await idea_screen(session, user, idea)
    await send_fitted(callback, text, reply_markup=builder.as_markup(), new=False)
