"""💬 My voice: the screen itself, and a resident's concerns and ideas.

```mermaid
stateDiagram-v2
    [*] --> Home: 💬 My voice
    Home --> Category: 📝 Report a problem
    Home --> Description: 💡 Share an idea
    Category --> Description: a category
    Description --> Description: empty or too long (asked again)
    Description --> Photo: text
    Photo --> Photo: a file instead of a photo (asked again)
    Photo --> Location: a photo / Skip
    Location --> Grid: 📍 location / Skip (community has grids)
    Location --> Confirm: 📍 location / Skip (no grids)
    Grid --> Confirm: a grid / the whole community
    Confirm --> [*]: ✅ Send (staff are told) / ✖ Discard
    Home --> Mine: 📋 My reports
    Mine --> Report: one report
    Report --> Mine: ↩️ Withdraw (only while received)
    Home --> Ideas: 👍 Neighbours' ideas
    Ideas --> Idea: one idea
    Idea --> Idea: 👍 Me too / take it back
```

Status updates and the 1–5 rating question arrive from the outbox with
ReportCb buttons. Staff triage is in handlers/concern_staff.py, polls in
handlers/polls.py and handlers/poll_staff.py, all reached from the same screen.
"""

from __future__ import annotations

import html
from collections.abc import Callable

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
    ReportAction,
    ReportCb,
    ReportDraftAction,
    ReportDraftCb,
    VoiceAction,
    VoiceCb,
)
from bot.filters import MenuButton
from bot.i18n import N_
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.menu import main_menu
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date, out_of_date
from models.communities import Community
from models.users import User
from models.voices import DESCRIPTION_MAX, Report, ReportCategory, ReportStatus
from services import communities, concerns, polls
from services.access import Access
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound

router = Router(name=__name__)
Notify = Callable[[], None]


class ReportStates(StatesGroup):
    category = State()
    description = State()
    photo = State()
    location = State()
    grid = State()
    confirm = State()


CATEGORY_LABELS: dict[str, str] = {
    ReportCategory.ENVIRONMENT: N_("🧹 Environment and cleanliness"),
    ReportCategory.SAFETY: N_("🚨 Safety"),
    ReportCategory.FACILITIES: N_("🔧 Facilities and repairs"),
    ReportCategory.NEIGHBOURS: N_("🤝 Neighbour relations"),
    ReportCategory.CARE: N_("👵 Elderly and children's services"),
    ReportCategory.IDEA: N_("💡 Idea for improvement"),
    ReportCategory.OTHER: N_("📌 Something else"),
}

STATUS_LABELS: dict[str, str] = {
    ReportStatus.RECEIVED: N_("📥 Received"),
    ReportStatus.IN_PROGRESS: N_("🔧 Being worked on"),
    ReportStatus.RESOLVED: N_("✅ Resolved"),
    ReportStatus.DECLINED: N_("🚫 Not taken up"),
    ReportStatus.WITHDRAWN: N_("↩️ Withdrawn"),
}

BUTTONS: concerns.Buttons = OUTBOX_KEYBOARDS.reports


def category_text(code: str) -> str:
    return _(CATEGORY_LABELS[code]) if code in CATEGORY_LABELS else code


def status_text(code: str) -> str:
    return _(STATUS_LABELS[code]) if code in STATUS_LABELS else code


def error_text(error: DomainError) -> str:
    """What a resident is told when a rule says no."""
    if isinstance(error, concerns.ReportClosed):
        return _("This report has moved on ({status}), so that is no longer possible.").format(
            status=status_text(error.status))
    if isinstance(error, concerns.NoCommunity):
        return _("Please choose your community first: ⚙️ Settings → 🏠 My community.")
    if isinstance(error, NotAllowed):
        return _("This button is not for you.")
    if isinstance(error, NotFound):
        return out_of_date()
    return _("That is not possible now.")


