"""Sessions, "I teach": scheduling, enrolment and the waitlist, reminders, check-in, ratings.

The rules, in one place:

- A session belongs to one community and has a teacher, a start, a length,
  a venue and 1–500 seats. Its teacher and the community's staff may move or
  cancel it until it starts; everyone holding a seat or waiting is told. A
  cancelled session's order goes back to "taken", to be scheduled again.
- Enrolment takes a seat while `seats held < capacity`, counted with the
  session's row locked (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite),
  so however many tap at once, never more hold seats than there are.
  A full session puts people on a waitlist in the order they asked.
- A freed seat is offered to the first on the waitlist, held for them for the
  community's offer window (12 h by default) from when the offer reaches them:
  after their quiet hours if it is made in them. Confirm takes it; no answer
  (the `expire_offers` sweep) or "no thanks" passes it on. Where the window
  would not end 2 h before the start, no offer is made: the freed seat is
  simply open, the people waiting are told so, and the first to tap Enrol
  (waitlisted people included) gets it.
- A seat holder gets reminders (the community's hours, 24 h and 2 h by
  default) with "I'm coming" / "I can't come"; the second frees the seat.
  Reminders share the outbox group `cs:<session>` and carry the start time in
  their dedupe key, so moving a session cancels the group and queues new ones.
  The teacher's reminder, with the headcount, is queued by a sweep at the
  reminder time so the count is current (`remind_teachers`).
- Check-in (the QR code's `/start ci_<token>`) works from 1 h before the
  start to 30 min after the end, for people holding a seat; staff may also
  mark attendance by hand. Attendees are asked for a 1–5 rating when it ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Community
from models.courses import (
    BRING_MAX,
    COMMENT_MAX,
    SEAT_HOLDING,
    TITLE_MAX,
    VENUE_MAX,
    Category,
    Course,
    CourseOrder,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonStatus,
    OrderBacking,
    OrderStatus,
    WalkIn,
)
from models.db import write
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.users import Role, RoleGrant, User
from services import audit, outbox
from services.access import Access
from services.clock import Clock
from services.communities import staff_of, zone_of
from services.communities import where as named  # "幸福社区": who a notice is from
from services.courses import (
    MINUTES_RANGE,
    AlreadyEnrolled,
    Buttons,
    Gone,
    LessonClosed,
    LessonFull,
    NotEnrolled,
    NotInWindow,
    OfferExpired,
    OrderClosed,
    check_range,
    clean_text,
    get_rules,
    is_member,
    normalise,
)
from services.errors import InvalidInput, NotAllowed, NotTeacherOrStaff
from services.outbox import N_, Notify, Outgoing
from services.preferences import get_preferences, quiet_until
from services.text import like_pattern
from services.titles import outbox_title, title_in

CAPACITY_RANGE = (1, 500)
OFFER_CLOSES = timedelta(hours=2)  # before the start
CHECK_IN_OPENS = timedelta(hours=1)  # before the start
CHECK_IN_CLOSES = timedelta(minutes=30)  # after the end
SCHEDULE_AHEAD = timedelta(days=180)  # the first session; weekly ones may go beyond
WEEKS_RANGE = (1, 12)
ICS_ALARM = timedelta(hours=1)  # the calendar file's alarm, before the start
ACTIVE = (EnrolmentStatus.ENROLLED, EnrolmentStatus.OFFERED, EnrolmentStatus.WAITING)


# --- The outbox's groups and dedupe keys of every course message, in one place ---------
# A group is cancelled together; a dedupe key makes queueing twice send once.


def reminder_group(session_id: int) -> str:
    """Reminders and rating requests: cancelled together when the session moves."""
    return f"cs:{session_id}"


def news_group(session_id: int) -> str:
    """Announcements and waitlist offers: cancelled when the session is cancelled."""
    return f"cn:{session_id}"


def open_group(session_id: int) -> str:
    """"A seat is free, first to tap gets it": withdrawn once no seat is free again."""
    return f"co:{session_id}"


def open_key(lesson_id: int, user_id: int, now: datetime) -> str:
    return f"c:open:{lesson_id}:{user_id}:{int(now.timestamp())}"


def news_key(lesson_id: int, user_id: int) -> str:
    return f"c:news:{lesson_id}:{user_id}"


def moved_key(lesson_id: int, user_id: int, changed_at: datetime) -> str:
    """Each change is news of its own (a venue changed twice at the same time is told
    twice)."""
    return f"c:moved:{lesson_id}:{user_id}:{int(changed_at.timestamp())}"


def cancelled_key(lesson_id: int, user_id: int) -> str:
    return f"c:cancel:{lesson_id}:{user_id}"


def staff_cancelled_key(lesson_id: int, user_id: int) -> str:
    """Staff told that the teacher called a session off."""
    return f"c:tcancel:{lesson_id}:{user_id}"


def reminder_key(lesson: Lesson, user_id: int, hours: int) -> str:
    """The start time is in it, so a moved session's reminders are new ones."""
    return f"c:rem:{lesson.id}:{user_id}:{int(lesson.starts_at.timestamp())}:{hours}"


def teacher_reminder_key(lesson: Lesson, hours: int) -> str:
    return f"c:trem:{lesson.id}:{int(lesson.starts_at.timestamp())}:{hours}"


def offer_key(enrolment_id: int | None, deadline: datetime) -> str:
    return f"c:offer:{enrolment_id}:{int(deadline.timestamp())}"


def lapsed_key(enrolment_id: int | None, now: datetime) -> str:
    return f"c:lapsed:{enrolment_id}:{int(now.timestamp())}"


def rate_key(lesson_id: int, user_id: int) -> str:
    return f"c:rate:{lesson_id}:{user_id}"


def alert_key(order_id: int | None, user_id: int) -> str:
    """Staff and teachers told that an order reached the threshold."""
    return f"c:alert:{order_id}:{user_id}"


def withdrawn_key(order_id: int, user_id: int) -> str:
    return f"c:wd:{order_id}:{user_id}"


def taken_key(order_id: int, taken_at: datetime) -> str:
    """Each time an order is taken is news of its own (one handed back may be taken again)."""
    return f"c:taken:{order_id}:{int(taken_at.timestamp())}"


def given_key(order_id: int, taken_at: datetime) -> str:
    """A teacher told that staff handed them an order."""
    return f"c:given:{order_id}:{int(taken_at.timestamp())}"


def released_key(order_id: int, taken_at: datetime) -> str:
    """The resident told that the teacher who took their order handed it back."""
    return f"c:back:{order_id}:{int(taken_at.timestamp())}"


def assigned_key(lesson_id: int) -> str:
    """A teacher told that staff scheduled a session for them to teach."""
    return f"c:assign:{lesson_id}"


async def withdraw(
    session: AsyncSession, *, group: str | None = None, dedupe_key: str | None = None,
    user_id: int | None = None,
) -> None:
    """Cancel the pending course messages of a group (one person's, with `user_id`) or with
    one key; `outbox.cancel` frees their keys, so a person who takes the seat again, or a
    session moved back, gets its messages anew, once each."""
    await outbox.cancel(session, group=group, dedupe_key=dedupe_key, user_id=user_id)



def ends_at(lesson: Lesson) -> datetime:
    return lesson.starts_at + timedelta(minutes=lesson.minutes)


async def get_session(session: AsyncSession, *, session_id: int) -> Lesson:
    lesson = await session.get(Lesson, session_id)
    if lesson is None:
        raise Gone(f"session {session_id}")
    return lesson


async def _locked(session: AsyncSession, session_id: int) -> Lesson | None:
    """The session's row, held for this write: one change to its seats at a time (call it
    inside `write(session)`)."""
    found = await session.execute(
        select(Lesson).where(col(Lesson.id) == session_id).with_for_update()
        .execution_options(populate_existing=True))
    return found.scalar_one_or_none()


def may_run(access: Access, lesson: Lesson) -> bool:
    """Its teacher, or staff of its community."""
    return access.can_manage(lesson.community_id) or (
        lesson.teacher_id == access.user_id and lesson.community_id in access.teacher_of)


async def _enrolment(session: AsyncSession, session_id: int, user_id: int) -> Enrolment | None:
    found = await session.execute(select(Enrolment).where(
        col(Enrolment.session_id) == session_id, col(Enrolment.user_id) == user_id)
        .execution_options(populate_existing=True))
    return found.scalar_one_or_none()


async def _held(session: AsyncSession, session_id: int) -> int:
    """Seats taken: by enrolments holding one, and by walk-ins let in by name."""
    enrolled = int((await session.execute(select(func.count()).select_from(Enrolment).where(
        col(Enrolment.session_id) == session_id,
        col(Enrolment.status).in_(SEAT_HOLDING)))).scalar_one())
    return enrolled + await _walk_ins(session, session_id)


