"""Broadcasts: staff announcements to an audience, queued in the outbox.

The audience is resolved when the broadcast goes out: at once for "send now",
at `send_at` for a scheduled one (`start_due`, run by the progress job), so
whoever joined meanwhile gets it and whoever left does not. Each recipient
gets one outbox row in the group `broadcast:<id>` with a dedupe key per
person, so a repeated "send" can never queue anyone twice, and cancelling is
cancelling the group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Select, String, func, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community, Grid
from models.courses import (
    SEAT_HOLDING,
    CourseOrder,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonStatus,
    OrderBacking,
    OrderStatus,
)
from models.db import write
from models.outbox import MediaKind, OutboxKind, OutboxMessage, OutboxStatus
from models.polls import Poll, PollAnswer
from models.preferences import NotificationPrefs
from models.users import Role, RoleGrant, User
from models.volunteers import Skill, Volunteer
from services import audit, exports, outbox
from services.access import Access
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotFound
from services.preferences import DEFAULTS, Preferences, quiet_until
from services.scope import natural_key
from services.text import utf16_len

log = logging.getLogger(__name__)

TEXT_MAX = 4096
CAPTION_MAX = 1024
QUEUE_CHUNK = 5000
# A scheduled time a little in the past (the staff member took a minute to confirm) is "now".
PAST_GRACE = timedelta(minutes=5)
# How far ahead a broadcast may be scheduled (the day picker offers as far).
SCHEDULE_DAYS = 31


@dataclass(frozen=True)
class Audience:
    """Who receives it: `kind` names a resolver; `ids` are its grids (or its one session,
    order or poll); `skill` narrows volunteers to those with it."""

    kind: str = "all"
    ids: tuple[int, ...] = ()
    skill: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "ids": list(self.ids)}
        if self.skill is not None:
            data["skill"] = self.skill
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        ids = tuple(int(i) for i in data.get("ids", ()))
        skill = data.get("skill")
        return cls(kind=str(data.get("kind", "all")), ids=ids,
                   skill=str(skill) if skill is not None else None)


def _people(community_id: int | None) -> Select[Any]:
    """Everyone who can be written to: consented, not erased, in the community."""
    query = select(col(User.id)).where(col(User.tg_id).is_not(None),
                                       col(User.consented_at).is_not(None),
                                       col(User.deleted_at).is_(None))
    if community_id is not None:
        query = query.where(col(User.community_id) == community_id)
    return query


def _everyone(community_id: int | None, ids: tuple[int, ...]) -> Select[Any]:
    return _people(community_id)


def _grids(community_id: int | None, ids: tuple[int, ...]) -> Select[Any]:
    return _people(community_id).where(col(User.grid_id).in_(ids))


def _role(role: Role) -> Callable[[int | None, tuple[int, ...]], Select[Any]]:
    def resolve(community_id: int | None, ids: tuple[int, ...]) -> Select[Any]:
        holders = select(col(RoleGrant.user_id)).where(col(RoleGrant.role) == role)
        if community_id is not None:
            holders = holders.where(col(RoleGrant.community_id) == community_id)
        return (select(col(User.id)).where(col(User.id).in_(holders),
                                           col(User.tg_id).is_not(None),
                                           col(User.deleted_at).is_(None)))
    return resolve


# The audiences a poll may also be put to (handlers/voices/poll_staff.py offers these).
AUDIENCES: dict[str, Callable[[int | None, tuple[int, ...]], Select[Any]]] = {
    "all": _everyone,
    "grids": _grids,
    "teachers": _role(Role.TEACHER),
}


def _reachable(query: Select[Any]) -> Select[Any]:
    """Of the user ids `query` selects, those who can be written to."""
    return _people(None).where(col(User.id).in_(query))


def _in_community(column: Any, community_id: int | None) -> Any:
    return column == community_id if community_id is not None else column.is_not(None)


def _lesson_people(statuses: tuple[EnrolmentStatus, ...]) -> Callable[
        [int | None, Audience], Select[Any]]:
    def resolve(community_id: int | None, audience: Audience) -> Select[Any]:
        lessons = select(col(Lesson.id)).where(col(Lesson.id).in_(audience.ids),
                                               _in_community(col(Lesson.community_id),
                                                             community_id))
        return _reachable(select(col(Enrolment.user_id)).where(
            col(Enrolment.session_id).in_(lessons), col(Enrolment.status).in_(statuses)))
    return resolve


def _backers(community_id: int | None, audience: Audience) -> Select[Any]:
    """Who ordered the course and everyone who said "me too"."""
    orders = select(col(CourseOrder.id)).where(
        col(CourseOrder.id).in_(audience.ids),
        _in_community(col(CourseOrder.community_id), community_id))
    ordered = select(col(CourseOrder.user_id)).where(col(CourseOrder.id).in_(orders))
    backed = select(col(OrderBacking.user_id)).where(col(OrderBacking.order_id).in_(orders))
    return _people(None).where(or_(col(User.id).in_(ordered), col(User.id).in_(backed)))


def _volunteers(community_id: int | None, audience: Audience) -> Select[Any]:
    """Volunteers of the community (of the district), all or those with `skill`."""
    query = select(col(Volunteer.user_id))
    if community_id is not None:
        query = query.where(col(Volunteer.community_id) == community_id)
    if audience.skill is not None:
        # Skills are a JSON list; its text holds the skill's value in quotes.
        query = query.where(sql_cast(col(Volunteer.skills), String).like(
            f'%"{audience.skill}"%'))
    return _reachable(query)


def _not_answered(community_id: int | None, audience: Audience) -> Select[Any]:
    """Of those a poll was put to (its invitations), who has not answered it."""
    poll_id = audience.ids[0]
    poll = select(col(Poll.id)).where(col(Poll.id) == poll_id,
                                      _in_community(col(Poll.community_id), community_id))
    invited = select(col(OutboxMessage.user_id)).where(
        col(OutboxMessage.group_key) == f"poll:{poll_id}",
        col(OutboxMessage.dedupe_key).like(f"poll:{poll_id}:invite:%"), poll.exists())
    answered = select(col(PollAnswer.user_id)).where(col(PollAnswer.poll_id) == poll_id)
    return _reachable(invited).where(col(User.id).not_in(answered))


def _communities(community_id: int | None, audience: Audience) -> Select[Any]:
    """Everyone in several communities at once (a district announcement, admins only)."""
    return _people(None).where(col(User.community_id).in_(audience.ids))


# Audiences only an announcement offers; each but volunteers needs one thing of its
# community chosen (a session, an order, a poll: `targets` lists them).
MORE_AUDIENCES: dict[str, Callable[[int | None, Audience], Select[Any]]] = {
    "lesson": _lesson_people(SEAT_HOLDING),
    "waiting": _lesson_people((EnrolmentStatus.WAITING,)),
    "backers": _backers,
    "volunteers": _volunteers,
    "poll": _not_answered,
    "communities": _communities,
}
# Those that are one thing of a community, chosen on a list.
ONE_OF = ("lesson", "waiting", "backers", "poll")


def check_scope(access: Access, community_id: int | None) -> None:
    """Staff reach their own community; only a district admin reaches the whole district."""
    if community_id is None:
        access.require_admin()
    else:
        access.require_manage(community_id)


def audiences_for(access: Access, *, community_id: int | None) -> list[str]:
    """The audience kinds a draft may offer: grids, sessions, orders and polls only within
    one community."""
    check_scope(access, community_id)
    kinds = [*AUDIENCES, *MORE_AUDIENCES]
    if community_id is None:
        return [kind for kind in kinds if kind != "grids" and kind not in ONE_OF]
    return [kind for kind in kinds if kind != "communities"]


def audience_query(community_id: int | None, audience: Audience) -> Select[Any]:
    """The user ids an audience stands for."""
    if audience.kind in MORE_AUDIENCES:
        if (audience.kind in ONE_OF and len(audience.ids) != 1) or (
                audience.skill is not None and audience.skill not in skills()) or (
                audience.kind == "communities" and (community_id is not None
                                                    or not audience.ids)):
            raise InvalidInput("audience", "unknown")
        return MORE_AUDIENCES[audience.kind](community_id, audience).distinct()
    resolver = AUDIENCES.get(audience.kind)
    if resolver is None or (audience.kind == "grids" and not audience.ids):
        raise InvalidInput("audience", "unknown")
    return resolver(community_id, audience.ids).distinct()


@dataclass(frozen=True)
class Target:
    """One thing an audience may be the people of: a session, an order, a poll."""

    id: int
    title: str
    at: datetime | None = None   # a session's start, a poll's deadline
    count: int = 0               # how many it would reach now
    titles: dict[str, str] = field(default_factory=dict)  # a session's other-language titles


TARGETS_MAX = 20


async def targets(session: AsyncSession, *, access: Access, community_id: int | None,
                  kind: str, now: datetime) -> list[Target]:
    """What a `kind` in ONE_OF may be chosen from, in the community: sessions not yet
    over (soonest first), open orders (most backed first), polls still open or closed
    this past month (newest first); at most TARGETS_MAX."""
    check_scope(access, community_id)
    if community_id is None or kind not in ONE_OF:
        raise InvalidInput("audience", "unknown")
    found: list[tuple[int, str, datetime | None]]
    titles: dict[int, dict[str, str]] = {}
    if kind in ("lesson", "waiting"):
        lessons = list((await session.execute(
            select(Lesson).where(col(Lesson.community_id) == community_id,
                                 col(Lesson.status) == LessonStatus.SCHEDULED,
                                 col(Lesson.starts_at) > now - timedelta(days=1))
            .order_by(col(Lesson.starts_at)).limit(TARGETS_MAX))).scalars())
        found = [(r.id or 0, r.title, r.starts_at) for r in lessons]
        titles = {r.id or 0: dict(r.titles or {}) for r in lessons}
    elif kind == "backers":
        found = [(r.id or 0, r.topic, None) for r in (await session.execute(
            select(CourseOrder).where(col(CourseOrder.community_id) == community_id,
                                      col(CourseOrder.status).in_(
                                          (OrderStatus.OPEN, OrderStatus.TAKEN,
                                           OrderStatus.SCHEDULED)))
            .order_by(col(CourseOrder.backers).desc(), col(CourseOrder.id).desc())
            .limit(TARGETS_MAX))).scalars()]
    else:
        found = [(r.id or 0, r.title, r.closes_at) for r in (await session.execute(
            select(Poll).where(col(Poll.community_id) == community_id,
                               col(Poll.closes_at) > now - timedelta(days=31))
            .order_by(col(Poll.id).desc()).limit(TARGETS_MAX))).scalars()]
    result = []
    for target_id, title, at in found:
        query = audience_query(community_id, Audience(kind=kind, ids=(target_id,)))
        count = int((await session.execute(
            select(func.count()).select_from(query.subquery()))).scalar_one())
        result.append(Target(id=target_id, title=title, at=at, count=count,
                             titles=titles.get(target_id, {})))
    return result


def skills() -> list[str]:
    """The skills a volunteers' audience may be narrowed to, in the order they are shown."""
    return [skill.value for skill in Skill]


