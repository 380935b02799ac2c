"""The durable outbox: queue what the bot will send on its own, and hand due rows to the sender.

Everything the bot sends on its own initiative (reminders, volunteer pings,
course news, announcements, status updates) is a row here, so it survives a
restart and goes out within Telegram's limits (`scheduler/outbox.py` sends).
Replies to a user's own message or tap never come here: handlers answer them
directly, so they never wait behind a broadcast.

Transactions. `queue`, `queue_many`, `cancel` and `reschedule` run in the
caller's transaction and do not commit, so a reminder is queued in the same
commit as the enrolment it is about and vanishes with it on a rollback. Give
them `notify` (the sender's `kick`) to wake the sender as soon as that commit
happens; without it the sender's tick finds the rows within a second. The
functions the sender uses (`claim_due`, `settle`, `renew`, `release`…) commit
their own short transactions.

Claiming. `claim_due` takes due rows under a lease: on PostgreSQL with
`SELECT … FOR UPDATE SKIP LOCKED`, so several senders share one queue without
waiting for each other; on SQLite inside BEGIN IMMEDIATE, which makes claims
one at a time. A claimed row is "sending" until `lease_until`; a row still
"sending" after that belongs to a sender that died, and is claimed again.

At-least-once. Telegram has no idempotency key, so there is a window in which
a message can be sent twice: the Telegram call succeeded, but the process died
before `settle` committed it as sent. The row is still "sending"; when its
lease expires it is claimed again and sent again. The window is the time
between Telegram's answer and that commit: the sender records outcomes in
small batches as soon as the previous batch is written, so normally a few
milliseconds, at most a database round trip or two. The duplicate, if any,
arrives a lease later. How many: at most the sends in flight when the process
died, the requests Telegram had taken whose answer had not come back (never
more than `SendLimits.in_flight`, one second's worth of sends, 4 to 200) and
the answers of the batch being written (a commit's worth, a few at 200 a
second). Measured with kill -9 after 300 of 1,000 deliveries at 200 a second
(tests/e2e/test_broadcast_faults.py, on SQLite and on PostgreSQL, 15 runs on a
busy 2-core machine): 0 to 11 duplicates (at most 55 ms of sends), each one a
row Telegram had taken and the database still held as "sending"; the test
asserts exactly that and no more than `in_flight`.
Losing the database is not in the window: the sender keeps the outcomes and
writes them when it is back, claiming nothing meanwhile (0 duplicates of 1,500
with PostgreSQL stopped twice for 10 s, `-m fast` and `-m immediate`, twice the
lease, in the same test; 192 before outcomes were kept, 93 while a leader that
lost the database gave them up after a lease, scheduler/leader.py); only with several
senders and an outage longer than the lease (60 s) may another sender claim a
row whose outcome is still waiting. Nothing is ever lost: a row leaves
"sending" only by being settled (sent, failed, retried), skipped, put back
to pending, or cancelled (then the sender drops it unsent, or, if it was on its
way, settles it as sent: `in_hand` counts it until one of the two).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import CursorResult, Table, bindparam, case, delete, event, func, update
from sqlalchemy import select as select_columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col, select

from models.communities import Community
from models.db import begin_write
from models.outbox import (
    DEDUPE_KEY_MAX,
    GROUP_KEY_MAX,
    MediaKind,
    OutboxFile,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from models.preferences import NotificationPrefs
from models.users import User
from services.clock import Clock
from services.errors import InvalidInput
from services.preferences import DEFAULTS, Preferences, quiet_until

TEXT_MAX = 4096  # Telegram's limit for a message…
CAPTION_MAX = 1024  # …and for a photo's or document's caption
CALLBACK_DATA_MAX = 64  # bytes
ERROR_MAX = 1000
# Rows per INSERT statement: at 17 columns a row, far below the 32,766 bound
# parameters SQLite and asyncpg allow in one statement.
INSERT_CHUNK = 1000
PURGE_CHUNK = 5000  # rows deleted per transaction

OUTBOX = cast(Table, OutboxMessage.__table__)  # type: ignore[attr-defined]
UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)
FINISHED = tuple(status for status in OutboxStatus if status not in UNSENT)

Notify = Callable[[], None]  # wakes the sender after a commit that queued messages


def moment(at: datetime, zone: ZoneInfo | str) -> dict[str, str]:
    """A date and time in a message's params, said when the message is sent, in the
    recipient's language and the community's zone ("明天（周六）下午3:00" / "Tomorrow,
    3:00 pm"): never ISO in a message."""
    return {"moment": at.astimezone(UTC).isoformat(), "zone": str(zone)}


def span(starts_at: datetime, ends_at: datetime, zone: ZoneInfo | str) -> dict[str, Any]:
    """A time span (a shift) in params, said as a moment and an end time."""
    return {"span": [starts_at.astimezone(UTC).isoformat(), ends_at.astimezone(UTC).isoformat()],
            "zone": str(zone)}


def numbered(items: Iterable[Any]) -> dict[str, list[Any]]:
    """Lines "1. …", "2. …" in params, each a text, a moment or a span."""
    return {"numbered": list(items)}


def month(year: int, number: int) -> dict[str, str]:
    """A month in params, said when sent: "2026年11月" / "November 2026", never "2026-11"."""
    return {"month": f"{year:04d}-{number:02d}"}


def hours(minutes: int) -> dict[str, int]:
    """A length of time in params, said when sent with its unit counted as people count:
    "1 hour", "1.5 hours" / "1.5 小时"."""
    return {"minutes": minutes}


def phrase(msgid: str) -> dict[str, str]:
    """Words of the bot's own (marked with N_) in params, translated when sent into the
    recipient's language (a common reason for calling a session off)."""
    return {"phrase": msgid}


def title(text: str, titles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A title staff wrote, with its other-language titles ({locale: title}), said when sent
    in the recipient's language (their title if there is one, else `text`)."""
    return {"title": text, "titles": dict(titles or {})}


def _param_ok(value: Any) -> bool:
    """A JSON scalar, or a moment, span, month, length, phrase, title or numbered list (said
    when sent)."""
    if isinstance(value, str | int | float | bool | None):
        return True
    if isinstance(value, dict) and set(value) == {"title", "titles"}:
        return isinstance(value["title"], str) and isinstance(value["titles"], dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value["titles"].items())
    if isinstance(value, dict) and set(value) == {"phrase"}:
        return isinstance(value["phrase"], str)
    if isinstance(value, dict) and set(value) == {"moment", "zone"}:
        return all(isinstance(v, str) for v in value.values())
    if isinstance(value, dict) and set(value) == {"span", "zone"}:
        return isinstance(value["span"], list) and len(value["span"]) == 2
    if isinstance(value, dict) and set(value) == {"month"}:
        return isinstance(value["month"], str)
    if isinstance(value, dict) and set(value) == {"minutes"}:
        return isinstance(value["minutes"], int)
    if isinstance(value, dict) and set(value) == {"numbered"}:
        return isinstance(value["numbered"], list) and all(map(_param_ok, value["numbered"]))
    return False


def N_(message: str) -> str:
    """Mark an outbox message key for extraction: it is translated when sent, in the
    recipient's language (bot.i18n's N_ is this one; services don't import aiogram)."""
    return message


@dataclass(frozen=True)
class Outgoing:
    """One message to queue (for `queue_many`; `queue` takes the same fields).

    Exactly one of `text` (HTML, sent as is: escape what users typed) and `key`
    (an English msgid, marked with `N_()` so it is extracted for translation)
    is given. A key is translated into the recipient's language when the
    message is sent, then `.format(**params)`-ed; string params are HTML-escaped
    then, so pass plain text. Button labels in `keyboard` are translated the
    same way when `key` is used, then formatted with the button's own "params" if it has
    any (a moment, a title: said per recipient like the message's). `keyboard` is an
    InlineKeyboardMarkup as a dict: {"inline_keyboard": [[{"text": …, "callback_data": …}]]}.

    A photo or document (`media`) is a Telegram `file_id`, or `blob_id`, an
    OutboxFile made with `add_file`; the text becomes its caption.
    `dedupe_key` is unique across the outbox: a second row with the same key
    is dropped, so derive it from what makes the message distinct
    ("reminder:24h:session:42:user:7"). `group` names rows to cancel or move
    together ("session:42").
    """

    user_id: int
    kind: OutboxKind
    text: str | None = None
    key: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    keyboard: Mapping[str, Any] | None = None
    media: MediaKind | None = None
    file_id: str | None = None
    blob_id: int | None = None
    not_before: datetime | None = None  # None: now
    priority: int = 0  # higher goes first among due rows
    urgent: bool = False  # passes mutes and quiet hours; for safety notices only
    group: str | None = None
    dedupe_key: str | None = None
    about: int | None = None  # the user the message names or quotes, when not the recipient

    def check(self) -> None:
        """Raise InvalidInput if Telegram could never accept this message."""
        if (self.text is None) == (self.key is None):
            raise InvalidInput("text", "text_or_key")
        limit = CAPTION_MAX if self.media else TEXT_MAX
        if self.text is not None and not 0 < len(self.text) <= limit:
            raise InvalidInput("text", "length")
        if self.key is not None and not self.key:
            raise InvalidInput("key", "empty")
        for name, value in self.params.items():
            if not _param_ok(value):
                raise InvalidInput(f"params.{name}", "not_json_scalar")
        if self.media is None and (self.file_id or self.blob_id):
            raise InvalidInput("media", "missing")
        if self.media is not None and (self.file_id is None) == (self.blob_id is None):
            raise InvalidInput("media", "file_id_or_blob_id")
        if self.keyboard is not None:
            _check_keyboard(self.keyboard)
        if self.not_before is not None and self.not_before.tzinfo is None:
            raise InvalidInput("not_before", "naive")
        if self.dedupe_key is not None and not 0 < len(self.dedupe_key) <= DEDUPE_KEY_MAX:
            raise InvalidInput("dedupe_key", "length")
        if self.group is not None and not 0 < len(self.group) <= GROUP_KEY_MAX:
            raise InvalidInput("group", "length")

    def values(self, now: datetime) -> dict[str, Any]:
        """The row's columns for an INSERT."""
        return {
            "user_id": self.user_id, "kind": str(OutboxKind(self.kind)), "text": self.text,
            "key": self.key, "params": dict(self.params),
            "keyboard": dict(self.keyboard) if self.keyboard is not None else None,
            "media": str(self.media) if self.media else None, "file_id": self.file_id,
            "blob_id": self.blob_id, "not_before": self.not_before or now,
            "priority": self.priority, "urgent": self.urgent, "group_key": self.group,
            "dedupe_key": self.dedupe_key, "status": str(OutboxStatus.PENDING), "attempts": 0,
            "created_at": now, "about_user_id": self.about,
        }


def _check_keyboard(keyboard: Mapping[str, Any]) -> None:
    rows = keyboard.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise InvalidInput("keyboard", "shape")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise InvalidInput("keyboard", "button")
            params = button.get("params", {})  # a label said per recipient, like params
            if not isinstance(params, dict) or not all(map(_param_ok, params.values())):
                raise InvalidInput("keyboard", "params")
            data = button.get("callback_data")
            if data is not None and not 0 < len(str(data).encode()) <= CALLBACK_DATA_MAX:
                raise InvalidInput("keyboard", "callback_data")


def _notify_after_commit(session: AsyncSession, notify: Notify | None) -> None:
    """Call `notify` once the caller's transaction commits (never if it rolls back)."""
    if notify is None:
        return
    sync = session.sync_session
    waiting: set[Notify] | None = sync.info.get("outbox_notify")
    if waiting is None:
        waiting = sync.info["outbox_notify"] = set()

        def fire(_session: Session) -> None:
            for callback in sync.info.pop("outbox_notify", set()):
                callback()

        event.listen(sync, "after_commit", fire, once=True)
    waiting.add(notify)


async def queue(
    session: AsyncSession,
    *,
    clock: Clock,
    user_id: int,
    kind: OutboxKind,
    text: str | None = None,
    key: str | None = None,
    params: Mapping[str, Any] | None = None,
    keyboard: Mapping[str, Any] | None = None,
    media: MediaKind | None = None,
    file_id: str | None = None,
    blob_id: int | None = None,
    not_before: datetime | None = None,
    priority: int = 0,
    urgent: bool = False,
    group: str | None = None,
    dedupe_key: str | None = None,
    about: int | None = None,
    notify: Notify | None = None,
) -> bool:
    """Queue one message (see `Outgoing`); False if its dedupe_key was already queued.

    Runs in the caller's transaction: commit to make it count.
    """
    row = Outgoing(user_id=user_id, kind=kind, text=text, key=key, params=params or {},
                   keyboard=keyboard, media=media, file_id=file_id, blob_id=blob_id,
                   not_before=not_before, priority=priority, urgent=urgent, group=group,
                   dedupe_key=dedupe_key, about=about)
    return await queue_many(session, clock=clock, rows=[row], notify=notify) == 1


async def queue_many(
    session: AsyncSession,
    *,
    clock: Clock,
    rows: Iterable[Outgoing],
    notify: Notify | None = None,
) -> int:
    """Queue many messages in a few multi-row INSERTs; returns how many were new.

    Rows whose dedupe_key is already in the outbox (or repeated in `rows`) are
    dropped by ON CONFLICT DO NOTHING. Every row is checked before anything is
    written. Runs in the caller's transaction: commit to make it count.
    """
    now = clock.now()
    values = []
    for row in rows:
        row.check()
        values.append(row.values(now))
    if not values:
        return 0
    insert = (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(OUTBOX)
    # Given many rows, SQLAlchemy ("insertmanyvalues") sends this as multi-row
    # INSERT … VALUES (…), (…) … ON CONFLICT DO NOTHING RETURNING id statements
    # of INSERT_CHUNK rows each; a row dropped as a duplicate returns no id.
    statement = (
        insert.on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OUTBOX.c.id)
        .execution_options(insertmanyvalues_page_size=INSERT_CHUNK)
    )
    added = len((await session.execute(statement, values)).all())
    if added:
        _notify_after_commit(session, notify)
    return added


async def add_file(session: AsyncSession, *, clock: Clock, filename: str, data: bytes) -> int:
    """Keep a file the bot made, to attach to outbox messages; returns its blob_id.

    Runs in the caller's transaction (flushed, not committed).
    """
    if not data:
        raise InvalidInput("data", "empty")
    blob = OutboxFile(filename=filename[:255] or "file", data=data, created_at=clock.now())
    session.add(blob)
    await session.flush()
    assert blob.id is not None
    return blob.id


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def cancel(
    session: AsyncSession, *, dedupe_key: str | None = None, group: str | None = None,
    user_id: int | None = None, notify: Notify | None = None,
) -> int:
    """Cancel the unsent rows with this dedupe_key or in this group (only `user_id`'s, if
    given); returns how many.

    A cancelled row gives up its dedupe key, so the same thing queued again (a place given
    back and taken again, a session moved back) goes out once, as it should; a row already
    sent keeps its key, so what went out is never queued twice.

    Pending rows are simply cancelled. A row a sender has claimed is cancelled too but
    keeps its lease: the sender drops it before sending (it checks its rows when kicked
    and every tick), unless it is already on its way, in which case it is settled as
    sent. Until the sender lets go the row counts as unsettled (`in_hand`), so a report
    made from these rows waits for the truth. Runs in the caller's transaction; give
    it `notify` (the sender's kick) so the sender in this process drops its rows as
    soon as the cancel commits.
    """
    if (dedupe_key is None) == (group is None):
        raise ValueError("give dedupe_key or group")
    target = (col(OutboxMessage.dedupe_key) == dedupe_key if dedupe_key is not None
              else col(OutboxMessage.group_key) == group)
    whose = (col(OutboxMessage.user_id) == user_id if user_id is not None
             else col(OutboxMessage.id).is_not(None))
    result = await session.execute(
        update(OutboxMessage)
        .where(target, whose, col(OutboxMessage.status).in_(UNSENT))
        .values(status=OutboxStatus.CANCELLED, dedupe_key=None)
        .execution_options(synchronize_session=False)
    )
    cancelled = cast(CursorResult[Any], result).rowcount
    if cancelled:
        _notify_after_commit(session, notify)  # the sender drops what it holds at once
    return cancelled


def in_hand() -> Any:
    """The rows not settled yet: pending, being sent, or cancelled while a sender held
    them (it has not let go: one may still be on its way)."""
    return (col(OutboxMessage.status).in_(UNSENT)
            | ((col(OutboxMessage.status) == OutboxStatus.CANCELLED)
               & col(OutboxMessage.lease_owner).is_not(None)))


async def reschedule(
    session: AsyncSession,
    *,
    group: str,
    not_before: datetime | None = None,
    shift: timedelta | None = None,
) -> int:
    """Move a group's pending rows: all to `not_before`, or each by `shift`.

    `shift` keeps reminders apart (24 h and 1 h before a session that moved by
    a day both move by a day). Runs in the caller's transaction.
    """
    if (not_before is None) == (shift is None):
        raise ValueError("give not_before or shift")
    pending = (col(OutboxMessage.group_key) == group,
               col(OutboxMessage.status) == OutboxStatus.PENDING)
    if not_before is not None:
        result = await session.execute(
            update(OutboxMessage).where(*pending).values(not_before=not_before)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount
    assert shift is not None
    rows = (await session.execute(
        select(col(OutboxMessage.id), col(OutboxMessage.not_before)).where(*pending)
    )).all()
    if rows:
        await session.execute(
            update(OutboxMessage),
            [{"id": row_id, "not_before": when + shift} for row_id, when in rows],
            execution_options={"synchronize_session": False},
        )
    return len(rows)


# --- What the sender uses -------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A row the sender now holds, with what it needs to send it."""

    id: int
    user_id: int
    chat_id: int
    locale: str | None
    kind: OutboxKind
    text: str | None
    key: str | None
    params: dict[str, Any]
    keyboard: dict[str, Any] | None
    media: MediaKind | None
    file_id: str | None
    blob_id: int | None
    priority: int
    urgent: bool
    attempts: int


@dataclass(frozen=True)
class Claim:
    """What one `claim_due` did. `examined == limit` means more rows may be due;
    else `next_due` is when the next pending row falls due (None: none is waiting)."""

    rows: list[Claimed]
    examined: int
    skipped: int
    deferred: int
    next_due: datetime | None = None


def _zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


async def claim_due(
    session: AsyncSession,
    *,
    owner: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    default_tz: str,
    max_attempts: int = 5,
    defaults: Preferences = DEFAULTS,
) -> Claim:
    """Take up to `limit` due rows for `owner` until `now + lease`, and commit.

    On the way, a lease that ran out goes back to pending (counted as an
    attempt: the sender holding it died, perhaps mid-send); rows for users who
    blocked the bot or were erased, and non-urgent rows of a kind the user
    muted, are skipped; non-urgent rows in the user's quiet hours wait for
    their end (in the user's community's time zone, else `default_tz`).
    """
    await begin_write(session)
    await _reclaim_expired(session, now=now, limit=limit, max_attempts=max_attempts)
    order = (col(OutboxMessage.urgent).desc(), col(OutboxMessage.priority).desc(),
             col(OutboxMessage.not_before), col(OutboxMessage.id))
    # The rows first, in the order of ix_outbox_claim_order (no sort of every due
    # row), then what goes with them.
    due = (
        select(col(OutboxMessage.id))
        .where(col(OutboxMessage.status) == OutboxStatus.PENDING,
               col(OutboxMessage.not_before) <= now)
        .order_by(*order)
        .limit(limit)
    )
    if _dialect(session) == "postgresql":
        due = due.with_for_update(skip_locked=True)
    query = (
        select_columns(  # sqlmodel's select() takes at most four columns
            col(OutboxMessage.id), col(OutboxMessage.user_id), col(OutboxMessage.kind),
            col(OutboxMessage.text), col(OutboxMessage.key), col(OutboxMessage.params),
            col(OutboxMessage.keyboard), col(OutboxMessage.media), col(OutboxMessage.file_id),
            col(OutboxMessage.blob_id), col(OutboxMessage.priority), col(OutboxMessage.urgent),
            col(OutboxMessage.attempts),
            col(User.tg_id), col(User.locale), col(User.blocked_at), col(User.deleted_at),
            col(Community.timezone),
            col(NotificationPrefs.user_id).label("prefs_user_id"), col(NotificationPrefs.muted),
            col(NotificationPrefs.quiet_start), col(NotificationPrefs.quiet_end),
        )
        .join(User, col(User.id) == col(OutboxMessage.user_id))
        .outerjoin(Community, col(Community.id) == col(User.community_id))
        .outerjoin(NotificationPrefs, col(NotificationPrefs.user_id) == col(OutboxMessage.user_id))
        .where(col(OutboxMessage.id).in_(due.scalar_subquery()))
        .order_by(*order)
    )
    found = (await session.execute(query)).all()

    fallback = ZoneInfo(default_tz)
    claimed: list[Claimed] = []
    skipped: dict[str, list[int]] = defaultdict(list)
    deferred: dict[datetime, list[int]] = defaultdict(list)
    for r in found:
        if r.tg_id is None or r.deleted_at is not None:
            skipped["user erased"].append(r.id)
            continue
        if r.blocked_at is not None:
            skipped["user blocked the bot"].append(r.id)
            continue
        prefs = defaults if r.prefs_user_id is None else Preferences.from_columns(
            r.muted, r.quiet_start, r.quiet_end)
        if not prefs.allows(r.kind, urgent=r.urgent):
            skipped["muted by the user"].append(r.id)
            continue
        if not r.urgent:
            until = quiet_until(prefs, now, _zone(r.timezone, fallback))
            if until is not None:
                deferred[until].append(r.id)
                continue
        claimed.append(Claimed(
            id=r.id, user_id=r.user_id, chat_id=r.tg_id, locale=r.locale,
            kind=OutboxKind(r.kind), text=r.text, key=r.key, params=dict(r.params or {}),
            keyboard=r.keyboard, media=MediaKind(r.media) if r.media else None,
            file_id=r.file_id, blob_id=r.blob_id, priority=r.priority, urgent=r.urgent,
            attempts=r.attempts,
        ))

    for reason, ids in skipped.items():
        await _set(session, ids, status=OutboxStatus.SKIPPED, last_error=reason)
    for until, ids in deferred.items():
        await _set(session, ids, not_before=until)
    if claimed:
        await _set(session, [c.id for c in claimed], status=OutboxStatus.SENDING,
                   lease_owner=owner, lease_until=now + lease)
    next_due = None
    if len(found) < limit:
        next_due = (await session.execute(
            select_columns(func.min(col(OutboxMessage.not_before)))
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING,
                   col(OutboxMessage.not_before) > now))).scalar()
    await session.commit()
    return Claim(rows=claimed, examined=len(found),
                 skipped=sum(len(ids) for ids in skipped.values()),
                 deferred=sum(len(ids) for ids in deferred.values()),
                 next_due=next_due)


async def _set(session: AsyncSession, ids: list[int], **values: Any) -> None:
    await session.execute(
        update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(**values)
        .execution_options(synchronize_session=False)
    )


async def _reclaim_expired(
    session: AsyncSession, *, now: datetime, limit: int, max_attempts: int
) -> None:
    # Locked with SKIP LOCKED like the claim itself, so two senders reclaiming
    # at once neither wait for nor deadlock with each other.
    query = select(col(OutboxMessage.id), col(OutboxMessage.attempts)).where(
        col(OutboxMessage.status) == OutboxStatus.SENDING, col(OutboxMessage.lease_until) < now,
    ).order_by(col(OutboxMessage.id)).limit(limit)
    if _dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    expired = [(cast(int, row_id), attempts) for row_id, attempts in await session.execute(query)]
    again = [row_id for row_id, attempts in expired if attempts + 1 < max_attempts]
    given_up = [row_id for row_id, attempts in expired if attempts + 1 >= max_attempts]
    if again:
        await _set(session, again, status=OutboxStatus.PENDING, lease_owner=None,
                   lease_until=None, attempts=col(OutboxMessage.attempts) + 1,
                   last_error="lease expired")
    if given_up:
        await _set(session, given_up, status=OutboxStatus.FAILED, lease_owner=None,
                   lease_until=None, attempts=col(OutboxMessage.attempts) + 1,
                   last_error="lease expired too often (the sender kept dying)")
    # Cancelled while held by a sender that died: nobody will send them now.
    await session.execute(
        update(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.CANCELLED,
                                    col(OutboxMessage.lease_owner).is_not(None),
                                    col(OutboxMessage.lease_until) < now)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Sent:
    """Telegram accepted the message."""

    id: int
    message_id: int | None


@dataclass(frozen=True)
class Failed:
    """Telegram refused it for good, the retries ran out, or it could not be rendered."""

    id: int
    error: str


@dataclass(frozen=True)
class Retry:
    """A failure worth another try at `not_before` (a network error, a 5xx)."""

    id: int
    not_before: datetime
    error: str


Outcome = Sent | Failed | Retry


async def settle(
    session: AsyncSession, *, owner: str, now: datetime, outcomes: Iterable[Outcome]
) -> None:
    """Record what happened to rows `owner` tried to send, in one short transaction.

    One statement per kind of outcome (executemany), so a sender at hundreds
    of messages a second writes a few transactions a second, not hundreds.
    A sent row is marked sent even if its lease passed to someone else, or it
    was cancelled while on its way: it was sent. Failures and retries count as
    attempts and apply only while `owner` still holds the row; a cancelled row
    is not tried again.
    """
    sent = [{"_id": o.id, "_message_id": o.message_id}
            for o in outcomes if isinstance(o, Sent)]
    failed = [{"_id": o.id, "_error": o.error[:ERROR_MAX]}
              for o in outcomes if isinstance(o, Failed)]
    retry = [{"_id": o.id, "_error": o.error[:ERROR_MAX], "_not_before": o.not_before}
             for o in outcomes if isinstance(o, Retry)]
    row = OUTBOX.c
    sending = row.status == OutboxStatus.SENDING
    # Cancelled while on its way: what happened to it is still the truth to record.
    cancelled_held = (row.status == OutboxStatus.CANCELLED) & row.lease_owner.is_not(None)
    mine = row.lease_owner == owner
    unleased = {"lease_owner": None, "lease_until": None}
    await begin_write(session)
    if sent:
        await session.execute(
            update(OUTBOX).where(row.id == bindparam("_id"), sending | cancelled_held).values(
                status=OutboxStatus.SENT, sent_at=now, message_id=bindparam("_message_id"),
                **unleased),
            sent)
    if failed:
        await session.execute(
            update(OUTBOX).where(row.id == bindparam("_id"), sending | cancelled_held,
                                 mine).values(
                status=OutboxStatus.FAILED, attempts=row.attempts + 1,
                last_error=bindparam("_error"), **unleased),
            failed)
    if retry:
        await session.execute(
            update(OUTBOX).where(row.id == bindparam("_id"), sending, mine).values(
                status=OutboxStatus.PENDING, attempts=row.attempts + 1,
                not_before=bindparam("_not_before"), last_error=bindparam("_error"),
                **unleased),
            retry)
        await session.execute(  # cancelled meanwhile: no next try
            update(OUTBOX).where(row.id == bindparam("_id"), cancelled_held, mine).values(
                attempts=row.attempts + 1, last_error=bindparam("_error"), **unleased),
            [{"_id": r["_id"], "_error": r["_error"]} for r in retry])
    await session.commit()


async def release(
    session: AsyncSession, *, owner: str, ids: Iterable[int], not_before: datetime | None = None
) -> int:
    """Give held rows back unsent (stopping, too many queued for one chat, or dropped
    because they were cancelled: those stay cancelled, and are let go)."""
    ids = list(ids)
    if not ids:
        return 0
    values: dict[str, Any] = {"status": OutboxStatus.PENDING, "lease_owner": None,
                              "lease_until": None}
    if not_before is not None:
        values["not_before"] = not_before
    held = (col(OutboxMessage.id).in_(ids), col(OutboxMessage.lease_owner) == owner)
    await begin_write(session)
    result = await session.execute(
        update(OutboxMessage)
        .where(*held, col(OutboxMessage.status) == OutboxStatus.SENDING)
        .values(**values).execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(*held, col(OutboxMessage.status) == OutboxStatus.CANCELLED)
        .values(lease_owner=None, lease_until=None).execution_options(synchronize_session=False)
    )
    await session.commit()
    return cast(CursorResult[Any], result).rowcount


async def revoked(session: AsyncSession, *, owner: str, ids: Iterable[int]) -> set[int]:
    """Which of these held rows the sender must not send: cancelled since they were
    claimed (or skipped, or passed to another sender). A read, no writer's turn."""
    ids = list(ids)
    if not ids:
        return set()
    still = set((await session.execute(
        select(col(OutboxMessage.id)).where(col(OutboxMessage.id).in_(ids),
                                            col(OutboxMessage.status) == OutboxStatus.SENDING,
                                            col(OutboxMessage.lease_owner) == owner)
    )).scalars().all())
    await session.commit()
    return set(ids) - still


async def renew(session: AsyncSession, *, owner: str, ids: Iterable[int], until: datetime) -> int:
    """Extend the lease on rows still held (waiting for their turn, paused by a 429, or
    cancelled while on their way, their outcome still to be written)."""
    ids = list(ids)
    if not ids:
        return 0
    await begin_write(session)
    result = await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids),
               col(OutboxMessage.status).in_((OutboxStatus.SENDING, OutboxStatus.CANCELLED)),
               col(OutboxMessage.lease_owner) == owner)
        .values(lease_until=until).execution_options(synchronize_session=False)
    )
    await session.commit()
    return cast(CursorResult[Any], result).rowcount


