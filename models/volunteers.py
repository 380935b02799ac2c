"""Volunteers: profiles, tasks with shifts, claims of shifts, and the hours ledger.

    Volunteer (one per user) ──claims──▶ ShiftClaim ◀── Shift ◀── VolunteerTask
                                              │
                                              └──▶ HoursEntry (append-only ledger)

`Shift.taken` counts the live claims, so the headcount can be enforced with one
conditional UPDATE (`taken < headcount`) however many people tap at once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

TITLE_MAX = 80
PLACE_MAX = 120
DESCRIPTION_MAX = 1000
OTHER_SKILL_MAX = 60
REASON_MAX = 300
DRAFT_KEY_MAX = 32


class Skill(StrEnum):
    """What a volunteer can do; a task asks for some of these."""

    PATROL = "patrol"
    ELDERLY = "elderly"
    TUTORING = "tutoring"
    HEALTH = "health"
    REPAIRS = "repairs"
    DIGITAL = "digital"
    TRANSLATION = "translation"
    EVENTS = "events"
    GREENING = "greening"
    FACILITATION = "facilitation"


class Slot(StrEnum):
    """When a volunteer is usually free: weekday or weekend, by part of the day."""

    WEEKDAY_MORNING = "wd_am"
    WEEKDAY_AFTERNOON = "wd_pm"
    WEEKDAY_EVENING = "wd_ev"
    WEEKEND_MORNING = "we_am"
    WEEKEND_AFTERNOON = "we_pm"
    WEEKEND_EVENING = "we_ev"


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    WITHDRAWN = "withdrawn"  # by the volunteer ("can't come" included)
    CANCELLED = "cancelled"  # the shift or task was cancelled by staff


class Attendance(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


class Volunteer(SQLModel, table=True):
    """A resident who offered to volunteer, with what they can do and when."""

    __tablename__ = "volunteers"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"),
                                          unique=True, nullable=False))
    community_id: int = Field(sa_column=Column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True, nullable=False))
    grid_id: int | None = Field(default=None, sa_column=Column(
        ForeignKey("grids.id", ondelete="SET NULL")))
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    other_skill: str | None = Field(default=None, max_length=OTHER_SKILL_MAX)
    slots: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    paused: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class VolunteerTask(SQLModel, table=True):
    """A piece of service work in a community, done in one or more shifts."""

    __tablename__ = "volunteer_tasks"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True, nullable=False))
    grid_id: int | None = Field(default=None, sa_column=Column(
        ForeignKey("grids.id", ondelete="SET NULL")))
    title: str = Field(max_length=TITLE_MAX)
    # The title in other languages, {locale: title}, shown to readers of that language.
    titles: dict[str, str] = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default="{}"))
    description: str = Field(default="", sa_type=Text)
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    place: str = Field(max_length=PLACE_MAX)
    # Where the place is, if staff shared it: only to tell whether a check-in was nearby.
    latitude: float | None = None
    longitude: float | None = None
    created_by: int | None = Field(default=None, sa_column=Column(
        ForeignKey("users.id", ondelete="SET NULL")))
    created_at: datetime = Field(sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The draft it was published from: a second ✅ Publish of the same draft finds this task.
    draft_key: str | None = Field(default=None, max_length=DRAFT_KEY_MAX, unique=True,
                                  index=True)


class Shift(SQLModel, table=True):
    """A stretch of time in which `headcount` volunteers are wanted for a task."""

    __tablename__ = "volunteer_shifts"
    __table_args__ = (Index("ix_volunteer_shifts_starts_at", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(sa_column=Column(
        ForeignKey("volunteer_tasks.id", ondelete="CASCADE"), index=True, nullable=False))
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    headcount: int
    taken: int = Field(default=0)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the "still short" call to the other volunteers went out (once per shift).
    short_ping_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ShiftClaim(SQLModel, table=True):
    """A volunteer's place on a shift, and what happened at it.

    One row per volunteer and shift: claiming again after withdrawing reuses it.
    Of a location shared at check-in only `near_place` is kept, never the point.
    """

    __tablename__ = "volunteer_claims"
    __table_args__ = (UniqueConstraint("shift_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(sa_column=Column(
        ForeignKey("volunteer_shifts.id", ondelete="CASCADE"), nullable=False))
    user_id: int = Field(sa_column=Column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False))
    status: ClaimStatus = Field(default=ClaimStatus.CLAIMED, sa_type=String(16))
    claimed_at: datetime = Field(sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=REASON_MAX)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    near_place: bool | None = None
    attendance: Attendance | None = Field(default=None, sa_type=String(16))
    attendance_by: int | None = Field(default=None, sa_column=Column(
        ForeignKey("users.id", ondelete="SET NULL")))


class HoursEntry(SQLModel, table=True):
    """One line of the hours ledger. Never updated or deleted.

    `minutes` is what the claim's hours are after this entry; `delta` is the
    change it made, so totals are a plain SUM(delta). A correction is a new
    entry with who made it and why.
    """

    __tablename__ = "volunteer_hours"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(sa_column=Column(
        ForeignKey("volunteer_claims.id", ondelete="CASCADE"), index=True, nullable=False))
    user_id: int = Field(sa_column=Column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False))
    community_id: int = Field(sa_column=Column(
        ForeignKey("communities.id", ondelete="CASCADE"), nullable=False))
    # When the work was done (the shift's start): what "hours this month" counts by.
    worked_at: datetime = Field(sa_type=UTCDateTime, index=True)
    minutes: int
    delta: int
    reason: str | None = Field(default=None, max_length=REASON_MAX)
    recorded_by: int | None = Field(default=None, sa_column=Column(
        ForeignKey("users.id", ondelete="SET NULL")))
    created_at: datetime = Field(sa_type=UTCDateTime)
