"""What we keep about a person: giving it to them (/mydata) and erasing it (/deleteme)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from models.db import begin_write
from models.users import RoleGrant, User
from services.clock import Clock

# Features whose tables hold free text or pictures a person wrote, or places the person
# holds (a seat, a shift), add a function here that blanks them or gives the places up,
# as of the given moment; the generic part below keeps rows for anonymous counts.
# Erasers run in erase_user's write transaction and must not commit.
Eraser = Callable[[AsyncSession, int, datetime], Awaitable[None]]
ERASERS: list[Eraser] = []


def _user_columns(table: Table) -> list[Any]:
    return [
        column for column in table.columns
        if any(fk.column.table.name == "users" and fk.column.name == "id"
               for fk in column.foreign_keys)
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


async def export_user_data(session: AsyncSession, *, user: User) -> dict[str, Any]:
    """Every row that is about this user, table by table.

    Found through foreign keys to users.id, so a feature that adds a table
    is covered without touching this code.
    """
    data: dict[str, Any] = {"user": {k: _plain(v) for k, v in user.model_dump().items()}}
    for table in SQLModel.metadata.sorted_tables:
        columns = _user_columns(table)
        if table.name == "users" or not columns:
            continue
        rows = (await session.execute(
            select(table).where(or_(*(column == user.id for column in columns)))
        )).mappings().all()
        if rows:
            data[table.name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return data


def export_as_json(data: dict[str, Any]) -> bytes:
    """The export as a readable UTF-8 JSON file."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


async def erase_user(session: AsyncSession, *, user: User, clock: Clock) -> None:
    """Erase a person's personal data; keep an anonymous row so counts stay true."""
    assert user.id is not None
    await begin_write(session)
    for eraser in ERASERS:
        await eraser(session, user.id, clock.now())
    await session.execute(delete(RoleGrant).where(RoleGrant.user_id == user.id))  # type: ignore[arg-type]
    user.tg_id = None
    user.first_name = None
    user.username = None
    user.consented_at = None
    user.deleted_at = clock.now()
    session.add(user)
    await session.commit()
