"""The audit log: every staff and admin action, who and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """One staff or admin action."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    )
    action: str = Field(max_length=64)
    community_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("communities.id", ondelete="SET NULL"))
    )
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