async def _walk_ins(session: AsyncSession, session_id: int) -> int:
    return int((await session.execute(select(func.count()).select_from(WalkIn).where(
        col(WalkIn.session_id) == session_id))).scalar_one())


# --- Scheduling ------------------------------------------------------------------------


async def schedule_session(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int,
    teacher_id: int, title: str, category: Category, starts_at: datetime, minutes: int,
    venue: str, capacity: int, buttons: Buttons, course_id: int | None = None,
    order_id: int | None = None, weeks: int = 1, notify: Notify | None = None,
) -> Lesson:
    """A teacher (or staff, for one of the community's teachers) schedules a session, or
    `weeks` of them, one a week at the same time and place (like a volunteer task's
    shifts: each a Lesson of its own, enrolled in, moved and cancelled on its own).
    Returns the first.

    From an order: the order becomes scheduled (by the first session), and everyone who
    ordered or backed it is told, with an Enrol button.
    """
    if teacher_id == access.user_id and community_id in access.teacher_of:
        pass
    elif access.can_manage(community_id):
        grant = (await session.execute(select(col(RoleGrant.id)).where(
            col(RoleGrant.user_id) == teacher_id, col(RoleGrant.role) == Role.TEACHER,
            col(RoleGrant.community_id) == community_id))).first()
        if grant is None and teacher_id != access.user_id:
            raise NotAllowed(f"user {teacher_id} does not teach in {community_id}")
    else:
        raise NotAllowed(f"may not schedule in {community_id}")
    title = clean_text(title, field="title", limit=TITLE_MAX)
    venue = clean_text(venue, field="venue", limit=VENUE_MAX)
    check_range(capacity, field="capacity", bounds=CAPACITY_RANGE)
    check_range(minutes, field="minutes", bounds=MINUTES_RANGE)
    check_range(weeks, field="weeks", bounds=WEEKS_RANGE)
    now = clock.now()
    if starts_at.tzinfo is None:
        raise InvalidInput("starts_at", "naive")
    if starts_at <= now:
        raise InvalidInput("starts_at", "past")
    if starts_at > now + SCHEDULE_AHEAD:
        raise InvalidInput("starts_at", "too_far")
    zone = await zone_of(session, community_id)
    starts = weekly(starts_at, zone, weeks)
    titles: dict[str, str] = {}
    if course_id is not None:
        course = await session.get(Course, course_id)
        if (course is None or course.community_id != community_id
                or course.status != CourseStatus.APPROVED):
            raise Gone(f"course {course_id}")
        if course.title == title:  # the course's other-language titles go with its title
            titles = dict(course.titles or {})
    async with write(session):
        order: CourseOrder | None = None
        if order_id is not None:
            order = (await session.execute(
                select(CourseOrder).where(col(CourseOrder.id) == order_id).with_for_update()
                .execution_options(populate_existing=True))).scalar_one_or_none()
            if order is None or order.community_id != community_id:
                raise Gone(f"order {order_id}")
            if order.status != OrderStatus.TAKEN or order.taken_by != teacher_id:
                raise OrderClosed(order.status)
            order.status = OrderStatus.SCHEDULED
            session.add(order)
        lessons = [Lesson(
            community_id=community_id, course_id=course_id,
            order_id=order_id if n == 0 else None, teacher_id=teacher_id, title=title,
            titles=titles, category=Category(category), starts_at=start, minutes=minutes,
            venue=venue,
            capacity=capacity, checkin_token=secrets.token_urlsafe(12),
            created_by=access.user_id, created_at=now) for n, start in enumerate(starts)]
        session.add_all(lessons)
        await session.flush()
        lesson = lessons[0]
        assert lesson.id is not None
        if order is not None and order.id is not None:
            people = [order.user_id, *await _backers(session, order.id)]
            await outbox.queue_many(session, clock=clock, notify=notify, rows=[Outgoing(
                user_id=uid, kind=OutboxKind.COURSE_NEWS,
                key=N_("🎉 The course you asked for is on!\n“{title}”\n🏘 {community}\n🕒 {when}\n"
                       "📍 {venue}\nSeats: {capacity}. Press Enrol to take one."),
                params={"title": outbox_title(lesson), "when": outbox.moment(starts_at, zone),
                        "venue": venue, "capacity": capacity,
                        "community": await named(session, community_id=community_id)},
                keyboard=buttons.enrol(lesson.id), group=news_group(lesson.id),
                dedupe_key=news_key(lesson.id, uid)) for uid in dict.fromkeys(people)])
        if teacher_id != access.user_id:  # staff scheduled it for them: they are told
            community = await session.get(Community, community_id)
            await outbox.queue(
                session, clock=clock, user_id=teacher_id, kind=OutboxKind.STATUS,
                key=N_("🗓 A session of “{title}” has been scheduled for you to teach · "
                       "{community}\n🕒 {when}\n📍 {venue}\nSeats: {capacity}\nSessions: "
                       "{weeks} (one a week)") if weeks > 1 else
                N_("🗓 A session of “{title}” has been scheduled for you to teach · "
                   "{community}\n🕒 {when}\n📍 {venue}\nSeats: {capacity}"),
                params={"title": outbox_title(lesson), "when": outbox.moment(starts_at, zone),
                        "venue": venue, "capacity": capacity, "weeks": weeks,
                        "community": community.name if community else ""},
                keyboard=buttons.lesson(lesson.id), group=news_group(lesson.id),
                dedupe_key=assigned_key(lesson.id), notify=notify)
        for each in lessons:
            audit.record(session, clock=clock, actor_id=access.user_id,
                         action="session.schedule", community_id=community_id,
                         session_id=each.id, order_id=each.order_id, weeks=weeks)
        return lesson


@dataclass(frozen=True)
class Clashes:
    """Sessions a new one would overlap: in the same venue, or taught by the same teacher
    (anywhere). Staff are warned and may go ahead."""

    venue: list[Lesson]
    teacher: list[Lesson]
    teacher_user: User | None  # whom `teacher` is about, to name them

    def __bool__(self) -> bool:
        return bool(self.venue or self.teacher)


LONGEST = timedelta(minutes=MINUTES_RANGE[1])


async def clashes(
    session: AsyncSession, *, community_id: int, teacher_id: int | None, starts_at: datetime,
    minutes: int, venue: str, exclude: int | None = None,
) -> Clashes:
    """The scheduled sessions that overlap [starts_at, +minutes): in this community's
    `venue` (spaces and case aside), or with this teacher."""
    ends = starts_at + timedelta(minutes=minutes)
    where = [col(Lesson.status) == LessonStatus.SCHEDULED,
             col(Lesson.starts_at) < ends, col(Lesson.starts_at) > starts_at - LONGEST]
    if exclude is not None:
        where.append(col(Lesson.id) != exclude)
    near = (await session.execute(select(Lesson).where(*where)
                                  .order_by(col(Lesson.starts_at), col(Lesson.id)))).scalars()
    overlapping = [lesson for lesson in near if ends_at(lesson) > starts_at]
    place = normalise(venue)
    return Clashes(
        venue=[lesson for lesson in overlapping if lesson.community_id == community_id
               and normalise(lesson.venue) == place],
        teacher=[lesson for lesson in overlapping
                 if teacher_id is not None and lesson.teacher_id == teacher_id],
        teacher_user=await session.get(User, teacher_id) if teacher_id is not None else None)


def weekly(starts_at: datetime, zone: ZoneInfo, weeks: int) -> list[datetime]:
    """`weeks` starts, one a week at the same wall-clock time in `zone` (across DST)."""
    local = starts_at.astimezone(zone)
    return [(local + timedelta(weeks=n)).astimezone(starts_at.tzinfo) for n in range(weeks)]


async def series_clashes(
    session: AsyncSession, *, community_id: int, teacher_id: int | None, starts_at: datetime,
    minutes: int, venue: str, weeks: int,
) -> Clashes:
    """`clashes` for every session of a weekly series (each clashing session once)."""
    zone = await zone_of(session, community_id)
    venue_found: dict[int, Lesson] = {}
    teacher_found: dict[int, Lesson] = {}
    found = None
    for start in weekly(starts_at, zone, weeks):
        found = await clashes(session, community_id=community_id, teacher_id=teacher_id,
                              starts_at=start, minutes=minutes, venue=venue)
        venue_found.update((lesson.id or 0, lesson) for lesson in found.venue)
        teacher_found.update((lesson.id or 0, lesson) for lesson in found.teacher)
    return Clashes(venue=list(venue_found.values()), teacher=list(teacher_found.values()),
                   teacher_user=found.teacher_user if found else None)


