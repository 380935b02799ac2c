"""Staff announcements to an audience, sent through the outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, String, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class BroadcastStatus(StrEnum):
    SCHEDULED = "scheduled"  # queued, not yet due
    SENDING = "sending"
    DONE = "done"  # nothing left pending; the report has been sent
    CANCELLING = "cancelling"  # cancelled; a sender may still hold some rows, no report yet
    CANCELLED = "cancelled"  # cancelled, every row let go, the report sent


class Broadcast(SQLModel, table=True):
    """One announcement: what, to whom, when, and how it went.

    Its messages are outbox rows in the group `broadcast:<id>`; the counts in
    the delivery report are read from there, so they are never out of step.
    """

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    )  # None: the whole district (admins only)
    author_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"))
    )
    text: str = Field(sa_column=Column(Text, nullable=False))
    media: str | None = Field(default=None, sa_type=String(16))  # "photo" | "document"
    file_id: str | None = Field(default=None, max_length=256)
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    urgent: bool = False
    send_at: datetime = Field(sa_type=UTCDateTime)
    status: BroadcastStatus = Field(sa_type=String(16), index=True)
    total: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The draft it was made from: a second ✅ of the same draft (a double tap, handled at
    # the same time as the first) finds it taken instead of making another broadcast.
    draft_key: str | None = Field(default=None, max_length=32, unique=True, index=True)
    # The sender's progress message, edited as the broadcast goes out.
    progress_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    progress_message_id: int | None = None
