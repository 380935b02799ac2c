"""Announcements: staff compose, choose an audience, preview, send now or later, watch.

```mermaid
stateDiagram-v2
    [*] --> Community: ✏️ New announcement (admins, or staff of several communities)
    [*] --> Message: ✏️ New announcement (staff of one community)
    [*] --> Message: 🏙 To the whole district (admins)
    Community --> Community: ◀ ▶ pages, or text typed: search (handlers/scope.py)
    Community --> Message: a community (re-checked, remembered with ⭐)
    Message --> Audience: text, photo or document
    Audience --> Grids: 🏘 choose grids
    Grids --> Grids: tick / untick a grid
    Grids --> Preview: Done
    Audience --> Preview: everyone / teachers / …
    Preview --> Preview: 🚨 urgent on/off
    Preview --> Day: 🗓 schedule
    Day --> Day: ◀ ▶ pages
    Day --> Time: a day (up to a month ahead)
    Time --> Confirm: a time (every 30 minutes)
    Preview --> Confirm: 📤 send now
    Confirm --> [*]: ✅ confirm (queued; progress message)
    Confirm --> [*]: 🚨 send to all (urgent), offered when some are in their quiet hours
    Audience --> [*]: ✖ discard
    Grids --> [*]: ✖ discard
    Preview --> [*]: ✖ discard
    Day --> [*]: ✖ discard
    Time --> [*]: ✖ discard
    Confirm --> [*]: ✖ discard
```

The draft is a `Draft` in the FSM data, holding absolute values: the day chosen is
a date and the moment to send an aware datetime, so a day picked at 23:50 and
confirmed after midnight is still the day the screen showed. One handler per
(state, button); a button of this flow pressed in another state is out of date.
The services decide what is allowed and what a screen may offer; every step
re-checks the presser's scope, and `services.broadcasts.create_broadcast` checks
the confirmation again.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter, or_f
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.broadcasts import (
    BROADCAST_BUTTONS,
    BroadcastAudienceCb,
    BroadcastDraftAction,
    BroadcastDraftCb,
    BroadcastGridCb,
    BroadcastMenuAction,
    BroadcastMenuCb,
    BroadcastStopCb,
)
from bot.config import Settings
from bot.filters import MenuButton
from bot.keyboards.broadcasts import cancel_keyboard, final_text, progress_text
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.communities import ScopeCb
from bot.keyboards.dates import (
    DayCb,
    DayPageCb,
    DayRange,
    TimeCb,
    day_keyboard,
    take_time,
    time_keyboard,
)
from bot.keyboards.grids import grid_picker
from bot.replies import answer_out_of_date
from bot.screens import send, show
from bot.when import say_moment
from handlers.onboarding import drop_buttons, set_buttons
from handlers.scope import ask_community, chosen
from models.outbox import MediaKind
from services import broadcasts, communities
from services.access import Access
from services.broadcasts import Audience, QuietHours
from services.clock import Clock
from services.errors import NotAllowed
from services.preferences import parse_quiet_hours
from services.scope import Serving

router = Router(name=__name__)
FLOW = "bc"  # the community picker's code for announcements (handlers/scope.py)
ANY_BUTTON = or_f(*(kind.filter() for kind in BROADCAST_BUTTONS))


class Compose(StatesGroup):
    message = State()
    audience = State()
    grids = State()
    preview = State()
    day = State()
    time = State()
    confirm = State()


DRAFTING = StateFilter(Compose.audience, Compose.grids, Compose.preview, Compose.day,
                       Compose.time, Compose.confirm)


class Draft(BaseModel):
    """An announcement being composed, kept in the FSM data between steps."""

    key: str = ""                       # names this draft: confirming it twice makes one
    community_id: int | None = None     # None: the whole district
    text: str = ""
    media: MediaKind | None = None
    file_id: str | None = None
    audience_kind: str | None = None
    grid_ids: list[int] = []
    urgent: bool = False
    day: date | None = None             # the day chosen on the picker
    send_at: datetime | None = None     # the moment chosen; None: now
    quiet_waiting: int = 0              # the confirmation said: this many wait for quiet hours
    quiet_until: datetime | None = None  # …until then at the latest

    @property
    def quiet(self) -> QuietHours:
        return QuietHours(waiting=self.quiet_waiting, until=self.quiet_until)

    @property
    def audience(self) -> Audience:
        ids = tuple(self.grid_ids) if self.audience_kind == "grids" else ()
        return Audience(kind=self.audience_kind or "all", ids=ids)


async def load(state: FSMContext) -> Draft:
    return Draft.model_validate((await state.get_data()).get("draft") or {})


async def save(state: FSMContext, draft: Draft) -> None:
    await state.update_data(draft=draft.model_dump(mode="json"))


async def zone_for(session: AsyncSession, settings: Settings, draft: Draft) -> ZoneInfo:
    """The draft's community's time zone (the district's for the whole district)."""
    if draft.community_id is None:
        return ZoneInfo(settings.timezone)
    return await communities.zone_of(session, draft.community_id)


def audience_label(kind: str) -> str:
    return {"all": _("👥 Everyone"), "grids": _("🏘 Choose grids"),
            "teachers": _("👩‍🏫 Teachers")}.get(kind, kind)


def is_manager(access: Access) -> bool:
    return access.is_admin or access.is_staff


def discard_button() -> tuple[str, BroadcastDraftCb]:
    return _("✖ Discard"), BroadcastDraftCb(action=BroadcastDraftAction.DISCARD)


def discard_row() -> InlineKeyboardButton:
    label, cb = discard_button()
    return InlineKeyboardButton(text=label, callback_data=cb.pack())


@router.message(MenuButton("announce"))
async def on_menu(message: Message, access: Access) -> None:
    """📢 Announcements: write one, or see those on their way."""
    if not is_manager(access):
        await message.answer(_("This is for community staff. Ask your community's staff "
                               "for an invite link if you should have access."))
        return
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✏️ New announcement"), callback_data=BroadcastMenuCb(
        action=BroadcastMenuAction.NEW))
    if access.is_admin:
        builder.button(text=_("🏙 To the whole district"), callback_data=BroadcastMenuCb(
            action=BroadcastMenuAction.DISTRICT))
    builder.button(text=_("🗓 Scheduled and sending"), callback_data=BroadcastMenuCb(
        action=BroadcastMenuAction.LIST))
    builder.adjust(1)
    await message.answer(_("📢 Announcements"), reply_markup=builder.as_markup())


