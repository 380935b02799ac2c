"""People and what they may do."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class Role(StrEnum):
    """Roles beyond "resident", which everybody is."""

    TEACHER = "teacher"
    STAFF = "staff"
    ADMIN = "admin"


LOCALES = ("zh", "en")  # the languages the bot speaks, first the default; User.locale


class User(SQLModel, table=True):
    """Someone who has talked to the bot.

    The Telegram id is kept apart from the primary key so that /deleteme can
    drop it (and the names) while the row, and the counts built on it, stay.
    """

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    tg_id: int | None = Field(default=None, sa_type=BigInteger, unique=True, index=True)
    first_name: str | None = Field(default=None, max_length=64)
    username: str | None = Field(default=None, max_length=32)
    locale: str | None = Field(default=None, max_length=8)
    community_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("communities.id", ondelete="SET NULL"), index=True),
    )
    grid_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("grids.id", ondelete="SET NULL"))
    )
    consented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    blocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoleGrant(SQLModel, table=True):
    """A role held by a user, scoped to a community (district-wide when empty)."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", "community_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), index=True,
                                          nullable=False))
    role: Role = Field(sa_type=String(16))
    community_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("communities.id", ondelete="CASCADE"))
    )
    granted_by: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
