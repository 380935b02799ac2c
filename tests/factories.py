"""Making people and places for tests in one line."""

from __future__ import annotations

from itertools import count

from sqlalchemy.ext.asyncio import AsyncSession

from models.communities import Community, Grid
from models.db import begin_write
from models.users import Role, RoleGrant, User
from services.access import Access, load_access
from services.clock import Clock

_ids = count(5000)


async def make_user(
    session: AsyncSession, clock: Clock, *, tg_id: int | None = None, name: str = "Ann",
    community: Community | None = None, consented: bool = True, locale: str | None = None,
) -> User:
    await begin_write(session)
    user = User(tg_id=tg_id or next(_ids), first_name=name, created_at=clock.now(),
                consented_at=clock.now() if consented else None, locale=locale,
                community_id=community.id if community else None)
    session.add(user)
    await session.commit()
    return user


async def make_community(session: AsyncSession, clock: Clock, name: str = "Sunny Court",
                         grids: tuple[str, ...] = ()) -> Community:
    await begin_write(session)
    community = Community(name=name, timezone="Asia/Shanghai", created_at=clock.now())
    session.add(community)
    await session.flush()
    for grid in grids:
        session.add(Grid(community_id=community.id, name=grid, created_at=clock.now()))
    await session.commit()
    return community


async def grant(session: AsyncSession, clock: Clock, user: User, role: Role,
                community: Community | None) -> Access:
    assert user.id is not None
    await begin_write(session)
    session.add(RoleGrant(user_id=user.id, role=role,
                          community_id=community.id if community else None,
                          created_at=clock.now()))
    await session.commit()
    return await load_access(session, user_id=user.id, bootstrap_admin=False)


def admin_access(user: User) -> Access:
    assert user.id is not None
    return Access(user_id=user.id, is_admin=True)
