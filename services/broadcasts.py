"""Broadcasts: staff announcements to an audience, queued in the outbox.

The audience is resolved when the broadcast is created (a scheduled one goes
to the people who were in the audience then). Each recipient gets one outbox
row in the group `broadcast:<id>` with a dedupe key per person, so a repeated
"send" can never queue anyone twice, and cancelling is cancelling the group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community
from models.db import write
from models.outbox import MediaKind, OutboxKind, OutboxMessage, OutboxStatus
from models.users import Role, RoleGrant, User
from services import audit, communities, outbox
from services.access import Access
from services.clock import Clock
from services.errors import InvalidInput, NotFound
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


def single_community(access: Access) -> int | None:
    """The one community a staff member may write to, when there is no choice to make
    (None: they choose, from several communities or, for an admin, the district too)."""
    if access.is_admin or len(access.staff_of) != 1:
        return None
    return next(iter(access.staff_of))


@dataclass(frozen=True)
class Scopes:
    """Where the actor may send an announcement: the whole district (admins) and one
    page of communities."""

    district: bool
    communities: list[Community]
    page: int = 0
    pages: int = 1


async def scopes(session: AsyncSession, *, access: Access, page: int = 0) -> Scopes:
    """The communities (a page of them for an admin) the actor may write to."""
    if access.is_admin:
        found = await communities.list_communities(session, page=page)
        return Scopes(district=True, communities=found.items, page=found.page,
                      pages=found.pages)
    return Scopes(district=False, communities=[
        await communities.get_community(session, community_id=cid)
        for cid in sorted(access.staff_of)])


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
    notify: outbox.Notify | None = None,
) -> Broadcast:
    """Create a broadcast and queue one message per recipient (now or at `send_at`)."""
    check_scope(access, community_id)
    check_text(text, media=media)
    now = clock.now()
    if send_at is None or send_at < now:
        if send_at is not None and send_at < now - PAST_GRACE:
            raise InvalidInput("send_at", "past")
        send_at = now
    if send_at > now + timedelta(days=SCHEDULE_DAYS + 1):
        raise InvalidInput("send_at", "too_far", limit=SCHEDULE_DAYS)
    async with write(session):
        found = await session.execute(audience_query(community_id, audience))
        recipients: list[int] = list(found.scalars())
        if not recipients:
            raise InvalidInput("audience", "empty")
        broadcast = Broadcast(
            community_id=community_id, author_id=access.user_id, text=text,
            media=media, file_id=file_id, audience=audience.to_json(), urgent=urgent,
            send_at=send_at, status=BroadcastStatus.SCHEDULED if send_at > now
            else BroadcastStatus.SENDING, total=len(recipients), created_at=now,
        )
        session.add(broadcast)
        await session.flush()
        group = group_of(broadcast)
        for start in range(0, len(recipients), QUEUE_CHUNK):
            await outbox.queue_many(session, clock=clock, notify=notify, rows=(
                outbox.Outgoing(
                    user_id=user_id, kind=OutboxKind.ANNOUNCEMENT, text=text or EMPTY_CAPTION,
                    media=media, file_id=file_id,
                    not_before=send_at, urgent=urgent, group=group,
                    dedupe_key=f"{group}:{user_id}",
                ) for user_id in recipients[start:start + QUEUE_CHUNK]
            ))
        audit.record(session, clock=clock, actor_id=access.user_id, action="broadcast.create",
                     community_id=community_id, broadcast_id=broadcast.id,
                     audience=audience.to_json(), recipients=len(recipients), urgent=urgent,
                     send_at=send_at.isoformat())
    log.info("broadcast %s queued: %d recipients, community %s, from %s",
             broadcast.id, len(recipients), community_id, send_at.isoformat())
    return broadcast


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
    waiting: int = 0  # pending or being sent
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.waiting == 0


async def report(session: AsyncSession, *, broadcast: Broadcast) -> Report:
    """Count the broadcast's outbox rows by outcome."""
    rows = (await session.execute(
        select(col(OutboxMessage.status), col(OutboxMessage.last_error), func.count())
        .where(col(OutboxMessage.group_key) == group_of(broadcast))
        .group_by(col(OutboxMessage.status), col(OutboxMessage.last_error))
    )).all()
    result = Report(total=broadcast.total)
    for status, error, n in rows:
        n = int(n)
        result.by_status[status] = result.by_status.get(status, 0) + n
        if status == OutboxStatus.SENT:
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
    return result


async def get_for(session: AsyncSession, *, access: Access, broadcast_id: int) -> Broadcast:
    """A broadcast the actor may see (staff of its community, or an admin)."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound(f"broadcast {broadcast_id}")
    check_scope(access, broadcast.community_id)
    return broadcast


async def cancel_broadcast(
    session: AsyncSession, *, access: Access, clock: Clock, broadcast_id: int
) -> Broadcast:
    """Stop a broadcast: its messages not yet sent are cancelled."""
    broadcast = await get_for(session, access=access, broadcast_id=broadcast_id)
    async with write(session):
        if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
            return broadcast
        cancelled = await outbox.cancel(session, group=group_of(broadcast))
        broadcast.status = BroadcastStatus.CANCELLED
        broadcast.finished_at = clock.now()
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


async def active(session: AsyncSession, *, clock: Clock) -> list[Broadcast]:
    """Broadcasts that are going out now (a scheduled one becomes so when due)."""
    now = clock.now()
    query = select(Broadcast).where(
        (col(Broadcast.status) == BroadcastStatus.SENDING)
        | ((col(Broadcast.status) == BroadcastStatus.SCHEDULED) & (col(Broadcast.send_at) <= now))
    )
    return list((await session.execute(query)).scalars().all())


async def mark(session: AsyncSession, *, broadcast: Broadcast, clock: Clock,
               status: BroadcastStatus, counts: Report | None = None) -> None:
    """Move a broadcast on (sending, done); done is audited with its counts."""
    async with write(session):
        broadcast.status = status
        if status == BroadcastStatus.DONE:
            broadcast.finished_at = clock.now()
            if counts is not None:
                audit.record(session, clock=clock, actor_id=broadcast.author_id,
                             action="broadcast.done", community_id=broadcast.community_id,
                             broadcast_id=broadcast.id, sent=counts.sent,
                             blocked=counts.blocked, failed=counts.failed,
                             skipped=counts.skipped)
        session.add(broadcast)
