"""Managing communities: district admins and staff create grids and invite links.

```mermaid
stateDiagram-v2
    [*] --> List: 🛠 Manage community
    List --> CommunityName: ➕ New community (admin)
    CommunityName --> Community: name sent
    List --> Community: a community
    Community --> GridNames: ➕ Add grids
    GridNames --> Community: names sent
    Community --> Invite: invite a teacher / staff
    Community --> Invites: 🔗 open invites
    Invites --> Invites: revoke
```
Every button re-checks the presser's roles in services; the screens only
decide what is shown.
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

from bot.callback_data import ManageAction, ManageCb
from bot.config import Settings
from bot.filters import MenuButton
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.pager import add_pager
from bot.replies import answer_not_allowed, answer_out_of_date
from handlers.onboarding import INVITE_PREFIX, show_menu
from models.invites import Invite
from models.users import Role
from services import communities, invites
from services.access import Access
from services.clock import Clock
from services.errors import AlreadyExists, InvalidInput, InviteUnusable, NotAllowed, NotFound

router = Router(name=__name__)


class Manage(StatesGroup):
    community_name = State()
    grid_names = State()


def role_name(role: str) -> str:
    return {"teacher": _("teacher"), "staff": _("staff member"),
            "admin": _("district admin")}.get(role, role)


async def render_list(access: Access, session: AsyncSession,
                      page: int) -> tuple[str, InlineKeyboardBuilder]:
    builder = InlineKeyboardBuilder()
    if access.is_admin:
        found = await communities.list_communities(session, page=page)
        shown = found.items
    else:
        shown = [await communities.get_community(session, community_id=cid)
                 for cid in sorted(access.staff_of)]
    for community in shown:
        builder.button(text=community.name, callback_data=ManageCb(
            action=ManageAction.COMMUNITY, community_id=community.id or 0))
    builder.adjust(1)
    if access.is_admin:
        add_pager(builder, page=found.page, pages=found.pages,
                  make=lambda p: ManageCb(action=ManageAction.LIST, page=p))
        for label, cb in (
            (_("➕ New community"), ManageCb(action=ManageAction.NEW_COMMUNITY)),
            (_("🔑 Invite a district admin"),
             ManageCb(action=ManageAction.INVITE, role=Role.ADMIN)),
            (_("🔗 Open admin invites"), ManageCb(action=ManageAction.INVITES)),
        ):
            builder.row(InlineKeyboardButton(text=label, callback_data=cb.pack()))
    text = _("Choose a community:") if shown else _("There are no communities yet.")
    return text, builder


async def render_community(access: Access, session: AsyncSession,
                           community_id: int) -> tuple[str, InlineKeyboardBuilder]:
    community = await communities.get_community(session, community_id=community_id)
    grids = await communities.list_grids(session, community_id=community_id)
    grid_names = "、".join(html.escape(g.name) for g in grids) or _("none yet")
    text = _("<b>{name}</b>\nTime zone: {tz}\nGrids: {grids}").format(
        name=html.escape(community.name), tz=community.timezone, grids=grid_names)
    builder = InlineKeyboardBuilder()
    cb = ManageCb(action=ManageAction.NEW_GRID, community_id=community_id)
    builder.button(text=_("➕ Add grids"), callback_data=cb)
    builder.button(text=_("👩‍🏫 Invite a teacher"), callback_data=cb.model_copy(
        update={"action": ManageAction.INVITE, "role": Role.TEACHER}))
    if access.is_admin:
        builder.button(text=_("🧑‍💼 Invite a staff member"), callback_data=cb.model_copy(
            update={"action": ManageAction.INVITE, "role": Role.STAFF}))
    builder.button(text=_("🔗 Open invites"),
                   callback_data=cb.model_copy(update={"action": ManageAction.INVITES}))
    builder.button(text=_("◀ Back"), callback_data=ManageCb(action=ManageAction.LIST))
    builder.adjust(1)
    return text, builder


@router.message(MenuButton("manage"))
async def on_manage(message: Message, access: Access, session: AsyncSession) -> None:
    """🛠 Manage community: the communities this person may manage."""
    if not (access.is_admin or access.is_staff):
        await message.answer(_("This is for community staff. Ask your community's staff "
                               "for an invite link if you should have access."))
        return
    text, builder = await render_list(access, session, page=0)
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(ManageCb.filter())
async def on_manage_button(
    callback: CallbackQuery, callback_data: ManageCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock, settings: Settings, bot: Bot,
) -> None:
    """Every management button; each action re-checks the presser's rights."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    message = callback.message
    cid = callback_data.community_id or None
    action = callback_data.action
    if not (access.is_admin or (cid is not None and access.can_manage(cid))
            or (action == ManageAction.LIST and access.is_staff)):
        await answer_not_allowed(callback)
        return
    try:
        match action:
            case ManageAction.LIST:
                text, builder = await render_list(access, session, page=callback_data.page)
                await message.edit_text(text, reply_markup=builder.as_markup())
            case ManageAction.COMMUNITY:
                text, builder = await render_community(access, session, cid or 0)
                await message.edit_text(text, reply_markup=builder.as_markup())
            case ManageAction.NEW_COMMUNITY:
                access.require_admin()
                await state.set_state(Manage.community_name)
                await message.answer(_("Send the new community's name (or /cancel)."))
            case ManageAction.NEW_GRID:
                await communities.get_community(session, community_id=cid or 0)
                await state.set_state(Manage.grid_names)
                await state.update_data(community_id=cid)
                await message.answer(_("Send the grid names, one per line (or /cancel)."))
            case ManageAction.INVITE:
                invite = await invites.create_invite(
                    session, access=access, clock=clock, role=Role(callback_data.role),
                    community_id=cid, ttl=timedelta(days=settings.invite_ttl_days))
                await message.answer(await invite_text(invite, session, bot, settings))
            case ManageAction.INVITES | ManageAction.REVOKE:
                if action == ManageAction.REVOKE:
                    await invites.revoke_invite(session, access=access, clock=clock,
                                                invite_id=callback_data.invite_id)
                text, builder = await render_invites(access, session, clock, settings, cid)
                await message.answer(text, reply_markup=builder.as_markup())
    except NotAllowed:
        await answer_not_allowed(callback)
        return
    except (NotFound, InviteUnusable, ValueError):
        await answer_out_of_date(callback)
        return
    await callback.answer()


