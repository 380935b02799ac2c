"""The outbox: queueing, dedupe, cancel and reschedule, claims under a lease, preferences."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from models.db import begin_write
from models.outbox import MediaKind, OutboxFile, OutboxKind, OutboxMessage, OutboxStatus
from models.users import User
from scheduler import purge_outbox
from services import outbox, preferences
from services.clock import ManualClock
from services.errors import InvalidInput
from services.outbox import Outgoing
from services.preferences import Preferences, is_quiet, quiet_until
from tests.factories import make_community, make_user

LEASE = timedelta(seconds=60)
TZ = "Asia/Shanghai"


async def claim(
    session: AsyncSession, clock: ManualClock, *, owner: str = "a", limit: int = 100
) -> outbox.Claim:
    return await outbox.claim_due(session, owner=owner, now=clock.now(), limit=limit,
                                  lease=LEASE, default_tz=TZ)


async def rows(session: AsyncSession) -> list[OutboxMessage]:
    found = await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id))
                                  .execution_options(populate_existing=True))
    return list(found.scalars().all())


async def status_of(session: AsyncSession, outbox_id: int) -> OutboxStatus:
    found = await session.execute(
        select(col(OutboxMessage.status)).where(col(OutboxMessage.id) == outbox_id))
    return OutboxStatus(found.scalar_one())


async def make_users(session: AsyncSession, clock: ManualClock, n: int) -> list[int]:
    session.add_all(User(tg_id=700_000 + i, first_name=f"U{i}", created_at=clock.now())
                    for i in range(n))
    await session.commit()
    found = await session.execute(select(col(User.id)).where(col(User.tg_id) >= 700_000)
                                  .order_by(col(User.id)))
    return [int(i) for i in found.scalars().all()]


# --- Queueing ------------------------------------------------------------------------


async def test_the_same_dedupe_key_is_queued_once(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    first = await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.REMINDER,
                               text="Your course starts in an hour", dedupe_key="r:1:1h")
    second = await outbox.queue(session, clock=clock, user_id=user.id,
                                kind=OutboxKind.REMINDER, text="Again", dedupe_key="r:1:1h")
    await session.commit()
    assert (first, second) == (True, False)
    [row] = await rows(session)
    assert row.text == "Your course starts in an hour"
    assert row.status == OutboxStatus.PENDING
    assert row.not_before == clock.now()


async def test_rows_without_a_dedupe_key_are_never_merged(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    for _ in range(2):
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                           key="Welcome back! 👋")
    await session.commit()
    assert len(await rows(session)) == 2


async def test_queue_many_inserts_thousands_in_a_few_statements(
    session: AsyncSession, engine: AsyncEngine, clock: ManualClock
) -> None:
    users = await make_users(session, clock, 50)
    batch = [Outgoing(user_id=users[i % 50], kind=OutboxKind.ANNOUNCEMENT,
                      key="Your community: {name}", params={"name": "Sunny"},
                      group="announcement:1", dedupe_key=f"a:1:{i}")
             for i in range(5000)]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await begin_write(session)  # queueing runs in the caller's write transaction
        added = await outbox.queue_many(session, clock=clock, rows=batch)
        await session.commit()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert added == 5000
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 5000 // outbox.INSERT_CHUNK
    assert all("ON CONFLICT" in s.upper() for s in inserts)
    assert len(statements) <= len(inserts) + 3  # BEGIN/COMMIT at most besides
    # Queued again (a retried broadcast): nothing new, duplicates inside a batch too.
    again = await outbox.queue_many(session, clock=clock, rows=[*batch[:10], *batch[:10]])
    await session.commit()
    assert again == 0
    twice = Outgoing(user_id=users[0], kind=OutboxKind.ANNOUNCEMENT, text="x", dedupe_key="new")
    assert await outbox.queue_many(session, clock=clock, rows=[twice, twice]) == 1
    await session.commit()
    total = await session.execute(select(func.count()).select_from(OutboxMessage))
    assert total.scalar_one() == 5001


async def test_queue_checks_every_row_before_writing(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    good = Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="ok")
    bad = [
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS),  # neither text nor key
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="a", key="b"),
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="x" * 4097),
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="x" * 1025,
                 media=MediaKind.PHOTO, file_id="AgAC"),
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="x", file_id="AgAC"),
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="x",
                 keyboard={"inline_keyboard": [[{"text": "Go", "callback_data": "x" * 65}]]}),
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="x",
                 not_before=datetime(2026, 3, 2, 9, 0)),  # naive
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, key="k", params={"d": [1]}),
    ]
    for row in bad:
        with pytest.raises(InvalidInput):
            await outbox.queue_many(session, clock=clock, rows=[good, row])
    assert await rows(session) == []


async def test_notify_is_called_after_the_commit_only(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    calls: list[str] = []
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="one", notify=lambda: calls.append("kick"))
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="two", notify=lambda: calls.append("kick"))
    assert calls == []
    await session.commit()
    assert len(calls) == 2  # two different callables, each once

    kick = lambda: calls.append("rolled back")  # noqa: E731
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="three", notify=kick)
    await session.rollback()
    assert "rolled back" not in calls


# --- Cancel and reschedule ------------------------------------------------------------


async def test_cancel_by_key_and_by_group_leaves_other_rows(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    later = clock.now() + timedelta(days=1)
    for key, group in [("s42:24h", "session:42"), ("s42:1h", "session:42"),
                       ("s43:24h", "session:43"), ("p:1", None)]:
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.REMINDER,
                           text=key, group=group, dedupe_key=key, not_before=later)
    await session.commit()

    assert await outbox.cancel(session, dedupe_key="p:1") == 1
    assert await outbox.cancel(session, group="session:42") == 2
    assert await outbox.cancel(session, group="session:42") == 0
    await session.commit()
    assert [(r.text, r.dedupe_key, r.status) for r in await rows(session)] == [
        ("s42:24h", None, OutboxStatus.CANCELLED), ("s42:1h", None, OutboxStatus.CANCELLED),
        ("s43:24h", "s43:24h", OutboxStatus.PENDING), ("p:1", None, OutboxStatus.CANCELLED)]
    with pytest.raises(ValueError):
        await outbox.cancel(session)


async def test_a_cancelled_message_frees_its_key_and_a_sent_one_keeps_it(
    session: AsyncSession, clock: ManualClock
) -> None:
    """Cancelling, then queueing the same thing again (a place given back and taken again),
    sends it once; what already went out is never queued twice."""
    user = await make_user(session, clock)
    assert user.id is not None
    later = clock.now() + timedelta(days=1)

    async def remind(text: str, key: str) -> bool:
        return await outbox.queue(session, clock=clock, user_id=user.id or 0,
                                  kind=OutboxKind.REMINDER, text=text, group="claim:1",
                                  dedupe_key=key, not_before=later)

    assert await remind("first", "r:1")
    assert await remind("sent", "r:sent")
    await session.execute(update(OutboxMessage).where(col(OutboxMessage.text) == "sent")
                          .values(status=OutboxStatus.SENT))
    await session.commit()
    assert await outbox.cancel(session, group="claim:1") == 1
    assert await remind("again", "r:1")
    assert not await remind("sent again", "r:sent")
    await session.commit()
    assert [(r.text, r.dedupe_key, r.status) for r in await rows(session)] == [
        ("first", None, OutboxStatus.CANCELLED), ("sent", "r:sent", OutboxStatus.SENT),
        ("again", "r:1", OutboxStatus.PENDING)]


async def test_a_row_being_sent_is_cancelled_and_held_until_its_sender_lets_go(
    session: AsyncSession, clock: ManualClock
) -> None:
    """The sender holding a cancelled row learns it (`revoked`) and drops it (`release`);
    one already on its way is settled as sent, for the report counts what went out."""
    user = await make_user(session, clock)
    assert user.id is not None
    for text in ("dropped", "on its way"):
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.REMINDER,
                           text=text, group="session:1")
    await session.commit()
    dropped, away = (await claim(session, clock, owner="me")).rows
    await begin_write(session)
    assert await outbox.cancel(session, group="session:1") == 2
    await session.commit()
    assert await outbox.revoked(session, owner="me", ids=[dropped.id, away.id]) == {
        dropped.id, away.id}
    unsettled = select(func.count()).select_from(OutboxMessage).where(outbox.in_hand())
    assert (await session.execute(unsettled)).scalar_one() == 2
    await outbox.release(session, owner="me", ids=[dropped.id])
    await outbox.settle(session, owner="me", now=clock.now(), outcomes=[outbox.Sent(away.id, 7)])
    assert await status_of(session, dropped.id) == OutboxStatus.CANCELLED
    assert await status_of(session, away.id) == OutboxStatus.SENT
    assert (await session.execute(unsettled)).scalar_one() == 0


async def test_reschedule_moves_a_group(session: AsyncSession, clock: ManualClock) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    start = clock.now() + timedelta(days=2)
    for hours in (24, 1):
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.REMINDER,
                           text=f"{hours}h", group="session:7",
                           not_before=start - timedelta(hours=hours))
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.REMINDER,
                       text="other", group="session:8", not_before=start)
    await session.commit()

    await begin_write(session)
    assert await outbox.reschedule(session, group="session:7", shift=timedelta(days=1)) == 2
    await session.commit()
    moved = {r.text: r.not_before for r in await rows(session)}
    assert moved == {"24h": start, "1h": start + timedelta(hours=23), "other": start}

    await begin_write(session)
    assert await outbox.reschedule(session, group="session:7", not_before=start) == 2
    await session.commit()
    assert {r.not_before for r in await rows(session) if r.group_key == "session:7"} == {start}


# --- Claims and leases ---------------------------------------------------------------


async def test_claim_takes_due_rows_in_order_under_a_lease(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock, locale="en")
    assert user.id is not None
    now = clock.now()
    specs: list[tuple[str, dict[str, Any]]] = [
        ("plain", {}),
        ("later", {"not_before": now + timedelta(seconds=30)}),
        ("important", {"priority": 5}),
        ("urgent", {"urgent": True}),
    ]
    for text, extra in specs:
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                           text=text, **extra)
    await session.commit()

    got = await claim(session, clock, owner="sender-1")
    assert [c.text for c in got.rows] == ["urgent", "important", "plain"]
    assert got.rows[0].chat_id == user.tg_id and got.rows[0].locale == "en"
    held = {r.text: r for r in await rows(session)}
    assert held["plain"].status == OutboxStatus.SENDING
    assert held["plain"].lease_owner == "sender-1"
    assert held["plain"].lease_until == clock.now() + LEASE
    assert held["later"].status == OutboxStatus.PENDING

    # Nobody else gets them while the lease holds…
    assert (await claim(session, clock, owner="sender-2")).rows == []
    # …the later one once it is due…
    clock.advance(seconds=30)
    assert [c.text for c in (await claim(session, clock, owner="sender-2")).rows] == ["later"]
    # …and the first three again once their holder's lease ran out (it died).
    clock.advance(LEASE)
    again = await claim(session, clock, owner="sender-3")
    assert [c.text for c in again.rows] == ["urgent", "important", "plain"]
    assert {r.text: r.attempts for r in await rows(session)} == {
        "plain": 1, "later": 0, "important": 1, "urgent": 1}


async def test_a_row_whose_lease_keeps_expiring_fails_in_the_end(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS, text="x")
    await session.commit()
    for _ in range(3):
        assert len((await outbox.claim_due(session, owner="a", now=clock.now(), limit=10,
                                           lease=LEASE, default_tz=TZ, max_attempts=3)).rows) == 1
        clock.advance(LEASE + timedelta(seconds=1))
    await outbox.claim_due(session, owner="a", now=clock.now(), limit=10, lease=LEASE,
                           default_tz=TZ, max_attempts=3)
    [row] = await rows(session)
    assert row.status == OutboxStatus.FAILED and row.attempts == 3


async def test_concurrent_claims_never_share_a_row(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession, clock: ManualClock
) -> None:
    users = await make_users(session, clock, 20)
    await begin_write(session)
    await outbox.queue_many(session, clock=clock, rows=[
        Outgoing(user_id=users[i % 20], kind=OutboxKind.ANNOUNCEMENT, text=str(i))
        for i in range(200)])
    await session.commit()

    async def claimer(owner: str) -> list[int]:
        ids: list[int] = []
        async with sessionmaker() as own:
            while True:
                got = await claim(own, clock, owner=owner, limit=15)
                if not got.rows:
                    return ids
                ids.extend(c.id for c in got.rows)
                await asyncio.sleep(0)

    taken = await asyncio.gather(*(claimer(f"s{i}") for i in range(4)))
    everything = [i for ids in taken for i in ids]
    assert len(everything) == len(set(everything)) == 200


async def test_outcomes_sent_failed_retried_released_renewed(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    for text in ("ok", "bad", "flaky", "unsent"):
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                           text=text)
    await session.commit()
    held = {c.text: c.id for c in (await claim(session, clock, owner="me")).rows}

    retry_at = clock.now() + timedelta(seconds=4)
    await outbox.settle(session, owner="me", now=clock.now(), outcomes=[
        outbox.Sent(held["ok"], 77),
        outbox.Failed(held["bad"], "Bad Request: chat not found"),
        outbox.Retry(held["flaky"], retry_at, "Bad Gateway"),
    ])
    assert await outbox.renew(session, owner="someone else", ids=[held["unsent"]],
                              until=clock.now() + LEASE * 2) == 0
    assert await outbox.renew(session, owner="me", ids=[held["unsent"]],
                              until=clock.now() + LEASE * 2) == 1
    assert await outbox.release(session, owner="me", ids=[held["unsent"]]) == 1

    by_text = {r.text: r for r in await rows(session)}
    ok, bad, flaky, unsent = (by_text[t] for t in ("ok", "bad", "flaky", "unsent"))
    assert (ok.status, ok.message_id, ok.sent_at) == (OutboxStatus.SENT, 77, clock.now())
    assert (bad.status, bad.attempts) == (OutboxStatus.FAILED, 1)
    assert bad.last_error == "Bad Request: chat not found"
    assert (flaky.status, flaky.attempts, flaky.not_before) == (OutboxStatus.PENDING, 1, retry_at)
    assert flaky.last_error == "Bad Gateway"
    assert (unsent.status, unsent.lease_owner, unsent.attempts) == (OutboxStatus.PENDING, None, 0)

    clock.advance(seconds=4)
    again = (await claim(session, clock, owner="me")).rows
    assert sorted(c.text for c in again) == ["flaky", "unsent"]
    # Someone whose lease was taken over changes nothing but "sent" (it was sent).
    await outbox.settle(session, owner="not me", now=clock.now(), outcomes=[
        outbox.Failed(held["flaky"], "late"), outbox.Sent(held["unsent"], 78)])
    assert await status_of(session, held["flaky"]) == OutboxStatus.SENDING
    assert await status_of(session, held["unsent"]) == OutboxStatus.SENT
    report = await outbox.counts(session)
    assert report == {OutboxStatus.SENT: 2, OutboxStatus.FAILED: 1, OutboxStatus.SENDING: 1}


# --- Who gets what, and when ----------------------------------------------------------


async def test_blocked_and_erased_users_are_skipped(
    session: AsyncSession, clock: ManualClock
) -> None:
    blocked = await make_user(session, clock, name="Blocked")
    erased = await make_user(session, clock, name="Erased")
    fine = await make_user(session, clock, name="Fine")
    blocked.blocked_at = clock.now()
    erased.tg_id, erased.deleted_at = None, clock.now()
    await session.commit()
    for user in (blocked, erased, fine):
        assert user.id is not None
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                           text="hi", urgent=True)
    await session.commit()

    got = await claim(session, clock)
    assert [c.user_id for c in got.rows] == [fine.id]
    assert got.skipped == 2
    errors = {r.user_id: (r.status, r.last_error) for r in await rows(session)}
    assert errors[blocked.id] == (OutboxStatus.SKIPPED, "user blocked the bot")
    assert errors[erased.id] == (OutboxStatus.SKIPPED, "user erased")


async def test_skip_user_skips_everything_unsent(session: AsyncSession, clock: ManualClock) -> None:
    user = await make_user(session, clock)
    other = await make_user(session, clock)
    assert user.id is not None and other.id is not None
    for who in (user.id, user.id, other.id):
        await outbox.queue(session, clock=clock, user_id=who, kind=OutboxKind.STATUS, text="x")
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="later", not_before=clock.now() + timedelta(hours=1))
    await session.commit()
    await claim(session, clock, limit=1)
    assert await outbox.skip_user(session, user_id=user.id, reason="blocked (403)") == 3
    assert {r.user_id: r.status for r in await rows(session) if r.user_id == other.id} == {
        other.id: OutboxStatus.PENDING}


async def test_muted_kinds_are_skipped_unless_urgent(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    await preferences.set_muted(session, user_id=user.id, clock=clock,
                                kind=OutboxKind.ANNOUNCEMENT, muted=True)
    prefs = await preferences.set_muted(session, user_id=user.id, clock=clock,
                                        kind=OutboxKind.PING, muted=True)
    assert prefs.muted == {OutboxKind.ANNOUNCEMENT, OutboxKind.PING}
    prefs = await preferences.set_muted(session, user_id=user.id, clock=clock,
                                        kind=OutboxKind.PING, muted=False)
    assert prefs.muted == {OutboxKind.ANNOUNCEMENT}
    with pytest.raises(InvalidInput):  # what they signed up for cannot be muted
        await preferences.set_muted(session, user_id=user.id, clock=clock,
                                    kind=OutboxKind.REMINDER, muted=True)

    for text, kind, urgent in [("news", OutboxKind.ANNOUNCEMENT, False),
                               ("water cut", OutboxKind.ANNOUNCEMENT, True),
                               ("ping", OutboxKind.PING, False),
                               ("reminder", OutboxKind.REMINDER, False)]:
        await outbox.queue(session, clock=clock, user_id=user.id, kind=kind, text=text,
                           urgent=urgent)
    await session.commit()
    got = await claim(session, clock)
    assert sorted(c.text for c in got.rows) == ["ping", "reminder", "water cut"]
    news = (await rows(session))[0]
    assert (news.text, news.status) == ("news", OutboxStatus.SKIPPED)


async def test_quiet_hours_defer_to_the_morning_in_the_users_time_zone(
    session: AsyncSession, clock: ManualClock
) -> None:
    shanghai = await make_community(session, clock, "Sunny Court")  # Asia/Shanghai
    london = await make_community(session, clock, "Baker Street")
    london.timezone = "Europe/London"
    await session.commit()
    here = await make_user(session, clock, community=shanghai)
    there = await make_user(session, clock, community=london)
    nowhere = await make_user(session, clock)  # no community: the district's zone
    clock.set(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai, 14:30 in London
    for user in (here, there, nowhere):
        assert user.id is not None
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.PING,
                           text="volunteers needed", dedupe_key=f"ping:{user.id}")
    assert here.id is not None
    await outbox.queue(session, clock=clock, user_id=here.id, kind=OutboxKind.ANNOUNCEMENT,
                       text="gas leak", urgent=True)
    await session.commit()

    got = await claim(session, clock)
    assert sorted((c.user_id, c.text) for c in got.rows) == sorted(
        [(there.id, "volunteers needed"), (here.id, "gas leak")])
    assert got.deferred == 2
    await outbox.settle(session, owner="a", now=clock.now(),
                        outcomes=[outbox.Sent(sent.id, 1) for sent in got.rows])
    morning = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    waiting = {r.user_id: r.not_before for r in await rows(session)
               if r.status == OutboxStatus.PENDING}
    assert waiting == {here.id: morning, nowhere.id: morning}

    clock.set(morning - timedelta(seconds=1))
    assert (await claim(session, clock)).rows == []
    clock.set(morning)
    assert {c.user_id for c in (await claim(session, clock)).rows} == {here.id, nowhere.id}


async def test_own_quiet_hours_or_none(session: AsyncSession, clock: ManualClock) -> None:
    owl = await make_user(session, clock)
    napper = await make_user(session, clock)
    assert owl.id is not None and napper.id is not None
    await preferences.set_quiet_hours(session, user_id=owl.id, clock=clock, start=None, end=None)
    nap = await preferences.set_quiet_hours(session, user_id=napper.id, clock=clock,
                                            start=time(12, 0), end=time(14, 0))
    assert (nap.quiet_start, nap.quiet_end) == (time(12, 0), time(14, 0))
    with pytest.raises(InvalidInput):
        await preferences.set_quiet_hours(session, user_id=owl.id, clock=clock,
                                          start=time(12, 0), end=None)
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    for user in (owl, napper):
        assert user.id is not None
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.PING, text="x")
    await session.commit()
    assert [c.user_id for c in (await claim(session, clock)).rows] == [owl.id, napper.id]
    assert await preferences.get_preferences(session, user_id=owl.id) == Preferences(
        quiet_start=None, quiet_end=None)


def test_quiet_until() -> None:
    default = Preferences()
    shanghai = "Asia/Shanghai"

    def at(hour: int, minute: int = 0) -> datetime:  # Shanghai local time on 2 March
        return datetime(2026, 3, 2, hour, minute, tzinfo=UTC) - timedelta(hours=8)

    assert quiet_until(default, at(20, 59), shanghai) is None
    assert quiet_until(default, at(21), shanghai) == at(8) + timedelta(days=1)
    assert quiet_until(default, at(23, 59), shanghai) == at(8) + timedelta(days=1)
    assert quiet_until(default, at(3), shanghai) == at(8)
    assert quiet_until(default, at(8), shanghai) is None
    assert is_quiet(default, at(7, 59), shanghai)
    nap = Preferences(quiet_start=time(12), quiet_end=time(14))
    assert quiet_until(nap, at(13), shanghai) == at(14)
    assert not is_quiet(nap, at(14), shanghai) and not is_quiet(nap, at(23), shanghai)
    assert not is_quiet(Preferences(quiet_start=None, quiet_end=None), at(23), shanghai)


async def test_purge_deletes_only_finished_rows_older_than_given(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    for text in ("sent", "cancelled", "pending"):
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                           text=text, group=text)
    await session.commit()
    await outbox.cancel(session, group="cancelled")
    await session.commit()
    [first, waiting] = (await claim(session, clock, limit=2)).rows
    await outbox.settle(session, owner="a", now=clock.now(), outcomes=[outbox.Sent(first.id, 1)])
    await outbox.release(session, owner="a", ids=[waiting.id])
    assert await outbox.purge(session, before=clock.now()) == 0
    assert await outbox.purge(session, before=clock.now() + timedelta(days=30)) == 2
    assert [r.text for r in await rows(session)] == ["pending"]


async def test_purge_goes_chunk_by_chunk_and_drops_files_no_row_needs(
    session: AsyncSession, clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    kept_file = await outbox.add_file(session, clock=clock, filename="chart.png", data=b"png")
    gone_file = await outbox.add_file(session, clock=clock, filename="old.png", data=b"png")
    await outbox.queue_many(session, clock=clock, rows=[
        Outgoing(user_id=user.id, kind=OutboxKind.ANNOUNCEMENT, text=f"n{i}", group="old")
        for i in range(7)])
    await outbox.queue_many(session, clock=clock, rows=[
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="chart", media=MediaKind.PHOTO,
                 blob_id=kept_file),
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text="old chart",
                 media=MediaKind.PHOTO, blob_id=gone_file, group="old")])
    await session.commit()
    await outbox.cancel(session, group="old")
    await session.commit()

    assert await outbox.purge(session, before=clock.now() + timedelta(days=1), chunk=3) == 8
    assert [r.text for r in await rows(session)] == ["chart"]  # pending: kept, with its file
    files = (await session.execute(select(col(OutboxFile.id)))).scalars().all()
    assert list(files) == [kept_file]


async def test_a_purge_that_finds_nothing_never_waits_for_a_writers_turn(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import models.db

    writers = models.db._WRITERS.get(sessionmaker.kw["bind"].sync_engine)
    if writers is not None:  # SQLite: this process's writers take turns
        monkeypatch.setattr(writers, "wait", 0.2)
    async with sessionmaker() as writer:
        await begin_write(writer)  # the sender settling, say: the purge must not queue up
        assert await outbox.purge(session, before=clock.now()) == 0
        await writer.commit()


async def test_the_hourly_purge_keeps_what_is_younger_than_outbox_keep_days(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    user = await make_user(session, clock)
    assert user.id is not None
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="old", group="old")
    await session.commit()
    await outbox.cancel(session, group="old")
    await session.commit()
    clock.advance(days=29)
    assert await purge_outbox(sessionmaker=sessionmaker, clock=clock, keep_days=30) == 0
    clock.advance(days=2)
    assert await purge_outbox(sessionmaker=sessionmaker, clock=clock, keep_days=30) == 1
    assert await rows(session) == []


async def test_the_districts_default_quiet_hours_apply_to_people_who_set_none(
    session: AsyncSession, clock: ManualClock
) -> None:
    night_owls = preferences.parse_quiet_hours("off")
    early = preferences.parse_quiet_hours("20:00-07:00")
    assert (early.quiet_start, early.quiet_end) == (time(20), time(7))
    with pytest.raises(ValueError):
        preferences.parse_quiet_hours("21:00-21:00")
    user = await make_user(session, clock, community=await make_community(session, clock))
    assert user.id is not None
    clock.set(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.PING, text="hi")
    await session.commit()
    got = await outbox.claim_due(session, owner="a", now=clock.now(), limit=10,
                                 lease=timedelta(minutes=1), default_tz="Asia/Shanghai",
                                 defaults=night_owls)
    assert [c.text for c in got.rows] == ["hi"]
    # Someone who changes a setting starts from the district's defaults.
    changed = await preferences.set_muted(session, user_id=user.id, clock=clock,
                                          kind=OutboxKind.ANNOUNCEMENT, muted=True,
                                          defaults=night_owls)
    assert (changed.quiet_start, changed.quiet_end) == (None, None)
