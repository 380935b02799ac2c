"""One page of a list in one query where that is enough (issue 18: round trips).

The page is read first; the rows counted only when the page cannot tell how many there
are: a page shorter than `per_page` is the last one, so the first page of a short list
(the common case) needs no COUNT, and a later short page neither.

A list read on everyday screens is a `Listing` built once, at import, with bound
parameters for what varies: SQLAlchemy caches a statement's SQL, not the Python objects
around it, and building a SELECT again (and its cache key) costs more CPU than SQLite
takes to run it (BENCHMARKS.md, issue 18's fourth pass).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession


class Listing:
    """A list's statements: a page of it (its offset and length bound at each read) and
    its count. `query` is ordered, with bindparams for what varies."""

    def __init__(self, query: Select[Any]) -> None:
        self.page = query.offset(bindparam("page_offset")).limit(bindparam("page_limit"))
        self.count = select(func.count()).select_from(query.order_by(None).subquery())


async def one_page(
    session: AsyncSession, listing: Listing | Select[Any], *, page: int, per_page: int,
    params: Mapping[str, Any] | None = None,
) -> tuple[list[Any], int, int]:
    """The rows of page `page` of `listing` (or of a query made for this read), that page
    clamped to what exists, and the number of pages (at least 1). `params` are the
    values of its bindparams."""
    if isinstance(listing, Select):
        listing = Listing(listing)
    page = max(page, 0)
    params = params or {}
    rows = await _rows(session, listing, params, page, per_page)
    if 0 < len(rows) < per_page or (page == 0 and not rows):
        return rows, page, page + 1
    total = int((await session.execute(listing.count, params)).scalar_one())
    pages = max(1, -(-total // per_page))
    if page > pages - 1:  # past the end: the last page instead
        page = pages - 1
        rows = await _rows(session, listing, params, page, per_page)
    return rows, page, pages


async def _rows(session: AsyncSession, listing: Listing, params: Mapping[str, Any], page: int,
                per_page: int) -> list[Any]:
    found = await session.execute(
        listing.page, {**params, "page_offset": page * per_page, "page_limit": per_page})
    return list(found.scalars().all())
