"""Managing communities: district admins and staff create grids and invite links.

```mermaid
stateDiagram-v2
    [*] --> List: 🛠 Manage community
    List --> List: ◀ ▶ pages (admin)
    List --> CommunityName: ➕ New community (admin)
    CommunityName --> CommunityName: a name refused (empty, too long, taken)
    CommunityName --> Community: name sent
    List --> Community: a community
    List --> Invite: 🔑 Invite a district admin (admin)
    List --> Invites: 🔗 Open admin invites (admin)
    Community --> GridNames: ➕ Add grids
    GridNames --> Community: names sent (one a line)
    Community --> Invite: invite a teacher / a staff member (admin)
    Community --> Invites: 🔗 open invites
    Invites --> Invites: revoke
    Community --> List: ◀ Back
    CommunityName --> [*]: /cancel
    GridNames --> [*]: /cancel
```
Every button re-checks the presser's roles in services, which also say what a screen
may offer (`communities.manageable`, `invites.invitable_roles`); a refusal reaches
the error router (bot/replies.py).
"""

from __future__ import annotations

import html
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.common import (
    ManageCommunityCb,
    ManageInviteCb,
    ManageInvitesCb,
    ManageListCb,
    ManageNewCommunityCb,
    ManageNewGridCb,
    ManageRevokeCb,
)
from bot.callback_data.district import (
    AuditCb,
    CommunityEditAction,
    CommunityEditCb,
    ExportCb,
    FiguresCb,
    GridEditAction,
    GridEditCb,
    ManageFindCb,
    MembersCb,
)
from bot.config import Settings
from bot.filters import MenuButton
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.pager import add_pager
from bot.replies import reply_for
from bot.screens import send, show
from bot.when import say_moment
from handlers.onboarding import INVITE_PREFIX, show_menu
from models.invites import Invite
from models.users import Role
from services import communities, invites
from services.access import Access
from services.clock import Clock
from services.errors import AlreadyExists, InvalidInput, NotAllowed

router = Router(name=__name__)


class Manage(StatesGroup):
    community_name = State()
    grid_names = State()


def role_name(role: str) -> str:
    return {"teacher": _("teacher"), "staff": _("staff member"),
            "admin": _("district admin")}.get(role, role)


def invite_label(role: Role) -> str:
    return {Role.TEACHER: _("👩‍🏫 Invite a teacher"),
            Role.STAFF: _("🧑‍💼 Invite a staff member"),
            Role.ADMIN: _("🔑 Invite a district admin")}[role]


async def list_screen(access: Access, session: AsyncSession,
                      page: int) -> tuple[str, InlineKeyboardBuilder]:
    """The communities this person manages, and what the district level offers them."""
    found = await communities.manageable(session, access=access, page=page)
    builder = InlineKeyboardBuilder()
    for community in found.communities:
        builder.button(text=community.name, callback_data=ManageCommunityCb(
            community_id=community.id or 0))
    builder.adjust(1)
    add_pager(builder, page=found.page, pages=found.pages, make=lambda p: ManageListCb(page=p))
    if found.can_create:
        builder.row(InlineKeyboardButton(text=_("➕ New community"),
                                         callback_data=ManageNewCommunityCb().pack()))
    if access.is_admin and found.communities:  # district tools (handlers/district.py)
        builder.row(InlineKeyboardButton(text=_("🔎 Find a community"),
                                         callback_data=ManageFindCb().pack()),
                    InlineKeyboardButton(text=_("📊 All communities"),
                                         callback_data=FiguresCb(community_id=0).pack()))
    district_roles = invites.invitable_roles(access, community_id=None)
    for role in district_roles:
        builder.row(InlineKeyboardButton(text=invite_label(role), callback_data=ManageInviteCb(
            community_id=0, role=role).pack()))
    if district_roles:
        builder.row(InlineKeyboardButton(text=_("🔗 Open admin invites"),
                                         callback_data=ManageInvitesCb(community_id=0).pack()))
    text = _("Choose a community:") if found.communities else _("There are no communities yet.")
    return text, builder