async def _backers(session: AsyncSession, order_id: int) -> list[int]:
    rows = await session.execute(select(col(OrderBacking.user_id)).where(
        col(OrderBacking.order_id) == order_id).order_by(col(OrderBacking.id)))
    return [uid for (uid,) in rows.all()]


async def _active(session: AsyncSession, session_id: int) -> list[Enrolment]:
    rows = await session.execute(select(Enrolment).where(
        col(Enrolment.session_id) == session_id, col(Enrolment.status).in_(ACTIVE))
        .order_by(col(Enrolment.queued_at), col(Enrolment.id)))
    return list(rows.scalars().all())


async def move_session(
    session: AsyncSession, *, access: Access, clock: Clock, session_id: int,
    buttons: Buttons, starts_at: datetime | None = None, venue: str | None = None,
    minutes: int | None = None, capacity: int | None = None, notify: Notify | None = None,
) -> Lesson:
    """Change a session's time, venue, length or seats (None: as it is). Everyone holding a
    seat or waiting is told of a new time, venue or length, and reminders follow them;
    seats never go below those held; more seats are offered to the waiting list."""
    if venue is not None:
        venue = clean_text(venue, field="venue", limit=VENUE_MAX)
    if minutes is not None:
        check_range(minutes, field="minutes", bounds=MINUTES_RANGE)
    if capacity is not None:
        check_range(capacity, field="capacity", bounds=CAPACITY_RANGE)
    async with write(session):
        lesson = await _locked(session, session_id)
        if lesson is None:
            raise Gone(f"session {session_id}")
        if not may_run(access, lesson):
            raise NotTeacherOrStaff("not the teacher or staff")
        now = clock.now()
        _still_open(lesson, now)
        if starts_at is not None and starts_at != lesson.starts_at:
            if starts_at <= now:
                raise InvalidInput("starts_at", "past")
            if starts_at > now + SCHEDULE_AHEAD:
                raise InvalidInput("starts_at", "too_far")
        held = await _held(session, session_id)
        if capacity is not None and capacity < held:
            raise InvalidInput("capacity", "below_held", limit=held)
        old = {"starts_at": lesson.starts_at.isoformat(), "venue": lesson.venue,
               "minutes": lesson.minutes, "capacity": lesson.capacity}
        moved = starts_at is not None and starts_at != lesson.starts_at
        told = moved or (venue is not None and venue != lesson.venue) or (
            minutes is not None and minutes != lesson.minutes)
        more_seats = capacity is not None and capacity > lesson.capacity
        if not told and capacity in (None, lesson.capacity):
            return lesson  # nothing changes (a second tap)
        lesson.starts_at = starts_at or lesson.starts_at
        lesson.venue = venue if venue is not None else lesson.venue
        lesson.minutes = minutes or lesson.minutes
        lesson.capacity = capacity or lesson.capacity
        session.add(lesson)
        assert lesson.id is not None
        if told:
            await withdraw(session, group=reminder_group(lesson.id))
            zone = await zone_of(session, lesson.community_id)
            rules = await get_rules(session, community_id=lesson.community_id)
            place = await named(session, community_id=lesson.community_id)
            rows = []
            for enrolment in await _active(session, lesson.id):
                if enrolment.status == EnrolmentStatus.OFFERED and enrolment.offered_until:
                    enrolment.offered_until = min(enrolment.offered_until,
                                                  lesson.starts_at - OFFER_CLOSES)
                    session.add(enrolment)
                rows.append(Outgoing(
                    user_id=enrolment.user_id, kind=OutboxKind.STATUS,
                    key=N_("🔁 “{title}” has moved.\n🏘 {community}\nNew time: {when}, {minutes} "
                           "min\n📍 {venue}") if moved else
                    N_("🔁 “{title}” has changed.\n🏘 {community}\n🕒 {when}, {minutes} min\n"
                       "📍 {venue}"),
                    params={"title": outbox_title(lesson),
                            "when": outbox.moment(lesson.starts_at, zone),
                            "minutes": lesson.minutes, "venue": lesson.venue,
                            "community": place},
                    group=news_group(lesson.id),
                    dedupe_key=moved_key(lesson.id, enrolment.user_id, now)))
                if enrolment.status == EnrolmentStatus.ENROLLED:
                    rows.extend(_reminders(lesson, place, enrolment.user_id, rules.reminder_hours,
                                           zone, now, buttons))
            await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)
        if more_seats:
            await _offer_next(session, clock=clock, lesson=lesson, buttons=buttons,
                              notify=notify)
        audit.record(session, clock=clock, actor_id=access.user_id, action="session.move",
                     community_id=lesson.community_id, session_id=lesson.id, old=old,
                     new={"starts_at": lesson.starts_at.isoformat(), "venue": lesson.venue,
                          "minutes": lesson.minutes, "capacity": lesson.capacity})
        return lesson


CANCEL_REASONS = (  # the common reasons offered as buttons (or the person types their own)
    N_("the teacher is ill"),
    N_("the venue is not available"),
    N_("too few people enrolled"),
    N_("bad weather"),
)
REASON_MAX = 200


def cancel_reason(reason: int | str) -> str | dict[str, str]:
    """A reason as the outbox says it: a common one (its place in CANCEL_REASONS) in each
    recipient's language, or the words typed (checked)."""
    if isinstance(reason, int):
        if not 0 <= reason < len(CANCEL_REASONS):
            raise InvalidInput("reason", "unknown")
        return outbox.phrase(CANCEL_REASONS[reason])
    return clean_text(reason, field="reason", limit=REASON_MAX)


async def later_in_series(session: AsyncSession, *, lesson: Lesson,
                          now: datetime) -> list[Lesson]:
    """The sessions after `lesson` of the weekly series it was scheduled in (scheduled
    together: same community, teacher, title, scheduler and moment of scheduling), not
    yet cancelled or begun, in time order."""
    found = await session.execute(select(Lesson).where(
        col(Lesson.community_id) == lesson.community_id, col(Lesson.id) != lesson.id,
        col(Lesson.created_at) == lesson.created_at, col(Lesson.title) == lesson.title,
        col(Lesson.status) == LessonStatus.SCHEDULED,
        col(Lesson.starts_at) > max(lesson.starts_at, now))
        .order_by(col(Lesson.starts_at), col(Lesson.id)))
    return [each for each in found.scalars().all()
            if each.teacher_id == lesson.teacher_id and each.created_by == lesson.created_by]


async def cancel_session(
    session: AsyncSession, *, access: Access, clock: Clock, session_id: int,
    reason: int | str, buttons: Buttons, notify: Notify | None = None,
    following: bool = False,
) -> Lesson:
    """Call a session off for a reason (a common one by its place in CANCEL_REASONS, or
    words typed): its reminders and offers are withdrawn, everyone is told why; when its
    teacher calls it off, the community's staff are told at once too. `following`: the
    later sessions of its weekly series too, for the same reason (asked once)."""
    said = cancel_reason(reason)
    async with write(session):
        first = await _locked(session, session_id)
        if first is None:
            raise Gone(f"session {session_id}")
        if not may_run(access, first):
            raise NotTeacherOrStaff("not the teacher or staff")
        if first.status == LessonStatus.CANCELLED:
            raise LessonClosed("cancelled")
        if first.starts_at <= clock.now():
            raise LessonClosed("past")
        targets = [first]
        for later in (await later_in_series(session, lesson=first, now=clock.now())
                      if following else []):
            locked = await _locked(session, later.id or 0)
            if locked is not None and locked.status == LessonStatus.SCHEDULED:
                targets.append(locked)
        for lesson in targets:
            await _call_off(session, access=access, clock=clock, lesson=lesson, said=said,
                            reason=reason, buttons=buttons, notify=notify)
        return first


