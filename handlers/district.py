"""District and staff tools inside 🛠 Manage community: a community's members (remove a
role), renaming and deleting communities and grids, and the audit log.

```mermaid
stateDiagram-v2
    Community --> Members: 👥 Members
    Members --> Remove: ➖ Remove <name> (<role>)
    Remove --> Members: Yes, remove the role (re-checked; the person is told)
    Remove --> Members: No, keep <name>
    Community --> CommunityName: ✏️ Rename (admin)
    CommunityName --> CommunityName: a name refused (empty, too long, taken)
    CommunityName --> Community: name sent
    Community --> DeleteCommunity: 🗑 Delete (admin; refused while anything uses it)
    DeleteCommunity --> List: Yes, delete it
    DeleteCommunity --> Community: No, keep it
    Community --> Grids: 🗺 Grids
    Grids --> Grid: a grid
    Grid --> GridName: ✏️ Rename
    GridName --> Grid: name sent
    Grid --> DeleteGrid: 🗑 Delete (refused while anything uses it)
    DeleteGrid --> Grids: Yes, delete it
    DeleteGrid --> Grid: No, keep it
    Community --> Audit: 📜 Audit log (the last 50)
    Audit --> Audit: 📥 Excel (every entry, oldest first)
    CommunityName --> [*]: /cancel
    GridName --> [*]: /cancel
```
The services re-check every press (role, community, that the thing is still there and
still empty); a refusal reaches the error router (bot/replies.py).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.common import ManageCommunityCb
from bot.callback_data.district import (
    AuditCb,
    CommunityEditAction,
    CommunityEditCb,
    GridEditAction,
    GridEditCb,
    MemberRemoveCb,
    MembersCb,
    StepAction,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.confirm import ask_once
from bot.screens import send, show
from bot.when import say_day, say_moment
from handlers.manage import community_screen, list_screen, role_name
from services import audit, communities, exports
from services.access import Access
from services.clock import Clock
from services.communities import MemberRole
from services.errors import AlreadyExists
from services.outbox import Notify
from services.text import cut

router = Router(name=__name__)
TEXT_MAX = 4096


class District(StatesGroup):
    community_name = State()
    grid_name = State()


# --- Members -----------------------------------------------------------------------------


def member_role_name(role: MemberRole) -> str:
    return {MemberRole.STAFF: _("staff member"), MemberRole.TEACHER: _("teacher"),
            MemberRole.VOLUNTEER: _("volunteer")}[role]


def member_heading(role: MemberRole) -> str:
    return {MemberRole.STAFF: _("Staff"), MemberRole.TEACHER: _("Teachers"),
            MemberRole.VOLUNTEER: _("Volunteers")}[role]


async def members_screen(access: Access, session: AsyncSession, clock: Clock,
                         community_id: int) -> tuple[str, InlineKeyboardBuilder]:
    """Who works in the community, by role and since when; ➖ for each role this person
    may remove."""
    found = await communities.members(session, access=access, community_id=community_id)
    zone = await communities.zone_of(session, community_id)
    today = clock.now().astimezone(zone).date()
    parts = [_("<b>{community}</b> · members").format(
        community=html.escape(found.community.name))]
    for role in MemberRole:
        people = [row for row in found.rows if row.role == role]
        if people:
            parts.append(member_heading(role) + "\n" + "\n".join(
                _("• {name}, since {day}").format(
                    name=html.escape(row.name),
                    day=say_day(row.since.astimezone(zone).date(), today=today))
                for row in people))
    if not found.rows:
        parts.append(_("Nobody works here yet: invite a staff member or a teacher."))
    builder = InlineKeyboardBuilder()
    for row in found.rows:
        if row.can_remove and row.grant_id is not None:
            builder.button(text=_("➖ Remove {name} ({role})").format(
                name=row.name, role=member_role_name(row.role)),
                callback_data=MemberRemoveCb(action=StepAction.ASK, grant_id=row.grant_id))
    builder.button(text=_("◀ Back"), callback_data=ManageCommunityCb(community_id=community_id))
    builder.adjust(1)
    return cut("\n\n".join(parts), TEXT_MAX), builder


@router.callback_query(MembersCb.filter())
async def on_members(callback: CallbackQuery, callback_data: MembersCb, access: Access,
                     session: AsyncSession, clock: Clock) -> None:
    """👥 Members: staff, teachers and volunteers with role and since when."""
    text, builder = await members_screen(access, session, clock, callback_data.community_id)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(MemberRemoveCb.filter(F.action == StepAction.ASK))
async def on_remove(callback: CallbackQuery, callback_data: MemberRemoveCb, access: Access,
                    session: AsyncSession) -> None:
    """➖ Remove: the members card becomes the question."""
    found = await communities.role_grant(session, access=access,
                                         grant_id=callback_data.grant_id)
    await callback.answer()
    await show(callback, _("Remove {name} as a {role} of {community}? They will be told.").format(
        name=html.escape(found.name), role=role_name(found.role),
        community=html.escape(found.community.name)), reply_markup=ask_once(
            yes=_("Yes, remove the role"),
            do=MemberRemoveCb(action=StepAction.DO, grant_id=callback_data.grant_id),
            no=_("No, keep {name}").format(name=found.name),
            keep=MembersCb(community_id=found.community.id or 0)))


@router.callback_query(MemberRemoveCb.filter(F.action == StepAction.DO))
async def on_remove_confirmed(
    callback: CallbackQuery, callback_data: MemberRemoveCb, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """Yes, remove the role: re-checked, audited, the person told; the members again."""
    removed = await communities.remove_role(session, access=access, clock=clock,
                                            grant_id=callback_data.grant_id,
                                            notify=outbox_notify)
    text, builder = await members_screen(access, session, clock, removed.community.id or 0)
    await callback.answer()
    note = _("{name} is no longer a {role} of {community}.").format(
        name=html.escape(removed.name), role=role_name(removed.role),
        community=html.escape(removed.community.name))
    await show(callback, note + "\n\n" + text, reply_markup=builder.as_markup())


# --- Renaming and deleting a community -------------------------------------------------


@router.callback_query(CommunityEditCb.filter(F.action == CommunityEditAction.RENAME))
async def on_rename_community(callback: CallbackQuery, callback_data: CommunityEditCb,
                              access: Access, session: AsyncSession, state: FSMContext) -> None:
    """✏️ Rename (admins): ask for the new name."""
    access.require_admin()
    community = await communities.get_community(session, community_id=callback_data.community_id)
    await state.set_state(District.community_name)
    await state.update_data(community_id=community.id)
    await callback.answer()
    await send(callback, _("Send the new name for {name} (or /cancel).").format(
        name=html.escape(community.name)))


@router.message(District.community_name, F.text, ~F.text.startswith("/"))
async def on_community_name(message: Message, access: Access, session: AsyncSession,
                            state: FSMContext, clock: Clock) -> None:
    """The new name; refused ones (empty, too long) get the error router's words and the
    step waits for another."""
    community_id = int((await state.get_data()).get("community_id") or 0)
    try:
        await communities.rename_community(session, access=access, clock=clock,
                                           community_id=community_id, name=message.text or "")
    except AlreadyExists:
        await message.answer(_("A community with this name already exists. "
                               "Please send another name."))
        return
    await state.clear()
    text, builder = await community_screen(access, session, community_id)
    await message.answer(_("Renamed ✅") + "\n\n" + text, reply_markup=builder.as_markup())


@router.callback_query(CommunityEditCb.filter(F.action == CommunityEditAction.DELETE))
async def on_delete_community(callback: CallbackQuery, callback_data: CommunityEditCb,
                              access: Access, session: AsyncSession) -> None:
    """🗑 Delete (admins, only when nothing uses it): asked once."""
    name = await communities.require_deletable(session, access=access,
                                               community_id=callback_data.community_id)
    await callback.answer()
    await show(callback, _("Delete the community {name} and its grids? This cannot be "
                           "undone.").format(name=html.escape(name)), reply_markup=ask_once(
        yes=_("Yes, delete it"),
        do=CommunityEditCb(action=CommunityEditAction.DELETE_OK,
                           community_id=callback_data.community_id),
        no=_("No, keep the community"),
        keep=ManageCommunityCb(community_id=callback_data.community_id)))


@router.callback_query(CommunityEditCb.filter(F.action == CommunityEditAction.DELETE_OK))
async def on_delete_community_confirmed(callback: CallbackQuery, callback_data: CommunityEditCb,
                                        access: Access, session: AsyncSession,
                                        clock: Clock) -> None:
    """Yes, delete it: checked again, then the communities."""
    name = await communities.delete_community(session, access=access, clock=clock,
                                              community_id=callback_data.community_id)
    text, builder = await list_screen(access, session, page=0)
    await callback.answer()
    await show(callback, _("{name} is deleted.").format(name=html.escape(name)) + "\n\n" + text,
               reply_markup=builder.as_markup())


# --- Grids -------------------------------------------------------------------------------


async def grids_screen(access: Access, session: AsyncSession,
                       community_id: int) -> tuple[str, InlineKeyboardBuilder]:
    access.require_manage(community_id)
    community = await communities.get_community(session, community_id=community_id)
    builder = InlineKeyboardBuilder()
    for grid in await communities.list_grids(session, community_id=community_id):
        builder.button(text=grid.name, callback_data=GridEditCb(action=GridEditAction.OPEN,
                                                                id=grid.id or 0))
    builder.button(text=_("◀ Back"), callback_data=ManageCommunityCb(community_id=community_id))
    builder.adjust(1)
    return _("Grids of {community}:").format(community=html.escape(community.name)), builder


async def grid_screen(access: Access, session: AsyncSession,
                      grid_id: int) -> tuple[str, InlineKeyboardBuilder]:
    grid = await communities.get_grid(session, grid_id=grid_id)
    access.require_manage(grid.community_id)
    community = await communities.get_community(session, community_id=grid.community_id)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✏️ Rename"), callback_data=GridEditCb(action=GridEditAction.RENAME,
                                                                 id=grid_id))
    builder.button(text=_("🗑 Delete"), callback_data=GridEditCb(action=GridEditAction.DELETE,
                                                                id=grid_id))
    builder.button(text=_("◀ Back"), callback_data=GridEditCb(action=GridEditAction.LIST,
                                                             id=grid.community_id))
    builder.adjust(2, 1)
    return _("<b>{grid}</b> · {community}").format(
        grid=html.escape(grid.name), community=html.escape(community.name)), builder


@router.callback_query(GridEditCb.filter(F.action == GridEditAction.LIST))
async def on_grids(callback: CallbackQuery, callback_data: GridEditCb, access: Access,
                   session: AsyncSession) -> None:
    """🗺 Grids: each one a button."""
    text, builder = await grids_screen(access, session, callback_data.id)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(GridEditCb.filter(F.action == GridEditAction.OPEN))
async def on_grid(callback: CallbackQuery, callback_data: GridEditCb, access: Access,
                  session: AsyncSession) -> None:
    """One grid: rename or delete it."""
    text, builder = await grid_screen(access, session, callback_data.id)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(GridEditCb.filter(F.action == GridEditAction.RENAME))
async def on_rename_grid(callback: CallbackQuery, callback_data: GridEditCb, access: Access,
                         session: AsyncSession, state: FSMContext) -> None:
    """✏️ Rename a grid: ask for the new name."""
    grid = await communities.get_grid(session, grid_id=callback_data.id)
    access.require_manage(grid.community_id)
    await state.set_state(District.grid_name)
    await state.update_data(grid_id=grid.id)
    await callback.answer()
    await send(callback, _("Send the new name for {name} (or /cancel).").format(
        name=html.escape(grid.name)))


@router.message(District.grid_name, F.text, ~F.text.startswith("/"))
async def on_grid_name(message: Message, access: Access, session: AsyncSession,
                       state: FSMContext, clock: Clock) -> None:
    """The grid's new name (refused ones: the step waits for another)."""
    grid_id = int((await state.get_data()).get("grid_id") or 0)
    try:
        await communities.rename_grid(session, access=access, clock=clock, grid_id=grid_id,
                                      name=message.text or "")
    except AlreadyExists:
        await message.answer(_("This community already has a grid with this name. "
                               "Please send another name."))
        return
    await state.clear()
    text, builder = await grid_screen(access, session, grid_id)
    await message.answer(_("Renamed ✅") + "\n\n" + text, reply_markup=builder.as_markup())


