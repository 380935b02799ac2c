"""The outbox sender against the in-process Bot API emulator: a real aiogram Bot, real HTTP."""

from __future__ import annotations

import asyncio
import bisect
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col, select

from bot.config import Settings
from bot.i18n import load_i18n
from emulator import Emulator, FloodLimits
from models.db import create_engine, create_sessionmaker
from models.outbox import MediaKind, OutboxKind, OutboxMessage, OutboxStatus
from scheduler import start_background
from scheduler.outbox import OutboxSender, SendLimits, TokenBucket
from services import outbox
from services.clock import ManualClock
from services.outbox import Outgoing
from tests.conftest import fresh_postgres_url
from tests.scheduler.conftest import (
    FAST,
    SenderFactory,
    recipients,
    settled,
    statuses,
    wait_until,
)

KEY = "Your community: {name}"  # in both catalogues, with a placeholder


def sends_to(emulator: Emulator, chat_id: int, method: str = "sendMessage") -> list[float]:
    """When each `method` call to `chat_id` reached the emulator (any outcome)."""
    return [r.time for r in emulator.requests if r.method == method and r.chat_id == chat_id]


async def rows_of(session: AsyncSession) -> list[OutboxMessage]:
    found = await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id))
                                  .execution_options(populate_existing=True))
    rows = list(found.scalars().all())
    await session.commit()  # end the read: the next call sees the sender's latest writes
    return rows


async def test_each_recipient_gets_one_message_in_their_language(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    chinese = await recipients(session, emulator, clock, 5, locale="zh")
    english = await recipients(session, emulator, clock, 5, first_tg_id=20_000, locale="en")
    sender = await make_sender()
    keyboard = {"inline_keyboard": [[{"text": "Main menu", "callback_data": "menu"}]]}
    added = await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        Outgoing(user_id=user.id, kind=OutboxKind.ANNOUNCEMENT, key=KEY,
                 params={"name": "<Sunny> & Co"}, keyboard=keyboard, dedupe_key=f"a:{user.id}")
        for user in [*chinese, *english] if user.id is not None])
    await session.commit()
    assert added == 10
    await wait_until(settled(sessionmaker))

    sent_ids = {r.user_id: r.message_id for r in await rows_of(session)}
    i18n = load_i18n()
    for people, locale in ((chinese, "zh"), (english, "en")):
        expected = i18n.gettext(KEY, locale=locale).format(name="<Sunny> & Co")
        label = i18n.gettext("Main menu", locale=locale)
        for user in people:
            assert user.tg_id is not None
            [message] = emulator.user(user.tg_id).bot_messages
            assert message.content == expected
            assert message.inline_keyboard == [[(label, "menu")]]
            assert message.message_id == sent_ids[user.id]
    assert i18n.gettext(KEY, locale="zh") != KEY  # the Chinese really is Chinese
    for row in await rows_of(session):
        assert row.status == OutboxStatus.SENT and row.message_id and row.sent_at == clock.now()
    assert sender.stats.sent == 10


async def test_a_429_pauses_all_sending_for_retry_after_and_loses_nothing(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    people = await recipients(session, emulator, clock, 3)
    first = people[0].tg_id
    assert first is not None
    emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1,
                       chat_id=first)
    # Ten a second: nothing else is in flight when the 429 comes back.
    sender = await make_sender(SendLimits(rate=10.0))
    await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        Outgoing(user_id=u.id, kind=OutboxKind.PING, text=f"hello {u.tg_id}")
        for u in people if u.id is not None])
    await session.commit()
    await wait_until(settled(sessionmaker))

    [limited] = [r for r in emulator.requests if r.status == 429]
    later = [r.time for r in emulator.requests if r.method == "sendMessage" and r.ok
             and r.time > limited.time]
    assert len(later) == 3  # the first one again, then the other two, all after the pause
    assert min(later) - limited.time >= 1.0
    assert min(later) - limited.time < 1.5
    assert [m.content for m in emulator.user(first).bot_messages] == [f"hello {first}"]
    assert {(r.status, r.attempts) for r in await rows_of(session)} == {(OutboxStatus.SENT, 0)}
    assert sender.stats.rate_limited == 1


