"""Communities and grids: creating them and finding them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, update
from sqlalchemy import select as select_columns
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from models.communities import COMMUNITY_NAME_MAX, GRID_NAME_MAX, Community, Grid
from models.db import write
from models.invites import Invite
from models.outbox import OutboxKind
from models.users import Role, RoleGrant, User
from models.volunteers import ClaimStatus, Shift, ShiftClaim, Volunteer
from services import audit, outbox
from services.access import Access
from services.clock import Clock
from services.errors import AlreadyExists, DomainError, NotAllowed, NotFound
from services.outbox import N_, Notify
from services.paging import Listing, one_page
from services.text import clean_text, like_pattern


@dataclass(frozen=True)
class Page:
    """One page of a list, with what is needed to draw the pager."""

    items: list[Community]
    page: int
    pages: int


def clean_name(raw: str, *, field: str, limit: int) -> str:
    """Trim and check a name typed by a person."""
    return clean_text(raw, field=field, limit=limit)


async def insert_unique(session: AsyncSession, row: SQLModel, name: str) -> None:
    """Insert a row whose name must be unique; AlreadyExists if it is taken.

    A savepoint keeps a clash from rolling back (and expiring) the rest of the
    caller's session, such as the user object the handler holds.
    """
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise AlreadyExists(name) from None


@dataclass(frozen=True)
class Manageable:
    """The communities an actor manages (a page of them for a district admin), and
    whether they may open new ones."""

    communities: list[Community]
    page: int
    pages: int
    can_create: bool


async def manageable(session: AsyncSession, *, access: Access, page: int = 0) -> Manageable:
    """What the 🛠 Manage screen lists: every community for a district admin, a page at a
    time; their own for staff; NotAllowed for anyone else."""
    if access.is_admin:
        found = await list_communities(session, page=page)
        return Manageable(communities=found.items, page=found.page, pages=found.pages,
                          can_create=True)
    if not access.is_staff:
        raise NotAllowed("managing communities is for staff")
    return Manageable(communities=[await get_community(session, community_id=cid)
                                   for cid in sorted(access.staff_of)],
                      page=0, pages=1, can_create=False)


async def get_community(session: AsyncSession, *, community_id: int) -> Community:
    """The community, or NotFound."""
    community = await session.get(Community, community_id)
    if community is None:
        raise NotFound(f"community {community_id}")
    return community


async def get_grid(session: AsyncSession, *, grid_id: int) -> Grid:
    """The grid, or NotFound."""
    grid = await session.get(Grid, grid_id)
    if grid is None:
        raise NotFound(f"grid {grid_id}")
    return grid


async def count_communities(session: AsyncSession) -> int:
    """How many communities the district has."""
    return int((await session.execute(select(func.count()).select_from(Community))).scalar_one())


# Built once, as services.paging explains.
_BY_NAME = (col(Community.name), col(Community.id))
_COMMUNITIES = Listing(select(Community).order_by(*_BY_NAME))
_COMMUNITIES_NAMED = Listing(select(Community).where(
    col(Community.name).ilike(bindparam("name"), escape="\\")).order_by(*_BY_NAME))
_GRIDS = (select(Grid).where(col(Grid.community_id) == bindparam("community_id"))
          .order_by(col(Grid.name), col(Grid.id)))


async def list_communities(
    session: AsyncSession, *, query: str | None = None, page: int = 0, per_page: int = 6
) -> Page:
    """Communities by name, optionally only those whose name contains `query`.

    Substring matching, not words: Chinese names have no spaces to split on.
    """
    listing, params = _COMMUNITIES, {}
    if query:
        listing, params = _COMMUNITIES_NAMED, {"name": like_pattern(query)}
    items, page, pages = await one_page(session, listing, page=page, per_page=per_page,
                                        params=params)
    return Page(items=items, page=page, pages=pages)


async def list_grids(session: AsyncSession, *, community_id: int) -> list[Grid]:
    """A community's grids by name."""
    rows = await session.execute(_GRIDS, {"community_id": community_id})
    return list(rows.scalars().all())