async def _call_off(session: AsyncSession, *, access: Access, clock: Clock, lesson: Lesson,
                    said: str | dict[str, str], reason: int | str, buttons: Buttons,
                    notify: Notify | None) -> None:
    """One session called off, inside cancel_session's write."""
    assert lesson.id is not None  # a row read back
    lesson.status = LessonStatus.CANCELLED
    lesson.cancel_reason = said  # shown on its card, roster and history afterwards
    session.add(lesson)
    if lesson.order_id is not None:
        # The order is still wanted: its teacher (or staff) can schedule it again.
        await session.execute(
            update(CourseOrder).where(col(CourseOrder.id) == lesson.order_id,
                                      col(CourseOrder.status) == OrderStatus.SCHEDULED)
            .values(status=OrderStatus.TAKEN).execution_options(synchronize_session=False))
    await withdraw(session, group=reminder_group(lesson.id))
    await withdraw(session, group=news_group(lesson.id))
    await withdraw(session, group=open_group(lesson.id))
    zone = await zone_of(session, lesson.community_id)
    when = outbox.moment(lesson.starts_at, zone)
    told = await _active(session, lesson.id)
    place = await named(session, community_id=lesson.community_id)
    rows = [Outgoing(
        user_id=e.user_id, kind=OutboxKind.STATUS,
        key=N_("❌ “{title}” on {when} has been cancelled.\n🏘 {community}\nWhy: {reason}\n"
               "Sorry!"),
        params={"title": outbox_title(lesson), "when": when, "reason": said,
                "community": place},
        dedupe_key=cancelled_key(lesson.id, e.user_id)) for e in told]
    if not access.can_manage(lesson.community_id):  # its teacher: staff hear at once
        teacher = await session.get(User, access.user_id)
        rows += [Outgoing(
            user_id=uid, kind=OutboxKind.STATUS,
            key=N_("🚫 {teacher} has cancelled “{title}” on {when} · {community}\n"
                   "Why: {reason}\nPeople told: {told}"),
            params={"teacher": (teacher.first_name if teacher else "") or "",
                    "title": outbox_title(lesson), "when": when, "reason": said,
                    "community": place, "told": len(told)},
            keyboard=buttons.lesson(lesson.id),
            dedupe_key=staff_cancelled_key(lesson.id, uid))
            for uid in await staff_of(session, community_id=lesson.community_id)]
    await outbox.queue_many(session, clock=clock, notify=notify, rows=rows)
    audit.record(session, clock=clock, actor_id=access.user_id, action="session.cancel",
                 community_id=lesson.community_id, session_id=lesson.id,
                 reason=reason)


def _still_open(lesson: Lesson, now: datetime) -> None:
    if lesson.status == LessonStatus.CANCELLED:
        raise LessonClosed("cancelled")
    if lesson.starts_at <= now:
        raise LessonClosed("past")


# --- Enrolment and the waitlist --------------------------------------------------------


REMINDER = N_("⏰ Reminder: “{title}”\n🏘 {community}\n🕒 {when}\n📍 {venue}\nAre you coming?")
REMINDER_BRING = N_("⏰ Reminder: “{title}”\n🏘 {community}\n🕒 {when}\n📍 {venue}\n"
                    "🎒 Please bring: {bring}\nAre you coming?")


def reminder_words(lesson: Lesson) -> tuple[str, dict[str, Any]]:
    """A seat holder's reminder's key and its words beyond the time: the title in each
    reader's language, and what to bring, when the teacher or staff said it."""
    words: dict[str, Any] = {"title": outbox_title(lesson), "venue": lesson.venue}
    if lesson.bring:
        return REMINDER_BRING, {**words, "bring": lesson.bring}
    return REMINDER, words


def _reminders(
    lesson: Lesson, place: str, user_id: int, hours: Sequence[int], zone: ZoneInfo,
    now: datetime, buttons: Buttons,
) -> list[Outgoing]:
    """The reminders still ahead for one seat holder; the start time is in the dedupe key,
    so a moved session gets new ones."""
    assert lesson.id is not None
    rows = []
    key, words = reminder_words(lesson)
    for h in hours:
        at = lesson.starts_at - timedelta(hours=h)
        if at <= now:
            continue
        rows.append(Outgoing(
            user_id=user_id, kind=OutboxKind.REMINDER, key=key,
            params={**words, "when": outbox.moment(lesson.starts_at, zone), "community": place},
            keyboard=buttons.reminder(lesson.id), not_before=at,
            group=reminder_group(lesson.id), dedupe_key=reminder_key(lesson, user_id, h)))
    return rows


async def _queue_reminders(
    session: AsyncSession, *, clock: Clock, lesson: Lesson, user_id: int,
    buttons: Buttons, notify: Notify | None,
) -> None:
    rules = await get_rules(session, community_id=lesson.community_id)
    zone = await zone_of(session, lesson.community_id)
    place = await named(session, community_id=lesson.community_id)
    await outbox.queue_many(session, clock=clock, notify=notify, rows=_reminders(
        lesson, place, user_id, rules.reminder_hours, zone, clock.now(), buttons))


async def _cancel_reminders(session: AsyncSession, *, session_id: int, user_id: int) -> None:
    """Withdraw one person's pending reminders of a session (whatever hours they were for)."""
    await withdraw(session, group=reminder_group(session_id), user_id=user_id)


async def enrol(
    session: AsyncSession, *, access: Access, user: User, clock: Clock, session_id: int,
    buttons: Buttons, waitlist: bool = False, notify: Notify | None = None,
) -> Enrolment:
    """Take a seat; when none is free, join the waitlist if `waitlist`, else LessonFull."""
    assert user.id is not None
    async with write(session):
        lesson = await _locked(session, session_id)
        now = clock.now()
        if lesson is None or not is_member(access, user, lesson.community_id):
            raise Gone(f"session {session_id}")  # or forged: another community's
        _still_open(lesson, now)
        enrolment = await _enrolment(session, session_id, user.id)
        held = await _held(session, session_id)
        if enrolment is not None and enrolment.status in SEAT_HOLDING:
            raise AlreadyEnrolled(enrolment.status)
        free = held < lesson.capacity
        if enrolment is not None and enrolment.status == EnrolmentStatus.WAITING and not free:
            raise AlreadyEnrolled(enrolment.status)
        if not free and not waitlist:
            raise LessonFull(f"session {session_id}")
        status = EnrolmentStatus.ENROLLED if free else EnrolmentStatus.WAITING
        if enrolment is None:
            enrolment = Enrolment(session_id=session_id, user_id=user.id, status=status,
                                  queued_at=now, created_at=now, updated_at=now)
        else:
            if enrolment.status != EnrolmentStatus.WAITING:
                enrolment.queued_at = now  # a comeback joins the end of the queue
            enrolment.status, enrolment.updated_at = status, now
            enrolment.offered_until = None
            enrolment.confirmed_at = None
        session.add(enrolment)
        if status == EnrolmentStatus.ENROLLED:
            await _queue_reminders(session, clock=clock, lesson=lesson, user_id=user.id,
                                   buttons=buttons, notify=notify)
            if held + 1 >= lesson.capacity:  # no seat is free any more: nobody is told so
                await withdraw(session, group=open_group(session_id))
        return enrolment


async def leave(
    session: AsyncSession, *, user: User, clock: Clock, session_id: int, buttons: Buttons,
    notify: Notify | None = None,
) -> Enrolment:
    """Cancel one's enrolment or waitlist place ("I can't come" too); a freed seat is
    offered to the waitlist."""
    assert user.id is not None
    async with write(session):
        lesson = await _locked(session, session_id)
        enrolment = await _enrolment(session, session_id, user.id) if lesson else None
        if lesson is None or enrolment is None or enrolment.status not in ACTIVE:
            raise NotEnrolled(f"session {session_id}")
        if lesson.status == LessonStatus.CANCELLED or lesson.starts_at <= clock.now():
            raise LessonClosed("cancelled" if lesson.status == LessonStatus.CANCELLED else "past")
        freed = enrolment.status in SEAT_HOLDING
        enrolment.status, enrolment.updated_at = EnrolmentStatus.CANCELLED, clock.now()
        enrolment.offered_until = None
        session.add(enrolment)
        await _cancel_reminders(session, session_id=session_id, user_id=user.id)
        if freed:
            await _offer_next(session, clock=clock, lesson=lesson, buttons=buttons, notify=notify)
        return enrolment


