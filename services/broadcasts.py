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
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community
from models.db import write
from models.outbox import MediaKind, OutboxKind, OutboxMessage, OutboxStatus
from models.preferences import NotificationPrefs
from models.users import Role, RoleGrant, User
from services import audit, outbox
from services.access import Access
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotFound
from services.preferences import DEFAULTS, Preferences, quiet_until
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
    """Who receives it: `kind` names a resolver; `ids` are its grids (or sessions…)."""

    kind: str = "all"
    ids: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "ids": list(self.ids)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        ids = tuple(int(i) for i in data.get("ids", ()))
        return cls(kind=str(data.get("kind", "all")), ids=ids)


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


# Features add audiences here (volunteers, the people enrolled in a session…).
AUDIENCES: dict[str, Callable[[int | None, tuple[int, ...]], Select[Any]]] = {
    "all": _everyone,
    "grids": _grids,
    "teachers": _role(Role.TEACHER),
}


def check_scope(access: Access, community_id: int | None) -> None:
    """Staff reach their own community; only a district admin reaches the whole district."""
    if community_id is None:
        access.require_admin()
    else:
        access.require_manage(community_id)


def audiences_for(access: Access, *, community_id: int | None) -> list[str]:
    """The audience kinds a draft may offer: grids only within one community."""
    check_scope(access, community_id)
    return [kind for kind in AUDIENCES if not (kind == "grids" and community_id is None)]


def audience_query(community_id: int | None, audience: Audience) -> Select[Any]:
    """The user ids an audience stands for."""
    resolver = AUDIENCES.get(audience.kind)
    if resolver is None or (audience.kind == "grids" and not audience.ids):
        raise InvalidInput("audience", "unknown")
    return resolver(community_id, audience.ids).distinct()


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