@router.callback_query(ANY_BUTTON, lambda _c, access: not is_manager(access))
async def on_button_not_staff(callback: CallbackQuery) -> None:
    """Any announcement button pressed by someone who is not staff (a forged one)."""
    raise NotAllowed("announcements are for staff")


@router.callback_query(BroadcastMenuCb.filter(F.action == BroadcastMenuAction.NEW))
async def on_new(callback: CallbackQuery, access: Access, session: AsyncSession,
                 state: FSMContext) -> None:
    """✏️ New announcement: for which community (the shared picker, unless there is only
    one to choose)."""
    await callback.answer()
    community_id = await ask_community(callback, state=state, access=access, session=session,
                                       flow=FLOW, serving=Serving.STAFF,
                                       intro=_("✏️ New announcement."))
    if community_id is not None:
        await ask_message(callback, state, community_id)


@router.callback_query(BroadcastMenuCb.filter(F.action == BroadcastMenuAction.DISTRICT))
async def on_district(callback: CallbackQuery, access: Access, state: FSMContext) -> None:
    """🏙 To the whole district (admins only)."""
    broadcasts.check_scope(access, None)
    await callback.answer()
    await ask_message(callback, state, None)


@router.callback_query(ScopeCb.filter(F.flow == FLOW))
async def on_community(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                       state: FSMContext) -> None:
    """A community chosen on the picker (re-checked there): now the message."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.STAFF)
    await callback.answer()
    await drop_buttons(callback)
    await ask_message(callback, state, community_id)


async def ask_message(event: CallbackQuery, state: FSMContext, community_id: int | None) -> None:
    await state.set_state(Compose.message)
    await save(state, Draft(community_id=community_id, key=secrets.token_urlsafe(12)))
    await send(event, _("Write the announcement. You can send text, or a photo or a "
                        "document with a caption. Send /cancel to stop."))


@router.message(Compose.message, F.text & ~F.text.startswith("/") | F.photo | F.document)
async def on_message(message: Message, state: FSMContext, access: Access,
                     session: AsyncSession) -> None:
    """The announcement itself: text, or a photo or document with a caption."""
    media, file_id = None, None
    if message.photo:
        media, file_id = MediaKind.PHOTO, message.photo[-1].file_id
    elif message.document:
        media, file_id = MediaKind.DOCUMENT, message.document.file_id
    # html_text keeps the bold and links the staff member typed, and escapes the rest.
    text = (message.html_text if (message.text or message.caption) else "")
    broadcasts.check_text(text, media=media)   # too long or empty: the error router says so
    draft = (await load(state)).model_copy(update={"text": text, "media": media,
                                                   "file_id": file_id})
    await save(state, draft)
    builder = InlineKeyboardBuilder()
    for kind in broadcasts.audiences_for(access, community_id=draft.community_id):
        builder.button(text=audience_label(kind), callback_data=BroadcastAudienceCb(kind=kind))
    builder.adjust(1)
    await state.set_state(Compose.audience)
    await message.answer(_("Who should receive it?"), reply_markup=builder.as_markup())


@router.message(Compose.message)
async def on_other_message(message: Message) -> None:
    """A sticker, voice note… while composing."""
    await message.answer(_("Please send text, a photo or a document (or /cancel)."))


@router.callback_query(Compose.audience, BroadcastAudienceCb.filter())
async def on_audience(callback: CallbackQuery, callback_data: BroadcastAudienceCb,
                      access: Access, session: AsyncSession, state: FSMContext,
                      bot: Bot) -> None:
    """An audience: everyone, teachers… or grids to choose."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    if callback_data.kind not in broadcasts.audiences_for(access,
                                                          community_id=draft.community_id):
        await answer_out_of_date(callback)
        return
    await callback.answer()
    if callback_data.kind == "grids" and draft.community_id is not None:
        await save(state, draft.model_copy(update={"audience_kind": "grids"}))
        await state.set_state(Compose.grids)
        await show(callback, _("Choose the grids, then press Done:"),
                   reply_markup=await grid_keyboard(session, draft.community_id,
                                                    draft.grid_ids))
        return
    draft = draft.model_copy(update={"audience_kind": callback_data.kind, "grid_ids": []})
    await save(state, draft)
    await drop_buttons(callback)
    await show_preview(callback, state, session, access, bot, draft)