async def _offer_next(
    session: AsyncSession, *, clock: Clock, lesson: Lesson, buttons: Buttons,
    notify: Notify | None, announce: bool = True,
) -> None:
    """Offer every free seat to the next on the waitlist (the caller holds the lock).

    The offer is kept for the community's offer window from when it reaches the person (at
    the end of their quiet hours, if it is made in them). Where that window would not end
    2 hours before the start, no offer is made: the seat is open to whoever taps Enrol
    first, the waiting list included, and (with `announce`: a seat just given up) the
    people waiting are told so."""
    assert lesson.id is not None
    now = clock.now()
    closes = lesson.starts_at - OFFER_CLOSES
    if lesson.status != LessonStatus.SCHEDULED or lesson.starts_at <= now:
        return
    await session.flush()
    free = lesson.capacity - await _held(session, lesson.id)
    if free <= 0:
        return
    waiting = (await session.execute(select(Enrolment).where(
        col(Enrolment.session_id) == lesson.id, col(Enrolment.status) == EnrolmentStatus.WAITING,
    ).order_by(col(Enrolment.queued_at), col(Enrolment.id)))).scalars().all()
    zone = await zone_of(session, lesson.community_id)
    place = await named(session, community_id=lesson.community_id)
    window = timedelta(hours=(await get_rules(session,
                                              community_id=lesson.community_id)).offer_hours)
    rows = []
    offered = 0
    for enrolment in waiting[:free] if closes > now else ():
        prefs = await get_preferences(session, user_id=enrolment.user_id)
        reaches = quiet_until(prefs, now, zone) or now
        deadline = reaches + window
        if deadline > closes:
            break  # this one and the seats after it stay open to the first who taps
        enrolment.status, enrolment.offered_until = EnrolmentStatus.OFFERED, deadline
        enrolment.updated_at = now
        session.add(enrolment)
        offered += 1
        rows.append(Outgoing(
            user_id=enrolment.user_id, kind=OutboxKind.STATUS,
            key=N_("🎟 A seat has come free for “{title}” ({when}, {venue}).\n🏘 {community}\n"
                   "It is kept for you until {deadline}. Do you want it?"),
            params={"title": outbox_title(lesson), "when": outbox.moment(lesson.starts_at, zone),
                    "venue": lesson.venue, "deadline": outbox.moment(deadline, zone),
                    "community": place},
            keyboard=buttons.offer(lesson.id), priority=1, group=news_group(lesson.id),
            dedupe_key=offer_key(enrolment.id, deadline)))
    if announce and offered < free:
        rows.extend(Outgoing(
            user_id=enrolment.user_id, kind=OutboxKind.STATUS,
            key=N_("🎟 A seat has come free for “{title}” ({when}, {venue}).\n🏘 {community}\n"
                   "It is too close to the start to keep it for anyone: the first to tap "
                   "Enrol gets it."),
            params={"title": outbox_title(lesson), "when": outbox.moment(lesson.starts_at, zone),
                    "venue": lesson.venue, "community": place},
            keyboard=buttons.enrol(lesson.id), priority=1, group=open_group(lesson.id),
            dedupe_key=open_key(lesson.id, enrolment.user_id, now))
            for enrolment in waiting[offered:])
    await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)


async def answer_offer(
    session: AsyncSession, *, user: User, clock: Clock, session_id: int, accept: bool,
    buttons: Buttons, notify: Notify | None = None,
) -> Enrolment:
    """Confirm (take the seat) or decline (pass it on) a waitlist offer."""
    assert user.id is not None
    async with write(session):
        lesson = await _locked(session, session_id)
        enrolment = await _enrolment(session, session_id, user.id) if lesson else None
        now = clock.now()
        if lesson is None or enrolment is None:
            raise NotEnrolled(f"session {session_id}")
        if accept and enrolment.status == EnrolmentStatus.ENROLLED:
            raise AlreadyEnrolled(enrolment.status)
        _still_open(lesson, now)
        if (enrolment.status != EnrolmentStatus.OFFERED or enrolment.offered_until is None
                or enrolment.offered_until <= now):
            raise OfferExpired(f"session {session_id}")
        enrolment.offered_until, enrolment.updated_at = None, now
        if accept:
            enrolment.status = EnrolmentStatus.ENROLLED
            session.add(enrolment)
            await _queue_reminders(session, clock=clock, lesson=lesson, user_id=user.id,
                                   buttons=buttons, notify=notify)
        else:
            enrolment.status = EnrolmentStatus.CANCELLED
            session.add(enrolment)
            await _offer_next(session, clock=clock, lesson=lesson, buttons=buttons, notify=notify)
        return enrolment


async def expire_offers(
    session: AsyncSession, *, clock: Clock, buttons: Buttons, notify: Notify | None = None
) -> int:
    """Pass on every offer whose deadline has passed; safe to run twice. Returns how many."""
    now = clock.now()
    due = (await session.execute(select(col(Enrolment.session_id)).where(
        col(Enrolment.status) == EnrolmentStatus.OFFERED,
        col(Enrolment.offered_until) <= now).distinct())).scalars().all()
    await session.commit()
    expired = 0
    for session_id in due:
        async with write(session):
            lesson = await _locked(session, session_id)
            if lesson is None:
                continue
            lapsed = (await session.execute(select(Enrolment).where(
                col(Enrolment.session_id) == session_id,
                col(Enrolment.status) == EnrolmentStatus.OFFERED,
                col(Enrolment.offered_until) <= now))).scalars().all()
            zone = await zone_of(session, lesson.community_id)
            for enrolment in lapsed:
                enrolment.status, enrolment.offered_until = EnrolmentStatus.CANCELLED, None
                enrolment.updated_at = now
                session.add(enrolment)
                await outbox.queue(
                    session, clock=clock, user_id=enrolment.user_id, kind=OutboxKind.STATUS,
                    key=N_("The seat kept for you at “{title}” ({when}) has gone to the next "
                           "person, as there was no answer in time. You can go back on the "
                           "waiting list, at its end.\n🏘 {community}"),
                    params={"title": outbox_title(lesson),
                            "when": outbox.moment(lesson.starts_at, zone),
                            "community": await named(session,
                                                     community_id=lesson.community_id)},
                    keyboard=buttons.rejoin(session_id), group=news_group(session_id),
                    dedupe_key=lapsed_key(enrolment.id, now),
                    notify=notify)
                expired += 1
            await _offer_next(session, clock=clock, lesson=lesson, buttons=buttons,
                              notify=notify)
    return expired


async def confirm_coming(
    session: AsyncSession, *, user: User, clock: Clock, session_id: int
) -> Enrolment:
    """ "I'm coming" on a reminder."""
    assert user.id is not None
    async with write(session):
        enrolment = await _enrolment(session, session_id, user.id)
        if enrolment is None or enrolment.status != EnrolmentStatus.ENROLLED:
            raise NotEnrolled(f"session {session_id}")
        enrolment.confirmed_at = enrolment.confirmed_at or clock.now()
        session.add(enrolment)
        return enrolment


# --- Teachers' reminders ---------------------------------------------------------------


async def remind_teachers(
    session: AsyncSession, *, clock: Clock, notify: Notify | None = None
) -> int:
    """Queue the teacher's reminder, with the current headcount, once a reminder time has
    come (the latest one due; a late sweep does not send the earlier ones). Returns how many."""
    now = clock.now()
    horizon = now + timedelta(hours=168)
    lessons = (await session.execute(select(Lesson).where(
        col(Lesson.status) == LessonStatus.SCHEDULED,
        col(Lesson.starts_at) > now, col(Lesson.starts_at) <= horizon,
        col(Lesson.teacher_id).is_not(None)))).scalars().all()
    await session.commit()
    queued = 0
    for lesson in lessons:
        assert lesson.id is not None and lesson.teacher_id is not None
        rules = await get_rules(session, community_id=lesson.community_id)
        due = [h for h in rules.reminder_hours if lesson.starts_at - timedelta(hours=h) <= now]
        if not due:
            continue
        hours = min(due)
        counts = await counts_of(session, session_ids=[lesson.id])
        enrolled, waiting, _attended = counts.get(lesson.id, (0, 0, 0))
        zone = await zone_of(session, lesson.community_id)
        community = await session.get(Community, lesson.community_id)
        async with write(session):
            added = await outbox.queue(
                session, clock=clock, user_id=lesson.teacher_id, kind=OutboxKind.REMINDER,
                key=N_("⏰ A reminder for you as the teacher: “{title}”, {when}, at {venue} · "
                       "{community}.\n{enrolled} of {capacity} places are taken; {waiting} on "
                       "the waiting list. Thank you for teaching! 🙏"),
                params={"title": outbox_title(lesson),
                        "when": outbox.moment(lesson.starts_at, zone),
                        "venue": lesson.venue, "enrolled": enrolled,
                        "capacity": lesson.capacity, "waiting": waiting,
                        "community": community.name if community else ""},
                group=reminder_group(lesson.id),
                dedupe_key=teacher_reminder_key(lesson, hours), notify=notify)
        queued += int(added)
    return queued


# --- Check-in, attendance, ratings -----------------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    lesson: Lesson
    already: bool


async def _ask_rating(
    session: AsyncSession, *, clock: Clock, lesson: Lesson, user_id: int,
    buttons: Buttons, notify: Notify | None,
) -> None:
    assert lesson.id is not None
    await outbox.queue(
        session, clock=clock, user_id=user_id, kind=OutboxKind.STATUS,
        key=N_("How was “{title}”? Please give it 1 to 5 stars."),
        params={"title": outbox_title(lesson)}, keyboard=buttons.rate(lesson.id),
        not_before=max(ends_at(lesson), clock.now()), group=reminder_group(lesson.id),
        dedupe_key=rate_key(lesson.id, user_id), notify=notify)


