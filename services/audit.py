"""Writing to the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import AuditEntry
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
