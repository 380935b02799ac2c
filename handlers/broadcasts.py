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
    Audience --> Target: enrolled in / waiting for a session, backers of an order, a poll
    Audience --> Target: 🤝 volunteers (all, or by skill)
    Audience --> Communities: 🏘 choose communities (a district announcement)
    Communities --> Communities: tick / untick, ◀ ▶ pages, text typed: search
    Communities --> Preview: Done
    Target --> Preview: one session, order, poll or skill (re-checked)
    Audience --> Preview: everyone / teachers
    Preview --> Preview: 🚨 urgent on/off, 🧪 a test to myself
    Preview --> Day: 🗓 schedule
    Day --> Day: ◀ ▶ pages
    Day --> Time: a day (up to a month ahead)
    Time --> Confirm: a time (every 30 minutes)
    Preview --> Confirm: 📤 send now
    Confirm --> [*]: ✅ confirm (queued; progress message)
    Confirm --> [*]: 🚨 send to all (urgent), offered when some are in their quiet hours
    Audience --> [*]: ✖ discard
    Grids --> [*]: ✖ discard
    Communities --> [*]: ✖ discard
    Target --> [*]: ✖ discard
    Preview --> [*]: ✖ discard
    Day --> [*]: ✖ discard
    Time --> [*]: ✖ discard
    Confirm --> [*]: ✖ discard
    [*] --> EditText: ✏️ Edit #n → 📝 Text (a scheduled one, until it starts)
    [*] --> EditDay: ✏️ Edit #n → 🕘 Time
    EditText --> [*]: the new text (saved unless it has started)
    EditDay --> EditDay: ◀ ▶ pages
    EditDay --> EditTime: a day
    EditTime --> [*]: a time (saved unless it has started)
