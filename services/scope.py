"""Which community a person acts for, when they serve more than one.

A district admin serves every community (700 of them in a district); staff serve
the communities they are staff of, teachers those they teach in. Every staff or
teacher tool begins by choosing one (bot/keyboards/communities.py draws the
picker, handlers/scope.py runs it); a person who serves just one never sees it.
Names sort as people count (社区2 before 社区10) and can be searched by any part
(Chinese names have no spaces to split on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Community
from services.access import Access
from services.errors import NotAllowed

PER_PAGE = 8
DIGITS = re.compile(r"(\d+)")


class Serving(StrEnum):
    """In which capacity the person picks: as staff (admins: everywhere) or as a teacher
    (where they teach, or are staff)."""

    STAFF = "s"
    TEACHER = "t"


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts 社区2 before 社区10 and ignores case."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in DIGITS.split(name) if part)


def serves(access: Access, community_id: int, serving: Serving) -> bool:
    if serving == Serving.STAFF:
        return access.can_manage(community_id)
    return (community_id in access.teacher_of or access.can_manage(community_id))


def require_serving(access: Access, community_id: int, serving: Serving) -> None:
    """NotAllowed unless the person may act for the community in that capacity (a
    pressed community button is re-checked with this)."""
    if not serves(access, community_id, serving):
        raise NotAllowed(f"does not serve community {community_id} as {serving}")


@dataclass(frozen=True)
class ScopePage:
    """One page of the communities a person may pick, after a search."""

    items: list[Community]
    page: int
    pages: int
    total: int
    query: str


async def served(session: AsyncSession, *, access: Access, serving: Serving) -> list[Community]:
    """Every community the person may act for, in natural order."""
    query = select(Community)
    if not access.is_admin:
        ids = set(access.staff_of) | (set(access.teacher_of) if serving == Serving.TEACHER
                                      else set())
        query = query.where(col(Community.id).in_(sorted(ids)))
    communities = list((await session.execute(query)).scalars())
    return sorted(communities, key=lambda c: (natural_key(c.name), c.id or 0))


async def pick_page(session: AsyncSession, *, access: Access, serving: Serving, query: str = "",
                    page: int = 0, first: int | None = None,
                    per_page: int = PER_PAGE) -> ScopePage:
    """A page of the communities the person may pick, those whose name contains `query`
    (any case), `first` (the one they chose last time) at the top."""
    wanted = query.strip().casefold()
    found = [c for c in await served(session, access=access, serving=serving)
             if wanted in c.name.casefold()]
    if first is not None:
        found.sort(key=lambda c: c.id != first)  # stable: the rest keep their order
    total = len(found)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    return ScopePage(items=found[page * per_page:(page + 1) * per_page], page=page,
                     pages=pages, total=total, query=query.strip())


async def only_one(session: AsyncSession, *, access: Access, serving: Serving) -> int | None:
    """The community when the person serves exactly one (no need to ask), else None."""
    if access.is_admin:
        return None
    ids = set(access.staff_of) | (set(access.teacher_of) if serving == Serving.TEACHER
                                  else set())
    return next(iter(ids)) if len(ids) == 1 else None
