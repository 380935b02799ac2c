"""Announcements: staff compose, choose an audience, preview, send now or later, watch.

```mermaid
stateDiagram-v2
    [*] --> Community: ✏️ New announcement (admins, or staff of several communities)
    [*] --> Message: ✏️ New announcement (staff of one community)
    Community --> Message: a community / the whole district
    Message --> Audience: text, photo or document
    Audience --> Grids: choose grids
    Grids --> Grids: toggle a grid
    Grids --> Preview: done
    Audience --> Preview: everyone / teachers / …
    Preview --> Preview: 🚨 urgent on/off
    Preview --> Day: 🗓 schedule
    Day --> Hour: a day
    Hour --> Confirm: an hour
    Preview --> Confirm: 📤 send now
    Confirm --> [*]: ✅ confirm (queued; progress message)
    Preview --> [*]: discard
```
Screens decide what is shown; the services decide what is allowed. Every
step re-checks the presser's scope, and the confirmation is checked again
by `services.broadcasts.create_broadcast`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import BroadcastAction, BroadcastCb
from bot.config import Settings
from bot.filters import MenuButton
from bot.keyboards.broadcasts import cancel_keyboard, final_text, progress_text
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.grids import grid_picker
from bot.keyboards.pager import add_pager
from bot.replies import answer_not_allowed, answer_out_of_date
from models.outbox import MediaKind
from services import broadcasts, communities
from services.access import Access
from services.broadcasts import Audience
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotAllowed

router = Router(name=__name__)
DISTRICT = 0  # community id 0 in buttons and state: the whole district
HOURS = range(7, 22)


class Compose(StatesGroup):
    community = State()
    message = State()
    audience = State()
    preview = State()


def audience_label(kind: str) -> str:
    return {"all": _("👥 Everyone"), "grids": _("🏘 Choose grids"),
            "teachers": _("👩‍🏫 Teachers")}.get(kind, kind)


def zone_of(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def scope(data: dict[str, Any]) -> int | None:
    """The draft's community (None: the whole district)."""
    return int(data["community_id"]) or None


@router.message(MenuButton("announce"))
async def on_menu(message: Message, access: Access) -> None:
    """📢 Announcements: write one, or see those on their way."""
    if not (access.is_admin or access.is_staff):
        await message.answer(_("This is for community staff. Ask your community's staff "
                               "for an invite link if you should have access."))
        return
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✏️ New announcement"), callback_data=BroadcastCb(
        action=BroadcastAction.NEW))
    builder.button(text=_("🗓 Scheduled and sending"), callback_data=BroadcastCb(
        action=BroadcastAction.LIST))
    builder.adjust(1)
    await message.answer(_("📢 Announcements"), reply_markup=builder.as_markup())


async def ask_community(message: Message, access: Access, session: AsyncSession,
                        state: FSMContext, page: int = 0, edit: bool = False) -> None:
    builder = InlineKeyboardBuilder()
    if access.is_admin:
        builder.button(text=_("🏙 The whole district"), callback_data=BroadcastCb(
            action=BroadcastAction.COMMUNITY, id=DISTRICT))
        found = await communities.list_communities(session, page=page)
        shown, pages = found.items, found.pages
    else:
        shown = [await communities.get_community(session, community_id=cid)
                 for cid in sorted(access.staff_of)]
        pages = 1
    for community in shown:
        builder.button(text=community.name, callback_data=BroadcastCb(
            action=BroadcastAction.COMMUNITY, id=community.id or 0))
    builder.adjust(1)
    add_pager(builder, page=page, pages=pages,
              make=lambda p: BroadcastCb(action=BroadcastAction.PAGE, id=p))
    await state.set_state(Compose.community)
    text = _("Who is it for? Choose the community:")
    if edit:
        await message.edit_text(text, reply_markup=builder.as_markup())
    else:
        await message.answer(text, reply_markup=builder.as_markup())


async def ask_message(message: Message, state: FSMContext, community_id: int) -> None:
    await state.set_state(Compose.message)
    await state.update_data(community_id=community_id, grid_ids=[], urgent=False)
    await message.answer(_("Write the announcement. You can send text, or a photo or a "
                           "document with a caption. Send /cancel to stop."))


