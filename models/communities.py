"""Communities and the grids they are divided into."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

COMMUNITY_NAME_MAX = 64
GRID_NAME_MAX = 64


class Community(SQLModel, table=True):
    """A neighbourhood with its own living room and staff."""

    __tablename__ = "communities"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=COMMUNITY_NAME_MAX, unique=True)
    timezone: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Grid(SQLModel, table=True):
    """A block of a community that volunteers and staff look after."""

    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(
        sa_column=Column(ForeignKey("communities.id", ondelete="CASCADE"), index=True,
                         nullable=False)
    )
    name: str = Field(max_length=GRID_NAME_MAX)
    created_at: datetime = Field(sa_type=UTCDateTime)