async def grid_keyboard(session: AsyncSession, community_id: int,
                        chosen: list[int]) -> InlineKeyboardMarkup:
    return grid_picker(
        await communities.list_grids(session, community_id=community_id), chosen,
        toggle=lambda grid_id: BroadcastGridCb(grid_id=grid_id),
        done=BroadcastDraftCb(action=BroadcastDraftAction.GRIDS_DONE))


@router.callback_query(Compose.grids, BroadcastGridCb.filter())
async def on_grid(callback: CallbackQuery, callback_data: BroadcastGridCb, access: Access,
                  session: AsyncSession, state: FSMContext) -> None:
    """Tick or untick a grid (of the draft's community only)."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    grid = await communities.get_grid(session, grid_id=callback_data.grid_id)
    if draft.community_id is None or grid.community_id != draft.community_id:
        raise NotAllowed(f"grid {grid.id} is not in the draft's community")
    chosen = [g for g in draft.grid_ids if g != grid.id]
    if len(chosen) == len(draft.grid_ids):
        chosen.append(grid.id or 0)
    await save(state, draft.model_copy(update={"grid_ids": chosen}))
    await callback.answer()
    await set_buttons(callback, await grid_keyboard(session, draft.community_id, chosen))


@router.callback_query(Compose.grids,
                       BroadcastDraftCb.filter(F.action == BroadcastDraftAction.GRIDS_DONE))
async def on_grids_done(callback: CallbackQuery, access: Access, session: AsyncSession,
                        state: FSMContext, bot: Bot) -> None:
    """Done choosing grids: the preview."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    if not draft.grid_ids:
        await callback.answer(_("Choose at least one grid."), show_alert=True)
        return
    await callback.answer()
    await drop_buttons(callback)
    await show_preview(callback, state, session, access, bot, draft)


async def show_preview(callback: CallbackQuery, state: FSMContext, session: AsyncSession,
                       access: Access, bot: Bot, draft: Draft) -> None:
    """Send the announcement exactly as recipients will see it, then what happens next."""
    count = await broadcasts.count_audience(session, access=access,
                                            community_id=draft.community_id,
                                            audience=draft.audience)
    await send(callback, _("Preview: this is what people will receive 👇"))
    await send_copy(bot, callback.from_user.id, draft)
    await state.set_state(Compose.preview)
    await send(callback, preview_summary(count, draft), reply_markup=preview_keyboard(draft))