def managed(access: Access, user: User) -> list[int]:
    """Communities whose reports and polls this person handles."""
    ids = set(access.staff_of)
    if access.is_admin and user.community_id is not None:
        ids.add(user.community_id)
    return sorted(ids)


# --- The 💬 My voice screen ---------------------------------------------------------------


@router.message(MenuButton("voice"))
async def on_menu(message: Message, user: User, access: Access, session: AsyncSession,
                  state: FSMContext, clock: Clock) -> None:
    """💬 My voice: report, share an idea, see my reports, answer polls (and staff tools)."""
    await state.clear()
    await show_home(message, user, access, session, clock)


async def show_home(message: Message, user: User, access: Access, session: AsyncSession,
                    clock: Clock, edit: bool = False) -> None:
    builder = InlineKeyboardBuilder()
    open_polls = await polls.open_for(session, clock=clock, user=user)
    for label, action in ((_("📝 Report a problem"), VoiceAction.REPORT),
                          (_("💡 Share an idea"), VoiceAction.IDEA),
                          (_("📋 My reports"), VoiceAction.MINE),
                          (_("👍 Neighbours' ideas"), VoiceAction.IDEAS)):
        builder.button(text=label, callback_data=VoiceCb(action=action))
    builder.button(text=_("🗳 Polls for me ({count})").format(count=len(open_polls)),
                   callback_data=VoiceCb(action=VoiceAction.POLLS))
    mine = managed(access, user)
    for community_id in mine:
        suffix = ""
        if len(mine) > 1:
            community = await session.get(Community, community_id)
            suffix = f": {community.name}" if community else ""
        builder.button(text=_("🗂 Reports to handle") + suffix,
                       callback_data=VoiceCb(action=VoiceAction.TRIAGE, id=community_id))
        builder.button(text=_("📊 Run polls") + suffix,
                       callback_data=VoiceCb(action=VoiceAction.POLL_ADMIN, id=community_id))
    builder.adjust(1)
    text = _("💬 <b>My voice</b>\nTell your community about a problem, share an idea for the "
             "neighbourhood, or answer a poll. Staff will answer you here.")
    if edit:
        await message.edit_text(text, reply_markup=builder.as_markup())
    else:
        await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(VoiceCb.filter(F.action.in_({
    VoiceAction.HOME, VoiceAction.REPORT, VoiceAction.IDEA, VoiceAction.MINE,
    VoiceAction.IDEAS})))