async def community_screen(access: Access, session: AsyncSession,
                           community_id: int) -> tuple[str, InlineKeyboardBuilder]:
    """One community: its grids, and the invites this person may make there."""
    access.require_manage(community_id)
    community = await communities.get_community(session, community_id=community_id)
    grids = await communities.list_grids(session, community_id=community_id)
    grid_names = "、".join(html.escape(g.name) for g in grids) or _("none yet")
    text = _("<b>{name}</b>\nTime zone: {tz}\nGrids: {grids}").format(
        name=html.escape(community.name), tz=community.timezone, grids=grid_names)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➕ Add grids"), callback_data=ManageNewGridCb(
        community_id=community_id))
    for role in invites.invitable_roles(access, community_id=community_id):
        builder.button(text=invite_label(role), callback_data=ManageInviteCb(
            community_id=community_id, role=role))
    builder.button(text=_("🔗 Open invites"),
                   callback_data=ManageInvitesCb(community_id=community_id))
    # district tools (handlers/district.py)
    builder.button(text=_("👥 Members"), callback_data=MembersCb(community_id=community_id))
    builder.button(text=_("🗺 Grids"), callback_data=GridEditCb(action=GridEditAction.LIST,
                                                               id=community_id))
    builder.button(text=_("📜 Audit log"), callback_data=AuditCb(community_id=community_id))
    builder.button(text=_("📊 Figures"), callback_data=FiguresCb(community_id=community_id))
    builder.button(text=_("📥 Exports"), callback_data=ExportCb(community_id=community_id))
    if access.is_admin:
        builder.button(text=_("✏️ Rename"), callback_data=CommunityEditCb(
            action=CommunityEditAction.RENAME, community_id=community_id))
        builder.button(text=_("🗑 Delete"), callback_data=CommunityEditCb(
            action=CommunityEditAction.DELETE, community_id=community_id))
    builder.button(text=_("◀ Back"), callback_data=ManageListCb())
    builder.adjust(1)
    return text, builder


@router.message(MenuButton("manage"))
async def on_manage(message: Message, access: Access, session: AsyncSession) -> None:
    """🛠 Manage community: the communities this person may manage."""
    if not (access.is_admin or access.is_staff):
        await message.answer(_("This is for community staff. Ask your community's staff "
                               "for an invite link if you should have access."))
        return
    text, builder = await list_screen(access, session, page=0)
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(ManageListCb.filter())
async def on_list(callback: CallbackQuery, callback_data: ManageListCb, access: Access,
                  session: AsyncSession) -> None:
    """◀ Back, or ◀ ▶ through the communities."""
    text, builder = await list_screen(access, session, page=callback_data.page)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ManageCommunityCb.filter())
async def on_community(callback: CallbackQuery, callback_data: ManageCommunityCb,
                       access: Access, session: AsyncSession) -> None:
    """A community: its grids and invites."""
    text, builder = await community_screen(access, session, callback_data.community_id)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ManageNewCommunityCb.filter())
async def on_new_community(callback: CallbackQuery, access: Access, state: FSMContext) -> None:
    """➕ New community: ask for its name."""
    access.require_admin()
    await state.set_state(Manage.community_name)
    await callback.answer()
    await send(callback, _("Send the new community's name (or /cancel)."))


@router.callback_query(ManageNewGridCb.filter())
async def on_new_grid(callback: CallbackQuery, callback_data: ManageNewGridCb, access: Access,
                      session: AsyncSession, state: FSMContext) -> None:
    """➕ Add grids: ask for their names."""
    access.require_manage(callback_data.community_id)
    await communities.get_community(session, community_id=callback_data.community_id)
    await state.set_state(Manage.grid_names)
    await state.update_data(community_id=callback_data.community_id)
    await callback.answer()
    await send(callback, _("Send the grid names, one per line (or /cancel)."))


@router.callback_query(ManageInviteCb.filter())
async def on_invite(callback: CallbackQuery, callback_data: ManageInviteCb, access: Access,
                    session: AsyncSession, clock: Clock, settings: Settings, bot: Bot) -> None:
    """An invite link for a role (the service decides who may invite whom)."""
    invite = await invites.create_invite(
        session, access=access, clock=clock, role=callback_data.role,
        community_id=callback_data.community_id or None,
        ttl=timedelta(days=settings.invite_ttl_days))
    await callback.answer()
    await send(callback, await invite_text(invite, session, bot, settings))


@router.callback_query(ManageInvitesCb.filter())
async def on_invites(callback: CallbackQuery, callback_data: ManageInvitesCb, access: Access,
                     session: AsyncSession, clock: Clock, settings: Settings) -> None:
    """🔗 Open invites, each with Revoke."""
    text, builder = await invites_screen(access, session, clock, settings,
                                         callback_data.community_id or None)
    await callback.answer()
    await send(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ManageRevokeCb.filter())