@router.callback_query(GridEditCb.filter(F.action == GridEditAction.DELETE))
async def on_delete_grid(callback: CallbackQuery, callback_data: GridEditCb, access: Access,
                         session: AsyncSession) -> None:
    """🗑 Delete a grid (only when nothing uses it): asked once."""
    name = await communities.require_deletable(session, access=access, grid_id=callback_data.id)
    await callback.answer()
    await show(callback, _("Delete the grid {name}? This cannot be undone.").format(
        name=html.escape(name)), reply_markup=ask_once(
        yes=_("Yes, delete it"),
        do=GridEditCb(action=GridEditAction.DELETE_OK, id=callback_data.id),
        no=_("No, keep the grid"),
        keep=GridEditCb(action=GridEditAction.OPEN, id=callback_data.id)))


@router.callback_query(GridEditCb.filter(F.action == GridEditAction.DELETE_OK))
async def on_delete_grid_confirmed(callback: CallbackQuery, callback_data: GridEditCb,
                                   access: Access, session: AsyncSession, clock: Clock) -> None:
    """Yes, delete it: checked again, then the grids."""
    grid = await communities.delete_grid(session, access=access, clock=clock,
                                         grid_id=callback_data.id)
    text, builder = await grids_screen(access, session, grid.community_id)
    await callback.answer()
    await show(callback, _("{name} is deleted.").format(name=html.escape(grid.name))
               + "\n\n" + text, reply_markup=builder.as_markup())