async def on_voice_button(callback: CallbackQuery, callback_data: VoiceCb, user: User,
                          access: Access, session: AsyncSession, state: FSMContext,
                          clock: Clock) -> None:
    """The resident's buttons on 💬 My voice."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    message = callback.message
    action = callback_data.action
    if action == VoiceAction.HOME:
        await callback.answer()
        await show_home(message, user, access, session, clock, edit=True)
        return
    if user.community_id is None:
        from handlers.onboarding import offer_home  # the community list, right there
        await offer_home(callback, session, state)
        return
    await callback.answer()
    if action == VoiceAction.REPORT:
        await state.clear()
        await state.set_state(ReportStates.category)
        builder = InlineKeyboardBuilder()
        for code, label in CATEGORY_LABELS.items():
            builder.button(text=_(label), callback_data=ReportDraftCb(
                action=ReportDraftAction.CATEGORY, code=code))
        builder.adjust(1)
        await message.answer(_("What is it about?"), reply_markup=builder.as_markup())
    elif action == VoiceAction.IDEA:
        await state.clear()
        await state.update_data(category=ReportCategory.IDEA)
        await ask_description(message, state, idea=True)
    elif action == VoiceAction.MINE:
        await show_mine(message, user, session)
    elif action == VoiceAction.IDEAS:
        await show_ideas(message, user, session)


# --- Writing a report ---------------------------------------------------------------------


async def ask_description(message: Message, state: FSMContext, idea: bool) -> None:
    await state.set_state(ReportStates.description)
    await message.answer(
        _("💡 Describe your idea in your own words: what, where, and why it would help.")
        if idea else
        _("Describe the problem in your own words: what and where. (At most {max} "
          "characters. Send /cancel to stop.)").format(max=DESCRIPTION_MAX))


@router.callback_query(ReportDraftCb.filter())
async def on_draft_button(callback: CallbackQuery, callback_data: ReportDraftCb, user: User,
                          access: Access, session: AsyncSession, state: FSMContext,
                          clock: Clock, outbox_notify: Notify) -> None:
    """Buttons of the report being written: category, skip photo, grid, send, discard."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    message = callback.message
    step = await state.get_state()
    action = callback_data.action
    if action == ReportDraftAction.CATEGORY and step == ReportStates.category \
            and callback_data.code in CATEGORY_LABELS:
        await callback.answer()
        await state.update_data(category=callback_data.code)
        await message.edit_text(category_text(callback_data.code))
        await ask_description(message, state, idea=callback_data.code == ReportCategory.IDEA)
    elif action == ReportDraftAction.SKIP and step == ReportStates.photo:
        await callback.answer()
        await message.edit_reply_markup(reply_markup=None)
        await ask_location(message, state)
    elif action == ReportDraftAction.GRID and step == ReportStates.grid:
        grid_id = callback_data.id or None
        if grid_id is not None:
            grid = await communities.get_grid(session, grid_id=grid_id)
            if grid.community_id != user.community_id:
                await answer_out_of_date(callback)
                return
        await callback.answer()
        await state.update_data(grid_id=grid_id)
        await message.edit_reply_markup(reply_markup=None)
        await show_confirm(message, state, session)
    elif action == ReportDraftAction.SEND and step == ReportStates.confirm:
        await send_report(callback, user, session, state, clock, outbox_notify)
    elif action == ReportDraftAction.DISCARD and step is not None \
            and step.startswith(ReportStates.__name__):
        await state.clear()
        await callback.answer()
        await message.edit_text(_("Discarded. Nothing was sent."))
    else:
        await answer_out_of_date(callback)


@router.message(ReportStates.description, F.text & ~F.text.startswith("/"))
async def on_description(message: Message, state: FSMContext) -> None:
    """The words of the report; empty or too long is asked again."""
    try:
        text = concerns.check_description(message.text or "")
    except InvalidInput as error:
        await message.answer(
            _("That is too long: please keep it under {max} characters.").format(
                max=DESCRIPTION_MAX) if error.reason == "too_long"
            else _("Please write a few words about it."))
        return
    await state.update_data(description=text)
    await state.set_state(ReportStates.photo)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip ▶"), callback_data=ReportDraftCb(action=ReportDraftAction.SKIP))
    await message.answer(_("📷 A photo helps. Send one now, or press Skip."),
                         reply_markup=builder.as_markup())


@router.message(ReportStates.description)
async def on_description_other(message: Message) -> None:
    """A photo, sticker… where words are wanted."""
    await message.answer(_("Please write a few words about it first. You can add a photo "
                           "in the next step."))


@router.message(ReportStates.photo, F.photo)
async def on_photo(message: Message, state: FSMContext) -> None:
    """The report's photo (the largest size Telegram made)."""
    assert message.photo
    await state.update_data(photo=message.photo[-1].file_id)
    await ask_location(message, state)


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
        [KeyboardButton(text=_("Skip ▶"))]], resize_keyboard=True, one_time_keyboard=True)


async def ask_location(message: Message, state: FSMContext) -> None:
    await state.set_state(ReportStates.location)
    await message.answer(_("📍 Are you where it is? Share your location so staff can find "
                           "it, or press Skip."), reply_markup=location_keyboard())