async def create_community(
    session: AsyncSession, *, access: Access, clock: Clock, name: str, timezone: str
) -> Community:
    """A district admin opens a new community."""
    access.require_admin()
    name = clean_name(name, field="community_name", limit=COMMUNITY_NAME_MAX)
    async with write(session):
        community = Community(name=name, timezone=timezone, created_at=clock.now())
        await insert_unique(session, community, name)
        audit.record(session, clock=clock, actor_id=access.user_id, action="community.create",
                     community_id=community.id, name=name)
    return community


async def create_grid(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int, name: str
) -> Grid:
    """An admin, or staff of the community, adds a grid to it."""
    access.require_manage(community_id)
    name = clean_name(name, field="grid_name", limit=GRID_NAME_MAX)
    async with write(session):
        await get_community(session, community_id=community_id)
        grid = Grid(community_id=community_id, name=name, created_at=clock.now())
        await insert_unique(session, grid, name)
        audit.record(session, clock=clock, actor_id=access.user_id, action="grid.create",
                     community_id=community_id, grid_id=grid.id, name=name)
    return grid


async def zone_of(session: AsyncSession, community_id: int) -> ZoneInfo:
    """The community's time zone (set from TIMEZONE when it was made); NotFound if it is
    gone. Every local time the bot says or reads is in this zone."""
    community = await session.get(Community, community_id)
    if community is None:
        raise NotFound(f"community {community_id}")
    return ZoneInfo(community.timezone)


def place_name(community: str, grid: str | None = None) -> str:
    """A community as every card, list and message names it, with its grid where one was
    chosen: "幸福社区 · 第二网格" (messages put 🏘 before it)."""
    return f"{community} · {grid}" if grid else community


async def where(session: AsyncSession, *, community_id: int, grid_id: int | None = None) -> str:
    """place_name() of a community (and grid) by id."""
    community = await session.get(Community, community_id)
    grid = await session.get(Grid, grid_id) if grid_id is not None else None
    return place_name(community.name if community else "?", grid.name if grid else None)


async def staff_of(session: AsyncSession, *, community_id: int) -> list[int]:
    """The community's staff who can be reached (an erased person has no Telegram id),
    in id order: whom a new report, offer or withdrawal is told to."""
    found = await session.execute(
        select(col(RoleGrant.user_id)).join(User, col(User.id) == col(RoleGrant.user_id))
        .where(col(RoleGrant.role) == Role.STAFF, col(RoleGrant.community_id) == community_id,
               col(User.tg_id).is_not(None)).distinct().order_by(col(RoleGrant.user_id)))
    return list(found.scalars())


# --- District: who works in a community, renaming, deleting an empty one ------------------


class MemberRole(StrEnum):
    """What a person does in a community, as the members screen lists them."""

    STAFF = "staff"
    TEACHER = "teacher"
    VOLUNTEER = "volunteer"


@dataclass(frozen=True)
class MemberRow:
    """One person with one role in a community; `grant_id` is the role to remove (a
    volunteer's profile is theirs to leave, so it has none)."""

    user_id: int
    name: str
    role: MemberRole
    since: datetime
    grant_id: int | None
    can_remove: bool
    volunteer_id: int | None = None  # a volunteer's profile, removed instead of a grant


@dataclass(frozen=True)
class Members:
    """The members screen: staff, then teachers, then volunteers, each by since when;
    `rows` is one page of them (`page` of `pages`, `total` people in all)."""

    community: Community
    rows: list[MemberRow]
    can_rename: bool
    can_delete: bool
    page: int = 0
    pages: int = 1
    total: int = 0


MEMBERS_PAGE = 15  # people a page: the text and its ➖ buttons stay well inside the limits


def may_remove(access: Access, *, role: str, community_id: int | None) -> bool:
    """The same rule as inviting: admins remove anyone's role; staff remove teachers and
    volunteers of their own community."""
    if access.is_admin:
        return True
    return (role in (Role.TEACHER, MemberRole.VOLUNTEER) and community_id is not None
            and community_id in access.staff_of)