async def check_in(
    session: AsyncSession, *, user: User, clock: Clock, token: str, buttons: Buttons,
    notify: Notify | None = None,
) -> CheckIn:
    """Scanning the venue's QR code marks a seat holder present (in the time window)."""
    assert user.id is not None
    found = await session.execute(select(col(Lesson.id)).where(
        col(Lesson.checkin_token) == token))
    session_id = found.scalar_one_or_none()
    if session_id is None:
        raise Gone("check-in token")
    async with write(session):
        lesson = await _locked(session, session_id)
        assert lesson is not None
        now = clock.now()
        enrolment = await _enrolment(session, session_id, user.id)
        if lesson.status == LessonStatus.CANCELLED:
            raise LessonClosed("cancelled")
        if now < lesson.starts_at - CHECK_IN_OPENS:
            raise NotInWindow("early")
        if now > ends_at(lesson) + CHECK_IN_CLOSES:
            raise NotInWindow("late")
        if enrolment is None or enrolment.status not in SEAT_HOLDING:
            raise NotEnrolled(f"session {session_id}")
        if enrolment.attended_at is not None:
            return CheckIn(lesson=lesson, already=True)
        enrolment.status, enrolment.offered_until = EnrolmentStatus.ENROLLED, None
        enrolment.attended_at = enrolment.updated_at = now
        session.add(enrolment)
        await _ask_rating(session, clock=clock, lesson=lesson, user_id=user.id, buttons=buttons,
                          notify=notify)
        return CheckIn(lesson=lesson, already=False)


async def mark_attendance(
    session: AsyncSession, *, access: Access, clock: Clock, session_id: int, user_id: int,
    present: bool, buttons: Buttons, notify: Notify | None = None,
) -> Enrolment:
    """Staff or the teacher tick someone present (or not) by hand, once it has started."""
    async with write(session):
        lesson = await _locked(session, session_id)
        enrolment = await _enrolment(session, session_id, user_id) if lesson else None
        if lesson is None or not may_run(access, lesson):
            raise NotTeacherOrStaff("not the teacher or staff")
        if lesson.status == LessonStatus.CANCELLED:
            raise LessonClosed("cancelled")
        if clock.now() < lesson.starts_at - CHECK_IN_OPENS:
            raise NotInWindow("early")
        if enrolment is None or enrolment.status not in SEAT_HOLDING:
            raise NotEnrolled(f"user {user_id}")
        if present and enrolment.attended_at is None:
            enrolment.attended_at = clock.now()
            await _ask_rating(session, clock=clock, lesson=lesson, user_id=user_id,
                              buttons=buttons, notify=notify)
        elif not present and enrolment.attended_at is not None:
            enrolment.attended_at = None
            await withdraw(session, dedupe_key=rate_key(session_id, user_id))
        enrolment.updated_at = clock.now()
        session.add(enrolment)
        audit.record(session, clock=clock, actor_id=access.user_id, action="session.attendance",
                     community_id=lesson.community_id, session_id=session_id, user_id=user_id,
                     present=present)
        return enrolment


async def rate(
    session: AsyncSession, *, user: User, clock: Clock, session_id: int, stars: int,
) -> Enrolment:
    """An attendee gives 1–5 stars (a second rating replaces the first)."""
    assert user.id is not None
    check_range(stars, field="stars", bounds=(1, 5))
    async with write(session):
        enrolment = await _enrolment(session, session_id, user.id)
        if enrolment is None or enrolment.attended_at is None:
            raise NotEnrolled(f"session {session_id}")
        enrolment.rating, enrolment.rated_at = stars, clock.now()
        session.add(enrolment)
        return enrolment


async def comment(
    session: AsyncSession, *, user: User, clock: Clock, session_id: int, text: str
) -> Enrolment:
    """An optional comment with the rating."""
    assert user.id is not None
    text = clean_text(text, field="comment", limit=COMMENT_MAX)
    async with write(session):
        enrolment = await _enrolment(session, session_id, user.id)
        if enrolment is None or enrolment.rating is None:
            raise NotEnrolled(f"session {session_id}")
        enrolment.comment = text
        session.add(enrolment)
        return enrolment


@dataclass(frozen=True)
class Ratings:
    count: int
    average: float | None
    comments: list[tuple[int, str]]  # (stars, comment), newest first


async def ratings(session: AsyncSession, *, access: Access, session_id: int) -> Ratings:
    """The average and the comments, for the teacher and staff."""
    lesson = await get_session(session, session_id=session_id)
    if not may_run(access, lesson):
        raise NotTeacherOrStaff("not the teacher or staff")
    rows = (await session.execute(select(col(Enrolment.rating), col(Enrolment.comment)).where(
        col(Enrolment.session_id) == session_id, col(Enrolment.rating).is_not(None))
        .order_by(col(Enrolment.rated_at).desc()))).all()
    stars = [r for r, _c in rows if r is not None]
    return Ratings(count=len(stars), average=sum(stars) / len(stars) if stars else None,
                   comments=[(r, c) for r, c in rows if c and r is not None])


# --- What people see -------------------------------------------------------------------


async def counts_of(
    session: AsyncSession, *, session_ids: Sequence[int]
) -> dict[int, tuple[int, int, int]]:
    """{session id: (seats held, waiting, attended)}."""
    if not session_ids:
        return {}
    rows = await session.execute(
        select(col(Enrolment.session_id),
               func.sum(case((col(Enrolment.status).in_(SEAT_HOLDING), 1), else_=0)),
               func.sum(case((col(Enrolment.status) == EnrolmentStatus.WAITING, 1), else_=0)),
               func.sum(case((col(Enrolment.attended_at).is_not(None), 1), else_=0)))
        .where(col(Enrolment.session_id).in_(list(session_ids)))
        .group_by(col(Enrolment.session_id)))
    counts = {sid: (int(a or 0), int(b or 0), int(c or 0)) for sid, a, b, c in rows.all()}
    walk_ins = await session.execute(
        select(col(WalkIn.session_id), func.count()).where(
            col(WalkIn.session_id).in_(list(session_ids))).group_by(col(WalkIn.session_id)))
    for sid, n in walk_ins.all():  # a walk-in holds a seat and is present
        held, waiting, attended = counts.get(sid, (0, 0, 0))
        counts[sid] = (held + int(n), waiting, attended + int(n))
    return counts


async def upcoming(
    session: AsyncSession, *, clock: Clock, community_id: int, limit: int = 20
) -> list[Lesson]:
    """The community's sessions still to come, soonest first."""
    rows = await session.execute(select(Lesson).where(
        col(Lesson.community_id) == community_id,
        col(Lesson.status) == LessonStatus.SCHEDULED,
        col(Lesson.starts_at) > clock.now()).order_by(col(Lesson.starts_at))
        .limit(limit))
    return list(rows.scalars().all())


async def community_sessions(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int,
    days_back: int = 14, limit: int = 30,
) -> list[Lesson]:
    """Staff: the community's recent and coming sessions (cancelled ones too)."""
    access.require_manage(community_id)
    rows = await session.execute(select(Lesson).where(
        col(Lesson.community_id) == community_id,
        col(Lesson.starts_at) > clock.now() - timedelta(days=days_back))
        .order_by(col(Lesson.starts_at)).limit(limit))
    return list(rows.scalars().all())


async def teacher_sessions(
    session: AsyncSession, *, clock: Clock, teacher_id: int, days_back: int = 14
) -> list[Lesson]:
    rows = await session.execute(select(Lesson).where(
        col(Lesson.teacher_id) == teacher_id,
        col(Lesson.status) == LessonStatus.SCHEDULED,
        col(Lesson.starts_at) > clock.now() - timedelta(days=days_back))
        .order_by(col(Lesson.starts_at)))
    return list(rows.scalars().all())


@dataclass(frozen=True)
class Roster:
    """Who holds a seat (with their attendance), who came in by name only, and who waits,
    in line order."""

    seated: list[tuple[Enrolment, User]]
    walk_ins: list[WalkIn]
    waiting: list[tuple[Enrolment, User]]


