"""District and staff tools inside 🛠 Manage community: a community's members (remove a
role; a volunteer removed gets their shifts still ahead given back), renaming and deleting
communities and grids, and the audit log.

```mermaid
stateDiagram-v2
    Community --> Members: 👥 Members (staff, teachers, volunteers; 15 a page)
    Members --> Members: ◀ ▶ pages
    Members --> Remove: ➖ Remove <name> (<role>), a volunteer too
    Remove --> Members: Yes, remove the role (re-checked, audited, the person told; same page)
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

import asyncio
import html
from collections import Counter
from collections.abc import Callable
from datetime import date, time
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_date, format_timedelta
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.common import ManageCommunityCb, ManageListCb
from bot.callback_data.district import (
    AuditCb,
    CommunityEditAction,
    CommunityEditCb,
    DigestCb,
    ExportCb,
    ExportKind,
    FiguresCb,
    GridEditAction,
    GridEditCb,
    ManageFindCb,
    MemberRemoveCb,
    MembersCb,
    StepAction,
    VolunteerRemoveCb,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.communities import ScopeCb
from bot.keyboards.confirm import ask_once
from bot.keyboards.pager import add_pager
from bot.labels import category_text as report_category
from bot.labels import status_text
from bot.screens import send, show
from bot.when import BABEL, current_locale, say_day, say_moment, say_time
from handlers.manage import community_screen, list_screen, role_name
from handlers.scope import ask_community, chosen
from services import audit, communities, digest, exports, figures
from services.access import Access
from services.clock import Clock
from services.communities import MemberRole
from services.errors import AlreadyExists, NotAllowed
from services.outbox import Notify
from services.scope import Serving
from services.text import cut

router = Router(name=__name__)
TEXT_MAX = 4096


def fit(text: str) -> str:
    """At most a message's 4096 UTF-16 units, cut at a line's end, so no tag or escaped
    name is split."""
    while len(text.encode("utf-16-le")) // 2 > TEXT_MAX and "\n" in text:
        text = text.rsplit("\n", 1)[0]
    return cut(text, TEXT_MAX)


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
                         community_id: int, page: int = 0) -> tuple[str, InlineKeyboardBuilder]:
    """Who works in the community, by role and since when, a page at a time (◀ ▶); ➖ for
    each role on the page this person may remove."""
    found = await communities.members(session, access=access, community_id=community_id,
                                      page=page)
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
    if found.pages > 1:
        parts.append(ngettext("{count} person in all", "{count} people in all",
                              found.total).format(count=found.total))
    builder = InlineKeyboardBuilder()
    for row in [r for r in found.rows if r.can_remove]:
        label = _("➖ Remove {name} ({role})").format(name=cut(row.name, 40),
                                                     role=member_role_name(row.role))
        if row.grant_id is not None:
            builder.button(text=label, callback_data=MemberRemoveCb(
                action=StepAction.ASK, grant_id=row.grant_id, page=found.page))
        elif row.volunteer_id is not None:
            builder.button(text=label, callback_data=VolunteerRemoveCb(
                action=StepAction.ASK, volunteer_id=row.volunteer_id, page=found.page))
    builder.adjust(1)
    add_pager(builder, page=found.page, pages=found.pages,
              make=lambda n: MembersCb(community_id=community_id, page=n))
    builder.row(InlineKeyboardButton(
        text=_("◀ Back"), callback_data=ManageCommunityCb(community_id=community_id).pack()))
    return fit("\n\n".join(parts)), builder


@router.callback_query(MembersCb.filter())
async def on_members(callback: CallbackQuery, callback_data: MembersCb, access: Access,
                     session: AsyncSession, clock: Clock) -> None:
    """👥 Members: staff, teachers and volunteers with role and since when."""
    text, builder = await members_screen(access, session, clock, callback_data.community_id,
                                         callback_data.page)
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
        name=html.escape(found.name), role=member_role_name(found.role),
        community=html.escape(found.community.name)), reply_markup=ask_once(
            yes=_("Yes, remove the role"),
            do=MemberRemoveCb(action=StepAction.DO, grant_id=callback_data.grant_id,
                              page=callback_data.page),
            no=_("No, keep {name}").format(name=cut(found.name, 40)),
            keep=MembersCb(community_id=found.community.id or 0, page=callback_data.page)))


@router.callback_query(MemberRemoveCb.filter(F.action == StepAction.DO))
async def on_remove_confirmed(
    callback: CallbackQuery, callback_data: MemberRemoveCb, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """Yes, remove the role: re-checked, audited, the person told; the members again."""
    removed = await communities.remove_role(session, access=access, clock=clock,
                                            grant_id=callback_data.grant_id,
                                            notify=outbox_notify)
    await _removed(callback, access, session, clock, removed, callback_data.page)


async def _removed(callback: CallbackQuery, access: Access, session: AsyncSession,
                   clock: Clock, removed: communities.Removed, page: int) -> None:
    text, builder = await members_screen(access, session, clock, removed.community.id or 0,
                                         page)
    await callback.answer()
    note = _("{name} is no longer a {role} of {community}.").format(
        name=html.escape(removed.name), role=member_role_name(removed.role),
        community=html.escape(removed.community.name))
    await show(callback, fit(note + "\n\n" + text), reply_markup=builder.as_markup())


@router.callback_query(VolunteerRemoveCb.filter(F.action == StepAction.ASK))
async def on_remove_volunteer(callback: CallbackQuery, callback_data: VolunteerRemoveCb,
                              access: Access, session: AsyncSession) -> None:
    """➖ Remove a volunteer: the members card becomes the question."""
    found = await communities.volunteer_profile(session, access=access,
                                                volunteer_id=callback_data.volunteer_id)
    await callback.answer()
    await show(callback, _("Remove {name} as a volunteer of {community}? Their places on "
                           "shifts still ahead are given back; they will be told.").format(
        name=html.escape(found.name), community=html.escape(found.community.name)),
        reply_markup=ask_once(
            yes=_("Yes, remove the role"),
            do=VolunteerRemoveCb(action=StepAction.DO, volunteer_id=callback_data.volunteer_id,
                                 page=callback_data.page),
            no=_("No, keep {name}").format(name=cut(found.name, 40)),
            keep=MembersCb(community_id=found.community.id or 0, page=callback_data.page)))


@router.callback_query(VolunteerRemoveCb.filter(F.action == StepAction.DO))
async def on_remove_volunteer_confirmed(
    callback: CallbackQuery, callback_data: VolunteerRemoveCb, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """Yes, remove the role: re-checked, audited, the volunteer told; the members again."""
    removed = await communities.remove_volunteer(session, access=access, clock=clock,
                                                 volunteer_id=callback_data.volunteer_id,
                                                 notify=outbox_notify)
    await _removed(callback, access, session, clock, removed, callback_data.page)


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
    except NotAllowed:  # no longer an admin: the step ends, the error router says why
        await state.clear()
        raise
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
    except NotAllowed:  # no longer staff there: the step ends, the error router says why
        await state.clear()
        raise
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
    role = str(details.get("role", ""))
    return member_role_name(MemberRole.VOLUNTEER) if role == MemberRole.VOLUNTEER \
        else role_name(role)


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
    "reports.export": lambda d, s: _("exported the reports"),
    "sessions.export": lambda d, s: _("exported sessions and attendance"),
    "residents.export": lambda d, s: _("exported the residents by grid"),
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
    await show(callback, fit(head + "\n\n" + body), reply_markup=builder.as_markup())


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



# --- 📊 Figures ---------------------------------------------------------------------------

FIND_FLOW = "dd"  # 🔎 Find a community, from 🛠 Manage (handlers/scope.py's picker)


def say_month(month: str) -> str:
    """"2026-03" as people say it: 2026年3月 / Mar 2026."""
    day = date.fromisoformat(month + "-01")
    if current_locale() == "zh":
        return f"{day.year}年{day.month}月"
    return format_date(day, "MMM y", locale=babel_locale())


def babel_locale() -> str:
    return BABEL.get(current_locale(), "en_GB")


def say_hours(hours: float) -> str:
    return _("{h} h").format(h=f"{hours:.1f}".removesuffix(".0"))


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


def bullet(name: str, value: object) -> str:
    return _("• {name}: {value}").format(name=html.escape(name), value=value)


def grid_label(name: str | None) -> str:
    return name if name is not None else _("No grid")


def figures_text(found: figures.Figures) -> str:
    """The figures as a message, each section a paragraph."""
    title = "、".join(found.names) if len(found.names) <= 3 else ngettext(
        "{n} community", "{n} communities", len(found.names)).format(n=len(found.names))
    parts = [_("📊 <b>{title}</b> · figures").format(title=html.escape(title))]
    lines = [_("👥 Residents: {n} ({new} new in {month})").format(
        n=found.residents, new=found.new_this_month, month=say_month(found.month))]
    lines += [bullet(grid_label(g), n) for g, n in found.residents_by_grid]
    parts.append("\n".join(lines))
    lines = [_("💬 Reports: {n}").format(n=found.reports)]
    if found.reports:
        lines.append(" · ".join(f"{status_text(s)} {n}"
                                for s, n in found.reports_by_status.items()))
        lines.append(" · ".join(f"{report_category(c)} {n}"
                                for c, n in found.reports_by_category.items()))
        lines.append(_("Median time to a first answer: {wait} ({n} answered)").format(
            wait=format_timedelta(found.median_first_answer, locale=babel_locale())
            if found.median_first_answer is not None else "–", n=found.answered))
    parts.append("\n".join(lines))
    lines = [_("📚 Sessions held: {n}").format(n=found.sessions_held)]
    if found.sessions_held:
        lines.append(_("Seats filled: {filled} of {seats} ({p})").format(
            filled=found.seats_filled, seats=found.seats,
            p=percent(found.seats_filled, found.seats)))
        lines.append(_("Attendance: {came} of {filled} ({p})").format(
            came=found.attended, filled=found.seats_filled,
            p=percent(found.attended, found.seats_filled)))
        if found.average_rating is not None:
            lines.append(ngettext("Rating: ⭐ {avg:.1f} from {n} rating",
                                  "Rating: ⭐ {avg:.1f} from {n} ratings", found.ratings).format(
                avg=found.average_rating, n=found.ratings))
    parts.append("\n".join(lines))
    total = sum(h for _g, h in found.hours_by_grid)
    lines = [_("🙋 Volunteer hours: {hours}").format(hours=say_hours(total))]
    lines += [bullet(grid_label(g), say_hours(h)) for g, h in found.hours_by_grid]
    lines += [bullet(say_month(m), say_hours(h)) for m, h in found.hours_by_month[-6:]]
    parts.append("\n".join(lines))
    parts.append(_("📢 Announcements sent: {n}, reaching {reached} of {total} people "
                   "({p})").format(n=found.broadcasts_sent, reached=found.broadcast_reached,
                                   total=found.broadcast_recipients,
                                   p=percent(found.broadcast_reached,
                                             found.broadcast_recipients)))
    return fit("\n\n".join(parts))  # 700 communities' grids: cut at a line's end


CHART_BARS = 15  # across hundreds of communities, the largest grids only


def largest(pairs: list[tuple[str | None, float]]) -> list[tuple[str | None, float]]:
    return sorted(pairs, key=lambda kv: -kv[1])[:CHART_BARS] if len(pairs) > CHART_BARS \
        else pairs


def figures_chart(found: figures.Figures) -> bytes:
    """Residents by grid, reports by status, volunteer hours by grid: one picture."""
    from services.charts import Section, bar_chart  # matplotlib loads on the first chart

    residents = largest([(g, float(n)) for g, n in found.residents_by_grid])
    hours = largest(found.hours_by_grid)
    sections = [
        Section(_("Residents by grid"), [grid_label(g) for g, _n in residents],
                {_("Residents"): [round(n) for _g, n in residents]}),
        Section(_("Reports by status"), [status_text(s) for s in found.reports_by_status],
                {_("Reports"): list(found.reports_by_status.values())}),
        Section(_("Volunteer hours by grid"), [grid_label(g) for g, _h in hours],
                {_("Hours"): [round(h) for _g, h in hours]}),
    ]
    return bar_chart(_("Figures"), [s for s in sections if s.labels] or sections[:1])


def figures_book(found: figures.Figures) -> bytes:
    """The workbook: a summary with totals and percentages, then a sheet per subject."""
    title = _("Figures · {names}").format(names="、".join(found.names[:3]) + (
        "…" if len(found.names) > 3 else ""))
    book = exports.Workbook(title=title)
    share = exports.share
    total_hours = sum(h for _g, h in found.hours_by_grid)
    book.summary(_("Summary"), [
        (_("Residents"), found.residents, None),
        (_("New this month"), found.new_this_month, share(found.new_this_month,
                                                          found.residents)),
        (_("Reports"), found.reports, None),
        (_("Answered"), found.answered, share(found.answered, found.reports)),
        (_("Resolved"), found.reports_by_status.get(figures.ReportStatus.RESOLVED, 0),
         share(found.reports_by_status.get(figures.ReportStatus.RESOLVED, 0), found.reports)),
        (_("Median hours to a first answer"),
         round(found.median_first_answer.total_seconds() / 3600, 1)
         if found.median_first_answer is not None else None, None),
        (_("Sessions held"), found.sessions_held, None),
        (_("Seats"), found.seats, None),
        (_("Seats filled"), found.seats_filled, share(found.seats_filled, found.seats)),
        (_("Attended"), found.attended, share(found.attended, found.seats_filled)),
        (_("Average rating"), round(found.average_rating, 2)
         if found.average_rating is not None else None, None),
        (_("Volunteer hours"), round(total_hours, 2), None),
        (_("Announcements sent"), found.broadcasts_sent, None),
        (_("Recipients"), found.broadcast_recipients, None),
        (_("Reached"), found.broadcast_reached, share(found.broadcast_reached,
                                                      found.broadcast_recipients)),
    ], headers=(_("Figure"), _("Total"), _("Share")))
    book.sheet(_("Residents by grid"), [_("Grid"), _("Residents"), _("Share")],
               [[grid_label(g), n, share(n, found.residents)]
                for g, n in found.residents_by_grid], percent=[2])
    book.sheet(_("Reports"), [_("Status or category"), _("Reports"), _("Share")],
               [[status_text(s), n, share(n, found.reports)]
                for s, n in found.reports_by_status.items()]
               + [[report_category(c), n, share(n, found.reports)]
                  for c, n in found.reports_by_category.items()], percent=[2])
    book.sheet(_("Volunteer hours"), [_("Month"), _("Hours")],
               [[say_month(m), round(h, 2)] for m, h in found.hours_by_month])
    book.sheet(_("Hours by grid"), [_("Grid"), _("Hours"), _("Share")],
               [[grid_label(g), round(h, 2), share(h, total_hours)]
                for g, h in found.hours_by_grid], percent=[2])
    return book.save()


async def figures_of(callback_data: FiguresCb, access: Access, session: AsyncSession,
                     clock: Clock) -> figures.Figures:
    ids = ([callback_data.community_id] if callback_data.community_id
           else await figures.all_community_ids(session, access=access))
    return await figures.figures(session, access=access, clock=clock, community_ids=ids)


@router.callback_query(FiguresCb.filter(~F.export))
async def on_figures(callback: CallbackQuery, callback_data: FiguresCb, access: Access,
                     session: AsyncSession, clock: Clock) -> None:
    """📊 Figures (community 0: every community, for an admin): a message and a chart."""
    found = await figures_of(callback_data, access, session, clock)
    await callback.answer(_("Drawing the chart…"))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📥 Excel"), callback_data=FiguresCb(
        community_id=callback_data.community_id, export=True))
    builder.button(text=_("◀ Back"), callback_data=ManageCommunityCb(
        community_id=callback_data.community_id) if callback_data.community_id
        else ManageListCb())
    builder.adjust(1)
    # Drawing takes a moment of CPU: off the event loop, so others are answered.
    png = await asyncio.to_thread(figures_chart, found)
    if callback.bot is not None:
        await callback.bot.send_photo(callback.from_user.id,
                                      BufferedInputFile(png, "figures.png"))
    await send(callback, figures_text(found), reply_markup=builder.as_markup())


@router.callback_query(FiguresCb.filter(F.export))
async def on_figures_export(callback: CallbackQuery, callback_data: FiguresCb, access: Access,
                            session: AsyncSession, clock: Clock) -> None:
    """📥 Excel: the figures as a workbook."""
    found = await figures_of(callback_data, access, session, clock)
    data = await asyncio.to_thread(figures_book, found)
    for community_id in ([callback_data.community_id] if callback_data.community_id else []):
        await audit.exported(session, access=access, clock=clock, community_id=community_id,
                             what="figures", rows=1)
    await callback.answer()
    if callback.bot is not None:
        await callback.bot.send_document(
            callback.from_user.id, BufferedInputFile(data, f"figures-{found.month}.xlsx"),
            caption=_("📊 The figures, with a summary sheet."))


# --- 🔎 Find a community (district admins, many communities) --------------------------------


@router.callback_query(ManageFindCb.filter())
async def on_find(callback: CallbackQuery, access: Access, session: AsyncSession,
                  state: FSMContext) -> None:
    """🔎 Find a community: the picker, where typing part of a name searches."""
    access.require_admin()
    await callback.answer()
    community_id = await ask_community(callback, state=state, access=access, session=session,
                                       flow=FIND_FLOW, serving=Serving.STAFF)
    if community_id is not None:
        text, builder = await community_screen(access, session, community_id)
        await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(ScopeCb.filter(F.flow == FIND_FLOW))
async def on_found(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                   session: AsyncSession, state: FSMContext) -> None:
    """A community picked: its screen, as from the list."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.STAFF)
    text, builder = await community_screen(access, session, community_id)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