# --- The audit log -----------------------------------------------------------------------


def _role(details: dict[str, Any]) -> str:
    return role_name(str(details.get("role", "")))


# What each action says, given its details and the person it was about.
ACTIONS: dict[str, Callable[[dict[str, Any], str], str]] = {
    "community.create": lambda d, s: _("opened the community {name}").format(
        name=d.get("name", "")),
    "community.rename": lambda d, s: _("renamed the community {old} to {name}").format(
        old=d.get("old", ""), name=d.get("name", "")),
    "grid.create": lambda d, s: _("added the grid {name}").format(name=d.get("name", "")),
    "grid.rename": lambda d, s: _("renamed the grid {old} to {name}").format(
        old=d.get("old", ""), name=d.get("name", "")),
    "grid.delete": lambda d, s: _("deleted the grid {name}").format(name=d.get("name", "")),
    "invite.create": lambda d, s: _("made an invite link for a {role}").format(role=_role(d)),
    "invite.revoke": lambda d, s: _("withdrew an invite link"),
    "role.grant": lambda d, s: _("{person} became a {role} with an invite link").format(
        person=s, role=_role(d)),
    "role.remove": lambda d, s: _("removed {person} as a {role}").format(person=s,
                                                                          role=_role(d)),
    "audit.export": lambda d, s: _("exported the audit log"),
    "figures.export": lambda d, s: _("exported the figures"),
    "broadcast.create": lambda d, s: _("wrote an announcement"),
    "broadcast.start": lambda d, s: _("sent an announcement"),
    "broadcast.cancel": lambda d, s: _("cancelled an announcement"),
    "course.offer": lambda d, s: _("offered a course"),
    "course.approve": lambda d, s: _("decided on an offered course"),
    "courses.settings": lambda d, s: _("changed the course rules"),
    "order.take": lambda d, s: _("took a course order"),
    "order.release": lambda d, s: _("handed a course order back"),
    "session.schedule": lambda d, s: _("scheduled a session"),
    "session.move": lambda d, s: _("moved a session"),
    "session.cancel": lambda d, s: _("cancelled a session"),
    "session.attendance": lambda d, s: _("marked attendance"),
    "poll.create": lambda d, s: _("created a poll"),
    "poll.close_now": lambda d, s: _("closed a poll"),
    "poll.export": lambda d, s: _("exported a poll"),
    "report.answer": lambda d, s: _("answered a report"),
    "report.assign": lambda d, s: _("assigned a report"),
    "report.status": lambda d, s: _("changed a report's status"),
    "volunteer.task.create": lambda d, s: _("created a volunteer task"),
    "volunteer.task.edit": lambda d, s: _("changed a volunteer task"),
    "volunteer.task.cancel": lambda d, s: _("cancelled a volunteer task"),
    "volunteer.shift.headcount": lambda d, s: _("changed a shift's headcount"),
    "volunteer.hours.confirm": lambda d, s: _("confirmed volunteer hours"),
    "volunteer.hours.confirm_all": lambda d, s: _("confirmed a month's volunteer hours"),
    "volunteer.hours.correct": lambda d, s: _("corrected volunteer hours"),
    "volunteer.absent": lambda d, s: _("marked a volunteer absent"),
    "volunteer.commend": lambda d, s: _("commended a volunteer"),
    "volunteer.export": lambda d, s: _("exported volunteer hours"),
}