async def roster(session: AsyncSession, *, access: Access, session_id: int) -> Roster:
    """The session's people, for the teacher and staff."""
    lesson = await get_session(session, session_id=session_id)
    if not may_run(access, lesson):
        raise NotTeacherOrStaff("not the teacher or staff")
    rows = (await session.execute(
        select(Enrolment, User).join(User, col(User.id) == col(Enrolment.user_id))
        .where(col(Enrolment.session_id) == session_id,
               col(Enrolment.status).in_((*SEAT_HOLDING, EnrolmentStatus.WAITING)))
        .order_by(col(Enrolment.queued_at), col(Enrolment.id)))).all()
    walk_ins = (await session.execute(select(WalkIn).where(
        col(WalkIn.session_id) == session_id).order_by(col(WalkIn.id)))).scalars().all()
    return Roster(seated=[(e, u) for e, u in rows if e.status in SEAT_HOLDING],
                  walk_ins=list(walk_ins),
                  waiting=[(e, u) for e, u in rows if e.status == EnrolmentStatus.WAITING])


WALK_IN_NAME_MAX = 60
FOUND_MAX = 8


async def find_residents(
    session: AsyncSession, *, access: Access, session_id: int, query: str
) -> list[User]:
    """Residents of the session's community whose name contains `query` (for a walk-in),
    at most FOUND_MAX, by name."""
    lesson = await get_session(session, session_id=session_id)
    if not may_run(access, lesson):
        raise NotTeacherOrStaff("not the teacher or staff")
    words = query.strip()
    if not words:
        return []
    pattern = like_pattern(words)
    found = await session.execute(select(User).where(
        col(User.community_id) == lesson.community_id, col(User.tg_id).is_not(None),
        col(User.first_name).ilike(pattern, escape="\\"))
        .order_by(col(User.first_name), col(User.id)).limit(FOUND_MAX))
    return list(found.scalars().all())


@dataclass(frozen=True)
class WalkInAdded:
    lesson: Lesson
    name: str
    already: bool  # they were holding a seat already: only marked present


async def add_walk_in(
    session: AsyncSession, *, access: Access, clock: Clock, session_id: int, buttons: Buttons,
    user_id: int | None = None, name: str | None = None, notify: Notify | None = None,
) -> WalkInAdded:
    """Staff or the teacher let someone in at the door, in the check-in window: a resident
    of the community (`user_id`: they take a free seat, are marked present and asked for a
    rating), or someone by `name` only. Either needs a free seat (LessonFull), unless the
    resident holds one already."""
    if (user_id is None) == (name is None):
        raise ValueError("give user_id or name")
    if name is not None:
        name = clean_text(name, field="name", limit=WALK_IN_NAME_MAX)
    async with write(session):
        lesson = await _locked(session, session_id)
        if lesson is None or not may_run(access, lesson):
            raise NotTeacherOrStaff("not the teacher or staff")
        now = clock.now()
        if lesson.status == LessonStatus.CANCELLED:
            raise LessonClosed("cancelled")
        if now < lesson.starts_at - CHECK_IN_OPENS:
            raise NotInWindow("early")
        if now > ends_at(lesson) + CHECK_IN_CLOSES:
            raise NotInWindow("late")
        free = await _held(session, session_id) < lesson.capacity
        if user_id is not None:
            resident = await session.get(User, user_id)
            if resident is None or resident.community_id != lesson.community_id:
                raise Gone(f"user {user_id}")
            enrolment = await _enrolment(session, session_id, user_id)
            already = enrolment is not None and enrolment.status in SEAT_HOLDING
            if not already and not free:
                raise LessonFull(f"session {session_id}")
            if enrolment is None:
                enrolment = Enrolment(session_id=session_id, user_id=user_id,
                                      status=EnrolmentStatus.ENROLLED, queued_at=now,
                                      created_at=now, updated_at=now)
            enrolment.status, enrolment.offered_until = EnrolmentStatus.ENROLLED, None
            if enrolment.attended_at is None:
                enrolment.attended_at = now
                await _ask_rating(session, clock=clock, lesson=lesson, user_id=user_id,
                                  buttons=buttons, notify=notify)
            enrolment.updated_at = now
            session.add(enrolment)
            said = resident.first_name or ""
        else:
            assert name is not None
            if not free:
                raise LessonFull(f"session {session_id}")
            session.add(WalkIn(session_id=session_id, name=name, added_by=access.user_id,
                               added_at=now))
            already, said = False, name
        audit.record(session, clock=clock, actor_id=access.user_id, action="session.walk_in",
                     community_id=lesson.community_id, session_id=session_id,
                     user_id=user_id, by_name=name is not None)
        return WalkInAdded(lesson=lesson, name=said, already=already)


@dataclass(frozen=True)
class LessonView:
    """One session as one person may see it: the counts, their place, and what the
    screen may offer them, decided here beside the rules it mirrors."""

    lesson: Lesson
    held: int
    waiting: int
    attended: int
    mine: Enrolment | None
    position: int | None     # on the waitlist, 1 for the first in line
    can_enrol: bool          # ✍️ Enrol: a seat is free and they hold none (waiting too)
    can_wait: bool           # 🕒 Full: join the waiting list
    can_leave: bool          # ❌ Cancel my place
    can_accept: bool         # ✅ take the seat kept for them
    can_calendar: bool       # 📅 Add to my calendar
    can_run: bool            # teacher or staff: who is coming, ratings, the counts
    can_show_code: bool      # 📷 the check-in QR code
    can_move: bool           # 🔁 Move
    can_cancel: bool         # 🚫 Cancel the session
    teacher: User | None = None    # who teaches it (None: not known any more)
    community: str = ""            # the community's name, said on the card
    also: tuple[Lesson, ...] = ()  # the same course's other sessions still to come


async def view(
    session: AsyncSession, *, access: Access, user: User, clock: Clock, lesson_id: int
) -> LessonView:
    """The session `lesson_id` for this person (a forged id of another community's
    session: Gone)."""
    lesson = await session.get(Lesson, lesson_id)
    if lesson is None or not (is_member(access, user, lesson.community_id)
                              or may_run(access, lesson)):
        raise Gone(f"session {lesson_id}")
    held, waiting, attended = (await counts_of(session, session_ids=[lesson_id])).get(
        lesson_id, (0, 0, 0))
    mine = await _enrolment(session, lesson_id, user.id or 0)
    status = mine.status if mine is not None else None
    position = (await waitlist_position(session, enrolment=mine)
                if mine is not None and status == EnrolmentStatus.WAITING else None)
    open_ = lesson.status == LessonStatus.SCHEDULED and lesson.starts_at > clock.now()
    free = held < lesson.capacity
    holds = status in SEAT_HOLDING
    runs = may_run(access, lesson)
    teacher = await session.get(User, lesson.teacher_id) if lesson.teacher_id else None
    community = await session.get(Community, lesson.community_id)
    return LessonView(
        lesson=lesson, held=held, waiting=waiting, attended=attended, mine=mine,
        position=position, teacher=teacher, community=community.name if community else "",
        also=tuple(await _same_course(session, lesson, clock.now())),
        # as enrol(): a free seat goes to whoever taps, the waiting list included (in the
        # last 2 hours no offer is made, so a freed seat stays free for them)
        can_enrol=open_ and not holds and free,
        can_wait=open_ and not holds and status != EnrolmentStatus.WAITING and not free,
        can_leave=open_ and status in ACTIVE,
        can_accept=open_ and status == EnrolmentStatus.OFFERED,
        can_calendar=status in SEAT_HOLDING,  # a place in line is no date yet
        can_run=runs,
        can_show_code=runs and lesson.status == LessonStatus.SCHEDULED,
        can_move=runs and open_,
        can_cancel=runs and open_,
    )


async def _same_course(session: AsyncSession, lesson: Lesson, now: datetime,
                       limit: int = 3) -> list[Lesson]:
    """The other sessions of the same course (or order) still to come, soonest first."""
    if lesson.course_id is None and lesson.order_id is None:
        return []
    same = (col(Lesson.course_id) == lesson.course_id if lesson.course_id is not None
            else col(Lesson.order_id) == lesson.order_id)
    rows = await session.execute(select(Lesson).where(
        same, col(Lesson.id) != lesson.id, col(Lesson.community_id) == lesson.community_id,
        col(Lesson.status) == LessonStatus.SCHEDULED, col(Lesson.starts_at) > now)
        .order_by(col(Lesson.starts_at)).limit(limit))
    return list(rows.scalars().all())


# Built once (see services.paging): the sessions ahead, of a community or of one course.
_COMING_UP = (select(Lesson).where(
    col(Lesson.community_id) == bindparam("community_id"),
    col(Lesson.status) == LessonStatus.SCHEDULED, col(Lesson.starts_at) > bindparam("now"))
    .order_by(col(Lesson.starts_at)).limit(bindparam("limit")))
_COMING_UP_OF = _COMING_UP.where(col(Lesson.course_id) == bindparam("course_id"))