# --- 📬 The daily digest's time (from ⚙️ Settings) ----------------------------------------

SHOW, OFF = -2, -1


async def digest_screen(access: Access,
                        session: AsyncSession) -> tuple[str, InlineKeyboardBuilder]:
    chosen_minutes = await digest.digest_time(session, user_id=access.user_id)
    now = (_("Now: every day at {time}.").format(time=say_time(minutes_time(chosen_minutes)))
           if chosen_minutes is not None else _("Now: off."))
    text = _("📬 <b>Daily digest</b>\nOnce a day, at a time you choose, a short list of what "
             "needs you: reports untouched for {days} days, 1–2 ⭐ ratings, shifts waiting for "
             "hours, new course offers, sessions a teacher cancelled, polls closing tomorrow, "
             "sessions tomorrow with free seats. Each line opens the thing. It waits for your "
             "quiet hours to end.").format(days=digest.UNTOUCHED_DAYS) + "\n\n" + now
    builder = InlineKeyboardBuilder()
    for minutes in digest.CHOICES:
        mark = "✓ " if minutes == chosen_minutes else ""
        builder.button(text=mark + say_time(minutes_time(minutes)),
                       callback_data=DigestCb(minutes=minutes))
    builder.button(text=("✓ " if chosen_minutes is None else "") + _("🔕 Off"),
                   callback_data=DigestCb(minutes=OFF))
    builder.adjust(3, 3, 1)
    return text, builder


