"""Courses: the menu of courses, who teaches what, and each community's course rules.

Orders live in `services/course_orders.py`; sessions, enrolment, the waitlist,
reminders, check-in and ratings in `services/course_sessions.py`. The errors
all three raise are here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Select, String, bindparam, cast, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Community
from models.courses import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    Category,
    Course,
    CourseSettings,
    CourseStatus,
    Lesson,
    TeacherSubject,
)
from models.db import write
from models.outbox import OutboxKind
from models.users import Role, RoleGrant, User
from services import audit, outbox
from services.access import Access
from services.clock import Clock
from services.communities import staff_of
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound
from services.outbox import N_, Notify, Outgoing
from services.paging import Listing, one_page
from services.text import clean_text, like_pattern
from services.titles import clean_titles, outbox_title, with_title

DEFAULT_THRESHOLD = 5
DEFAULT_REMINDER_HOURS = (24, 2)
THRESHOLD_RANGE = (1, 100)
REMINDER_HOURS_RANGE = (1, 168)  # an hour to a week before
DEFAULT_OFFER_HOURS = 12
OFFER_HOURS_RANGE = (1, 48)
MINUTES_RANGE = (15, 480)
PER_PAGE = 6

T = TypeVar("T")

Keyboard = dict[str, Any]


class Buttons(Protocol):
    """Inline keyboards (as the outbox's dicts) for the messages the course services queue;
    the bot's are `bot.keyboards.outbox.CourseButtons`, passed in by handlers and sweeps,
    so services never import aiogram."""

    def reminder(self, lesson_id: int) -> Keyboard:
        """I'm coming / I can't come."""
        ...

    def offer(self, lesson_id: int) -> Keyboard:
        """Take the seat kept for you / no, thanks."""
        ...

    def enrol(self, lesson_id: int) -> Keyboard:
        """✍️ Enrol, on news of a new session."""
        ...

    def rate(self, lesson_id: int) -> Keyboard:
        """1–5 stars after a session."""
        ...

    def lesson(self, lesson_id: int) -> Keyboard:
        """👀 Open the session (for its teacher)."""
        ...

    def rejoin(self, lesson_id: int) -> Keyboard:
        """🕒 Put me back on the list, when an offer lapsed."""
        ...

    def order(self, order_id: int) -> Keyboard:
        """See the order (for teachers and staff)."""
        ...

    def review(self, community_id: int) -> Keyboard:
        """✅ Review the community's course offers (staff, told of a new one)."""
        ...



# --- Errors ----------------------------------------------------------------------------


class Gone(NotFound):
    """A course, order or session that is not there for this person: it never was, or it
    is another community's (a forged button)."""


class NotTeacherHere(NotAllowed):
    """Taking (or giving back) an order is for the community's teachers (and staff)."""


class LessonClosed(DomainError):
    """The session is cancelled or has started: no more enrolments or changes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "cancelled" | "past"


class LessonFull(DomainError):
    """Every seat is taken (the caller may offer the waitlist)."""


class AlreadyEnrolled(DomainError):
    """The person already holds a seat, an offer or a waitlist place."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class NotEnrolled(DomainError):
    """The person has no seat (or offer) in this session."""


class OfferExpired(DomainError):
    """A waitlist offer that was answered too late or already passed on."""


class NotInWindow(DomainError):
    """Check-in outside the time window."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "early" | "late"


class OrderClosed(DomainError):
    """The order is no longer open (taken by someone, scheduled, withdrawn)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class AlreadyBacked(DomainError):
    """The person already said "me too" (or ordered it themselves)."""


class SimilarOrder(DomainError):
    """An open order like this one exists: back it instead."""

    def __init__(self, order_id: int, own: bool) -> None:
        super().__init__(f"order {order_id}")
        self.order_id = order_id
        self.own = own


# --- Small shared helpers --------------------------------------------------------------


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with what is needed to draw the pager."""

    items: list[T]
    page: int
    pages: int


def paging(total: int, page: int, per_page: int = PER_PAGE) -> tuple[int, int]:
    """(page clamped to what exists, number of pages)."""
    pages = max(1, -(-total // per_page))
    return min(max(page, 0), pages - 1), pages


def check_range(value: int, *, field: str, bounds: tuple[int, int]) -> int:
    if not bounds[0] <= value <= bounds[1]:
        raise InvalidInput(field, "out_of_range")
    return value


def normalise(text: str) -> str:
    """Lower case without spaces or punctuation, to compare topics people typed."""
    return re.sub(r"[\W_]+", "", text.casefold())


def is_member(access: Access, user: User, community_id: int) -> bool:
    """Lives in the community, or works in it."""
    return (user.community_id == community_id or access.is_admin
            or community_id in access.staff_of or community_id in access.teacher_of)


# --- Settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """A community's course rules."""

    threshold: int = DEFAULT_THRESHOLD
    reminder_hours: tuple[int, ...] = DEFAULT_REMINDER_HOURS
    offer_hours: int = DEFAULT_OFFER_HOURS  # a freed seat kept for the next in line


def _rules(row: CourseSettings) -> Rules:
    return Rules(threshold=row.threshold, reminder_hours=tuple(row.reminder_hours),
                 offer_hours=row.offer_hours)


async def get_rules(session: AsyncSession, *, community_id: int) -> Rules:
    row = await session.get(CourseSettings, community_id)
    if row is None:
        return Rules()
    return _rules(row)


async def set_rules(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int,
    threshold: int | None = None, reminder_hours: Sequence[int] | None = None,
    offer_hours: int | None = None,
) -> Rules:
    """Staff change the backing threshold, the reminder times or the offer window of their
    community."""
    access.require_manage(community_id)
    if threshold is not None:
        check_range(threshold, field="threshold", bounds=THRESHOLD_RANGE)
    if offer_hours is not None:
        check_range(offer_hours, field="offer_hours", bounds=OFFER_HOURS_RANGE)
    hours: list[int] | None = None
    if reminder_hours is not None:
        hours = sorted({check_range(h, field="reminder_hours", bounds=REMINDER_HOURS_RANGE)
                        for h in reminder_hours}, reverse=True)
        if len(hours) > 4:
            raise InvalidInput("reminder_hours", "too_many")
    async with write(session):
        row = await session.get(CourseSettings, community_id)
        if row is None:
            row = CourseSettings(community_id=community_id, threshold=DEFAULT_THRESHOLD,
                                 reminder_hours=list(DEFAULT_REMINDER_HOURS),
                                 offer_hours=DEFAULT_OFFER_HOURS, updated_at=clock.now())
        if threshold is not None:
            row.threshold = threshold
        if hours is not None:
            row.reminder_hours = hours
        if offer_hours is not None:
            row.offer_hours = offer_hours
        row.updated_at = clock.now()
        session.add(row)
        audit.record(session, clock=clock, actor_id=access.user_id, action="courses.settings",
                     community_id=community_id, threshold=row.threshold,
                     reminder_hours=",".join(map(str, row.reminder_hours)),
                     offer_hours=row.offer_hours)
        return _rules(row)


# --- Teachers' subjects ----------------------------------------------------------------


async def subjects_of(session: AsyncSession, *, user_id: int) -> set[Category]:
    rows = await session.execute(
        select(col(TeacherSubject.category)).where(col(TeacherSubject.user_id) == user_id))
    return {Category(c) for (c,) in rows.all()}


async def toggle_subject(
    session: AsyncSession, *, access: Access, category: Category
) -> set[Category]:
    """A teacher adds or removes a category they teach."""
    if not access.is_teacher:
        raise NotAllowed("teachers only")
    category = Category(category)
    async with write(session):
        current = await subjects_of(session, user_id=access.user_id)
        if category in current:
            await session.execute(delete(TeacherSubject).where(
                col(TeacherSubject.user_id) == access.user_id,
                col(TeacherSubject.category) == category))
        else:
            session.add(TeacherSubject(user_id=access.user_id, category=category))
        return await subjects_of(session, user_id=access.user_id)


async def teachers_of(
    session: AsyncSession, *, community_id: int, category: Category | None = None
) -> list[User]:
    """Teachers of a community, optionally only those who teach `category`."""
    query = (select(User).join(RoleGrant, col(RoleGrant.user_id) == col(User.id))
             .where(col(RoleGrant.role) == Role.TEACHER,
                    col(RoleGrant.community_id) == community_id,
                    col(User.deleted_at).is_(None)))
    if category is not None:
        query = query.join(TeacherSubject, col(TeacherSubject.user_id) == col(User.id)).where(
            col(TeacherSubject.category) == category)
    rows = await session.execute(query.order_by(col(User.id)).distinct())
    return list(rows.scalars().all())


# --- The course menu -------------------------------------------------------------------


async def get_course(session: AsyncSession, *, course_id: int) -> Course:
    course = await session.get(Course, course_id)
    if course is None:
        raise Gone(f"course {course_id}")
    return course


async def offer_course(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int, title: str,
    description: str, category: Category, minutes: int, buttons: Buttons | None = None,
    notify: Notify | None = None, titles: Mapping[str, str] | None = None,
) -> Course:
    """A teacher offers a course for their community's menu; staff approve it, and are
    told of it at once (with `buttons`: a button to the offers waiting). `titles`: its
    title in other languages ({locale: title}), shown to readers of those.

    A course staff add themselves is on the menu at once.
    """
    if community_id not in access.teacher_of and not access.can_manage(community_id):
        raise NotAllowed(f"not a teacher of {community_id}")
    async with write(session):
        if await session.get(Community, community_id) is None:
            raise NotFound(f"community {community_id}")
        title = clean_text(title, field="title", limit=TITLE_MAX)
        other = clean_titles(titles, limit=TITLE_MAX)
        description = clean_text(description, field="description", limit=DESCRIPTION_MAX,
                                 required=False)
        check_range(minutes, field="minutes", bounds=MINUTES_RANGE)
        now = clock.now()
        approved = access.can_manage(community_id)
        course = Course(community_id=community_id, teacher_id=access.user_id, title=title,
                        titles=other, description=description, category=Category(category),
                        minutes=minutes,
                        status=CourseStatus.APPROVED if approved else CourseStatus.PENDING,
                        created_at=now, reviewed_by=access.user_id if approved else None,
                        reviewed_at=now if approved else None)
        session.add(course)
        await session.flush()
        if not approved and buttons is not None:
            community = await session.get(Community, community_id)
            teacher = await session.get(User, access.user_id)
            await outbox.queue_many(session, clock=clock, notify=notify, rows=[Outgoing(
                user_id=uid, kind=OutboxKind.STATUS,
                key=N_("🆕 A new course offer · {community}\n“{title}” by {teacher}\n"
                       "Please put it on the menu or turn it down."),
                params={"community": community.name if community else "",
                        "title": outbox_title(course),
                        "teacher": (teacher.first_name if teacher else "") or ""},
                keyboard=buttons.review(community_id),
                dedupe_key=f"c:offered:{course.id}:{uid}")
                for uid in await staff_of(session, community_id=community_id)])
        audit.record(session, clock=clock, actor_id=access.user_id, action="course.offer",
                     community_id=community_id, course_id=course.id)
        return course


async def review_course(
    session: AsyncSession, *, access: Access, clock: Clock, course_id: int, approve: bool
) -> Course:
    """Staff put an offered course on the menu, or turn it down."""
    async with write(session):
        course = await get_course(session, course_id=course_id)
        access.require_manage(course.community_id)
        if course.status != CourseStatus.PENDING:
            return course  # a second tap on the same decision changes nothing
        course.status = CourseStatus.APPROVED if approve else CourseStatus.REJECTED
        course.reviewed_by = access.user_id
        course.reviewed_at = clock.now()
        session.add(course)
        if approve and course.teacher_id is not None and course.category not in await subjects_of(
                session, user_id=course.teacher_id):
            # Teaching a course in a category makes the teacher hear of orders in it.
            session.add(TeacherSubject(user_id=course.teacher_id, category=course.category))
        audit.record(session, clock=clock, actor_id=access.user_id,
                     action="course.approve" if approve else "course.reject",
                     community_id=course.community_id, course_id=course.id)
        return course


async def list_courses(
    session: AsyncSession, *, community_id: int, category: Category | None = None,
    query: str | None = None, page: int = 0, per_page: int = PER_PAGE,
) -> Page[Course]:
    """The community's approved courses, by category or matching a search, a page at a time.

    The search is a substring of the title or description, so it works for
    Chinese, which has no spaces between words.
    """
    params: dict[str, Any] = {"community_id": community_id}
    listing: Listing | Select[Any] = _APPROVED_COURSES
    if category is not None:
        listing = _APPROVED_COURSES_IN
        params["category"] = category
    if query:  # a search: its statement is made for it
        pattern = like_pattern(query.strip())
        # Other-language titles are JSON, whose text has non-ASCII letters as \uXXXX.
        escaped = like_pattern(json.dumps(query.strip())[1:-1])
        where = [*_APPROVED, or_(col(Course.title).ilike(pattern, escape="\\"),
                                 col(Course.description).ilike(pattern, escape="\\"),
                                 cast(col(Course.titles), String).ilike(escaped, escape="\\"))]
        if category is not None:
            where.append(_IN_CATEGORY)
        listing = select(Course).where(*where).order_by(*_BY_TITLE)
    items, page, pages = await one_page(session, listing, page=page, per_page=per_page,
                                        params=params)
    return Page(items=items, page=page, pages=pages)


# Built once, as services.paging explains.
_APPROVED = (col(Course.community_id) == bindparam("community_id"),
             col(Course.status) == CourseStatus.APPROVED)
_IN_CATEGORY = col(Course.category) == bindparam("category")
_BY_TITLE = (col(Course.title), col(Course.id))
_APPROVED_COURSES = Listing(select(Course).where(*_APPROVED).order_by(*_BY_TITLE))
_APPROVED_COURSES_IN = Listing(
    select(Course).where(*_APPROVED, _IN_CATEGORY).order_by(*_BY_TITLE))


async def set_course_title(
    session: AsyncSession, *, access: Access, clock: Clock, course_id: int, locale: str,
    title: str | None,
) -> Course:
    """Staff (or the course's teacher) set, or with None or a blank remove, the course's
    title in `locale`, shown to readers of that language."""
    async with write(session):
        course = await get_course(session, course_id=course_id)
        if not access.can_manage(course.community_id) and course.teacher_id != access.user_id:
            raise NotAllowed(f"may not retitle course {course_id}")
        course.titles = with_title(course.titles, locale, title, limit=TITLE_MAX)
        session.add(course)
        # Its sessions under the same title read the same (a session renamed keeps its own).
        await session.execute(update(Lesson).where(
            col(Lesson.course_id) == course_id, col(Lesson.title) == course.title)
            .values(titles=course.titles))
        audit.record(session, clock=clock, actor_id=access.user_id, action="course.title",
                     community_id=course.community_id, course_id=course_id, locale=locale)
        return course


async def schedulable_courses(
    session: AsyncSession, *, access: Access, community_id: int, limit: int = 30
) -> list[Course]:
    """The community's approved courses this person may schedule a session of: their own,
    or, for its staff, every one."""
    where: list[Any] = [col(Course.community_id) == community_id,
                        col(Course.status) == CourseStatus.APPROVED]
    if not access.can_manage(community_id):
        if community_id not in access.teacher_of:
            raise NotAllowed(f"not a teacher of {community_id}")
        where.append(col(Course.teacher_id) == access.user_id)
    rows = await session.execute(select(Course).where(*where)
                                 .order_by(col(Course.title), col(Course.id)).limit(limit))
    return list(rows.scalars().all())


async def pending_courses(session: AsyncSession, *, access: Access,
                          community_id: int) -> list[Course]:
    """Offered courses waiting for staff's decision in one community."""
    access.require_manage(community_id)
    where: list[Any] = [col(Course.status) == CourseStatus.PENDING,
                        col(Course.community_id) == community_id]
    rows = await session.execute(select(Course).where(*where).order_by(col(Course.id)))
    return list(rows.scalars().all())
