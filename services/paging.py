"""One page of a list in one query where that is enough (issue 18: round trips).

The page is read first; the rows counted only when the page cannot tell how many there
are: a page shorter than `per_page` is the last one, so the first page of a short list
(the common case) needs no COUNT, and a later short page neither.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def one_page(
    session: AsyncSession, query: Select[Any], *, page: int, per_page: int,
) -> tuple[list[Any], int, int]:
    """The rows of page `page` of `query` (ordered), that page clamped to what exists, and
    the number of pages (at least 1)."""
    page = max(page, 0)
    rows = await _rows(session, query, page, per_page)
    if 0 < len(rows) < per_page or (page == 0 and not rows):
        return rows, page, page + 1
    total = int((await session.execute(
        select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one())
    pages = max(1, -(-total // per_page))
    if page > pages - 1:  # past the end: the last page instead
        page = pages - 1
        rows = await _rows(session, query, page, per_page)
    return rows, page, pages


async def _rows(session: AsyncSession, query: Select[Any], page: int, per_page: int,
                ) -> list[Any]:
    return list((await session.execute(query.offset(page * per_page).limit(per_page)))
                .scalars().all())