def minutes_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@router.callback_query(DigestCb.filter(F.minutes == SHOW))
async def on_digest(callback: CallbackQuery, access: Access, session: AsyncSession) -> None:
    """📬 Daily digest: off by default; a time to choose."""
    if not access.is_staff:
        raise NotAllowed("the digest is for staff")
    text, builder = await digest_screen(access, session)
    await callback.answer()
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(DigestCb.filter(F.minutes != SHOW))
async def on_digest_time(callback: CallbackQuery, callback_data: DigestCb, access: Access,
                         session: AsyncSession, clock: Clock) -> None:
    """A time, or 🔕 Off: saved, the screen again."""
    await digest.set_digest_time(session, access=access, clock=clock,
                                 minutes=None if callback_data.minutes == OFF
                                 else callback_data.minutes)
    text, builder = await digest_screen(access, session)
    await callback.answer(_("Saved ✅"))
    await show(callback, text, reply_markup=builder.as_markup())


# --- 📥 Exports: reports, sessions and attendance, residents by grid -------------------------


@router.callback_query(ExportCb.filter(F.kind == ExportKind.MENU))
async def on_exports(callback: CallbackQuery, callback_data: ExportCb, access: Access,
                     session: AsyncSession) -> None:
    """📥 Exports: which file."""
    access.require_manage(callback_data.community_id)
    community = await communities.get_community(session, community_id=callback_data.community_id)
    builder = InlineKeyboardBuilder()
    for kind, label in ((ExportKind.REPORTS, _("💬 Reports")),
                        (ExportKind.LESSONS, _("📚 Sessions and attendance")),
                        (ExportKind.RESIDENTS, _("👥 Residents by grid"))):
        builder.button(text=label, callback_data=ExportCb(
            community_id=callback_data.community_id, kind=kind))
    builder.button(text=_("◀ Back"), callback_data=ManageCommunityCb(
        community_id=callback_data.community_id))
    builder.adjust(1)
    await callback.answer()
    await show(callback, _("📥 Excel files of {community}: which one?").format(
        community=html.escape(community.name)), reply_markup=builder.as_markup())


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