async def send_copy(bot: Bot, chat_id: int, draft: Draft) -> None:
    text = draft.text or broadcasts.EMPTY_CAPTION
    if draft.media == MediaKind.PHOTO and draft.file_id:
        await bot.send_photo(chat_id, draft.file_id, caption=text)
    elif draft.media == MediaKind.DOCUMENT and draft.file_id:
        await bot.send_document(chat_id, draft.file_id, caption=text)
    else:
        await bot.send_message(chat_id, text)


def preview_summary(count: int, draft: Draft) -> str:
    text = _("It will reach {count} people.").format(count=count)
    if draft.urgent:
        text += "\n" + _("🚨 Urgent: it passes quiet hours and mutes. Use it for safety only.")
    return text


def preview_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    urgent = _("🚨 Urgent: on") if draft.urgent else _("🚨 Urgent: off")
    for label, action in ((_("📤 Send now"), BroadcastDraftAction.NOW),
                          (_("🗓 Schedule"), BroadcastDraftAction.SCHEDULE),
                          (urgent, BroadcastDraftAction.URGENT)):
        builder.button(text=label, callback_data=BroadcastDraftCb(action=action))
    label, cb = discard_button()
    builder.button(text=label, callback_data=cb)
    builder.adjust(2, 1, 1)
    return builder.as_markup()


@router.callback_query(Compose.preview,
                       BroadcastDraftCb.filter(F.action == BroadcastDraftAction.URGENT))
async def on_urgent(callback: CallbackQuery, access: Access, session: AsyncSession,
                    state: FSMContext) -> None:
    """🚨 Urgent on or off."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    await callback.answer()
    draft = draft.model_copy(update={"urgent": not draft.urgent})
    await save(state, draft)
    count = await broadcasts.count_audience(session, access=access,
                                            community_id=draft.community_id,
                                            audience=draft.audience)
    await show(callback, preview_summary(count, draft), reply_markup=preview_keyboard(draft))


def days_ahead(today: date) -> DayRange:
    """The days a broadcast may be scheduled on: today to as far as the service allows."""
    return DayRange.ahead(today, days=broadcasts.SCHEDULE_DAYS)


async def ask_day(callback: CallbackQuery, session: AsyncSession, settings: Settings,
                  clock: Clock, draft: Draft, page: int = 0) -> None:
    zone = await zone_for(session, settings, draft)
    now = clock.now().astimezone(zone)
    builder = day_keyboard(days_ahead(now.date()), today=now.date(), page=page, zone=zone,
                           now=now)
    builder.row(discard_row())
    await show(callback, _("Which day?"), reply_markup=builder.as_markup())


@router.callback_query(Compose.preview,
                       BroadcastDraftCb.filter(F.action == BroadcastDraftAction.SCHEDULE))
async def on_schedule(callback: CallbackQuery, access: Access, session: AsyncSession,
                      state: FSMContext, settings: Settings, clock: Clock) -> None:
    """🗓 Schedule: which day?"""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    await callback.answer()
    await state.set_state(Compose.day)
    await ask_day(callback, session, settings, clock, draft)


@router.callback_query(Compose.day, DayPageCb.filter())
async def on_day_page(callback: CallbackQuery, callback_data: DayPageCb, session: AsyncSession,
                      state: FSMContext, settings: Settings, clock: Clock) -> None:
    """◀ ▶ through the days."""
    await callback.answer()
    await ask_day(callback, session, settings, clock, await load(state),
                  page=callback_data.page)


@router.callback_query(Compose.day, DayCb.filter())
async def on_day(callback: CallbackQuery, callback_data: DayCb, access: Access,
                 session: AsyncSession, state: FSMContext, settings: Settings,
                 clock: Clock) -> None:
    """A day: at what time? The day is the one on the button, whenever it is pressed."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    zone = await zone_for(session, settings, draft)
    now = clock.now().astimezone(zone)
    day = days_ahead(now.date()).take(callback_data.day)
    builder = time_keyboard(day, zone=zone, now=now) if day else None
    if day is None or builder is None or not list(builder.buttons):
        await callback.answer(_("That time has passed. Please choose a later one."),
                              show_alert=True)
        return
    await callback.answer()
    await save(state, draft.model_copy(update={"day": day}))
    await state.set_state(Compose.time)
    builder.row(discard_row())
    await show(callback, _("At what time?"), reply_markup=builder.as_markup())


