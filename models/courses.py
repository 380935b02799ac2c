"""Courses, "you order, I teach": the menu, residents' orders, sessions and enrolments.

    Course (menu entry, offered by a teacher, approved by staff)
    CourseOrder ──backed by──▶ OrderBacking          (residents ask for a course)
        │ taken by one teacher
        ▼
    Lesson ──▶ Enrolment (enrolled / waiting / offered … attended, rating)

An enrolment row is kept for each (session, person) pair and changes status
rather than being deleted, so the waitlist order and the history survive.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

TITLE_MAX = 60
DESCRIPTION_MAX = 500
VENUE_MAX = 100
BRING_MAX = 200  # what to bring, said on the session's card
COMMENT_MAX = 500
TOKEN_MAX = 32
DRAFT_MAX = 32


class Category(StrEnum):
    """The six categories of the course menu."""

    CIVIC = "civic"
    HEALTH = "health"
    ARTS = "arts"
    SKILLS = "skills"
    SPORTS = "sports"
    GOVERNANCE = "governance"


class CourseStatus(StrEnum):
    PENDING = "pending"  # offered, waiting for staff
    APPROVED = "approved"
    REJECTED = "rejected"


class OrderStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"  # a teacher took it and is arranging a session
    SCHEDULED = "scheduled"
    WITHDRAWN = "withdrawn"


class TimeOfDay(StrEnum):
    ANY = "any"
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


class LessonStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class EnrolmentStatus(StrEnum):
    ENROLLED = "enrolled"  # holds a seat
    OFFERED = "offered"  # holds a seat until `offered_until`, waiting for Confirm
    WAITING = "waiting"  # on the waitlist, in `queued_at` order
    CANCELLED = "cancelled"  # left, said "can't come", or let an offer lapse


# Statuses that hold one of the session's seats.
SEAT_HOLDING = (EnrolmentStatus.ENROLLED, EnrolmentStatus.OFFERED)


class CourseSettings(SQLModel, table=True):
    """A community's course rules; communities without a row get the defaults."""

    __tablename__ = "course_settings"

    community_id: int = Field(
        sa_column=Column(Integer, ForeignKey("communities.id", ondelete="CASCADE"),
                         primary_key=True, autoincrement=False)
    )
    threshold: int = Field(default=5)
    reminder_hours: list[int] = Field(default_factory=lambda: [24, 2],
                                      sa_column=Column(JSON, nullable=False))
    # How long a freed seat is kept for the next on the waiting list, counted from when the
    # offer reaches them (after their quiet hours).
    offer_hours: int = Field(default=12, sa_column_kwargs={"server_default": "12"})
    updated_at: datetime = Field(sa_type=UTCDateTime)


class TeacherSubject(SQLModel, table=True):
    """A category a teacher teaches: they see orders in it and are pinged about them."""

    __tablename__ = "teacher_subjects"
    __table_args__ = (UniqueConstraint("user_id", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    category: Category = Field(sa_type=String(16))


class Course(SQLModel, table=True):
    """A course on a community's menu, offered by a teacher or community expert."""

    __tablename__ = "courses"
    __table_args__ = (Index("ix_courses_community_status", "community_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(
        sa_column=Column(ForeignKey("communities.id", ondelete="CASCADE"), nullable=False)
    )
    teacher_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    )
    title: str = Field(max_length=TITLE_MAX)
    # The title in other languages, {locale: title}, shown to readers of that language.
    titles: dict[str, str] = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default="{}"))
    description: str = Field(default="", sa_type=Text)
    category: Category = Field(sa_type=String(16))
    minutes: int = Field(default=60)
    status: CourseStatus = Field(default=CourseStatus.PENDING, sa_type=String(16))
    created_at: datetime = Field(sa_type=UTCDateTime)
    reviewed_by: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"))
    )
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CourseOrder(SQLModel, table=True):
    """A resident's request for a course: a menu course or a topic of their own."""

    __tablename__ = "course_orders"
    __table_args__ = (Index("ix_course_orders_community_status", "community_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(
        sa_column=Column(ForeignKey("communities.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    course_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("courses.id", ondelete="SET NULL"))
    )
    topic: str = Field(max_length=TITLE_MAX)
    titles: dict[str, str] = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default="{}"))  # a menu course's, copied when ordered
    category: Category = Field(sa_type=String(16))
    days: int = Field(default=0)  # bit 0 = Monday … bit 6 = Sunday; 0: any day
    time_of_day: TimeOfDay = Field(default=TimeOfDay.ANY, sa_type=String(16))
    expected: int = Field(default=1)
    backers: int = Field(default=0)  # rows in order_backings, kept here for the threshold
    status: OrderStatus = Field(default=OrderStatus.OPEN, sa_type=String(16))
    alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    taken_by: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"))
    )
    taken_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The draft it was made from (a random token of the ordering conversation): the same
    # draft sent twice, by a double tap, makes one order.
    draft: str | None = Field(default=None, max_length=DRAFT_MAX, unique=True, index=True)


class OrderBacking(SQLModel, table=True):
    """A neighbour's "me too" on an order."""

    __tablename__ = "order_backings"
    __table_args__ = (UniqueConstraint("order_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(
        sa_column=Column(ForeignKey("course_orders.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = Field(sa_type=UTCDateTime)


class Lesson(SQLModel, table=True):
    """One time a course is taught: when, where, by whom, for how many."""

    __tablename__ = "course_sessions"
    __table_args__ = (Index("ix_course_sessions_community_starts", "community_id",
                            "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(
        sa_column=Column(ForeignKey("communities.id", ondelete="CASCADE"), nullable=False)
    )
    course_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("courses.id", ondelete="SET NULL"))
    )
    order_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("course_orders.id", ondelete="SET NULL"))
    )
    teacher_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    )
    title: str = Field(max_length=TITLE_MAX)
    titles: dict[str, str] = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default="{}"))  # as Course.titles
    category: Category = Field(sa_type=String(16))
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    minutes: int = Field(default=60)
    venue: str = Field(max_length=VENUE_MAX)
    capacity: int
    bring: str | None = Field(default=None, max_length=BRING_MAX)  # "what to bring", if any
    status: LessonStatus = Field(default=LessonStatus.SCHEDULED, sa_type=String(16))
    # Why it was called off, as the outbox says it: typed words, or {"phrase": msgid} for
    # a common reason (said in each reader's language).
    cancel_reason: str | dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    checkin_token: str = Field(max_length=TOKEN_MAX, unique=True)
    created_by: int | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(sa_type=UTCDateTime)


class Enrolment(SQLModel, table=True):
    """One person and one session: a seat, a waitlist place, attendance and a rating."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id"),
        Index("ix_enrolments_session_status", "session_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(ForeignKey("course_sessions.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: EnrolmentStatus = Field(sa_type=String(16))
    queued_at: datetime = Field(sa_type=UTCDateTime)  # waitlist order
    offered_until: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # "I'm coming"
    attended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rating: int | None = Field(default=None)
    comment: str | None = Field(default=None, sa_type=Text)
    rated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WalkIn(SQLModel, table=True):
    """Someone staff let in at the door by their name alone (no account in the bot): they
    hold one of the session's seats and count as present."""

    __tablename__ = "course_walk_ins"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(ForeignKey("course_sessions.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    )
    name: str = Field(sa_type=String(60))
    added_by: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True))
    added_at: datetime = Field(sa_type=UTCDateTime)