async def count_audience(
    session: AsyncSession, *, access: Access, community_id: int | None, audience: Audience
) -> int:
    """How many people the broadcast would reach."""
    check_scope(access, community_id)
    query = select(func.count()).select_from(audience_query(community_id, audience).subquery())
    return int((await session.execute(query)).scalar_one())


@dataclass(frozen=True)
class QuietHours:
    """Of an audience, at the moment it would go out: how many are in their quiet hours
    (a message that is not urgent waits for them to end) and when the last of those ends."""

    waiting: int = 0
    until: datetime | None = None


async def quiet_hours(
    session: AsyncSession, *, access: Access, community_id: int | None, audience: Audience,
    at: datetime, default_tz: str, defaults: Preferences = DEFAULTS,
) -> QuietHours:
    """Who of the audience would wait for their quiet hours to end if it went out `at`
    (as the outbox decides it: their own hours or the district's, in their community's
    time zone; those who muted announcements are not waiting, they are skipped)."""
    check_scope(access, community_id)
    ids = audience_query(community_id, audience).subquery()
    found = await session.execute(
        select(col(User.id), col(Community.timezone), col(NotificationPrefs.user_id),
               col(NotificationPrefs.muted), col(NotificationPrefs.quiet_start),
               col(NotificationPrefs.quiet_end))
        .where(col(User.id).in_(select(ids.c.id)))
        .outerjoin(Community, col(Community.id) == col(User.community_id))
        .outerjoin(NotificationPrefs, col(NotificationPrefs.user_id) == col(User.id)))
    fallback = ZoneInfo(default_tz)
    waiting, last = 0, None
    for _user_id, timezone, prefs_user, muted, start, end in found.all():
        prefs = defaults if prefs_user is None else Preferences.from_columns(muted, start, end)
        if not prefs.allows(OutboxKind.ANNOUNCEMENT, urgent=False):
            continue
        until = quiet_until(prefs, at, ZoneInfo(timezone) if timezone else fallback)
        if until is not None:
            waiting += 1
            last = until if last is None else max(last, until)
    return QuietHours(waiting=waiting, until=last)