async def skip_user(session: AsyncSession, *, user_id: int, reason: str) -> int:
    """Skip every unsent row for this user (they blocked the bot)."""
    await begin_write(session)
    result = await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.user_id) == user_id,
               col(OutboxMessage.status).in_(UNSENT))
        .values(status=OutboxStatus.SKIPPED, last_error=reason[:ERROR_MAX], lease_owner=None,
                lease_until=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return cast(CursorResult[Any], result).rowcount


async def erase_user_messages(session: AsyncSession, user_id: int, _now: datetime) -> None:
    """/deleteme: the person's messages, and others' that name or quote them, lose their
    bodies, sent or not; those not sent yet are cancelled. The rows stay for the counts.
    Runs in erase_user's write transaction."""
    theirs = (col(OutboxMessage.user_id) == user_id) | (col(OutboxMessage.about_user_id) == user_id)
    await session.execute(
        update(OutboxMessage).where(theirs, col(OutboxMessage.status).in_(UNSENT))
        .values(status=OutboxStatus.CANCELLED, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False))
    await session.execute(
        update(OutboxMessage).where(theirs)
        .values(text=case((col(OutboxMessage.text).is_(None), None), else_=""), params={},
                keyboard=None, file_id=None, last_error=None)
        .execution_options(synchronize_session=False))


async def get_file(session: AsyncSession, *, blob_id: int) -> OutboxFile | None:
    """An attached file, with its bytes and, once uploaded, Telegram's file_id."""
    return await session.get(OutboxFile, blob_id)


async def remember_file_id(session: AsyncSession, *, blob_id: int, file_id: str) -> None:
    """Keep Telegram's file_id for an uploaded file, so it is never uploaded again."""
    await begin_write(session)
    await session.execute(
        update(OutboxFile).where(col(OutboxFile.id) == blob_id).values(file_id=file_id)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def purge(session: AsyncSession, *, before: datetime, chunk: int = PURGE_CHUNK) -> int:
    """Delete finished rows (sent, failed, skipped, cancelled) created before `before`,
    then the files no row needs any more; returns how many rows went.

    Looks for them first without taking a writer's turn (finding nothing among 100,000
    finished rows takes ~40 ms on SQLite, which the sender's settles and people's taps
    would otherwise wait out), then deletes `chunk` rows per transaction, each committed,
    so that writers wait for one chunk, not for a whole 100,000-recipient broadcast.
    """
    old = OUTBOX.c.status.in_(FINISHED) & (OUTBOX.c.created_at < before)
    deleted = 0
    while True:
        ids = (await session.execute(select_columns(OUTBOX.c.id).where(old).limit(chunk))
               ).scalars().all()
        await session.commit()
        if ids:
            await begin_write(session)
            result = await session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(ids), old))
            deleted += cast(CursorResult[Any], result).rowcount
            await session.commit()
        if len(ids) < chunk:
            break
    needed = select_columns(OUTBOX.c.blob_id).where(OUTBOX.c.blob_id.is_not(None))
    unneeded = (col(OutboxFile.created_at) < before) & col(OutboxFile.id).not_in(needed)
    if (await session.execute(select_columns(func.count()).select_from(OutboxFile)
                              .where(unneeded))).scalar_one():
        await begin_write(session)
        await session.execute(delete(OutboxFile).where(unneeded))
    await session.commit()
    return deleted