async def invite_text(invite: Invite, session: AsyncSession, bot: Bot, settings: Settings) -> str:
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={INVITE_PREFIX}{invite.token}"
    until = invite.expires_at.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")
    where = ""
    if invite.community_id is not None:
        community = await communities.get_community(session, community_id=invite.community_id)
        where = html.escape(community.name)
    return _("Invite link for a {role}{where}. It works once, until {until}. "
             "Send it only to that person:\n{link}").format(
        role=role_name(invite.role), where=f" · {where}" if where else "", until=until,
        link=link)


async def render_invites(
    access: Access, session: AsyncSession, clock: Clock, settings: Settings,
    community_id: int | None,
) -> tuple[str, InlineKeyboardBuilder]:
    found = await invites.list_open_invites(session, access=access, clock=clock,
                                            community_id=community_id)
    builder = InlineKeyboardBuilder()
    zone = ZoneInfo(settings.timezone)
    lines = []
    for number, invite in enumerate(found, start=1):
        until = invite.expires_at.astimezone(zone).strftime("%m-%d %H:%M")
        lines.append(_("{n}. {role}, until {until}").format(
            n=number, role=role_name(invite.role), until=until))
        builder.button(text=_("Revoke {n}").format(n=number), callback_data=ManageCb(
            action=ManageAction.REVOKE, community_id=community_id or 0, invite_id=invite.id or 0))
    builder.adjust(3)
    text = _("Open invites:") + "\n" + "\n".join(lines) if lines else _("No open invites.")
    return text, builder


@router.message(Manage.community_name, F.text, ~F.text.startswith("/"))
async def on_community_name(
    message: Message, access: Access, session: AsyncSession, state: FSMContext, clock: Clock,
    settings: Settings,
) -> None:
    """The name of a new community."""
    try:
        community = await communities.create_community(
            session, access=access, clock=clock, name=message.text or "",
            timezone=settings.timezone)
    except NotAllowed:
        await state.clear()
        await show_menu(message, access, _("Only a district admin can create communities."))
        return
    except InvalidInput as error:
        await message.answer(name_error(error) + "\n" + _("Please send the name again."))
        return
    except AlreadyExists:
        await message.answer(_("A community with this name already exists. "
                               "Please send another name."))
        return
    await state.clear()
    text, builder = await render_community(access, session, community.id or 0)
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
        except NotAllowed:
            await state.clear()
            await show_menu(message, access, _("You can't do that here. "
                                               "Only staff of this community can."))
            return
        except (InvalidInput, AlreadyExists, NotFound) as error:
            reason = name_error(error) if isinstance(error, InvalidInput) else _("already exists")
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
    text, builder = await render_community(access, session, community_id)
    await message.answer("\n".join(parts) + "\n\n" + text, reply_markup=builder.as_markup())


def name_error(error: InvalidInput | Exception) -> str:
    if isinstance(error, InvalidInput) and error.reason == "too_long":
        return _("The name is too long (at most 64 characters).")
    return _("The name is empty.")