@router.callback_query(Compose.time, TimeCb.filter())
async def on_time(callback: CallbackQuery, callback_data: TimeCb, access: Access,
                  session: AsyncSession, state: FSMContext, settings: Settings,
                  clock: Clock) -> None:
    """A time of the chosen day: confirm?"""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    zone = await zone_for(session, settings, draft)
    send_at = None
    if draft.day is not None:
        send_at = take_time(callback_data.minutes, day=draft.day, zone=zone, now=clock.now())
    if send_at is None:  # passed meanwhile, or not a time the picker offers (forged)
        await callback.answer(_("That time has passed. Please choose a later one."),
                              show_alert=True)
        return
    await ask_confirm(callback, access, session, state, settings, clock,
                      draft.model_copy(update={"send_at": send_at}))


@router.callback_query(Compose.preview,
                       BroadcastDraftCb.filter(F.action == BroadcastDraftAction.NOW))
async def on_now(callback: CallbackQuery, access: Access, session: AsyncSession,
                 state: FSMContext, settings: Settings, clock: Clock) -> None:
    """📤 Send now: confirm?"""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    await ask_confirm(callback, access, session, state, settings, clock,
                      draft.model_copy(update={"send_at": None}))


async def ask_confirm(callback: CallbackQuery, access: Access, session: AsyncSession,
                      state: FSMContext, settings: Settings, clock: Clock,
                      draft: Draft) -> None:
    """Confirm? With how many people it reaches and, when it is not urgent, how many of
    them are in their quiet hours then (offering urgent, to reach them at once)."""
    count = await broadcasts.count_audience(session, access=access,
                                            community_id=draft.community_id,
                                            audience=draft.audience)
    zone = await zone_for(session, settings, draft)
    quiet = QuietHours()
    if not draft.urgent:
        quiet = await broadcasts.quiet_hours(
            session, access=access, community_id=draft.community_id, audience=draft.audience,
            at=draft.send_at or clock.now(), default_tz=settings.timezone,
            defaults=parse_quiet_hours(settings.quiet_hours))
    draft = draft.model_copy(update={"quiet_waiting": quiet.waiting,
                                     "quiet_until": quiet.until})
    await save(state, draft)
    await state.set_state(Compose.confirm)
    await callback.answer()
    if draft.send_at is not None:
        text = _("Send it to {count} people at {time}?").format(
            count=count, time=say_moment(draft.send_at, zone))
    else:
        text = _("Send it to {count} people now?").format(count=count)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Confirm"),
                   callback_data=BroadcastDraftCb(action=BroadcastDraftAction.CONFIRM))
    if quiet.waiting and quiet.until is not None:
        text += "\n" + ngettext(
            "🌙 {n} of them is in their quiet hours: they will get it when those end, by "
            "{time}.",
            "🌙 {n} of them are in their quiet hours: they will get it when those end, by "
            "{time}.", quiet.waiting).format(
            n=quiet.waiting, time=say_moment(quiet.until, zone, now=clock.now()))
        builder.button(text=_("🚨 Send to all now (urgent)") if draft.send_at is None
                       else _("🚨 Send to all at that time (urgent)"),
                       callback_data=BroadcastDraftCb(action=BroadcastDraftAction.CONFIRM_URGENT))
    label, cb = discard_button()
    builder.button(text=label, callback_data=cb)
    builder.adjust(1)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(Compose.confirm,
                       BroadcastDraftCb.filter(F.action == BroadcastDraftAction.CONFIRM))
async def on_confirm(
    callback: CallbackQuery, access: Access, session: AsyncSession, state: FSMContext,
    clock: Clock, settings: Settings, outbox_notify: Callable[[], None],
) -> None:
    """✅ Confirm: create the broadcast (the service checks scope and time again) and show
    its progress. A refusal (nobody in the audience, the time passed) keeps the draft."""
    await confirm(callback, access, session, state, clock, settings, outbox_notify,
                  urgent=False)


@router.callback_query(Compose.confirm,
                       BroadcastDraftCb.filter(F.action == BroadcastDraftAction.CONFIRM_URGENT))
async def on_confirm_urgent(
    callback: CallbackQuery, access: Access, session: AsyncSession, state: FSMContext,
    clock: Clock, settings: Settings, outbox_notify: Callable[[], None],
) -> None:
    """🚨 Send to all now (urgent): confirmed, past the quiet hours the screen named."""
    await confirm(callback, access, session, state, clock, settings, outbox_notify,
                  urgent=True)