async def reports_book(access: Access, session: AsyncSession, community_id: int,
                       title: str) -> tuple[bytes, int]:
    found = await exports.report_rows(session, access=access, community_id=community_id)
    zone = await communities.zone_of(session, community_id)
    book = exports.Workbook(title=title)
    by_status = Counter(row.status for row in found)
    book.summary(_("Summary"), [(_("Reports"), len(found), None)] + [
        (status_text(s), n, exports.share(n, len(found))) for s, n in by_status.most_common()]
        + [(_("Answered"), sum(1 for r in found if r.first_answer),
            exports.share(sum(1 for r in found if r.first_answer), len(found)))],
        headers=(_("Figure"), _("Total"), _("Share")))
    book.sheet(_("Reports"), [_("No."), _("Received"), _("Category"), _("Grid"), _("Status"),
                              _("First answer"), _("Closed"), _("Rating"), _("Backers"),
                              _("Resident")],
               [[r.number, exports.local(r.received, zone), report_category(r.category),
                 grid_label(r.grid), status_text(r.status), exports.local(r.first_answer, zone),
                 exports.local(r.closed, zone), r.rating, r.backers, r.author]
                for r in found], order=1)
    return book.save(), len(found)


async def lessons_book(access: Access, session: AsyncSession, community_id: int,
                       title: str) -> tuple[bytes, int]:
    lessons, places = await exports.lesson_rows(session, access=access,
                                                community_id=community_id,
                                                locale=current_locale())
    zone = await communities.zone_of(session, community_id)
    held = [row for row in lessons if not row.cancelled]
    seats, filled = sum(r.capacity for r in held), sum(r.enrolled for r in held)
    came = sum(r.attended for r in held)
    book = exports.Workbook(title=title)
    book.summary(_("Summary"), [
        (_("Sessions"), len(lessons), None),
        (_("Cancelled"), len(lessons) - len(held), exports.share(len(lessons) - len(held),
                                                                len(lessons))),
        (_("Seats"), seats, None), (_("Seats filled"), filled, exports.share(filled, seats)),
        (_("Attended"), came, exports.share(came, filled)),
    ], headers=(_("Figure"), _("Total"), _("Share")))
    book.sheet(_("Sessions"), [_("When"), _("Session"), _("Teacher"), _("Venue"),
                               _("Cancelled"), _("Seats"), _("Enrolled"), _("Waiting"),
                               _("Attended"), _("Attendance"), _("Ratings"),
                               _("Average rating")],
               [[exports.local(r.starts, zone), r.title, r.teacher, r.venue,
                 yes_no(r.cancelled), r.capacity, r.enrolled, r.waiting, r.attended,
                 exports.share(r.attended, r.enrolled), r.ratings,
                 round(r.average, 2) if r.average is not None else None] for r in lessons],
               order=0, percent=[9])
    book.sheet(_("Places"), [_("When"), _("Session"), _("Person"), _("Place"), _("Came at"),
                             _("Rating")],
               [[exports.local(p.starts, zone), p.title, p.person, place_status(p.status),
                 exports.local(p.attended, zone), p.rating] for p in places], order=0)
    return book.save(), len(lessons)