@router.message(Compose.message, F.text & ~F.text.startswith("/") | F.photo | F.document)
async def on_message(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """The announcement itself: text, or a photo or document with a caption."""
    media, file_id = None, None
    if message.photo:
        media, file_id = MediaKind.PHOTO, message.photo[-1].file_id
    elif message.document:
        media, file_id = MediaKind.DOCUMENT, message.document.file_id
    # html_text keeps the bold and links the staff member typed, and escapes the rest.
    text = (message.html_text if (message.text or message.caption) else "")
    try:
        broadcasts.check_text(text, media=media)
    except InvalidInput as error:
        await message.answer(
            _("That is too long: at most 4096 characters, or 1024 under a photo or document.")
            if error.reason == "too_long" else _("Please write something to announce."))
        return
    await state.update_data(text=text, media=media, file_id=file_id)
    await ask_audience(message, state, session)


@router.message(Compose.message)
async def on_other_message(message: Message) -> None:
    """A sticker, voice note… while composing."""
    await message.answer(_("Please send text, a photo or a document (or /cancel)."))


async def ask_audience(message: Message, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    builder = InlineKeyboardBuilder()
    kinds = [kind for kind in broadcasts.AUDIENCES
             if not (kind == "grids" and scope(data) is None)]
    for kind in kinds:
        builder.button(text=audience_label(kind), callback_data=BroadcastCb(
            action=BroadcastAction.AUDIENCE, kind=kind))
    builder.adjust(1)
    await state.set_state(Compose.audience)
    await message.answer(_("Who should receive it?"), reply_markup=builder.as_markup())


async def grid_keyboard(session: AsyncSession, community_id: int,
                        chosen: list[int]) -> InlineKeyboardMarkup:
    return grid_picker(
        await communities.list_grids(session, community_id=community_id), chosen,
        toggle=lambda grid_id: BroadcastCb(action=BroadcastAction.GRID, id=grid_id),
        done=BroadcastCb(action=BroadcastAction.GRIDS_DONE))


async def show_preview(message: Message, state: FSMContext, session: AsyncSession,
                       access: Access, bot: Bot) -> None:
    """Send the announcement exactly as recipients will see it, then what happens next."""
    data = await state.get_data()
    audience = Audience.from_json(data["audience"])
    count = await broadcasts.count_audience(session, access=access,
                                            community_id=scope(data), audience=audience)
    await message.answer(_("Preview: this is what people will receive 👇"))
    await send_copy(bot, message.chat.id, data)
    await state.set_state(Compose.preview)
    await message.answer(preview_summary(count, data), reply_markup=preview_keyboard(data))


async def send_copy(bot: Bot, chat_id: int, data: dict[str, Any]) -> None:
    text = data["text"] or broadcasts.EMPTY_CAPTION
    if data["media"] == MediaKind.PHOTO:
        await bot.send_photo(chat_id, data["file_id"], caption=text)
    elif data["media"] == MediaKind.DOCUMENT:
        await bot.send_document(chat_id, data["file_id"], caption=text)
    else:
        await bot.send_message(chat_id, text)


def preview_summary(count: int, data: dict[str, Any]) -> str:
    text = _("It will reach {count} people.").format(count=count)
    if data.get("urgent"):
        text += "\n" + _("🚨 Urgent: it passes quiet hours and mutes. Use it for safety only.")
    return text


def preview_keyboard(data: dict[str, Any]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    urgent = _("🚨 Urgent: on") if data.get("urgent") else _("🚨 Urgent: off")
    for label, action in ((_("📤 Send now"), BroadcastAction.NOW),
                          (_("🗓 Schedule"), BroadcastAction.SCHEDULE),
                          (urgent, BroadcastAction.URGENT),
                          (_("✖ Discard"), BroadcastAction.DISCARD)):
        builder.button(text=label, callback_data=BroadcastCb(action=action))
    builder.adjust(2, 1, 1)
    return builder.as_markup()


def day_keyboard(now: datetime) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for offset in range(7):
        day = now + timedelta(days=offset)
        if offset == 0 and day.hour >= HOURS[-1]:
            continue
        label = (_("Today") if offset == 0 else _("Tomorrow") if offset == 1
                 else day.strftime("%m-%d"))
        builder.button(text=label, callback_data=BroadcastCb(action=BroadcastAction.DAY,
                                                             id=offset))
    builder.adjust(3)
    return builder.as_markup()


def hour_keyboard(now: datetime, offset: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for hour in HOURS:
        if offset == 0 and hour <= now.hour:
            continue
        builder.button(text=f"{hour:02d}:00", callback_data=BroadcastCb(
            action=BroadcastAction.HOUR, id=offset * 100 + hour))
    builder.adjust(4)
    return builder.as_markup()


def confirm_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Confirm"), callback_data=BroadcastCb(action=BroadcastAction.CONFIRM))
    builder.button(text=_("✖ Discard"), callback_data=BroadcastCb(action=BroadcastAction.DISCARD))
    return builder.as_markup()


@router.callback_query(BroadcastCb.filter())
async def on_button(
    callback: CallbackQuery, callback_data: BroadcastCb, access: Access,
    session: AsyncSession, state: FSMContext, clock: Clock, settings: Settings, bot: Bot,
    outbox_notify: Callable[[], None],
) -> None:
    """Every announcement button. Scope is re-checked at each step."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    if not (access.is_admin or access.is_staff):
        await answer_not_allowed(callback)
        return
    message = callback.message
    action = callback_data.action
    data = await state.get_data()
    step = await state.get_state()
    try:
        if action == BroadcastAction.NEW:
            await callback.answer()
            if access.is_admin or len(access.staff_of) > 1:
                await ask_community(message, access, session, state)
            else:
                await ask_message(message, state, next(iter(access.staff_of)))
            return
        if action == BroadcastAction.PAGE and step == Compose.community:
            await callback.answer()
            await ask_community(message, access, session, state, page=callback_data.id, edit=True)
            return
        if action == BroadcastAction.COMMUNITY and step == Compose.community:
            broadcasts.check_scope(access, callback_data.id or None)
            await callback.answer()
            await message.edit_reply_markup(reply_markup=None)
            await ask_message(message, state, callback_data.id)
            return
        if action == BroadcastAction.LIST:
            await callback.answer()
            await show_open(message, access, session, settings)
            return
        if action == BroadcastAction.STOP:
            await stop(callback, callback_data.id, access, session, clock)
            return
        if action == BroadcastAction.DISCARD and step in (Compose.preview, Compose.audience):
            await state.clear()
            await callback.answer()
            await message.edit_text(_("Discarded. Nothing was sent."))
            return
        if not data.get("text") and not data.get("media"):
            await answer_out_of_date(callback)
            return
        broadcasts.check_scope(access, scope(data))
        await on_draft_button(callback, callback_data, access, session, state, clock,
                              settings, bot, outbox_notify, data, step)
    except NotAllowed:
        await answer_not_allowed(callback)
    except DomainError:
        await answer_out_of_date(callback)


async def on_draft_button(
    callback: CallbackQuery, callback_data: BroadcastCb, access: Access,
    session: AsyncSession, state: FSMContext, clock: Clock, settings: Settings, bot: Bot,
    outbox_notify: Callable[[], None], data: dict[str, Any], step: str | None,
) -> None:
    """The buttons of a draft in progress: audience, grids, urgency, time, confirmation."""
    assert isinstance(callback.message, Message)
    message = callback.message
    action = callback_data.action
    now = clock.now().astimezone(zone_of(settings))
    if action == BroadcastAction.AUDIENCE and step == Compose.audience:
        if callback_data.kind not in broadcasts.AUDIENCES:
            await answer_out_of_date(callback)
            return
        await callback.answer()
        if callback_data.kind == "grids":
            community_id = scope(data)
            if community_id is None:
                await answer_out_of_date(callback)
                return
            await state.update_data(audience_kind="grids")
            await message.edit_text(_("Choose the grids, then press Done:"), reply_markup=(
                await grid_keyboard(session, community_id, data.get("grid_ids", []))))
            return
        await state.update_data(audience=Audience(kind=callback_data.kind).to_json())
        await message.edit_reply_markup(reply_markup=None)
        await show_preview(message, state, session, access, bot)
    elif action == BroadcastAction.GRID and step == Compose.audience and scope(data):
        grid = await communities.get_grid(session, grid_id=callback_data.id)
        if grid.community_id != scope(data):
            await answer_not_allowed(callback)
            return
        chosen = list(data.get("grid_ids", []))
        chosen.remove(grid.id) if grid.id in chosen else chosen.append(grid.id)
        await state.update_data(grid_ids=chosen)
        await callback.answer()
        await message.edit_reply_markup(reply_markup=await grid_keyboard(
            session, scope(data) or 0, chosen))
    elif action == BroadcastAction.GRIDS_DONE and step == Compose.audience:
        if not data.get("grid_ids"):
            await callback.answer(_("Choose at least one grid."), show_alert=True)
            return
        await callback.answer()
        await state.update_data(audience=Audience(kind="grids",
                                                  ids=tuple(data["grid_ids"])).to_json())
        await message.edit_reply_markup(reply_markup=None)
        await show_preview(message, state, session, access, bot)
    elif action == BroadcastAction.URGENT and step == Compose.preview:
        await callback.answer()
        await state.update_data(urgent=not data.get("urgent"))
        data = await state.get_data()
        count = await broadcasts.count_audience(
            session, access=access, community_id=scope(data),
            audience=Audience.from_json(data["audience"]))
        await message.edit_text(preview_summary(count, data), reply_markup=preview_keyboard(data))
    elif action == BroadcastAction.SCHEDULE and step == Compose.preview:
        await callback.answer()
        await message.edit_text(_("Which day?"), reply_markup=day_keyboard(now))
    elif action == BroadcastAction.DAY and step == Compose.preview and 0 <= callback_data.id < 7:
        await callback.answer()
        await message.edit_text(_("At what time?"),
                                reply_markup=hour_keyboard(now, callback_data.id))
    elif action in (BroadcastAction.HOUR, BroadcastAction.NOW) and step == Compose.preview:
        send_at = None
        if action == BroadcastAction.HOUR:
            offset, hour = divmod(callback_data.id, 100)
            send_at = (now + timedelta(days=offset)).replace(hour=hour, minute=0, second=0,
                                                            microsecond=0)
            if hour not in HOURS or not 0 <= offset < 7 or send_at <= now:
                await callback.answer(_("That time has passed. Please choose a later one."),
                                      show_alert=True)
                return
        await state.update_data(send_at=send_at.isoformat() if send_at else None)
        count = await broadcasts.count_audience(
            session, access=access, community_id=scope(data),
            audience=Audience.from_json(data["audience"]))
        await callback.answer()
        text = (_("Send it to {count} people at {time}?").format(
            count=count, time=send_at.strftime("%Y-%m-%d %H:%M")) if send_at
            else _("Send it to {count} people now?").format(count=count))
        await message.edit_text(text, reply_markup=confirm_keyboard())
    elif action == BroadcastAction.CONFIRM and step == Compose.preview and data.get("audience"):
        await confirm(callback, access, session, state, clock, settings, outbox_notify, data)
    else:
        await answer_out_of_date(callback)


async def confirm(
    callback: CallbackQuery, access: Access, session: AsyncSession, state: FSMContext,
    clock: Clock, settings: Settings, outbox_notify: Callable[[], None], data: dict[str, Any],
) -> None:
    """✅ Confirm: create the broadcast (the service checks scope again) and show progress."""
    assert isinstance(callback.message, Message)
    send_at = datetime.fromisoformat(data["send_at"]) if data.get("send_at") else None
    try:
        broadcast = await broadcasts.create_broadcast(
            session, access=access, clock=clock, community_id=scope(data), text=data["text"],
            audience=Audience.from_json(data["audience"]), send_at=send_at,
            media=MediaKind(data["media"]) if data.get("media") else None,
            file_id=data.get("file_id"), urgent=bool(data.get("urgent")), notify=outbox_notify)
    except InvalidInput as error:
        text = (_("Nobody is in that audience yet, so nothing was sent.")
                if error.field == "audience"
                else _("That time has passed. Please choose a later one."))
        await callback.answer(text, show_alert=True)
        return
    await state.clear()
    await callback.answer()
    report = await broadcasts.report(session, broadcast=broadcast)
    if broadcast.send_at > clock.now():
        when = broadcast.send_at.astimezone(zone_of(settings)).strftime("%Y-%m-%d %H:%M")
        text = _("🗓 Announcement #{id} is scheduled for {time}, to {count} people. You can "
                 "cancel it until then under 🗓 Scheduled and sending.").format(
            id=broadcast.id, time=when, count=broadcast.total)
    else:
        text = progress_text(broadcast, report, rate=settings.outbox_rate)
    await callback.message.edit_text(text, reply_markup=cancel_keyboard(broadcast))
    await broadcasts.set_progress_message(session, broadcast=broadcast,
                                          chat_id=callback.message.chat.id,
                                          message_id=callback.message.message_id)


async def show_open(message: Message, access: Access, session: AsyncSession,
                    settings: Settings) -> None:
    """Scheduled and sending broadcasts, each with a Cancel button."""
    found = await broadcasts.list_open(session, access=access)
    if not found:
        await message.answer(_("No announcements are scheduled or sending."))
        return
    builder = InlineKeyboardBuilder()
    lines = [_("Scheduled and sending:")]
    for broadcast in found:
        when = broadcast.send_at.astimezone(zone_of(settings)).strftime("%m-%d %H:%M")
        preview = html.escape(_strip_tags(broadcast.text)[:40])
        lines.append(f"#{broadcast.id} · {when} · {broadcast.total} · {preview}")
        builder.button(text=_("✖ Cancel #{id}").format(id=broadcast.id),
                       callback_data=BroadcastCb(action=BroadcastAction.STOP,
                                                 id=broadcast.id or 0))
    builder.adjust(2)
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def stop(callback: CallbackQuery, broadcast_id: int, access: Access,
               session: AsyncSession, clock: Clock) -> None:
    """✖ Cancel: stop what has not gone out yet and say how far it got."""
    assert isinstance(callback.message, Message)
    broadcast = await broadcasts.cancel_broadcast(session, access=access, clock=clock,
                                                  broadcast_id=broadcast_id)
    report = await broadcasts.report(session, broadcast=broadcast)
    await callback.answer(_("Cancelled."))
    await callback.message.edit_text(final_text(broadcast, report))