async def on_revoke(callback: CallbackQuery, callback_data: ManageRevokeCb, access: Access,
                    session: AsyncSession, clock: Clock, settings: Settings) -> None:
    """Revoke an invite, then the open invites again."""
    await invites.revoke_invite(session, access=access, clock=clock,
                                invite_id=callback_data.invite_id)
    text, builder = await invites_screen(access, session, clock, settings,
                                         callback_data.community_id or None)
    await callback.answer()
    await send(callback, text, reply_markup=builder.as_markup())


async def zone_for(session: AsyncSession, settings: Settings,
                   community_id: int | None) -> ZoneInfo:
    if community_id is None:
        return ZoneInfo(settings.timezone)
    return await communities.zone_of(session, community_id)


async def invite_text(invite: Invite, session: AsyncSession, bot: Bot, settings: Settings) -> str:
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={INVITE_PREFIX}{invite.token}"
    until = say_moment(invite.expires_at, await zone_for(session, settings, invite.community_id))
    where = ""
    if invite.community_id is not None:
        community = await communities.get_community(session, community_id=invite.community_id)
        where = html.escape(community.name)
    return _("Invite link for a {role}{where}. It works once, until {until}. "
             "Send it only to that person:\n{link}").format(
        role=role_name(invite.role), where=f" · {where}" if where else "", until=until,
        link=link)


async def invites_screen(
    access: Access, session: AsyncSession, clock: Clock, settings: Settings,
    community_id: int | None,
) -> tuple[str, InlineKeyboardBuilder]:
    found = await invites.list_open_invites(session, access=access, clock=clock,
                                            community_id=community_id)
    builder = InlineKeyboardBuilder()
    zone = await zone_for(session, settings, community_id)
    lines = []
    for number, invite in enumerate(found, start=1):
        lines.append(_("{n}. {role}, until {until}").format(
            n=number, role=role_name(invite.role), until=say_moment(invite.expires_at, zone)))
        builder.button(text=_("Revoke {n}").format(n=number), callback_data=ManageRevokeCb(
            community_id=community_id or 0, invite_id=invite.id or 0))
    builder.adjust(3)
    text = _("Open invites:") + "\n" + "\n".join(lines) if lines else _("No open invites.")
    return text, builder


@router.message(Manage.community_name, F.text, ~F.text.startswith("/"))
async def on_community_name(
    message: Message, access: Access, session: AsyncSession, state: FSMContext, clock: Clock,
    settings: Settings,
) -> None:
    """The name of a new community. A name refused (empty, too long) gets the error
    router's words and the step waits for another."""
    try:
        community = await communities.create_community(
            session, access=access, clock=clock, name=message.text or "",
            timezone=settings.timezone)
    except NotAllowed:  # no longer an admin: the step ends
        await state.clear()
        await show_menu(message, access, _("Only a district admin can create communities."))
        return
    except AlreadyExists:
        await message.answer(_("A community with this name already exists. "
                               "Please send another name."))
        return
    await state.clear()
    text, builder = await community_screen(access, session, community.id or 0)
    await message.answer(_("Community created ✅") + "\n\n" + text,
                         reply_markup=builder.as_markup())


@router.message(Manage.grid_names, F.text, ~F.text.startswith("/"))
async def on_grid_names(
    message: Message, access: Access, session: AsyncSession, state: FSMContext, clock: Clock,
) -> None:
    """Grid names, one per line; existing ones are reported, not duplicated."""
    community_id = int((await state.get_data()).get("community_id") or 0)
    added, skipped = [], []
    for line in (message.text or "").splitlines():
        if not line.strip():
            continue
        try:
            grid = await communities.create_grid(session, access=access, clock=clock,
                                                 community_id=community_id, name=line)
            added.append(grid.name)
        except NotAllowed:  # no longer staff here: the step ends
            await state.clear()
            await show_menu(message, access, _("You can't do that here. "
                                               "Only staff of this community can."))
            return
        except (InvalidInput, AlreadyExists) as error:  # the other lines still count
            reason = reply_for(error) if isinstance(error, InvalidInput) else _("already exists")
            skipped.append(f"{html.escape(line.strip()[:64])}: {reason}")
    if not added and not skipped:
        await message.answer(_("Please send at least one name."))
        return
    await state.clear()
    parts = []
    if added:
        parts.append(_("Added: {names}").format(names="、".join(html.escape(n) for n in added)))
    if skipped:
        parts.append(_("Not added:") + "\n" + "\n".join(skipped))
    text, builder = await community_screen(access, session, community_id)
    await message.answer("\n".join(parts) + "\n\n" + text, reply_markup=builder.as_markup())