def place_status(code: str) -> str:
    return {"enrolled": _("enrolled"), "offered": _("offered a freed seat"),
            "waiting": _("on the waiting list"), "cancelled": _("gave up the place")}.get(code,
                                                                                      code)


async def residents_book(access: Access, session: AsyncSession, community_id: int,
                         title: str) -> tuple[bytes, int]:
    found = await exports.resident_rows(session, access=access, community_id=community_id)
    zone = await communities.zone_of(session, community_id)
    by_grid = Counter(grid_label(r.grid) for r in found)
    book = exports.Workbook(title=title)
    book.summary(_("Summary"), [(_("Residents"), len(found), None)] + [
        (grid, n, exports.share(n, len(found))) for grid, n in sorted(by_grid.items())],
        headers=(_("Grid"), _("Residents"), _("Share")))
    book.sheet(_("Residents"), [_("Joined"), _("Grid"), _("Name")],
               [[exports.local(r.joined, zone), grid_label(r.grid), r.name] for r in found],
               order=0)
    return book.save(), len(found)


EXPORTS = {
    ExportKind.REPORTS: (reports_book, "reports", lambda: _("Reports · {community}")),
    ExportKind.LESSONS: (lessons_book, "sessions",
                         lambda: _("Sessions and attendance · {community}")),
    ExportKind.RESIDENTS: (residents_book, "residents",
                           lambda: _("Residents by grid · {community}")),
}


@router.callback_query(ExportCb.filter(F.kind != ExportKind.MENU))
async def on_export(callback: CallbackQuery, callback_data: ExportCb, access: Access,
                    session: AsyncSession, clock: Clock) -> None:
    """One Excel file (names only for those who manage the community: the service
    checks), its export noted in the audit log."""
    make, code, title = EXPORTS[callback_data.kind]
    community_id = callback_data.community_id
    access.require_manage(community_id)
    community = await communities.get_community(session, community_id=community_id)
    data, count = await make(access, session, community_id,
                             title().format(community=community.name))
    await audit.exported(session, access=access, clock=clock, community_id=community_id,
                         what=code, rows=count)
    await callback.answer()
    if callback.bot is not None:
        await callback.bot.send_document(
            callback.from_user.id, BufferedInputFile(data, f"{code}.xlsx"),
            caption=html.escape(title().format(community=community.name)))