def check_text(text: str, *, media: MediaKind | None) -> None:
    limit = CAPTION_MAX if media else TEXT_MAX
    if not text.strip() and media is None:
        raise InvalidInput("text", "empty")
    if utf16_len(text) > limit:
        raise InvalidInput("text", "too_long", limit=limit)


async def create_broadcast(
    session: AsyncSession,
    *,
    access: Access,
    clock: Clock,
    community_id: int | None,
    text: str,
    audience: Audience,
    send_at: datetime | None = None,
    media: MediaKind | None = None,
    file_id: str | None = None,
    urgent: bool = False,
    quiet: QuietHours | None = None,
    draft_key: str | None = None,
    notify: outbox.Notify | None = None,
) -> Broadcast:
    """Create a broadcast and queue one message per recipient (now, or at `send_at` to
    whoever is in the audience then). `quiet` is what the confirmation said of quiet
    hours: the audit log keeps whether the staff member let them wait or chose urgent.
    `draft_key` names the draft: a second confirmation of it (a double tap) raises
    AlreadyQueued and makes nothing."""
    check_scope(access, community_id)
    check_text(text, media=media)
    now = clock.now()
    if send_at is None or send_at < now:
        if send_at is not None and send_at < now - PAST_GRACE:
            raise InvalidInput("send_at", "past")
        send_at = now
    if send_at > now + timedelta(days=SCHEDULE_DAYS + 1):
        raise InvalidInput("send_at", "too_far", limit=SCHEDULE_DAYS)
    scheduled = send_at > now
    try:
        return await _create(session, access=access, clock=clock, community_id=community_id,
                             text=text, audience=audience, send_at=send_at, media=media,
                             file_id=file_id, urgent=urgent, quiet=quiet, draft_key=draft_key,
                             notify=notify, scheduled=scheduled)
    except IntegrityError:  # the same draft, confirmed at the same moment by another tap
        if draft_key is None:
            raise
        await session.rollback()
        made = (await session.execute(select(col(Broadcast.id)).where(
            col(Broadcast.draft_key) == draft_key))).scalar()
        await session.commit()
        raise AlreadyQueued(made) from None