async def test_a_user_who_blocked_the_bot_is_marked_and_their_rows_skipped(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    blocker, friend = await recipients(session, emulator, clock, 2)
    assert blocker.id and blocker.tg_id and friend.id and friend.tg_id
    emulator.user(blocker.tg_id).block()
    sender = await make_sender(SendLimits(rate=200.0))  # 1.1 s between two to one chat
    await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        *(Outgoing(user_id=blocker.id, kind=OutboxKind.REMINDER, text=f"r{i}") for i in range(3)),
        Outgoing(user_id=friend.id, kind=OutboxKind.REMINDER, text="hi")])
    await outbox.queue(session, clock=clock, user_id=blocker.id, kind=OutboxKind.REMINDER,
                       text="tomorrow", not_before=clock.now() + timedelta(days=1))
    await session.commit()
    await wait_until(settled(sessionmaker))

    await session.refresh(blocker)
    assert blocker.blocked_at == clock.now()
    theirs = [r for r in await rows_of(session) if r.user_id == blocker.id]
    assert [r.status for r in theirs] == [OutboxStatus.SKIPPED] * 4
    assert all("blocked" in (r.last_error or "") for r in theirs)
    assert len(sends_to(emulator, blocker.tg_id)) == 1  # one 403, then nothing more was tried
    assert [m.content for m in emulator.user(friend.tg_id).bot_messages] == ["hi"]


async def test_a_400_fails_the_row_without_retrying(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id
    emulator.fail_next("sendMessage", 400, "Bad Request: message is too long")
    sender = await make_sender()
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="x", notify=sender.kick)
    await session.commit()
    await wait_until(settled(sessionmaker))
    [row] = await rows_of(session)
    assert row.status == OutboxStatus.FAILED
    assert row.last_error == "Bad Request: message is too long"
    assert len(sends_to(emulator, user.tg_id)) == 1
    assert emulator.user(user.tg_id).bot_messages == []


async def test_server_errors_are_retried_with_backoff_then_sent(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id
    emulator.fail_next("sendMessage", 502, "Bad Gateway", times=2)
    sender = await make_sender()  # backoff 5 s, then 10 s
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="your concern was answered", notify=sender.kick)
    await session.commit()

    async def row() -> OutboxMessage:
        [found] = await rows_of(session)
        return found

    for attempts, backoff in ((1, 5), (2, 10)):

        async def failed_again(attempts: int = attempts) -> bool:
            found = await row()
            return found.status == OutboxStatus.PENDING and found.attempts == attempts

        await wait_until(failed_again)
        waiting = await row()
        assert waiting.not_before == clock.now() + timedelta(seconds=backoff)
        assert waiting.last_error == "Bad Gateway"
        clock.advance(seconds=backoff - 1)
        sender.kick()
        assert await failed_again()  # not before its time
        clock.advance(seconds=1)
        sender.kick()
    await wait_until(settled(sessionmaker))
    sent = await row()
    assert (sent.status, sent.attempts) == (OutboxStatus.SENT, 2)
    assert len(sends_to(emulator, user.tg_id)) == 3
    assert [m.content for m in emulator.user(user.tg_id).bot_messages] == [
        "your concern was answered"]


async def test_server_errors_fail_the_row_after_max_attempts(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id
    emulator.fail_next("sendMessage", 500, "Internal Server Error", times=5)
    sender = await make_sender(SendLimits(rate=200.0, private_interval=0.05, max_attempts=2,
                                          backoff=1.0))
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="x", notify=sender.kick)
    await session.commit()

    async def after(tries: int, status: OutboxStatus) -> bool:
        return (len(sends_to(emulator, user.tg_id or 0)) == tries
                and await statuses(sessionmaker) == {status: 1})

    await wait_until(lambda: after(1, OutboxStatus.PENDING))  # until the backoff is over
    clock.advance(seconds=1)
    sender.kick()
    await wait_until(lambda: after(2, OutboxStatus.FAILED))
    [row] = await rows_of(session)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 2)
    assert row.last_error == "Internal Server Error"


async def test_within_flood_limits_nothing_is_refused(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    people = await recipients(session, emulator, clock, 100)
    emulator.flood = FloodLimits(global_per_second=150.0, global_burst=10,
                                 per_chat_per_second=1.0, per_chat_burst=1)
    sender = await make_sender(SendLimits(rate=120.0))  # Telegram's private-chat pacing
    await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        Outgoing(user_id=u.id, kind=OutboxKind.ANNOUNCEMENT, text=f"part {part}")
        for part in (1, 2) for u in people if u.id is not None])
    await session.commit()
    await wait_until(settled(sessionmaker), within=15)

    stats = emulator.send_stats()
    assert stats.too_many_requests == 0
    assert stats.total_sends == 200
    assert stats.max_per_chat_in_one_second == 1
    assert stats.max_sends_in_one_second <= 130
    for user in people:
        assert user.tg_id is not None
        assert [m.content for m in emulator.user(user.tg_id).bot_messages] == ["part 1", "part 2"]
    assert sender.stats.rate_limited == 0