async def confirm(callback: CallbackQuery, access: Access, session: AsyncSession,
                  state: FSMContext, clock: Clock, settings: Settings,
                  outbox_notify: Callable[[], None], *, urgent: bool) -> None:
    draft = await load(state)
    broadcast = await broadcasts.create_broadcast(
        session, access=access, clock=clock, community_id=draft.community_id,
        text=draft.text, audience=draft.audience, send_at=draft.send_at, media=draft.media,
        file_id=draft.file_id, urgent=draft.urgent or urgent, quiet=draft.quiet,
        draft_key=draft.key or None, notify=outbox_notify)
    await state.clear()
    await callback.answer()
    report = await broadcasts.report(session, broadcast=broadcast, now=clock.now())
    if broadcast.send_at > clock.now():
        zone = await zone_for(session, settings, draft)
        text = _("🗓 Announcement #{id} is scheduled for {time}, to {count} people. You can "
                 "cancel it until then under 🗓 Scheduled and sending.").format(
            id=broadcast.id, time=say_moment(broadcast.send_at, zone), count=broadcast.total)
    else:
        text = progress_text(broadcast, report, rate=settings.outbox_rate)
    shown = await show(callback, text, reply_markup=cancel_keyboard(broadcast))
    if shown is not None:
        await broadcasts.set_progress_message(session, broadcast=broadcast,
                                              chat_id=shown.chat.id,
                                              message_id=shown.message_id)


@router.callback_query(DRAFTING, BroadcastDraftCb.filter(F.action == BroadcastDraftAction.DISCARD))
async def on_discard(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ Discard: nothing is sent."""
    await state.clear()
    await callback.answer()
    await show(callback, _("Discarded. Nothing was sent."))


@router.callback_query(BroadcastMenuCb.filter(F.action == BroadcastMenuAction.LIST))
async def on_list(callback: CallbackQuery, access: Access, session: AsyncSession,
                  settings: Settings) -> None:
    """🗓 Scheduled and sending: each with a Cancel button where it may be cancelled."""
    await callback.answer()
    found = await broadcasts.list_open(session, access=access)
    if not found:
        await send(callback, _("No announcements are scheduled or sending."))
        return
    builder = InlineKeyboardBuilder()
    lines = [_("Scheduled and sending:")]
    for view in found:
        broadcast = view.broadcast
        zone = (await communities.zone_of(session, broadcast.community_id)
                if broadcast.community_id is not None else ZoneInfo(settings.timezone))
        preview = html.escape(_strip_tags(broadcast.text)[:40])
        lines.append(f"#{broadcast.id} · {say_moment(broadcast.send_at, zone)} · "
                     f"{broadcast.total} · {preview}")
        if view.can_cancel:
            builder.button(text=_("✖ Cancel #{id}").format(id=broadcast.id),
                           callback_data=BroadcastStopCb(broadcast_id=broadcast.id or 0))
    builder.adjust(2)
    await send(callback, "\n".join(lines), reply_markup=builder.as_markup())


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@router.callback_query(BroadcastStopCb.filter())
async def on_stop(callback: CallbackQuery, callback_data: BroadcastStopCb, access: Access,
                  session: AsyncSession, clock: Clock, settings: Settings,
                  outbox_notify: Callable[[], None]) -> None:
    """✖ Cancel: no more of it starts; the report follows as a new message once no
    sender holds any of it (at once when none does: a scheduled one, say)."""
    broadcast = await broadcasts.cancel_broadcast(session, access=access, clock=clock,
                                                  broadcast_id=callback_data.broadcast_id,
                                                  notify=outbox_notify)
    report = await broadcasts.report(session, broadcast=broadcast, now=clock.now())
    if await broadcasts.finish(session, broadcast=broadcast, clock=clock, counts=report):
        await callback.answer(_("Cancelled."))
        await show(callback, progress_text(broadcast, report, rate=settings.outbox_rate))
        await send(callback, final_text(broadcast, report))
        return
    await callback.answer(_("Stopped: no more messages will start. The report follows "
                            "in a moment."))
    await show(callback, progress_text(broadcast, report, rate=settings.outbox_rate))


@router.callback_query(ANY_BUTTON)
async def on_stale_button(callback: CallbackQuery) -> None:
    """A button of this flow pressed in another step (an old screen, or forged)."""
    await answer_out_of_date(callback)
