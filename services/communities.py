"""Communities and grids: creating them and finding them."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from models.communities import COMMUNITY_NAME_MAX, GRID_NAME_MAX, Community, Grid
from models.db import write
from models.users import Role, RoleGrant, User
from services import audit
from services.access import Access
from services.clock import Clock
from services.errors import AlreadyExists, NotAllowed, NotFound
from services.text import clean_text


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


async def list_communities(
    session: AsyncSession, *, query: str | None = None, page: int = 0, per_page: int = 6
) -> Page:
    """Communities by name, optionally only those whose name contains `query`.

    Substring matching, not words: Chinese names have no spaces to split on.
    """
    where = []
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(col(Community.name).ilike(f"%{escaped}%", escape="\\"))
    total = int(
        (await session.execute(select(func.count()).select_from(Community).where(*where)))
        .scalar_one()
    )
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    items = (
        await session.execute(
            select(Community).where(*where).order_by(col(Community.name), col(Community.id))
            .offset(page * per_page).limit(per_page)
        )
    ).scalars().all()
    return Page(items=list(items), page=page, pages=pages)


async def list_grids(session: AsyncSession, *, community_id: int) -> list[Grid]:
    """A community's grids by name."""
    rows = await session.execute(
        select(Grid).where(col(Grid.community_id) == community_id)
        .order_by(col(Grid.name), col(Grid.id))
    )
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


async def staff_of(session: AsyncSession, *, community_id: int) -> list[int]:
    """The community's staff who can be reached (an erased person has no Telegram id),
    in id order: whom a new report, offer or withdrawal is told to."""
    found = await session.execute(
        select(col(RoleGrant.user_id)).join(User, col(User.id) == col(RoleGrant.user_id))
        .where(col(RoleGrant.role) == Role.STAFF, col(RoleGrant.community_id) == community_id,
               col(User.tg_id).is_not(None)).distinct().order_by(col(RoleGrant.user_id)))
    return list(found.scalars())
