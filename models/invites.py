"""One-time invite links that grant a role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime
from models.users import Role


class Invite(SQLModel, table=True):
    """A link `t.me/<bot>?start=<token>` that gives its first user a role."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True)
    role: Role = Field(sa_type=String(16))
    community_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("communities.id", ondelete="CASCADE"))
    )
    created_by: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_by: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"))
    )
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