```

📜 Sent announcements lists those that are over, newest first, a page at a time; one of
them shows who did not receive it (blocked the bot, failed) by name, and 📥 its delivery
list as an Excel workbook.

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
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.broadcasts import (
    BROADCAST_BUTTONS,
    BroadcastAudienceCb,
    BroadcastCommunityCb,
    BroadcastCommunityPageCb,
    BroadcastDraftAction,
    BroadcastDraftCb,
    BroadcastEditCb,
    BroadcastEditWhat,
    BroadcastExportCb,
    BroadcastGridCb,
    BroadcastHistoryCb,
    BroadcastMenuAction,
    BroadcastMenuCb,
    BroadcastShowCb,
    BroadcastSkillCb,
    BroadcastStopCb,
    BroadcastTargetCb,
)
from bot.config import Settings
from bot.filters import MenuButton
from bot.keyboards.broadcasts import (
    audience_label,
    cancel_keyboard,
    counts_line,
    final_text,
    progress_text,
    skill_label,
    to_text,
    where_text,
)
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
from bot.keyboards.pager import add_pager
from bot.replies import answer_out_of_date
from bot.screens import send, show
from bot.titles import shown_of
from bot.when import say_moment
from handlers.onboarding import drop_buttons, set_buttons
from handlers.scope import ask_community, chosen
from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community
from models.outbox import MediaKind
from services import broadcasts, communities, scope
from services.access import Access
from services.broadcasts import Audience, Delivery, QuietHours
from services.clock import Clock
from services.errors import NotAllowed
from services.preferences import parse_quiet_hours
from services.scope import Serving
from services.text import cut

router = Router(name=__name__)
FLOW = "bc"  # the community picker's code for announcements (handlers/scope.py)
ANY_BUTTON = or_f(*(kind.filter() for kind in BROADCAST_BUTTONS))


class Compose(StatesGroup):
    message = State()
    audience = State()
    grids = State()
    communities = State()
    target = State()
    preview = State()
    day = State()
    time = State()
    confirm = State()


class Edit(StatesGroup):
    """Changing a scheduled broadcast; its id is `edit_id` in the FSM data."""

    edit_text = State()
    edit_day = State()
    edit_time = State()


DRAFTING = StateFilter(Compose.audience, Compose.grids, Compose.communities, Compose.target,
                       Compose.preview,
                       Compose.day, Compose.time, Compose.confirm)


class Draft(BaseModel):
    """An announcement being composed, kept in the FSM data between steps."""

    key: str = ""                       # names this draft: confirming it twice makes one
    community_id: int | None = None     # None: the whole district
    text: str = ""
    media: MediaKind | None = None
    file_id: str | None = None
    audience_kind: str | None = None
    grid_ids: list[int] = []
    community_ids: list[int] = []       # several communities at once (admins)
    community_query: str = ""           # …found by typing part of a name
    community_page: int = 0
    target_id: int | None = None        # the session, order or poll of the audience
    skill: str | None = None            # volunteers with this skill (None: all)
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
        kind = self.audience_kind or "all"
        ids: tuple[int, ...] = ()
        if kind == "grids":
            ids = tuple(self.grid_ids)
        elif kind == "communities":
            ids = tuple(self.community_ids)
        elif kind in broadcasts.ONE_OF and self.target_id is not None:
            ids = (self.target_id,)
        return Audience(kind=kind, ids=ids,
                        skill=self.skill if kind == "volunteers" else None)


async def load(state: FSMContext) -> Draft:
    return Draft.model_validate((await state.get_data()).get("draft") or {})


async def save(state: FSMContext, draft: Draft) -> None:
    await state.update_data(draft=draft.model_dump(mode="json"))


async def zone_for(session: AsyncSession, settings: Settings, draft: Draft) -> ZoneInfo:
    """The draft's community's time zone (the district's for the whole district)."""
    if draft.community_id is None:
        return ZoneInfo(settings.timezone)
    return await communities.zone_of(session, draft.community_id)


async def zone_of_broadcast(session: AsyncSession, settings: Settings,
                            community_id: int | None) -> ZoneInfo:
    if community_id is None:
        return ZoneInfo(settings.timezone)
    return await communities.zone_of(session, community_id)


async def reach(session: AsyncSession, access: Access, settings: Settings,
                draft: Draft) -> tuple[str, ZoneInfo]:
    """"Sunny Court · Block 1 · 2 people": whom the draft reaches, named, and the zone
    its times are said in."""
    count = await broadcasts.count_audience(session, access=access,
                                            community_id=draft.community_id,
                                            audience=draft.audience)
    zone = await zone_for(session, settings, draft)
    where = await broadcasts.where_of(session, community_id=draft.community_id,
                                      audience=draft.audience)
    return to_text(where, count, zone=zone), zone


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
    builder.button(text=_("📜 Sent announcements"), callback_data=BroadcastHistoryCb(page=0))
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
                      bot: Bot, settings: Settings, clock: Clock) -> None:
    """An audience: everyone, teachers… or grids, a session, an order, a poll or
    volunteers' skill to choose."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    kind = callback_data.kind
    if kind not in broadcasts.audiences_for(access, community_id=draft.community_id):
        await answer_out_of_date(callback)
        return
    if kind == "grids" and draft.community_id is not None:
        await callback.answer()
        await save(state, draft.model_copy(update={"audience_kind": "grids"}))
        await state.set_state(Compose.grids)
        await show(callback, _("Choose the grids, then press Done:"),
                   reply_markup=await grid_keyboard(session, draft.community_id,
                                                    draft.grid_ids))
        return
    if kind == "communities":
        await callback.answer()
        draft = draft.model_copy(update={"audience_kind": kind, "community_query": "",
                                         "community_page": 0})
        await save(state, draft)
        await state.set_state(Compose.communities)
        text, markup = await communities_picker(session, access, draft)
        await show(callback, text, reply_markup=markup)
        return
    if kind in broadcasts.ONE_OF:
        await ask_target(callback, session, access, settings, clock, state, draft, kind)
        return
    if kind == "volunteers":
        await callback.answer()
        await save(state, draft.model_copy(update={"audience_kind": kind, "skill": None}))
        await state.set_state(Compose.target)
        builder = InlineKeyboardBuilder()
        builder.button(text=skill_label(None), callback_data=BroadcastSkillCb(skill=""))
        for skill in broadcasts.skills():
            builder.button(text=skill_label(skill), callback_data=BroadcastSkillCb(skill=skill))
        builder.adjust(1, 2)
        builder.row(discard_row())
        await show(callback, _("Which volunteers?"), reply_markup=builder.as_markup())
        return
    await callback.answer()
    draft = draft.model_copy(update={"audience_kind": kind, "grid_ids": [],
                                     "target_id": None, "skill": None})
    await save(state, draft)
    await drop_buttons(callback)
    await show_preview(callback, state, session, access, bot, settings, draft)


async def communities_picker(session: AsyncSession, access: Access,
                             draft: Draft) -> tuple[str, InlineKeyboardMarkup]:
    """A page of communities to tick (natural order, those matching what was typed)."""
    page = await scope.pick_page(session, access=access, serving=Serving.STAFF,
                                 query=draft.community_query, page=draft.community_page)
    picked = set(draft.community_ids)
    builder = InlineKeyboardBuilder()
    for community in page.items:
        mark = "✅ " if community.id in picked else "▫️ "
        builder.button(text=mark + community.name,
                       callback_data=BroadcastCommunityCb(community_id=community.id or 0))
    builder.adjust(2)
    add_pager(builder, page=page.page, pages=page.pages,
              make=lambda n: BroadcastCommunityPageCb(page=n))
    builder.row(InlineKeyboardButton(text=_("Done"), callback_data=BroadcastDraftCb(
        action=BroadcastDraftAction.COMMUNITIES_DONE).pack()), discard_row())
    text = _("Tick the communities, then press Done. Type part of a name to search.")
    if page.query:
        text += "\n" + ngettext("{n} community matches “{query}”.",
                                "{n} communities match “{query}”.", page.total).format(
            n=page.total, query=html.escape(page.query))
    text += "\n" + ngettext("{n} chosen.", "{n} chosen.", len(picked)).format(n=len(picked))
    return text, builder.as_markup()


@router.callback_query(Compose.communities, BroadcastCommunityCb.filter())
async def on_community_tick(callback: CallbackQuery, callback_data: BroadcastCommunityCb,
                            access: Access, session: AsyncSession, state: FSMContext) -> None:
    """Tick or untick a community (re-checked: an admin's district announcement only)."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    if draft.community_id is not None or not scope.serves(access, callback_data.community_id,
                                                          Serving.STAFF):
        raise NotAllowed("several communities are for a district announcement")
    if await session.get(Community, callback_data.community_id) is None:
        await answer_out_of_date(callback)
        return
    chosen_ids = [c for c in draft.community_ids if c != callback_data.community_id]
    if len(chosen_ids) == len(draft.community_ids):
        chosen_ids.append(callback_data.community_id)
    draft = draft.model_copy(update={"community_ids": chosen_ids})
    await save(state, draft)
    await callback.answer()
    text, markup = await communities_picker(session, access, draft)
    await show(callback, text, reply_markup=markup)


@router.callback_query(Compose.communities, BroadcastCommunityPageCb.filter())
async def on_community_page(callback: CallbackQuery, callback_data: BroadcastCommunityPageCb,
                            access: Access, session: AsyncSession, state: FSMContext) -> None:
    """◀ ▶ through the communities."""
    draft = (await load(state)).model_copy(update={"community_page": callback_data.page})
    broadcasts.check_scope(access, draft.community_id)
    await save(state, draft)
    await callback.answer()
    text, markup = await communities_picker(session, access, draft)
    await show(callback, text, reply_markup=markup)


@router.message(Compose.communities, F.text & ~F.text.startswith("/"))
async def on_community_search(message: Message, access: Access, session: AsyncSession,
                              state: FSMContext) -> None:
    """Part of a name typed: the communities that match (those ticked stay ticked)."""
    draft = (await load(state)).model_copy(update={"community_query": message.text or "",
                                                   "community_page": 0})
    broadcasts.check_scope(access, draft.community_id)
    await save(state, draft)
    text, markup = await communities_picker(session, access, draft)
    await send(message, text, reply_markup=markup)


@router.callback_query(Compose.communities, BroadcastDraftCb.filter(
    F.action == BroadcastDraftAction.COMMUNITIES_DONE))
async def on_communities_done(callback: CallbackQuery, access: Access, session: AsyncSession,
                              state: FSMContext, bot: Bot, settings: Settings) -> None:
    """Done ticking communities: the preview."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    if not draft.community_ids:
        await callback.answer(_("Choose at least one community."), show_alert=True)
        return
    await callback.answer()
    await drop_buttons(callback)
    await show_preview(callback, state, session, access, bot, settings, draft)


TARGET_QUESTIONS = {
    "lesson": lambda: _("The people enrolled in which session?"),
    "waiting": lambda: _("The people waiting for a seat in which session?"),
    "backers": lambda: _("The backers of which order?"),
    "poll": lambda: _("Who has not yet answered which poll?"),
}


async def ask_target(callback: CallbackQuery, session: AsyncSession, access: Access,
                     settings: Settings, clock: Clock, state: FSMContext, draft: Draft,
                     kind: str) -> None:
    """The sessions, orders or polls of the community to choose from, with how many
    each would reach."""
    found = await broadcasts.targets(session, access=access, community_id=draft.community_id,
                                     kind=kind, now=clock.now())
    if not found:
        await callback.answer(_("There is nothing of that kind in this community now."),
                              show_alert=True)
        return
    await callback.answer()
    zone = await zone_for(session, settings, draft)
    await save(state, draft.model_copy(update={"audience_kind": kind, "target_id": None}))
    await state.set_state(Compose.target)
    builder = InlineKeyboardBuilder()
    for target in found:
        label = cut(shown_of(target.title, target.titles), 28)
        if target.at is not None:
            label += " · " + say_moment(target.at, zone, now=clock.now())
        label += " · " + ngettext("{n} person", "{n} people", target.count).format(
            n=target.count)
        builder.button(text=label, callback_data=BroadcastTargetCb(target_id=target.id))
    builder.adjust(1)
    builder.row(discard_row())
    await show(callback, TARGET_QUESTIONS[kind](), reply_markup=builder.as_markup())


@router.callback_query(Compose.target, BroadcastTargetCb.filter())
async def on_target(callback: CallbackQuery, callback_data: BroadcastTargetCb,
                    access: Access, session: AsyncSession, state: FSMContext, bot: Bot,
                    settings: Settings, clock: Clock) -> None:
    """A session, order or poll: re-checked against what the community offers now."""
    draft = await load(state)
    kind = draft.audience_kind or ""
    if kind not in broadcasts.ONE_OF:
        await answer_out_of_date(callback)
        return
    found = await broadcasts.targets(session, access=access, community_id=draft.community_id,
                                     kind=kind, now=clock.now())
    if callback_data.target_id not in {target.id for target in found}:
        await answer_out_of_date(callback)
        return
    await callback.answer()
    draft = draft.model_copy(update={"target_id": callback_data.target_id})
    await save(state, draft)
    await drop_buttons(callback)
    await show_preview(callback, state, session, access, bot, settings, draft)


@router.callback_query(Compose.target, BroadcastSkillCb.filter())
async def on_skill(callback: CallbackQuery, callback_data: BroadcastSkillCb, access: Access,
                   session: AsyncSession, state: FSMContext, bot: Bot,
                   settings: Settings) -> None:
    """All volunteers, or those with one skill."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    skill = callback_data.skill or None
    if draft.audience_kind != "volunteers" or (skill is not None
                                               and skill not in broadcasts.skills()):
        await answer_out_of_date(callback)
        return
    await callback.answer()
    draft = draft.model_copy(update={"skill": skill})
    await save(state, draft)
    await drop_buttons(callback)
    await show_preview(callback, state, session, access, bot, settings, draft)


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
                        state: FSMContext, bot: Bot, settings: Settings) -> None:
    """Done choosing grids: the preview."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    if not draft.grid_ids:
        await callback.answer(_("Choose at least one grid."), show_alert=True)
        return
    await callback.answer()
    await drop_buttons(callback)
    await show_preview(callback, state, session, access, bot, settings, draft)


async def show_preview(callback: CallbackQuery, state: FSMContext, session: AsyncSession,
                       access: Access, bot: Bot, settings: Settings, draft: Draft) -> None:
    """Send the announcement exactly as recipients will see it, then what happens next."""
    to, _zone = await reach(session, access, settings, draft)
    await send(callback, _("Preview: this is what people will receive 👇"))
    await send_copy(bot, callback.from_user.id, draft)
    await state.set_state(Compose.preview)
    await send(callback, preview_summary(to, draft), reply_markup=preview_keyboard(draft))


async def send_copy(bot: Bot, chat_id: int, draft: Draft) -> None:
    text = draft.text or broadcasts.EMPTY_CAPTION
    if draft.media == MediaKind.PHOTO and draft.file_id:
        await bot.send_photo(chat_id, draft.file_id, caption=text)
    elif draft.media == MediaKind.DOCUMENT and draft.file_id:
        await bot.send_document(chat_id, draft.file_id, caption=text)
    else:
        await bot.send_message(chat_id, text)


def preview_summary(to: str, draft: Draft) -> str:
    text = _("It will reach {to}.").format(to=to)
    if draft.urgent:
        text += "\n" + _("🚨 Urgent: it passes quiet hours and mutes. Use it for safety only.")
    return text


def preview_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    urgent = _("🚨 Urgent: on") if draft.urgent else _("🚨 Urgent: off")
    for label, action in ((_("📤 Send now"), BroadcastDraftAction.NOW),
                          (_("🗓 Schedule"), BroadcastDraftAction.SCHEDULE),
                          (urgent, BroadcastDraftAction.URGENT),
                          (_("🧪 Send a test to myself"), BroadcastDraftAction.TEST)):
        builder.button(text=label, callback_data=BroadcastDraftCb(action=action))
    label, cb = discard_button()
    builder.button(text=label, callback_data=cb)
    builder.adjust(2, 1, 1, 1)
    return builder.as_markup()


@router.callback_query(Compose.preview,
                       BroadcastDraftCb.filter(F.action == BroadcastDraftAction.URGENT))
async def on_urgent(callback: CallbackQuery, access: Access, session: AsyncSession,
                    state: FSMContext, settings: Settings) -> None:
    """🚨 Urgent on or off."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    await callback.answer()
    draft = draft.model_copy(update={"urgent": not draft.urgent})
    await save(state, draft)
    to, _zone = await reach(session, access, settings, draft)
    await show(callback, preview_summary(to, draft), reply_markup=preview_keyboard(draft))


@router.callback_query(StateFilter(Compose.preview, Compose.confirm),
                       BroadcastDraftCb.filter(F.action == BroadcastDraftAction.TEST))
async def on_test(callback: CallbackQuery, access: Access, state: FSMContext,
                  bot: Bot) -> None:
    """🧪 Send a test to myself: the announcement as it will arrive, to the presser only;
    the draft stays where it was."""
    draft = await load(state)
    broadcasts.check_scope(access, draft.community_id)
    await callback.answer(_("Sent to you only."))
    await send_copy(bot, callback.from_user.id, draft)
    await send(callback, _("🧪 That was a test: only you received it. The buttons above "
                           "still send or schedule it."))


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
    to, zone = await reach(session, access, settings, draft)
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
        text = _("Send it to {to} at {time}?").format(
            to=to, time=say_moment(draft.send_at, zone))
    else:
        text = _("Send it to {to} now?").format(to=to)
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
    builder.button(text=_("🧪 Send a test to myself"),
                   callback_data=BroadcastDraftCb(action=BroadcastDraftAction.TEST))
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
    data = await state.get_data()
    draft = Draft.model_validate(data.get("draft") or {})
    if not draft.key:  # the other tap of a double tap confirmed it (and cleared the draft)
        if data.get("confirmed"):
            raise broadcasts.AlreadyQueued(int(data["confirmed"]))
        await answer_out_of_date(callback)
        return
    broadcast = await broadcasts.create_broadcast(
        session, access=access, clock=clock, community_id=draft.community_id,
        text=draft.text, audience=draft.audience, send_at=draft.send_at, media=draft.media,
        file_id=draft.file_id, urgent=draft.urgent or urgent, quiet=draft.quiet,
        draft_key=draft.key, notify=outbox_notify)
    await state.clear()
    await state.update_data(confirmed=broadcast.id)  # for a second tap handled meanwhile
    await callback.answer()
    report = await broadcasts.report(session, broadcast=broadcast, now=clock.now())
    zone = await zone_for(session, settings, draft)
    where = await broadcasts.where_of_broadcast(session, broadcast)
    if broadcast.send_at > clock.now():
        text = _("🗓 Announcement #{id} is scheduled for {time}, to {to}. You can change or "
                 "cancel it until then under 🗓 Scheduled and sending.").format(
            id=broadcast.id, time=say_moment(broadcast.send_at, zone),
            to=to_text(where, broadcast.total, zone=zone))
    else:
        text = progress_text(broadcast, report, rate=settings.outbox_rate, where=where,
                             zone=zone)
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
    """🗓 Scheduled and sending: each naming its community and audience, with Cancel (and,
    until it starts, Edit) where the presser may."""
    await callback.answer()
    found = await broadcasts.list_open(session, access=access)
    if not found:
        await send(callback, _("No announcements are scheduled or sending."))
        return
    builder = InlineKeyboardBuilder()
    lines = [_("Scheduled and sending:")]
    for view in found:
        broadcast = view.broadcast
        zone = await zone_of_broadcast(session, settings, broadcast.community_id)
        where = await broadcasts.where_of_broadcast(session, broadcast)
        preview = html.escape(cut(_strip_tags(broadcast.text), 40))
        lines.append(f"#{broadcast.id} · {say_moment(broadcast.send_at, zone)} · "
                     f"{html.escape(to_text(where, broadcast.total, zone=zone))} · {preview}")
        if view.can_cancel and broadcast.status == BroadcastStatus.SCHEDULED:
            builder.button(text=_("✏️ Edit #{id}").format(id=broadcast.id),
                           callback_data=BroadcastEditCb(broadcast_id=broadcast.id or 0,
                                                         what=BroadcastEditWhat.ASK))
        if view.can_cancel:
            builder.button(text=_("✖ Cancel #{id}").format(id=broadcast.id),
                           callback_data=BroadcastStopCb(broadcast_id=broadcast.id or 0))
    builder.adjust(2)
    await send(callback, cut("\n".join(lines), 4096), reply_markup=builder.as_markup())


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
    zone = await zone_of_broadcast(session, settings, broadcast.community_id)
    where = await broadcasts.where_of_broadcast(session, broadcast)
    if await broadcasts.finish(session, broadcast=broadcast, clock=clock, counts=report):
        await callback.answer(_("Cancelled."))
        await show(callback, progress_text(broadcast, report, rate=settings.outbox_rate,
                                           where=where, zone=zone))
        await send(callback, final_text(broadcast, report, where=where, zone=zone))
        return
    await callback.answer(_("Stopped: no more messages will start. The report follows "
                            "in a moment."))
    await show(callback, progress_text(broadcast, report, rate=settings.outbox_rate,
                                       where=where, zone=zone))


# --- Editing a scheduled one -----------------------------------------------------------


async def editing(state: FSMContext) -> int | None:
    return (await state.get_data()).get("edit_id")


async def scheduled_card(session: AsyncSession, settings: Settings,
                         broadcast: Broadcast) -> str:
    zone = await zone_of_broadcast(session, settings, broadcast.community_id)
    where = await broadcasts.where_of_broadcast(session, broadcast)
    return _("🗓 Announcement #{id} goes out at {time}, to {to}.").format(
        id=broadcast.id, time=say_moment(broadcast.send_at, zone),
        to=to_text(where, broadcast.total, zone=zone))


@router.callback_query(BroadcastEditCb.filter(F.what == BroadcastEditWhat.ASK))
async def on_edit(callback: CallbackQuery, callback_data: BroadcastEditCb, access: Access,
                  session: AsyncSession, state: FSMContext, settings: Settings) -> None:
    """✏️ Edit #n: the text or the time (while it is still scheduled)."""
    broadcast = await broadcasts.get_for(session, access=access,
                                         broadcast_id=callback_data.broadcast_id)
    if broadcast.status != BroadcastStatus.SCHEDULED:
        raise broadcasts.NotScheduled(broadcast.id)
    await callback.answer()
    builder = InlineKeyboardBuilder()
    for label, what in ((_("📝 Text"), BroadcastEditWhat.TEXT),
                        (_("🕘 Time"), BroadcastEditWhat.TIME)):
        builder.button(text=label, callback_data=BroadcastEditCb(
            broadcast_id=broadcast.id or 0, what=what))
    builder.adjust(2)
    card = await scheduled_card(session, settings, broadcast)
    await send(callback, card + "\n\n" + _("What would you like to change?"),
               reply_markup=builder.as_markup())


@router.callback_query(BroadcastEditCb.filter(F.what == BroadcastEditWhat.TEXT))
async def on_edit_text(callback: CallbackQuery, callback_data: BroadcastEditCb,
                       access: Access, session: AsyncSession, state: FSMContext) -> None:
    """📝 Text: the next message is the new text."""
    broadcast = await broadcasts.get_for(session, access=access,
                                         broadcast_id=callback_data.broadcast_id)
    if broadcast.status != BroadcastStatus.SCHEDULED:
        raise broadcasts.NotScheduled(broadcast.id)
    await callback.answer()
    await state.set_state(Edit.edit_text)
    await state.update_data(edit_id=broadcast.id)
    await show(callback, _("Send the new text of announcement #{id} (or /cancel).").format(
        id=broadcast.id))


@router.message(Edit.edit_text, F.text & ~F.text.startswith("/"))
async def on_new_text(message: Message, access: Access, session: AsyncSession,
                      state: FSMContext, clock: Clock, settings: Settings) -> None:
    """The new text: saved unless it started meanwhile (the service re-checks)."""
    broadcast_id = await editing(state)
    if broadcast_id is None:
        await state.clear()
        return
    broadcast = await broadcasts.edit_scheduled(session, access=access, clock=clock,
                                                broadcast_id=broadcast_id,
                                                text=message.html_text)
    await state.clear()
    await message.answer(_("✅ Saved.") + "\n" + await scheduled_card(session, settings,
                                                                     broadcast))


@router.message(Edit.edit_text)
async def on_new_text_other(message: Message) -> None:
    """A photo, sticker… where the new text was asked for."""
    await message.answer(_("Please send the new text (or /cancel)."))


async def edit_days(callback: CallbackQuery, session: AsyncSession, settings: Settings,
                    clock: Clock, broadcast: Broadcast, page: int = 0) -> None:
    zone = await zone_of_broadcast(session, settings, broadcast.community_id)
    now = clock.now().astimezone(zone)
    builder = day_keyboard(days_ahead(now.date()), today=now.date(), page=page, zone=zone,
                           now=now)
    await show(callback, _("Announcement #{id}: which day?").format(id=broadcast.id),
               reply_markup=builder.as_markup())


@router.callback_query(BroadcastEditCb.filter(F.what == BroadcastEditWhat.TIME))
async def on_edit_time(callback: CallbackQuery, callback_data: BroadcastEditCb,
                       access: Access, session: AsyncSession, state: FSMContext,
                       settings: Settings, clock: Clock) -> None:
    """🕘 Time: a day, then a time (the same picker as scheduling)."""
    broadcast = await broadcasts.get_for(session, access=access,
                                         broadcast_id=callback_data.broadcast_id)
    if broadcast.status != BroadcastStatus.SCHEDULED:
        raise broadcasts.NotScheduled(broadcast.id)
    await callback.answer()
    await state.set_state(Edit.edit_day)
    await state.update_data(edit_id=broadcast.id)
    await edit_days(callback, session, settings, clock, broadcast)


async def edited(state: FSMContext, session: AsyncSession, access: Access) -> Broadcast:
    broadcast_id = await editing(state)
    if broadcast_id is None:
        raise broadcasts.NotScheduled(None)
    return await broadcasts.get_for(session, access=access, broadcast_id=broadcast_id)


@router.callback_query(Edit.edit_day, DayPageCb.filter())
async def on_edit_day_page(callback: CallbackQuery, callback_data: DayPageCb, access: Access,
                           session: AsyncSession, state: FSMContext, settings: Settings,
                           clock: Clock) -> None:
    """◀ ▶ through the days."""
    broadcast = await edited(state, session, access)
    await callback.answer()
    await edit_days(callback, session, settings, clock, broadcast, page=callback_data.page)


@router.callback_query(Edit.edit_day, DayCb.filter())
async def on_edit_day(callback: CallbackQuery, callback_data: DayCb, access: Access,
                      session: AsyncSession, state: FSMContext, settings: Settings,
                      clock: Clock) -> None:
    """A day for the scheduled one: at what time?"""
    broadcast = await edited(state, session, access)
    zone = await zone_of_broadcast(session, settings, broadcast.community_id)
    now = clock.now().astimezone(zone)
    day = days_ahead(now.date()).take(callback_data.day)
    builder = time_keyboard(day, zone=zone, now=now) if day else None
    if day is None or builder is None or not list(builder.buttons):
        await callback.answer(_("That time has passed. Please choose a later one."),
                              show_alert=True)
        return
    await callback.answer()
    await state.update_data(edit_day=day.isoformat())
    await state.set_state(Edit.edit_time)
    await show(callback, _("At what time?"), reply_markup=builder.as_markup())


@router.callback_query(Edit.edit_time, TimeCb.filter())
async def on_edit_at(callback: CallbackQuery, callback_data: TimeCb, access: Access,
                     session: AsyncSession, state: FSMContext, settings: Settings,
                     clock: Clock) -> None:
    """A time: saved unless it started meanwhile."""
    broadcast = await edited(state, session, access)
    zone = await zone_of_broadcast(session, settings, broadcast.community_id)
    day = (await state.get_data()).get("edit_day")
    send_at = take_time(callback_data.minutes, day=date.fromisoformat(day), zone=zone,
                        now=clock.now()) if day else None
    if send_at is None:
        await callback.answer(_("That time has passed. Please choose a later one."),
                              show_alert=True)
        return
    broadcast = await broadcasts.edit_scheduled(session, access=access, clock=clock,
                                                broadcast_id=broadcast.id or 0, send_at=send_at)
    await state.clear()
    await callback.answer()
    await show(callback, _("✅ Saved.") + "\n" + await scheduled_card(session, settings,
                                                                     broadcast))


# --- What went out ------------------------------------------------------------------------


@router.callback_query(BroadcastHistoryCb.filter())
async def on_history(callback: CallbackQuery, callback_data: BroadcastHistoryCb,
                     access: Access, session: AsyncSession, settings: Settings,
                     clock: Clock) -> None:
    """📜 Sent announcements, newest first: each naming its community and audience, with
    how many received it, blocked the bot or failed; a button opens one."""
    found, pages = await broadcasts.history(session, access=access, page=callback_data.page)
    await callback.answer()
    if not found:
        await send(callback, _("No announcement has gone out yet."))
        return
    lines = [_("📜 Sent announcements, newest first:")]
    builder = InlineKeyboardBuilder()
    for item in found:
        broadcast, report = item.broadcast, item.report
        zone = await zone_of_broadcast(session, settings, broadcast.community_id)
        when = say_moment(broadcast.send_at, zone, now=clock.now())
        cancelled = (" · " + _("✖ cancelled")
                     if broadcast.status == BroadcastStatus.CANCELLED else "")
        lines.append(_("#{id} · {when} · {where}{cancelled}\n{sent} of {total} received it · "
                       "blocked {blocked} · failed {failed} · “{text}”").format(
            id=broadcast.id, when=when, where=html.escape(where_text(item.where, zone=zone)),
            cancelled=cancelled, sent=report.sent, total=report.total, blocked=report.blocked,
            failed=report.failed, text=html.escape(cut(_strip_tags(broadcast.text), 30))))
        builder.button(text=f"#{broadcast.id}",
                       callback_data=BroadcastShowCb(broadcast_id=broadcast.id or 0))
    builder.adjust(4)
    add_pager(builder, page=min(callback_data.page, pages - 1), pages=pages,
              make=lambda page: BroadcastHistoryCb(page=page))
    await show(callback, cut("\n\n".join(lines), 4096), reply_markup=builder.as_markup())


MISSED_SHOWN = 40  # names in the message; the rest are in the Excel list


@router.callback_query(BroadcastShowCb.filter())
async def on_show_sent(callback: CallbackQuery, callback_data: BroadcastShowCb,
                       access: Access, session: AsyncSession, settings: Settings,
                       clock: Clock) -> None:
    """One sent announcement: its counts, and who did not receive it, by name, so staff
    can phone them."""
    broadcast = await broadcasts.get_for(session, access=access,
                                         broadcast_id=callback_data.broadcast_id)
    await callback.answer()
    zone = await zone_of_broadcast(session, settings, broadcast.community_id)
    where = await broadcasts.where_of_broadcast(session, broadcast)
    report = await broadcasts.report(session, broadcast=broadcast)
    missed = await broadcasts.delivery_list(session, access=access,
                                            broadcast_id=broadcast.id or 0,
                                            only=(Delivery.BLOCKED, Delivery.FAILED))
    lines = [_("📢 Announcement #{id} · {when}").format(
                 id=broadcast.id, when=say_moment(broadcast.send_at, zone, now=clock.now())),
             _("To {where}").format(where=html.escape(to_text(where, report.total, zone=zone))),
             counts_line(report), ""]
    if missed:
        lines.append(ngettext("{n} person did not receive it:",
                              "{n} people did not receive it:", len(missed)).format(
            n=len(missed)))
        for person in missed[:MISSED_SHOWN]:
            why = _("blocked the bot") if person.delivery == Delivery.BLOCKED else _("failed")
            extra = " · ".join(part for part in (
                person.grid and html.escape(person.grid),
                person.username and f"@{person.username}") if part)
            lines.append(f"• {html.escape(person.name)}" + (f" ({extra})" if extra else "")
                         + f" — {why}")
        if len(missed) > MISSED_SHOWN:
            lines.append(_("…and {n} more: see the Excel list.").format(
                n=len(missed) - MISSED_SHOWN))
    else:
        lines.append(_("Nobody was missed: everyone it was sent to received it, or had "
                       "muted announcements."))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📥 Delivery list (Excel)"),
                   callback_data=BroadcastExportCb(broadcast_id=broadcast.id or 0))
    await send(callback, cut("\n".join(lines), 4096), reply_markup=builder.as_markup())


def delivery_words(broadcast: Broadcast, where: str) -> broadcasts.Sheet:
    return broadcasts.Sheet(
        title=_("Announcement #{id} · {where}: delivery list").format(id=broadcast.id,
                                                                      where=where),
        list_name=_("Delivery"), summary_name=_("Summary"),
        headers=(_("No."), _("Name"), _("Username"), _("Grid"), _("Outcome"),
                 _("Received at")),
        deliveries={Delivery.SENT: _("received"), Delivery.BLOCKED: _("blocked the bot"),
                    Delivery.FAILED: _("failed"), Delivery.SKIPPED: _("muted or left"),
                    Delivery.CANCELLED: _("cancelled"), Delivery.WAITING: _("waiting")},
        summary_headers=(_("Outcome"), _("People"), _("Share")), total=_("Total"))


@router.callback_query(BroadcastExportCb.filter())
async def on_export(callback: CallbackQuery, callback_data: BroadcastExportCb, access: Access,
                    session: AsyncSession, settings: Settings, clock: Clock, bot: Bot) -> None:
    """📥 The delivery list as an Excel workbook, in the presser's language."""
    broadcast = await broadcasts.get_for(session, access=access,
                                         broadcast_id=callback_data.broadcast_id)
    zone = await zone_of_broadcast(session, settings, broadcast.community_id)
    where = where_text(await broadcasts.where_of_broadcast(session, broadcast), zone=zone)
    data = await broadcasts.export_delivery(session, access=access, clock=clock,
                                            broadcast_id=broadcast.id or 0,
                                            words=delivery_words(broadcast, where), zone=zone)
    await callback.answer()
    await bot.send_document(callback.from_user.id, BufferedInputFile(
        data, filename=f"announcement-{broadcast.id}.xlsx"),
        caption=_("Announcement #{id}: who received it and who did not.").format(
            id=broadcast.id))


@router.callback_query(ANY_BUTTON)
async def on_stale_button(callback: CallbackQuery) -> None:
    """A button of this flow pressed in another step (an old screen, or forged)."""
    await answer_out_of_date(callback)