async def _create(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int | None, text: str,
    audience: Audience, send_at: datetime, media: MediaKind | None, file_id: str | None,
    urgent: bool, quiet: QuietHours | None, draft_key: str | None,
    notify: outbox.Notify | None, scheduled: bool,
) -> Broadcast:
    now = clock.now()
    async with write(session):
        if draft_key is not None:
            made = (await session.execute(select(col(Broadcast.id)).where(
                col(Broadcast.draft_key) == draft_key))).scalar()
            if made is not None:
                raise AlreadyQueued(made)
        if scheduled:  # queued when it goes out: only how many it would reach today
            total = int((await session.execute(select(func.count()).select_from(
                audience_query(community_id, audience).subquery()))).scalar_one())
        else:
            found = await session.execute(audience_query(community_id, audience))
            recipients: list[int] = list(found.scalars())
            total = len(recipients)
        if not total:
            raise InvalidInput("audience", "empty")
        broadcast = Broadcast(
            community_id=community_id, author_id=access.user_id, text=text,
            media=media, file_id=file_id, audience=audience.to_json(), urgent=urgent,
            send_at=send_at, status=BroadcastStatus.SCHEDULED if scheduled
            else BroadcastStatus.SENDING, total=total, created_at=now, draft_key=draft_key,
        )
        session.add(broadcast)
        await session.flush()
        if not scheduled:
            await _queue(session, broadcast, recipients, clock=clock, notify=notify)
        audit.record(session, clock=clock, actor_id=access.user_id, action="broadcast.create",
                     community_id=community_id, broadcast_id=broadcast.id,
                     audience=audience.to_json(), recipients=total, urgent=urgent,
                     send_at=send_at.isoformat(),
                     **({"quiet_hours": quiet.waiting,
                         "quiet_choice": "urgent" if urgent else "wait"}
                        if quiet is not None and quiet.waiting else {}))
    log.info("broadcast %s %s: %d recipients, community %s, from %s", broadcast.id,
             "scheduled" if scheduled else "queued", total, community_id, send_at.isoformat())
    return broadcast


async def _queue(session: AsyncSession, broadcast: Broadcast, recipients: list[int], *,
                 clock: Clock, notify: outbox.Notify | None) -> None:
    """One outbox row per recipient, due now (in the caller's transaction)."""
    group = group_of(broadcast)
    media = MediaKind(broadcast.media) if broadcast.media else None
    for start in range(0, len(recipients), QUEUE_CHUNK):
        await outbox.queue_many(session, clock=clock, notify=notify, rows=(
            outbox.Outgoing(
                user_id=user_id, kind=OutboxKind.ANNOUNCEMENT,
                text=broadcast.text or EMPTY_CAPTION, media=media, file_id=broadcast.file_id,
                urgent=broadcast.urgent, group=group, dedupe_key=f"{group}:{user_id}",
            ) for user_id in recipients[start:start + QUEUE_CHUNK]
        ))