@router.message(ReportStates.location, F.location)
@router.message(ReportStates.location, F.text)
async def on_location(message: Message, user: User, access: Access, session: AsyncSession,
                      state: FSMContext) -> None:
    """📍 a location, or Skip."""
    if message.location:
        await state.update_data(latitude=message.location.latitude,
                                longitude=message.location.longitude)
    elif message.text != _("Skip ▶"):
        await message.answer(_("Please press 📍 Share my location, or Skip."),
                             reply_markup=location_keyboard())
        return
    await message.answer(_("👍 Thank you."), reply_markup=main_menu(access))
    grids = await communities.list_grids(session, community_id=user.community_id or 0)
    if not grids:
        await state.update_data(grid_id=None)
        await show_confirm(message, state, session)
        return
    await state.set_state(ReportStates.grid)
    builder = InlineKeyboardBuilder()
    for grid in sorted(grids, key=lambda g: g.id != user.grid_id):
        mark = "🏠 " if grid.id == user.grid_id else ""
        builder.button(text=mark + grid.name, callback_data=ReportDraftCb(
            action=ReportDraftAction.GRID, id=grid.id or 0))
    builder.button(text=_("🏘 The whole community"), callback_data=ReportDraftCb(
        action=ReportDraftAction.GRID, id=0))
    builder.adjust(1)
    await message.answer(_("Which part of the community is it in?"),
                         reply_markup=builder.as_markup())


