"""Residents' voices: concerns and micro-renewal ideas, and neighbours backing ideas.

    Report (a concern or an idea, by one resident, about one grid)
       │  received ──▶ in_progress ──▶ resolved (the resident rates 1–5)
       │      │         ▲    └───────▶ declined (with a reason)
       │      │         └── reopened: by staff (from resolved or declined), or by the
       │      │             resident within 7 days of a 1–2 ⭐ rating
       │      ├──────────────────────▶ resolved / declined
       │      └──▶ withdrawn (by the resident, only while "received")
       └──◀ ReportBacking (one per neighbour, ideas only)

`Report.backers` counts the backings, so staff can order ideas by it cheaply;
it is kept with the backing rows in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

DESCRIPTION_MAX = 1000
ANSWER_MAX = 1000


class ReportCategory(StrEnum):
    ENVIRONMENT = "env"  # environment and cleanliness
    SAFETY = "safety"
    FACILITIES = "repair"  # facilities and repairs
    NEIGHBOURS = "neigh"  # neighbour relations
    CARE = "care"  # elderly and children's services
    IDEA = "idea"  # an idea for improvement ("micro-renewal")
    OTHER = "other"


class ReportStatus(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Report(SQLModel, table=True):
    """A concern or an idea a resident raised with their community's staff."""

    __tablename__ = "voice_reports"
    __table_args__ = (Index("ix_voice_reports_community_status", "community_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(
        ForeignKey("communities.id", ondelete="CASCADE"), nullable=False))
    grid_id: int | None = Field(default=None, sa_column=Column(
        ForeignKey("grids.id", ondelete="SET NULL")))
    author_id: int = Field(sa_column=Column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False))
    category: ReportCategory = Field(sa_type=String(16))
    description: str = Field(sa_type=Text)
    photo_file_id: str | None = Field(default=None, max_length=255)
    voice_file_id: str | None = Field(default=None, max_length=255)  # a voice note, played back
    latitude: float | None = None
    longitude: float | None = None
    status: ReportStatus = Field(default=ReportStatus.RECEIVED, sa_type=String(16))
    assignee_id: int | None = Field(default=None, sa_column=Column(
        ForeignKey("users.id", ondelete="SET NULL")))
    answer: str | None = Field(default=None, sa_type=Text)  # public: the resident sees it
    decline_reason: str | None = Field(default=None, sa_type=Text)
    backers: int = Field(default=0)
    rating: int | None = None
    rated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # when it was given
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The draft it was sent from: a second ✅ Send of the same draft (a double tap, a
    # replica handling the same press) finds this one instead of filing another.
    draft_key: str | None = Field(default=None, max_length=32, unique=True, index=True)


class ReportNote(SQLModel, table=True):
    """One entry of a report's thread, oldest first: a public answer staff wrote (or the
    reason it was not taken up), or the resident's reply to it (`author_id` is the
    report's author), in words or as a voice note. `Report.answer` keeps staff's latest."""

    __tablename__ = "voice_report_notes"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(sa_column=Column(
        ForeignKey("voice_reports.id", ondelete="CASCADE"), index=True, nullable=False))
    author_id: int | None = Field(default=None, sa_column=Column(
        ForeignKey("users.id", ondelete="SET NULL")))
    text: str = Field(sa_type=Text)
    voice_file_id: str | None = Field(default=None, max_length=255)  # a voice reply
    created_at: datetime = Field(sa_type=UTCDateTime)


class ReportBacking(SQLModel, table=True):
    """A neighbour's "me too" on an idea."""

    __tablename__ = "voice_backings"
    __table_args__ = (UniqueConstraint("report_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(sa_column=Column(
        ForeignKey("voice_reports.id", ondelete="CASCADE"), nullable=False))
    user_id: int = Field(sa_column=Column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