async def coming_up(
    session: AsyncSession, *, access: Access, user: User, clock: Clock,
    course_id: int | None = None, limit: int = 3,
) -> list[LessonView]:
    """The next few sessions of the person's community (of one course, with `course_id`)
    as they may see them, for direct Enrol buttons; none without a community."""
    if user.community_id is None:
        return []
    found = await session.execute(
        _COMING_UP if course_id is None else _COMING_UP_OF,
        {"community_id": user.community_id, "now": clock.now(), "limit": limit,
         "course_id": course_id})
    lessons = found.scalars().all()
    return [await view(session, access=access, user=user, clock=clock, lesson_id=lesson.id or 0)
            for lesson in lessons]


async def runnable(session: AsyncSession, *, access: Access, lesson_id: int) -> Lesson:
    """The session, for its teacher or the community's staff (anyone else, or an id that
    is not there: NotTeacherOrStaff, the same answer either way)."""
    lesson = await session.get(Lesson, lesson_id)
    if lesson is None or not may_run(access, lesson):
        raise NotTeacherOrStaff("not the teacher or staff")
    return lesson


async def my_enrolment(
    session: AsyncSession, *, session_id: int, user_id: int
) -> Enrolment | None:
    return await _enrolment(session, session_id, user_id)


async def waitlist_position(session: AsyncSession, *, enrolment: Enrolment) -> int:
    """1 for the first in line."""
    ahead = await session.execute(select(func.count()).select_from(Enrolment).where(
        col(Enrolment.session_id) == enrolment.session_id,
        col(Enrolment.status) == EnrolmentStatus.WAITING,
        (col(Enrolment.queued_at) < enrolment.queued_at)
        | ((col(Enrolment.queued_at) == enrolment.queued_at)
           & (col(Enrolment.id) < (enrolment.id or 0)))))
    return int(ahead.scalar_one()) + 1


@dataclass(frozen=True)
class MyCourse:
    lesson: Lesson
    enrolment: Enrolment
    position: int | None  # on the waitlist


async def my_sessions(session: AsyncSession, *, clock: Clock, user_id: int) -> list[MyCourse]:
    """A resident's coming sessions: seats, offers and waitlist places."""
    rows = (await session.execute(
        select(Lesson, Enrolment)
        .join(Enrolment, col(Enrolment.session_id) == col(Lesson.id))
        .where(col(Enrolment.user_id) == user_id, col(Enrolment.status).in_(ACTIVE),
               col(Lesson.status) == LessonStatus.SCHEDULED,
               col(Lesson.starts_at) > clock.now() - timedelta(hours=3))
        .order_by(col(Lesson.starts_at)))).all()
    found = []
    for lesson, enrolment in rows:
        position = (await waitlist_position(session, enrolment=enrolment)
                    if enrolment.status == EnrolmentStatus.WAITING else None)
        found.append(MyCourse(lesson=lesson, enrolment=enrolment, position=position))
    return found


async def ics_file(session: AsyncSession, *, access: Access, user: User,
                   session_id: int) -> bytes:
    """The session as an iCalendar file, in the community's time zone, with an alarm
    an hour before, for those who hold a seat in it (a place in line is not a date to keep)
    and those who run it."""
    from icalendar import Alarm, Calendar, Event  # 3 MB of memory: loaded when asked for

    lesson = await get_session(session, session_id=session_id)
    enrolment = await _enrolment(session, session_id, user.id) if user.id is not None else None
    mine = enrolment is not None and enrolment.status in SEAT_HOLDING
    if not (mine or may_run(access, lesson)):
        raise Gone(f"session {session_id}")
    zone = await zone_of(session, lesson.community_id)
    calendar = Calendar()
    calendar.add("prodid", "-//Community living room//courses//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"course-session-{lesson.id}@community-living-room")
    title = title_in(lesson, user.locale)  # in the language of the one who keeps it
    event.add("summary", title)
    event.add("location", lesson.venue)
    event.add("dtstart", lesson.starts_at.astimezone(zone))
    event.add("dtend", ends_at(lesson).astimezone(zone))
    event.add("dtstamp", lesson.created_at)
    if lesson.status == LessonStatus.CANCELLED:
        event.add("status", "CANCELLED")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", -ICS_ALARM)
    event.add_component(alarm)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


# --- Privacy ---------------------------------------------------------------------------


async def erase_enrolments(session: AsyncSession, user_id: int, now: datetime) -> None:
    """/deleteme: blank what the person wrote and give up their places in sessions still
    ahead (`offer_free_seats` offers the seats on); keep the rows for anonymous counts.

    Runs inside erase_user's write transaction, so it locks the sessions' rows itself
    rather than through _lock (which would commit the erasure half done)."""
    await session.execute(update(Enrolment).where(col(Enrolment.user_id) == user_id)
                          .values(comment=None).execution_options(synchronize_session=False))
    ahead = (await session.execute(
        select(Lesson).join(Enrolment, col(Enrolment.session_id) == col(Lesson.id))
        .where(col(Enrolment.user_id) == user_id, col(Enrolment.status).in_(ACTIVE),
               col(Lesson.status) == LessonStatus.SCHEDULED,
               col(Lesson.starts_at) > now)
        .order_by(col(Lesson.id)).with_for_update(of=Lesson))).scalars().all()
    for lesson in ahead:
        assert lesson.id is not None
        await session.execute(
            update(Enrolment).where(col(Enrolment.session_id) == lesson.id,
                                    col(Enrolment.user_id) == user_id,
                                    col(Enrolment.status).in_(ACTIVE))
            .values(status=EnrolmentStatus.CANCELLED, offered_until=None, updated_at=now)
            .execution_options(synchronize_session=False))
        await _cancel_reminders(session, session_id=lesson.id, user_id=user_id)


async def offer_free_seats(
    session: AsyncSession, *, clock: Clock, buttons: Buttons, notify: Notify | None = None
) -> int:
    """Offer the seats that came free without being offered (someone erased their data)
    to the waitlists; safe to run twice. Returns how many sessions had seats to offer."""
    now = clock.now()
    held = (select(func.count()).select_from(Enrolment)
            .where(col(Enrolment.session_id) == col(Lesson.id),
                   col(Enrolment.status).in_(SEAT_HOLDING))
            .correlate(Lesson).scalar_subquery()
            + select(func.count()).select_from(WalkIn)
            .where(col(WalkIn.session_id) == col(Lesson.id)).correlate(Lesson).scalar_subquery())
    waiting = (select(Enrolment.id)
               .where(col(Enrolment.session_id) == col(Lesson.id),
                      col(Enrolment.status) == EnrolmentStatus.WAITING)
               .correlate(Lesson).exists())
    found = (await session.execute(select(col(Lesson.id)).where(
        col(Lesson.status) == LessonStatus.SCHEDULED,
        col(Lesson.starts_at) > now + OFFER_CLOSES,
        waiting, col(Lesson.capacity) > held))).scalars().all()
    await session.commit()
    for session_id in found:
        async with write(session):
            lesson = await _locked(session, session_id or 0)
            if lesson is not None:  # (a seat nobody gave up today: not announced)
                await _offer_next(session, clock=clock, lesson=lesson, buttons=buttons,
                                  notify=notify, announce=False)
    return len(found)






# --- What to bring ---------------------------------------------------------------------


async def set_bring(session: AsyncSession, *, access: Access, clock: Clock, session_id: int,
                    text: str | None) -> Lesson:
    """The session's teacher or staff say what to bring ("a yoga mat"), shown on its card;
    None or blank: nothing to bring. Only before it starts."""
    what = clean_text(text or "", field="bring", limit=BRING_MAX, required=False) or None
    async with write(session):
        lesson = await _locked(session, session_id)
        if lesson is None or not may_run(access, lesson):
            raise NotTeacherOrStaff("not the teacher or staff")
        _still_open(lesson, clock.now())
        lesson.bring = what
        session.add(lesson)
        # The reminders not sent yet say it too (they were worded when each seat was taken).
        key, words = reminder_words(lesson)
        pending = await session.execute(select(OutboxMessage).where(
            col(OutboxMessage.group_key) == reminder_group(lesson.id or 0),
            col(OutboxMessage.kind) == OutboxKind.REMINDER,
            col(OutboxMessage.status) == OutboxStatus.PENDING))
        for row in pending.scalars().all():
            row.key = key
            row.params = {**{k: v for k, v in row.params.items() if k != "bring"}, **words}
            session.add(row)
        audit.record(session, clock=clock, actor_id=access.user_id, action="session.bring",
                     community_id=lesson.community_id, session_id=lesson.id)
        return lesson