async def test_stop_finishes_in_flight_and_gives_back_the_rest(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id
    sender = await make_sender(SendLimits(rate=200.0))  # 1.1 s between two to one chat
    await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text=f"m{i}") for i in range(4)])
    await session.commit()

    async def one_sent() -> bool:
        return (await statuses(sessionmaker)).get(OutboxStatus.SENT) == 1

    await wait_until(one_sent)
    await sender.stop()
    assert not sender.running
    rows = await rows_of(session)
    assert [r.status for r in rows] == [OutboxStatus.SENT] + [OutboxStatus.PENDING] * 3
    assert {r.lease_owner for r in rows} == {None}
    assert len(emulator.user(user.tg_id).bot_messages) == 1


async def test_rows_for_one_chat_beyond_the_horizon_go_back_for_later(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id
    sender = await make_sender(SendLimits(rate=200.0, horizon=5.0))  # 1.1 s apart: 5 fit
    await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text=f"m{i}") for i in range(8)])
    await session.commit()

    async def first_sent() -> bool:
        return (await statuses(sessionmaker)).get(OutboxStatus.SENT) == 1

    await wait_until(first_sent)
    rows = await rows_of(session)
    later = [r for r in rows if r.status == OutboxStatus.PENDING]
    assert [r.text for r in later] == ["m5", "m6", "m7"]  # the others wait in the sender
    assert {r.not_before for r in later} == {clock.now() + timedelta(seconds=5 * 1.1)}
    await sender.stop()
    assert await statuses(sessionmaker) == {OutboxStatus.SENT: 1, OutboxStatus.PENDING: 7}


async def test_leases_are_renewed_while_rows_wait_out_a_pause(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id
    emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    lease = 0.6  # renewed every 0.2 s
    sender = await make_sender(SendLimits(rate=200.0, lease=lease))
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                       text="once", notify=sender.kick)
    await session.commit()
    await wait_until(lambda: _true(sender.paused_for > 0))
    while sender.paused_for > 0:  # the wall clock runs, a second sender looks for work
        clock.advance(seconds=0.1)
        async with sessionmaker() as other:
            stolen = await outbox.claim_due(other, owner="thief", now=clock.now(), limit=10,
                                            lease=timedelta(seconds=lease),
                                            default_tz="Asia/Shanghai")
        assert stolen.rows == []
        await asyncio.sleep(0.1)
    await wait_until(settled(sessionmaker))
    assert [m.content for m in emulator.user(user.tg_id).bot_messages] == ["once"]
    [row] = await rows_of(session)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 0)


async def _true(value: bool) -> bool:
    return value


async def test_a_file_is_uploaded_once_then_sent_by_its_file_id(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    people = await recipients(session, emulator, clock, 4)
    blob_id = await outbox.add_file(session, clock=clock, filename="poster.png",
                                    data=b"\x89PNG-poster")
    sender = await make_sender()
    await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        Outgoing(user_id=u.id, kind=OutboxKind.ANNOUNCEMENT, text="Open day <b>Sunday</b>",
                 media=MediaKind.PHOTO, blob_id=blob_id) for u in people if u.id is not None])
    await session.commit()
    await wait_until(settled(sessionmaker))

    photos = [r for r in emulator.requests if r.method == "sendPhoto"]
    assert len(photos) == 4
    uploads = [r for r in photos if "<file 'poster.png'" in str(r.params)]
    assert len(uploads) == 1, [r.params for r in photos]
    file_ids = set()
    for user in people:
        assert user.tg_id is not None
        [message] = emulator.user(user.tg_id).bot_messages
        assert message.caption == "Open day Sunday"
        file_ids.add(message.photo)
    assert len(file_ids) == 1
    blob = await outbox.get_file(session, blob_id=blob_id)
    assert blob is not None and blob.file_id in file_ids


async def test_start_background_ticks_the_sender(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, bot: Bot,
) -> None:
    settings = Settings(_env_file=None, outbox_tick_seconds=0.1)  # type: ignore[call-arg]
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id
    background = await start_background(settings, bot=bot, sessionmaker=sessionmaker,
                                        clock=clock, owner="main")
    try:
        assert background.scheduler.get_job("outbox.tick") is not None
        purge = background.scheduler.get_job("outbox.purge")
        assert purge is not None and purge.kwargs["keep_days"] == settings.outbox_keep_days
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                           text="queued without notify: the tick finds it")
        await session.commit()
        await wait_until(settled(sessionmaker), within=5)
        # In the future: found by a tick once the clock gets there.
        await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.STATUS,
                           text="later", not_before=clock.now() + timedelta(minutes=30))
        await session.commit()
        clock.advance(minutes=30)
        await wait_until(settled(sessionmaker), within=5)
    finally:
        await background.stop()
    assert not background.scheduler.running and not background.sender.running
    assert [m.content for m in emulator.user(user.tg_id).bot_messages] == [
        "queued without notify: the tick finds it", "later"]