async def start_due(session: AsyncSession, *, clock: Clock,
                    notify: outbox.Notify | None = None) -> list[Broadcast]:
    """Send the scheduled broadcasts that are due, to whoever is in their audience now.

    Safe to run twice and on several replicas: the move from scheduled to sending is
    made by one of them (a conditional UPDATE), in the transaction that queues the rows.
    """
    now = clock.now()
    due = (await session.execute(select(col(Broadcast.id)).where(
        col(Broadcast.status) == BroadcastStatus.SCHEDULED, col(Broadcast.send_at) <= now)
    )).scalars().all()
    await session.commit()
    started = []
    for broadcast_id in due:
        async with write(session):
            taken = await session.execute(
                update(Broadcast).where(col(Broadcast.id) == broadcast_id,
                                        col(Broadcast.status) == BroadcastStatus.SCHEDULED)
                .values(status=BroadcastStatus.SENDING)
                .execution_options(synchronize_session=False))
            if cast(CursorResult[Any], taken).rowcount != 1:
                continue
            broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
            assert broadcast is not None
            audience = Audience.from_json(broadcast.audience)
            recipients = list((await session.execute(
                audience_query(broadcast.community_id, audience))).scalars())
            await _queue(session, broadcast, recipients, clock=clock, notify=notify)
            broadcast.total = len(recipients)
            session.add(broadcast)
            audit.record(session, clock=clock, actor_id=broadcast.author_id,
                         action="broadcast.start", community_id=broadcast.community_id,
                         broadcast_id=broadcast.id, recipients=len(recipients))
        started.append(broadcast)
    return started


class BroadcastOver(DomainError):
    """A Cancel pressed on a broadcast that is over (a stale button)."""

    def __init__(self, broadcast_id: int | None) -> None:
        super().__init__(f"broadcast {broadcast_id} is over")
        self.broadcast_id = broadcast_id


class AlreadySent(BroadcastOver):
    """It has gone out: there is nothing left to cancel."""


class AlreadyCancelled(BroadcastOver):
    """It was cancelled before (by this person or another staff member)."""


class AlreadyQueued(DomainError):
    """The draft was confirmed already (a double tap): it is on its way, once."""

    def __init__(self, broadcast_id: int | None) -> None:
        super().__init__(f"draft already made broadcast {broadcast_id}")
        self.broadcast_id = broadcast_id


# A photo or document sent with no words of its own gets this as its caption.
EMPTY_CAPTION = "📢"


def group_of(broadcast: Broadcast) -> str:
    return f"broadcast:{broadcast.id}"


@dataclass
class Report:
    """Where a broadcast's messages stand."""

    total: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0  # muted, erased
    cancelled: int = 0
    waiting: int = 0  # pending, being sent, or cancelled while a sender still holds it
    later: int = 0  # of those, pending for later: their quiet hours, a retry
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.waiting == 0


async def report(session: AsyncSession, *, broadcast: Broadcast,
                 now: datetime | None = None) -> Report:
    """Count the broadcast's outbox rows by outcome (and, given `now`, how many of those
    waiting are not due yet: they wait for their quiet hours to end, or for a retry)."""
    unsettled = outbox.in_hand()
    rows = (await session.execute(
        select(col(OutboxMessage.status), col(OutboxMessage.last_error), unsettled, func.count())
        .where(col(OutboxMessage.group_key) == group_of(broadcast))
        .group_by(col(OutboxMessage.status), col(OutboxMessage.last_error), unsettled)
    )).all()
    result = Report(total=broadcast.total)
    for status, error, in_hand, n in rows:
        n = int(n)
        result.by_status[status] = result.by_status.get(status, 0) + n
        if in_hand:  # a sender has not let go: it may still go out
            result.waiting += n
        elif status == OutboxStatus.SENT:
            result.sent += n
        elif status == OutboxStatus.FAILED:
            result.failed += n
        elif status == OutboxStatus.CANCELLED:
            result.cancelled += n
        elif status == OutboxStatus.SKIPPED:
            if error and "blocked" in error:
                result.blocked += n
            else:
                result.skipped += n
        else:
            result.waiting += n
    if broadcast.status in (BroadcastStatus.CANCELLING, BroadcastStatus.CANCELLED):
        # Cancelled before it went out: nothing was queued, nobody received it.
        queued = sum(result.by_status.values())
        result.cancelled += max(0, broadcast.total - queued)
    if now is not None and result.waiting:
        result.later = int((await session.execute(
            select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.group_key) == group_of(broadcast),
                col(OutboxMessage.status) == OutboxStatus.PENDING,
                col(OutboxMessage.not_before) > now))).scalar_one())
    return result