def what(line: audit.Line) -> str:
    """An entry in words; an action without words of its own shows its code."""
    say = ACTIONS.get(line.action)
    return say(line.details, line.subject) if say else line.action


def who(line: audit.Line) -> str:
    return line.actor or _("the bot")


@router.callback_query(AuditCb.filter(~F.export))
async def on_audit(callback: CallbackQuery, callback_data: AuditCb, access: Access,
                   session: AsyncSession, clock: Clock) -> None:
    """📜 Audit log: the community's last 50 staff actions, newest first."""
    lines = await audit.recent(session, access=access, community_id=callback_data.community_id)
    community = await communities.get_community(session, community_id=callback_data.community_id)
    zone = await communities.zone_of(session, callback_data.community_id)
    now = clock.now()
    head = ngettext("<b>{community}</b> · the last staff action",
                    "<b>{community}</b> · the last {n} staff actions", len(lines)).format(
        community=html.escape(community.name), n=len(lines))
    body = "\n".join(_("{when} · {who}: {what}").format(
        when=say_moment(line.at, zone, now=now), who=html.escape(who(line)),
        what=html.escape(what(line))) for line in lines) or _("Nothing yet.")
    builder = InlineKeyboardBuilder()
    if lines:
        builder.button(text=_("📥 Excel"), callback_data=AuditCb(
            community_id=callback_data.community_id, export=True))
    builder.button(text=_("◀ Back"), callback_data=ManageCommunityCb(
        community_id=callback_data.community_id))
    builder.adjust(1)
    await callback.answer()
    # Cut at a line's end, so no HTML tag or name is split.
    text = head + "\n\n" + body
    while len(text.encode("utf-16-le")) // 2 > TEXT_MAX:
        text = text.rsplit("\n", 1)[0]
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(AuditCb.filter(F.export))
async def on_audit_export(callback: CallbackQuery, callback_data: AuditCb, access: Access,
                          session: AsyncSession, clock: Clock) -> None:
    """📥 Excel: every entry of the community, oldest first, with who did how much."""
    community_id = callback_data.community_id
    lines = await audit.recent(session, access=access, community_id=community_id,
                               limit=audit.EXPORT_LINES)
    community = await communities.get_community(session, community_id=community_id)
    zone = await communities.zone_of(session, community_id)
    book = exports.Workbook(title=_("Audit log · {community}").format(community=community.name))
    by_person = Counter(who(line) for line in lines)
    book.summary(_("Summary"), [(_("Actions"), len(lines), None)] + [
        (person, n, exports.share(n, len(lines))) for person, n in by_person.most_common()],
        headers=(_("Who"), _("Actions"), _("Share")))
    rows: list[list[exports.Cell]] = [
        [exports.local(line.at, zone), who(line), what(line)] for line in lines]
    book.sheet(_("Actions"), [_("When"), _("Who"), _("What")], rows, order=0)
    data = book.save()
    await audit.exported(session, access=access, clock=clock, community_id=community_id,
                         what="audit", rows=len(lines))
    await callback.answer()
    if callback.bot is not None:
        await callback.bot.send_document(
            callback.from_user.id, BufferedInputFile(data, "audit-log.xlsx"),
            caption=ngettext("Audit log · {community}: {n} entry",
                             "Audit log · {community}: {n} entries", len(lines)).format(
                community=html.escape(community.name), n=len(lines)))

