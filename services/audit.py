"""The audit log: writing an entry with the caller's transaction, reading the last ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.audit import AuditEntry
from models.db import write
from models.users import User
from services.access import Access
from services.clock import Clock


def record(
    session: AsyncSession,
    *,
    clock: Clock,
    actor_id: int | None,
    action: str,
    community_id: int | None = None,
    **details: Any,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction (committed with it)."""
    entry = AuditEntry(
        at=clock.now(), actor_id=actor_id, action=action, community_id=community_id,
        details=details,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Line:
    """One audit entry as staff read it: when, who, what, and the names its ids stand for."""

    at: datetime
    actor: str
    action: str
    details: dict[str, Any]
    subject: str  # the person the action was about (details' user_id), if any


SCREEN_LINES = 50
EXPORT_LINES = 20_000


async def recent(session: AsyncSession, *, access: Access, community_id: int,
                 limit: int = SCREEN_LINES) -> list[Line]:
    """The community's last `limit` staff actions, newest first."""
    access.require_manage(community_id)
    entries = list((await session.execute(
        select(AuditEntry).where(col(AuditEntry.community_id) == community_id)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)
    )).scalars())
    ids = {e.actor_id for e in entries} | {
        e.details.get("user_id") for e in entries if isinstance(e.details.get("user_id"), int)}
    names: dict[int, str] = {}
    if ids - {None}:
        found = await session.execute(select(User).where(col(User.id).in_(ids - {None})))
        names = {u.id or 0: u.first_name or f"#{u.id}" for u in found.scalars()}

    def name(user_id: Any) -> str:
        return names.get(user_id, f"#{user_id}") if isinstance(user_id, int) else ""

    return [Line(at=e.at, actor=name(e.actor_id), action=e.action, details=dict(e.details),
                 subject=name(e.details.get("user_id"))) for e in entries]


async def exported(session: AsyncSession, *, access: Access, clock: Clock, community_id: int,
                   what: str, rows: int) -> None:
    """Note in the log that someone took a community's data away in a file."""
    access.require_manage(community_id)
    async with write(session):
        record(session, clock=clock, actor_id=access.user_id, action=f"{what}.export",
               community_id=community_id, rows=rows)