async def get_for(session: AsyncSession, *, access: Access, broadcast_id: int) -> Broadcast:
    """A broadcast the actor may see (staff of its community, or an admin)."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound(f"broadcast {broadcast_id}")
    check_scope(access, broadcast.community_id)
    return broadcast


async def cancel_broadcast(
    session: AsyncSession, *, access: Access, clock: Clock, broadcast_id: int,
    notify: outbox.Notify | None = None,
) -> Broadcast:
    """Stop a broadcast: no message of it starts after this commits (`notify` wakes the
    sender to drop the ones it holds). It is "cancelling" until every sender has let go
    (`finish` then makes it cancelled, with the true counts)."""
    broadcast = await get_for(session, access=access, broadcast_id=broadcast_id)
    async with write(session):
        await session.refresh(broadcast)
        if broadcast.status == BroadcastStatus.DONE:
            raise AlreadySent(broadcast.id)
        if broadcast.status in (BroadcastStatus.CANCELLED, BroadcastStatus.CANCELLING):
            raise AlreadyCancelled(broadcast.id)
        cancelled = await outbox.cancel(session, group=group_of(broadcast), notify=notify)
        broadcast.status = BroadcastStatus.CANCELLING
        session.add(broadcast)
        audit.record(session, clock=clock, actor_id=access.user_id, action="broadcast.cancel",
                     community_id=broadcast.community_id, broadcast_id=broadcast.id,
                     cancelled=cancelled)
    return broadcast


@dataclass(frozen=True)
class OpenBroadcast:
    """A scheduled or sending broadcast as the list shows it, with what it offers."""

    broadcast: Broadcast
    can_cancel: bool


def may_cancel(access: Access, broadcast: Broadcast) -> bool:
    """Staff of its community, or an admin, may stop a broadcast that is not over."""
    if broadcast.status not in (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING):
        return False
    if broadcast.community_id is None:
        return access.is_admin
    return access.can_manage(broadcast.community_id)


async def list_open(session: AsyncSession, *, access: Access) -> list[OpenBroadcast]:
    """Scheduled and sending broadcasts the actor may see, soonest first."""
    query = select(Broadcast).where(col(Broadcast.status).in_(
        [BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING])).order_by(col(Broadcast.send_at))
    if not access.is_admin:
        query = query.where(col(Broadcast.community_id).in_(access.staff_of))
    return [OpenBroadcast(broadcast=broadcast, can_cancel=may_cancel(access, broadcast))
            for broadcast in (await session.execute(query)).scalars().all()]


async def set_progress_message(
    session: AsyncSession, *, broadcast: Broadcast, chat_id: int, message_id: int
) -> None:
    """Remember the message that shows the sender how it is going."""
    async with write(session):
        broadcast.progress_chat_id, broadcast.progress_message_id = chat_id, message_id
        session.add(broadcast)


async def active(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts going out now (`start_due` starts the scheduled ones), or being stopped."""
    query = select(Broadcast).where(
        col(Broadcast.status).in_((BroadcastStatus.SENDING, BroadcastStatus.CANCELLING)))
    return list((await session.execute(query)).scalars().all())


async def finish(session: AsyncSession, *, broadcast: Broadcast, clock: Clock,
                 counts: Report) -> bool:
    """A broadcast with nothing left in hand becomes done (or, being cancelled,
    cancelled), audited with its counts. True for the one caller that made it so (the
    progress job on several replicas, the Cancel button): that one sends the report."""
    if not counts.finished:
        return False
    was = broadcast.status
    if was not in (BroadcastStatus.SENDING, BroadcastStatus.CANCELLING):
        return False
    status = BroadcastStatus.CANCELLED if was == BroadcastStatus.CANCELLING \
        else BroadcastStatus.DONE
    async with write(session):
        result = await session.execute(
            update(Broadcast).where(col(Broadcast.id) == broadcast.id,
                                    col(Broadcast.status) == was)
            .values(status=status, finished_at=clock.now())
            .execution_options(synchronize_session=False))
        if cast(CursorResult[Any], result).rowcount != 1:
            return False
        audit.record(session, clock=clock, actor_id=broadcast.author_id,
                     action=f"broadcast.{status.value}", community_id=broadcast.community_id,
                     broadcast_id=broadcast.id, sent=counts.sent, blocked=counts.blocked,
                     failed=counts.failed, skipped=counts.skipped, cancelled=counts.cancelled)
    await session.refresh(broadcast)
    return True


@dataclass(frozen=True)
class Where:
    """Whom a broadcast is for, in names: its community (None: the whole district), the
    grids chosen, and the session, order or poll or volunteers' skill of its audience."""

    community: str | None
    kind: str = "all"
    grids: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()   # several at once, in natural order
    target: str | None = None
    at: datetime | None = None
    skill: str | None = None
    target_titles: dict[str, str] = field(default_factory=dict)  # a session's, by language