async def test_a_row_is_claimed_when_it_falls_due_without_waiting_for_a_tick(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id
    sender = await make_sender()  # no scheduler here: nothing ticks
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.REMINDER,
                       text="in half a second", not_before=clock.now() + timedelta(seconds=0.5),
                       notify=sender.kick)
    await outbox.queue(session, clock=clock, user_id=user.id, kind=OutboxKind.REMINDER,
                       text="tomorrow", not_before=clock.now() + timedelta(days=1),
                       notify=sender.kick)
    await session.commit()
    await wait_until(lambda: _true(sender.stats.claims >= 1))
    assert emulator.user(user.tg_id).bot_messages == []  # not due yet
    clock.advance(seconds=0.5)  # the wall clock gets there; nobody kicks the sender
    await wait_until(lambda: _true(len(emulator.user(user.tg_id).bot_messages) == 1), within=3)
    claims = sender.stats.claims
    await asyncio.sleep(0.3)
    assert sender.stats.claims == claims  # then it sleeps until tomorrow's row
    assert [m.content for m in emulator.user(user.tg_id).bot_messages] == ["in half a second"]


async def _true(value: bool) -> bool:
    return value


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs TEST_POSTGRES_URL")
async def test_two_senders_on_one_postgres_database_send_each_row_once(
    emulator: Emulator, bot: Bot, clock: ManualClock, settings: Settings,
) -> None:
    engine = create_engine(await fresh_postgres_url())
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    maker = create_sessionmaker(engine)
    try:
        async with maker() as session:
            people = await recipients(session, emulator, clock, 250)
            await outbox.queue_many(session, clock=clock, rows=[
                Outgoing(user_id=u.id, kind=OutboxKind.ANNOUNCEMENT, text=f"{part}",
                         dedupe_key=f"a:{u.id}:{part}")
                for part in (1, 2) for u in people if u.id is not None])
            await session.commit()
        limits = SendLimits(rate=300.0, private_interval=0.05, batch_size=40)
        senders = [OutboxSender(bot=bot, sessionmaker=maker, clock=clock, limits=limits,
                                default_locale="zh", default_tz=settings.timezone, owner=owner)
                   for owner in ("one", "two")]
        started = time.monotonic()
        for sender in senders:
            await sender.start()
        try:
            await wait_until(settled(maker), within=20)
            took = time.monotonic() - started
        finally:
            for sender in senders:
                await sender.stop()

        per_chat = Counter(r.chat_id for r in emulator.requests
                           if r.method == "sendMessage" and r.ok)
        assert len(per_chat) == 250 and set(per_chat.values()) == {2}
        assert [s.stats.sent > 0 for s in senders] == [True, True]
        assert sum(s.stats.sent for s in senders) == 500
        assert await statuses(maker) == {OutboxStatus.SENT: 500}
        assert took < 15
    finally:
        await engine.dispose()


def test_the_token_bucket_spaces_sends_evenly() -> None:
    bucket = TokenBucket(10.0, now=100.0)
    waits = [bucket.reserve(100.0) for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])
    # Idle for a while: one token is ready at once, never a burst.
    assert bucket.reserve(110.0) == 0.0
    assert bucket.reserve(110.0) == pytest.approx(0.1)


def test_limits_from_settings_and_backoff() -> None:
    settings = Settings(_env_file=None, outbox_rate=20, outbox_paid_rate=0)  # type: ignore[call-arg]
    limits = SendLimits.from_settings(settings)
    assert (limits.rate, limits.paid, limits.in_flight) == (20.0, False, 20)
    paid = SendLimits.from_settings(
        Settings(_env_file=None, outbox_paid_rate=500))  # type: ignore[call-arg]
    assert (paid.rate, paid.paid) == (500.0, True)
    assert [limits.backoff_after(n) for n in range(3)] == [5.0, 10.0, 20.0]
    assert limits.backoff_after(40) == limits.backoff_max
    assert limits.interval(-100123) > 3.0 and 1.0 < limits.interval(42) < 1.5
    assert FAST.in_flight == 200