async def show_confirm(message: Message, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    await state.set_state(ReportStates.confirm)
    lines = [_("Please check your report:"), category_text(data["category"]),
             html.escape(data["description"])]
    if data.get("photo"):
        lines.append(_("📷 with a photo"))
    if data.get("latitude") is not None:
        lines.append(_("📍 with your location"))
    if data.get("grid_id"):
        grid = await communities.get_grid(session, grid_id=data["grid_id"])
        lines.append("🏘 " + html.escape(grid.name))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Send"), callback_data=ReportDraftCb(action=ReportDraftAction.SEND))
    builder.button(text=_("✖ Discard"), callback_data=ReportDraftCb(
        action=ReportDraftAction.DISCARD))
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


async def send_report(callback: CallbackQuery, user: User, session: AsyncSession,
                      state: FSMContext, clock: Clock, notify: Notify) -> None:
    """✅ Send: the service records it and tells the community's staff."""
    assert isinstance(callback.message, Message)
    data = await state.get_data()
    try:
        report = await concerns.create_report(
            session, clock=clock, user=user, category=ReportCategory(data["category"]),
            description=data["description"], grid_id=data.get("grid_id"),
            photo_file_id=data.get("photo"), latitude=data.get("latitude"),
            longitude=data.get("longitude"), buttons=BUTTONS, notify=notify)
    except DomainError as error:
        await callback.answer(error_text(error), show_alert=True)
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_text(
        _("✅ Thank you! Your report #{id} has gone to the community staff. You will get a "
          "message here each time it moves on. See it under 📋 My reports.").format(
            id=report.id))


# --- My reports, neighbours' ideas, ratings --------------------------------------------------


def short(report: Report, limit: int = 30) -> str:
    return concerns.summary(report, limit)


async def show_mine(message: Message, user: User, session: AsyncSession) -> None:
    found = await concerns.own_reports(session, user_id=user.id or 0)
    if not found:
        await message.answer(_("You have not sent any reports yet."))
        return
    builder = InlineKeyboardBuilder()
    for report in found:
        builder.button(text=f"{status_text(report.status).split()[0]} #{report.id} "
                            f"{short(report)}",
                       callback_data=ReportCb(action=ReportAction.VIEW, id=report.id or 0))
    builder.adjust(1)
    await message.answer(_("📋 Your reports:"), reply_markup=builder.as_markup())


def own_report_text(report: Report) -> str:
    lines = [f"#{report.id} · {category_text(report.category)}",
             _("Status: {status}").format(status=status_text(report.status)),
             "", html.escape(report.description)]
    if report.answer:
        lines += ["", _("💬 Answer: {answer}").format(answer=html.escape(report.answer))]
    if report.decline_reason:
        lines += ["", _("Reason: {reason}").format(reason=html.escape(report.decline_reason))]
    if report.rating:
        lines.append(_("Your rating: {stars}").format(stars="⭐" * report.rating))
    return "\n".join(lines)


async def show_ideas(message: Message, user: User, session: AsyncSession) -> None:
    found = await concerns.community_ideas(session, user=user)
    if not found:
        await message.answer(_("No ideas yet. Share the first one with 💡 Share an idea!"))
        return
    builder = InlineKeyboardBuilder()
    for idea in found:
        builder.button(text=f"👍 {idea.backers} · {short(idea)}",
                       callback_data=ReportCb(action=ReportAction.IDEA, id=idea.id or 0))
    builder.adjust(1)
    await message.answer(_("👍 Ideas from your neighbours. Open one to back it:"),
                         reply_markup=builder.as_markup())


async def idea_view(session: AsyncSession, user: User,
                    idea: Report) -> tuple[str, InlineKeyboardBuilder]:
    # No name and no photo: only staff of the community see who wrote it.
    text = "\n".join([_("💡 Idea #{id}").format(id=idea.id), html.escape(idea.description),
                      "", _("👍 {count} neighbours back it.").format(count=idea.backers),
                      _("Status: {status}").format(status=status_text(idea.status))])
    builder = InlineKeyboardBuilder()
    if idea.author_id == user.id:
        return text + "\n" + _("(This is your idea.)"), builder
    if idea.status in concerns.OPEN:
        if await concerns.has_backed(session, user_id=user.id or 0, report_id=idea.id or 0):
            builder.button(text=_("↩️ Take back my 👍"), callback_data=ReportCb(
                action=ReportAction.UNBACK, id=idea.id or 0))
        else:
            builder.button(text=_("👍 Me too"), callback_data=ReportCb(
                action=ReportAction.BACK, id=idea.id or 0))
    return text, builder


@router.callback_query(ReportCb.filter())
async def on_report_button(callback: CallbackQuery, callback_data: ReportCb, user: User,
                           session: AsyncSession, clock: Clock) -> None:
    """A resident's buttons on their own report or a neighbour's idea (re-checked)."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    message = callback.message
    action, report_id = callback_data.action, callback_data.id
    try:
        if action == ReportAction.VIEW:
            report = await concerns.get_own(session, user_id=user.id or 0, report_id=report_id)
            builder = InlineKeyboardBuilder()
            if report.status == ReportStatus.RECEIVED:
                builder.button(text=_("↩️ Withdraw it"), callback_data=ReportCb(
                    action=ReportAction.WITHDRAW, id=report_id))
            await callback.answer()
            await message.answer(own_report_text(report), reply_markup=builder.as_markup())
        elif action == ReportAction.WITHDRAW:
            report = await concerns.withdraw(session, clock=clock, user_id=user.id or 0,
                                             report_id=report_id)
            await callback.answer(_("Withdrawn."))
            await message.edit_text(own_report_text(report))
        elif action == ReportAction.RATE:
            report = await concerns.rate(session, clock=clock, user_id=user.id or 0,
                                         report_id=report_id, stars=callback_data.n)
            await callback.answer(_("Thank you for your rating!"))
            await message.edit_reply_markup(reply_markup=None)
            await message.answer(_("Thank you! You gave {stars}.").format(
                stars="⭐" * (report.rating or 0)))
        elif action in (ReportAction.IDEA, ReportAction.BACK, ReportAction.UNBACK):
            if action == ReportAction.IDEA:
                idea = await concerns.get_idea(session, user=user, report_id=report_id)
                await callback.answer()
            else:
                idea = await concerns.back(session, clock=clock, user=user,
                                           report_id=report_id, on=action == ReportAction.BACK)
                await callback.answer(_("👍 Thank you for backing it!")
                                      if action == ReportAction.BACK else _("Taken back."))
            text, builder = await idea_view(session, user, idea)
            if action == ReportAction.IDEA:
                await message.answer(text, reply_markup=builder.as_markup())
            else:
                await message.edit_text(text, reply_markup=builder.as_markup())
        else:
            await answer_out_of_date(callback)
    except DomainError as error:
        await callback.answer(error_text(error), show_alert=True)
