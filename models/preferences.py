"""What each user wants to hear from the bot, and when.

Users without a row get the defaults: nothing muted, quiet from 21:00 to
08:00 in their community's time zone. Quiet hours that start when they end
(00:00–00:00) mean the user wants messages at any hour.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Column, ForeignKey, Integer, Time
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

QUIET_START = time(21, 0)
QUIET_END = time(8, 0)


class NotificationPrefs(SQLModel, table=True):
    """One user's notification preferences."""

    __tablename__ = "notification_prefs"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                         autoincrement=False)
    )
    muted: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quiet_start: time = Field(default=QUIET_START, sa_type=Time)
    quiet_end: time = Field(default=QUIET_END, sa_type=Time)
    updated_at: datetime = Field(sa_type=UTCDateTime)
