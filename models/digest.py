"""When a staff member wants their daily digest (no row: off, the default)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class DigestSetting(SQLModel, table=True):
    """A staff member's daily digest time: minutes after local midnight."""

    __tablename__ = "staff_digests"

    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"),
                                          primary_key=True))
    minutes: int
    updated_at: datetime = Field(sa_type=UTCDateTime)
