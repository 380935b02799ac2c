"""The outbox: every message the bot sends on its own initiative, kept until it is sent.

A row is queued by the domain (a reminder, a volunteer ping, an announcement,
a status update) and sent by the dispatcher in `scheduler/outbox.py`. Rows are
never deleted by sending; their status tells what happened:

    pending ──claim──▶ sending ──▶ sent
       ▲                 │  ├────▶ failed     (400, or retries used up)
       └──release/retry──┘  └────▶ skipped    (user blocked the bot, was erased, muted the kind)
    pending ──cancel──▶ cancelled
    sending ──cancel──▶ cancelled, still leased: the sender drops it unsent and lets go,
                        or it was already on its way and is settled as sent

What is sent is either literal `text` (HTML, sent as is) or a message `key` (an
English msgid) with JSON `params`, translated into the recipient's language when
it is sent. A photo or document is a Telegram `file_id`, or an `OutboxFile` held
in the database for content the bot made itself (an .ics file, a chart): it is
uploaded once and its file_id remembered for every later recipient.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlmodel import Field, SQLModel, col

from models.types import UTCDateTime

DEDUPE_KEY_MAX = 128
GROUP_KEY_MAX = 64


class OutboxKind(StrEnum):
    """What a message is about; users may mute some kinds (see models/preferences.py)."""

    REMINDER = "reminder"  # of something the user signed up for
    PING = "ping"  # a volunteer task matching the volunteer's skills
    ANNOUNCEMENT = "announcement"  # staff broadcast
    COURSE_NEWS = "course_news"  # a session of a course the user ordered or backed
    STATUS = "status"  # a change to the user's own concern, order, claim…


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class MediaKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


class OutboxMessage(SQLModel, table=True):
    """One message to one user."""

    __tablename__ = "outbox"
    __table_args__ = (
        # "Sending" rows whose lease ran out; the next row to fall due.
        Index("ix_outbox_status_not_before", "status", "not_before"),

        # Skipping a user's rows when they block the bot; the user_id foreign key.
        Index("ix_outbox_user_id_status", "user_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    # Whom the message is about when that is someone else (a staff notice naming a resident,
    # quoting their report or order): erasing that person blanks it too. Not indexed: only
    # an erasure reads it, rarely, and every broadcast row would pay for the index.
    about_user_id: int | None = Field(default=None, sa_column=Column(ForeignKey("users.id")))
    kind: OutboxKind = Field(sa_type=String(16))
    text: str | None = Field(default=None, sa_type=Text)
    key: str | None = Field(default=None, sa_type=Text)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    keyboard: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    media: MediaKind | None = Field(default=None, sa_type=String(16))
    file_id: str | None = Field(default=None, max_length=255)
    blob_id: int | None = Field(default=None, sa_column=Column(ForeignKey("outbox_files.id")))
    not_before: datetime = Field(sa_type=UTCDateTime)
    priority: int = Field(default=0)
    urgent: bool = Field(default=False)
    group_key: str | None = Field(default=None, max_length=GROUP_KEY_MAX, index=True)
    dedupe_key: str | None = Field(default=None, max_length=DEDUPE_KEY_MAX, unique=True)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=String(16))
    attempts: int = Field(default=0)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: int | None = Field(default=None, sa_type=BigInteger)


# The claim: pending rows in the order they go out, read from the index instead of
# sorting every due row (100,000 of them in a big broadcast) for each batch of 200.
Index("ix_outbox_claim_order", col(OutboxMessage.status),
      col(OutboxMessage.urgent).desc(), col(OutboxMessage.priority).desc(),
      col(OutboxMessage.not_before), col(OutboxMessage.id))


class OutboxFile(SQLModel, table=True):
    """A file the bot made itself, to attach to outbox messages.

    Uploaded with the first message that uses it; Telegram's file_id is kept in
    `file_id` and every later message sends that instead of the bytes.
    """

    __tablename__ = "outbox_files"

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=255)
    data: bytes = Field(sa_type=LargeBinary)
    file_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