def test_at_a_high_rate_the_bucket_has_slack_yet_no_second_exceeds_the_rate() -> None:
    paid = SendLimits(rate=1000.0, paid=True)
    assert paid.claim_size == 200  # a fifth of a second's sends
    assert paid.burst == 10 and paid.refill + paid.burst <= 0.975 * paid.rate
    bucket = TokenBucket(paid.refill, burst=paid.burst, now=0.0)
    # Sends as fast as the bucket allows for ten seconds, after a stall at the start.
    moment, starts = 0.5, []
    while moment < 10.0:
        moment += bucket.reserve(moment)
        starts.append(moment)
    worst = max(bisect.bisect_left(starts, t + 1.0) - i for i, t in enumerate(starts))
    assert worst <= 1000
    assert len(starts) >= 0.96 * 1000 * 9.5
    slow = SendLimits(rate=25.0)  # Telegram's free rate: one at a time, as before
    assert (slow.burst, slow.refill, slow.claim_size) == (1.0, 25.0, 100)


class Blinking:
    """A sessionmaker whose database cannot be reached while `down`."""

    def __init__(self, real: async_sessionmaker[AsyncSession]) -> None:
        self.real = real
        self.down = False
        self.refused = 0

    def __call__(self) -> AsyncSession:
        if self.down:
            self.refused += 1
            raise OperationalError("connect", None, ConnectionRefusedError("the database is down"))
        return self.real()


async def test_sends_made_during_a_database_outage_are_recorded_after_it_and_never_repeated(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, make_sender: SenderFactory,
) -> None:
    people = await recipients(session, emulator, clock, 30)
    database = Blinking(sessionmaker)
    limits = SendLimits(rate=40.0, private_interval=0.05, lease=2.0)
    sender = await make_sender(limits, maker=database)  # type: ignore[arg-type]
    await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        Outgoing(user_id=u.id, kind=OutboxKind.ANNOUNCEMENT, text=f"hello {u.tg_id}")
        for u in people if u.id is not None])
    await session.commit()

    async def sent() -> int:
        return sum(1 for r in emulator.requests if r.method == "sendMessage" and r.ok)

    await wait_until(lambda: _at_least(sent, 1))
    database.down = True  # the claim is made; the sends go on, their outcomes cannot be written
    await wait_until(lambda: _at_least(sent, 30))
    await asyncio.sleep(0.5)  # the recorder tries and fails a few times
    clock.advance(seconds=3 * limits.lease)  # the outage outlasts the leases
    database.down = False
    sender.kick()  # as the scheduler's tick would
    await wait_until(settled(sessionmaker))
    await sender.stop()

    per_chat = Counter(r.chat_id for r in emulator.requests
                       if r.method == "sendMessage" and r.ok)
    assert database.refused > 0
    assert len(per_chat) == 30
    assert [chat for chat, n in per_chat.items() if n > 1] == []  # duplicates: 0
    assert {r.status for r in await rows_of(session)} == {OutboxStatus.SENT}


async def _at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n


async def test_rows_waiting_their_turn_through_an_outage_longer_than_the_lease_go_out_once(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
    emulator: Emulator, bot: Bot, make_sender: SenderFactory,
) -> None:
    """Five messages to one person wait their turn (1.1 s apart) in the sender while the
    database is down past their lease. When it is back, the sender's next claim must not
    take its own held rows a second time: with Telegram answering slower than the
    chat's interval, a row queued twice went out twice."""
    [user] = await recipients(session, emulator, clock, 1)
    assert user.id and user.tg_id

    async def slow_answers(make_request: Any, bot: Bot, method: Any) -> Any:
        response = await make_request(bot, method)  # delivered; the answer is slow to come
        await asyncio.sleep(1.5)
        return response

    bot.session.middleware(slow_answers)
    database = Blinking(sessionmaker)
    limits = SendLimits(rate=50.0, lease=6.0)  # renewed every 2 s
    sender = await make_sender(limits, maker=database)  # type: ignore[arg-type]
    await outbox.queue_many(session, clock=clock, notify=sender.kick, rows=[
        Outgoing(user_id=user.id, kind=OutboxKind.STATUS, text=f"m{i}") for i in range(5)])
    await session.commit()

    def delivered() -> list[str]:
        return [m.content for m in emulator.user(user.tg_id).bot_messages]

    await wait_until(lambda: _true(delivered() == ["m0"]))
    database.down = True  # every row is held; four wait for the chat's interval
    clock.advance(seconds=3 * limits.lease)  # their leases run out meanwhile
    await asyncio.sleep(0.5)
    database.down = False
    sender.kick()  # as the scheduler's tick would
    await wait_until(settled(sessionmaker), within=20)
    await asyncio.sleep(2 * limits.private_interval)  # a second copy would be on its way
    await sender.stop()
    assert delivered() == ["m0", "m1", "m2", "m3", "m4"]
    assert {r.status for r in await rows_of(session)} == {OutboxStatus.SENT}