async def where_of(session: AsyncSession, *, community_id: int | None,
                   audience: Audience) -> Where:
    """Name the community, grids and target of an audience (read-only)."""
    community = await session.get(Community, community_id) if community_id else None
    grids: tuple[str, ...] = ()
    several: tuple[str, ...] = ()
    target: str | None = None
    target_titles: dict[str, str] = {}
    at: datetime | None = None
    if audience.kind == "communities" and audience.ids:
        several = tuple(sorted((await session.execute(
            select(col(Community.name)).where(col(Community.id).in_(audience.ids)))).scalars(),
            key=natural_key))
    elif audience.kind == "grids" and audience.ids:
        grids = tuple((await session.execute(
            select(col(Grid.name)).where(col(Grid.id).in_(audience.ids))
            .order_by(col(Grid.id)))).scalars())
    elif audience.kind in ("lesson", "waiting") and audience.ids:
        lesson = await session.get(Lesson, audience.ids[0])
        target, at = (lesson.title, lesson.starts_at) if lesson else (None, None)
        target_titles = dict(lesson.titles or {}) if lesson else {}
    elif audience.kind == "backers" and audience.ids:
        order = await session.get(CourseOrder, audience.ids[0])
        target = order.topic if order else None
        target_titles = dict(order.titles or {}) if order else {}
    elif audience.kind == "poll" and audience.ids:
        poll = await session.get(Poll, audience.ids[0])
        target = poll.title if poll else None
    return Where(community=community.name if community else None, kind=audience.kind,
                 grids=grids, communities=several, target=target, at=at, skill=audience.skill,
                 target_titles=target_titles)


async def where_of_broadcast(session: AsyncSession, broadcast: Broadcast) -> Where:
    return await where_of(session, community_id=broadcast.community_id,
                          audience=Audience.from_json(broadcast.audience))


HISTORY_PAGE = 8
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Sent:
    """A broadcast that is over, as the history shows it."""

    broadcast: Broadcast
    where: Where
    report: Report