def shown_name(user: User) -> str:
    """A person as staff see them (an erased one has no name left)."""
    return user.first_name or (f"@{user.username}" if user.username else f"#{user.id}")


async def members(session: AsyncSession, *, access: Access, community_id: int,
                  page: int = 0) -> Members:
    """Staff, teachers and volunteers of a community, with role and since when, one page
    of MEMBERS_PAGE at a time (a page past the end shows the last)."""
    access.require_manage(community_id)
    community = await get_community(session, community_id=community_id)
    granted = (await session.execute(
        select(RoleGrant, User).join(User, col(User.id) == col(RoleGrant.user_id))
        .where(col(RoleGrant.community_id) == community_id,
               col(RoleGrant.role).in_([Role.STAFF, Role.TEACHER]))
    )).all()
    found = [MemberRow(user_id=user.id or 0, name=shown_name(user), role=MemberRole(grant.role),
                       since=grant.created_at, grant_id=grant.id,
                       can_remove=may_remove(access, role=grant.role,
                                             community_id=community_id))
             for grant, user in granted]
    volunteering = (await session.execute(
        select(Volunteer, User).join(User, col(User.id) == col(Volunteer.user_id))
        .where(col(Volunteer.community_id) == community_id)
    )).all()
    found += [MemberRow(user_id=user.id or 0, name=shown_name(user),
                        role=MemberRole.VOLUNTEER, since=profile.created_at, grant_id=None,
                        volunteer_id=profile.id,
                        can_remove=may_remove(access, role=MemberRole.VOLUNTEER,
                                              community_id=community_id))
              for profile, user in volunteering]
    order = list(MemberRole)
    found.sort(key=lambda row: (order.index(row.role), row.since, row.user_id))
    pages = max(1, -(-len(found) // MEMBERS_PAGE))
    page = min(max(page, 0), pages - 1)
    return Members(community=community,
                   rows=found[page * MEMBERS_PAGE:(page + 1) * MEMBERS_PAGE],
                   can_rename=access.is_admin,
                   can_delete=access.is_admin and await is_empty(
                       session, table="communities", row_id=community_id),
                   page=page, pages=pages, total=len(found))


@dataclass(frozen=True)
class Removed:
    """A role taken back: whose, which, where (for the screen and the person's message)."""

    user_id: int
    name: str
    role: MemberRole
    community: Community


async def role_grant(session: AsyncSession, *, access: Access, grant_id: int) -> Removed:
    """The role `grant_id`, if this person may remove it (what the question names)."""
    grant = await session.get(RoleGrant, grant_id)
    if grant is None or grant.community_id is None:
        raise NotFound(f"role grant {grant_id}")
    access.require_manage(grant.community_id)
    if not may_remove(access, role=grant.role, community_id=grant.community_id):
        raise NotAllowed(f"may not remove {grant.role}")
    user = await session.get(User, grant.user_id)
    community = await get_community(session, community_id=grant.community_id)
    return Removed(user_id=grant.user_id, name=shown_name(user) if user else "",
                   role=MemberRole(grant.role), community=community)


async def volunteer_profile(session: AsyncSession, *, access: Access,
                            volunteer_id: int) -> Removed:
    """The volunteer `volunteer_id`, if this person may remove them (what the question
    names)."""
    profile = await session.get(Volunteer, volunteer_id)
    if profile is None:
        raise NotFound(f"volunteer {volunteer_id}")
    access.require_manage(profile.community_id)
    if not may_remove(access, role=MemberRole.VOLUNTEER, community_id=profile.community_id):
        raise NotAllowed("may not remove volunteers")
    user = await session.get(User, profile.user_id)
    community = await get_community(session, community_id=profile.community_id)
    return Removed(user_id=profile.user_id, name=shown_name(user) if user else "",
                   role=MemberRole.VOLUNTEER, community=community)


REMOVED_KEYS = {  # what the person is told, one msgid per role so each is translated whole
    MemberRole.STAFF: N_("You are no longer a staff member of {community}. "
                         "Thank you for your work!"),
    MemberRole.TEACHER: N_("You are no longer a teacher of {community}. "
                           "Thank you for your work!"),
    MemberRole.VOLUNTEER: N_("You are no longer a volunteer of {community}: your places on "
                             "shifts still ahead were given back. Thank you for your help!"),
}


async def remove_role(
    session: AsyncSession, *, access: Access, clock: Clock, grant_id: int,
    notify: Notify | None = None,
) -> Removed:
    """Take a role back (audited); the person is told through the outbox. A second press
    finds the role gone: NotFound."""
    async with write(session):
        removed = await role_grant(session, access=access, grant_id=grant_id)
        await session.execute(delete(RoleGrant).where(col(RoleGrant.id) == grant_id))
        audit.record(session, clock=clock, actor_id=access.user_id, action="role.remove",
                     community_id=removed.community.id, role=str(removed.role),
                     user_id=removed.user_id)
        await outbox.queue(session, clock=clock, user_id=removed.user_id,
                           kind=OutboxKind.STATUS, key=REMOVED_KEYS[removed.role],
                           params={"community": removed.community.name},
                           dedupe_key=f"role.remove:{grant_id}", notify=notify)
    return removed


async def remove_volunteer(
    session: AsyncSession, *, access: Access, clock: Clock, volunteer_id: int,
    notify: Notify | None = None,
) -> Removed:
    """Take a volunteer off the community (audited, like a role): their profile goes, their
    places on shifts still ahead are given back (hours already served stay); they are told.
    A second press finds the profile gone: NotFound."""
    from services.volunteers import claim_group  # services.volunteers imports this module

    async with write(session):
        removed = await volunteer_profile(session, access=access, volunteer_id=volunteer_id)
        now = clock.now()
        ahead = (await session.execute(
            select(ShiftClaim, Shift).join(Shift, col(Shift.id) == col(ShiftClaim.shift_id))
            .where(col(ShiftClaim.user_id) == removed.user_id,
                   col(ShiftClaim.status) == ClaimStatus.CLAIMED,
                   col(Shift.starts_at) > now, col(Shift.cancelled_at).is_(None))
            .order_by(col(Shift.id)).with_for_update(of=Shift))).all()
        for claim, shift in ahead:
            claim.status, claim.withdrawn_at = ClaimStatus.WITHDRAWN, now
            session.add(claim)
            await session.execute(
                update(Shift).where(col(Shift.id) == shift.id, col(Shift.taken) > 0)
                .values(taken=col(Shift.taken) - 1).execution_options(synchronize_session=False))
            await outbox.cancel(session, group=claim_group(claim.id))
        await session.execute(delete(Volunteer).where(col(Volunteer.id) == volunteer_id))
        audit.record(session, clock=clock, actor_id=access.user_id, action="role.remove",
                     community_id=removed.community.id, role=str(removed.role),
                     user_id=removed.user_id)
        await outbox.queue(session, clock=clock, user_id=removed.user_id,
                           kind=OutboxKind.STATUS, key=REMOVED_KEYS[removed.role],
                           params={"community": removed.community.name},
                           dedupe_key=f"volunteer.remove:{volunteer_id}:{now.timestamp():.0f}",
                           notify=notify)
    return removed


async def rename_community(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int, name: str
) -> Community:
    """A district admin renames a community (audited, with the old name)."""
    access.require_admin()
    name = clean_name(name, field="community_name", limit=COMMUNITY_NAME_MAX)
    async with write(session):
        community = await get_community(session, community_id=community_id)
        old = community.name
        if old != name:
            if (await session.execute(select(col(Community.id)).where(
                    col(Community.name) == name))).first() is not None:
                raise AlreadyExists(name)
            community.name = name
            session.add(community)
            audit.record(session, clock=clock, actor_id=access.user_id,
                         action="community.rename", community_id=community_id, old=old,
                         name=name)
    return community


async def rename_grid(
    session: AsyncSession, *, access: Access, clock: Clock, grid_id: int, name: str
) -> Grid:
    """Staff of the community (or an admin) rename one of its grids."""
    grid = await get_grid(session, grid_id=grid_id)
    access.require_manage(grid.community_id)
    name = clean_name(name, field="grid_name", limit=GRID_NAME_MAX)
    async with write(session):
        grid = await get_grid(session, grid_id=grid_id)
        old = grid.name
        if old != name:
            if (await session.execute(select(col(Grid.id)).where(
                    col(Grid.community_id) == grid.community_id,
                    col(Grid.name) == name))).first() is not None:
                raise AlreadyExists(name)
            grid.name = name
            session.add(grid)
            audit.record(session, clock=clock, actor_id=access.user_id, action="grid.rename",
                         community_id=grid.community_id, grid_id=grid_id, old=old, name=name)
    return grid


class NotEmpty(DomainError):
    """A community or grid that still has people or activity cannot be deleted."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


# Rows that go with a community and do not make it "in use": its grids (checked one by
# one), open invites, and the audit log (which keeps its entries).
PART_OF = {"communities": {"grids", "invites", "audit_log"}, "grids": set()}


async def is_empty(session: AsyncSession, *, table: str, row_id: int) -> bool:
    """Nothing anywhere refers to this community (or grid): no residents, no roles, no
    courses, tasks, reports, polls, broadcasts… Read from the tables' foreign keys, so a
    feature added later is counted without being named here."""
    for other in SQLModel.metadata.sorted_tables:
        if other.name in PART_OF[table]:
            continue
        for key in other.foreign_keys:
            if key.column.table.name == table and key.column.name == "id":
                used = await session.execute(
                    select_columns(key.parent).where(key.parent == row_id).limit(1))
                if used.first() is not None:
                    return False
    if table == "communities":
        for grid in await list_grids(session, community_id=row_id):
            if not await is_empty(session, table="grids", row_id=grid.id or 0):
                return False
    return True


async def require_deletable(session: AsyncSession, *, access: Access,
                            community_id: int | None = None, grid_id: int | None = None) -> str:
    """Before asking "Delete …?": the name, if this person may delete it and nothing uses
    it (NotAllowed, NotEmpty otherwise). The Yes press checks it all again."""
    if grid_id is not None:
        grid = await get_grid(session, grid_id=grid_id)
        access.require_manage(grid.community_id)
        if not await is_empty(session, table="grids", row_id=grid_id):
            raise NotEmpty(grid.name)
        return grid.name
    access.require_admin()
    community = await get_community(session, community_id=community_id or 0)
    if not await is_empty(session, table="communities", row_id=community.id or 0):
        raise NotEmpty(community.name)
    return community.name


async def delete_community(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int
) -> str:
    """A district admin deletes a community nobody uses (NotEmpty otherwise); its grids
    and open invites go with it. Returns its name."""
    access.require_admin()
    async with write(session):
        community = await get_community(session, community_id=community_id)
        if not await is_empty(session, table="communities", row_id=community_id):
            raise NotEmpty(community.name)
        name = community.name
        await session.execute(delete(Invite).where(col(Invite.community_id) == community_id))
        await session.execute(delete(Grid).where(col(Grid.community_id) == community_id))
        await session.execute(delete(Community).where(col(Community.id) == community_id))
        audit.record(session, clock=clock, actor_id=access.user_id, action="community.delete",
                     name=name, deleted_community_id=community_id)
    return name


async def delete_grid(session: AsyncSession, *, access: Access, clock: Clock,
                      grid_id: int) -> Grid:
    """Staff (or an admin) delete a grid nobody uses (NotEmpty otherwise)."""
    grid = await get_grid(session, grid_id=grid_id)
    access.require_manage(grid.community_id)
    async with write(session):
        if not await is_empty(session, table="grids", row_id=grid_id):
            raise NotEmpty(grid.name)
        await session.execute(delete(Grid).where(col(Grid.id) == grid_id))
        audit.record(session, clock=clock, actor_id=access.user_id, action="grid.delete",
                     community_id=grid.community_id, grid_id=grid_id, name=grid.name)
    return grid