async def counts(session: AsyncSession, *, group: str | None = None) -> dict[OutboxStatus, int]:
    """How many rows are in each status (all, or one group's): a delivery report."""
    query = select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))
    if group is not None:
        query = query.where(col(OutboxMessage.group_key) == group)
    rows = (await session.execute(query)).all()
    return {OutboxStatus(status): int(n) for status, n in rows}


@dataclass(frozen=True)
class Backlog:
    """The queue as an operator watches it: rows not yet finished, and how late the
    oldest one that is due already is (0 when none is waiting)."""

    depth: int
    oldest_due_seconds: float


async def backlog(session: AsyncSession, *, now: datetime) -> Backlog:
    """How much is queued and how long the oldest due row has waited (for /metrics)."""
    unfinished = col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING))
    depth = (await session.execute(
        select_columns(func.count()).select_from(OutboxMessage).where(unfinished))).scalar_one()
    oldest = (await session.execute(
        select_columns(func.min(col(OutboxMessage.not_before)))
        .where(col(OutboxMessage.status) == OutboxStatus.PENDING,
               col(OutboxMessage.not_before) <= now))).scalar_one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    late = (now - oldest).total_seconds() if oldest is not None else 0.0
    return Backlog(depth=int(depth), oldest_due_seconds=max(0.0, late))