async def history(session: AsyncSession, *, access: Access,
                  page: int = 0) -> tuple[list[Sent], int]:
    """Sent and cancelled broadcasts the actor may see, newest first, a page of them, and
    how many pages there are."""
    over = (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)
    where_over = [col(Broadcast.status).in_(over)]
    if not access.is_admin:
        where_over.append(col(Broadcast.community_id).in_(access.staff_of))
    total = int((await session.execute(
        select(func.count()).select_from(Broadcast).where(*where_over))).scalar_one())
    pages = max(1, -(-total // HISTORY_PAGE))
    page = min(max(page, 0), pages - 1)
    found = (await session.execute(
        select(Broadcast).where(*where_over)
        .order_by(col(Broadcast.finished_at).desc(), col(Broadcast.id).desc())
        .offset(page * HISTORY_PAGE).limit(HISTORY_PAGE))).scalars().all()
    return [Sent(broadcast=b, where=await where_of_broadcast(session, b),
                 report=await report(session, broadcast=b)) for b in found], pages


class Delivery(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"       # the person blocked the bot
    FAILED = "failed"         # Telegram refused it, retries used up
    SKIPPED = "skipped"       # muted announcements, or left
    CANCELLED = "cancelled"
    WAITING = "waiting"


@dataclass(frozen=True)
class Recipient:
    """One person of a broadcast's delivery list."""

    user_id: int
    name: str
    username: str | None
    grid: str | None
    delivery: Delivery
    at: datetime | None       # when it was sent, or last tried


def delivery_of(status: str, error: str | None) -> Delivery:
    if status == OutboxStatus.SENT:
        return Delivery.SENT
    if status == OutboxStatus.FAILED:
        return Delivery.FAILED
    if status == OutboxStatus.SKIPPED:
        return Delivery.BLOCKED if error and "blocked" in error else Delivery.SKIPPED
    if status == OutboxStatus.CANCELLED:
        return Delivery.CANCELLED
    return Delivery.WAITING


async def delivery_list(session: AsyncSession, *, access: Access, broadcast_id: int,
                        only: tuple[Delivery, ...] = ()) -> list[Recipient]:
    """Everyone a broadcast was queued for, in the order it went out (the unsent last),
    or only those whose delivery is one of `only` (blocked, failed: whom to phone)."""
    broadcast = await get_for(session, access=access, broadcast_id=broadcast_id)
    found = (await session.execute(
        select(col(OutboxMessage.user_id), col(OutboxMessage.status),
               col(OutboxMessage.last_error), col(OutboxMessage.sent_at),
               col(OutboxMessage.not_before), col(OutboxMessage.id),
               col(User.first_name), col(User.username), col(Grid.name))
        .join(User, col(User.id) == col(OutboxMessage.user_id))
        .outerjoin(Grid, col(Grid.id) == col(User.grid_id))
        .where(col(OutboxMessage.group_key) == group_of(broadcast)))).all()
    people = []
    for user_id, status, error, sent_at, not_before, row_id, name, username, grid in found:
        delivery = delivery_of(status, error)
        if only and delivery not in only:
            continue
        at = sent_at if delivery == Delivery.SENT else not_before
        people.append((sent_at is None, at, row_id, Recipient(
            user_id=user_id, name=name or "—", username=username, grid=grid,
            delivery=delivery, at=at)))
    people.sort(key=lambda item: (item[0], item[1] or NEVER, item[2]))
    return [recipient for *_, recipient in people]


class NotScheduled(DomainError):
    """An edit of a broadcast that has started (or was cancelled) meanwhile."""

    def __init__(self, broadcast_id: int | None) -> None:
        super().__init__(f"broadcast {broadcast_id} is no longer scheduled")
        self.broadcast_id = broadcast_id


async def edit_scheduled(
    session: AsyncSession, *, access: Access, clock: Clock, broadcast_id: int,
    text: str | None = None, send_at: datetime | None = None,
) -> Broadcast:
    """Change a scheduled broadcast's text or time, until it starts (a conditional UPDATE:
    if `start_due` took it meanwhile, NotScheduled and nothing changes)."""
    broadcast = await get_for(session, access=access, broadcast_id=broadcast_id)
    now = clock.now()
    values: dict[str, Any] = {}
    if text is not None:
        check_text(text, media=MediaKind(broadcast.media) if broadcast.media else None)
        values["text"] = text
    if send_at is not None:
        if send_at <= now:
            raise InvalidInput("send_at", "past")
        if send_at > now + timedelta(days=SCHEDULE_DAYS + 1):
            raise InvalidInput("send_at", "too_far", limit=SCHEDULE_DAYS)
        values["send_at"] = send_at
    if not values:
        return broadcast
    async with write(session):
        changed = await session.execute(
            update(Broadcast).where(col(Broadcast.id) == broadcast_id,
                                    col(Broadcast.status) == BroadcastStatus.SCHEDULED,
                                    col(Broadcast.send_at) > now)
            .values(**values).execution_options(synchronize_session=False))
        if cast(CursorResult[Any], changed).rowcount != 1:
            raise NotScheduled(broadcast_id)
        audit.record(session, clock=clock, actor_id=access.user_id, action="broadcast.edit",
                     community_id=broadcast.community_id, broadcast_id=broadcast_id,
                     changed=sorted(values),
                     **({"send_at": send_at.isoformat()} if send_at is not None else {}))
    await session.refresh(broadcast)
    return broadcast


@dataclass(frozen=True)
class Sheet:
    """The reader's words for the delivery workbook (services speak no language)."""

    title: str                       # the title row of the list
    list_name: str
    summary_name: str
    headers: tuple[str, ...]         # No., name, username, grid, delivery, time
    deliveries: dict[str, str]       # Delivery value -> word
    summary_headers: tuple[str, str, str]   # outcome, people, share
    total: str


async def export_delivery(session: AsyncSession, *, access: Access, clock: Clock,
                          broadcast_id: int, words: Sheet, zone: ZoneInfo) -> bytes:
    """The delivery list of a broadcast as an .xlsx (services/exports.py: a summary sheet
    of totals and shares, then the list with a title row, a bold frozen header, widths),
    its rows in the order they went out, those not received last."""
    people = await delivery_list(session, access=access, broadcast_id=broadcast_id)
    broadcast = await get_for(session, access=access, broadcast_id=broadcast_id)
    counted = {delivery: 0 for delivery in Delivery}
    for person in people:
        counted[person.delivery] += 1
    everyone = len(people)
    book = exports.Workbook(title=words.title)
    book.summary(words.summary_name, [
        *((words.deliveries.get(delivery, delivery), n, exports.share(n, everyone))
          for delivery, n in counted.items()
          if n or delivery in (Delivery.SENT, Delivery.BLOCKED, Delivery.FAILED)),
        (words.total, everyone, exports.share(everyone, everyone))],
        headers=words.summary_headers)
    book.sheet(words.list_name, words.headers, [
        [number, person.name, f"@{person.username}" if person.username else "",
         person.grid or "", words.deliveries.get(person.delivery, person.delivery),
         exports.local(person.at, zone) if person.delivery == Delivery.SENT else None]
        for number, person in enumerate(people, start=1)], order=5)
    async with write(session):
        audit.record(session, clock=clock, actor_id=access.user_id, action="broadcast.export",
                     community_id=broadcast.community_id, broadcast_id=broadcast_id,
                     rows=everyone)
    return book.save()
