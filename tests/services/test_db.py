"""SQLite write transactions: read-then-write under contention waits instead of failing."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.db import begin_write, create_engine, create_sessionmaker


@pytest.fixture
def sqlite_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite locking behaviour")


async def test_sqlite_is_tuned(engine: AsyncEngine, sqlite_only: None) -> None:
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() > 0


async def test_concurrent_read_then_write_transactions_all_succeed(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine, sqlite_only: None
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        await conn.execute(text("INSERT INTO counter VALUES (0)"))

    async def increment() -> None:
        async with sessionmaker() as session:
            await session.execute(text("SELECT 1"))  # an earlier read, as handlers do
            await begin_write(session)
            n = (await session.execute(text("SELECT n FROM counter"))).scalar_one()
            await asyncio.sleep(0)  # let the others interleave between read and write
            await session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
            await session.commit()

    await asyncio.gather(*(increment() for _ in range(20)))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT n FROM counter"))).scalar() == 20


async def test_a_write_after_a_read_without_begin_write_is_caught_in_tests(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine, sqlite_only: None
) -> None:
    from models.db import ReadThenWrite

    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
    async with sessionmaker() as session:
        await session.execute(text("INSERT INTO counter VALUES (0)"))  # a write first is fine
        await session.commit()
        await session.execute(text("SELECT n FROM counter"))
        with pytest.raises(ReadThenWrite):
            await session.execute(text("UPDATE counter SET n = 1"))
        await session.rollback()
        await begin_write(session)
        await session.execute(text("SELECT n FROM counter"))
        await session.execute(text("UPDATE counter SET n = 2"))
        await session.commit()


async def test_writers_in_one_process_queue_in_order_and_every_ending_frees_the_next(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine, sqlite_only: None
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE log (who TEXT NOT NULL)"))
    order: list[str] = []

    async def write(who: str, end: str) -> None:
        async with sessionmaker() as session:
            await begin_write(session)
            order.append(who)
            await session.execute(text("INSERT INTO log VALUES (:who)"), {"who": who})
            await asyncio.sleep(0.01)  # the others are waiting now
            if end == "commit":
                await session.commit()
            elif end == "rollback":
                await session.rollback()
            elif end == "raise":
                raise LookupError(who)
            # "close": left to the end of the `async with`

    results = await asyncio.gather(
        write("a", "commit"), write("b", "raise"), write("c", "rollback"), write("d", "close"),
        write("e", "commit"), return_exceptions=True)
    assert [type(r).__name__ for r in results] == [
        "NoneType", "LookupError", "NoneType", "NoneType", "NoneType"]
    assert order == ["a", "b", "c", "d", "e"]  # first come, first served
    async with engine.connect() as conn:
        kept = (await conn.execute(text("SELECT who FROM log ORDER BY who"))).scalars().all()
    assert kept == ["a", "e"]


async def test_a_second_write_in_the_same_task_fails_clearly_instead_of_hanging(
    sessionmaker: async_sessionmaker[AsyncSession], sqlite_only: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import models.db

    engine = sessionmaker.kw["bind"].sync_engine
    monkeypatch.setattr(models.db._WRITERS[engine], "wait", 0.2)
    async with sessionmaker() as first, sessionmaker() as second:
        await begin_write(first)
        with pytest.raises(TimeoutError, match="database is locked"):
            await begin_write(second)  # waits for `first`, which waits for this task
        await first.commit()
        await begin_write(second)  # free again
        await second.commit()


async def test_a_connection_given_back_is_rolled_back_only_when_a_transaction_is_open(
    engine: AsyncEngine, sqlite_only: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLAlchemy's pool rolls back every connection given back to it: with aiosqlite a
    thread hop per session for nothing after its COMMIT or ROLLBACK (issue 18)."""
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

    rollbacks: list[bool] = []
    real = AsyncAdapt_aiosqlite_connection.rollback

    def rollback(self: AsyncAdapt_aiosqlite_connection) -> None:
        rollbacks.append(self._connection.in_transaction)
        real(self)

    monkeypatch.setattr(AsyncAdapt_aiosqlite_connection, "rollback", rollback)
    async with engine.connect() as conn:  # a session's life: BEGIN, read, COMMIT
        await conn.execute(text("SELECT 1"))
        await conn.commit()
    assert rollbacks == []
    async with engine.connect() as conn:  # a transaction the pool does not know of
        await conn.run_sync(lambda sync: sync.connection.dbapi_connection.cursor()
                            .execute("BEGIN IMMEDIATE"))
    assert rollbacks == [True]
    async with engine.begin() as conn:  # the same connection again: usable, and writable
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))


async def _threads_of(session: AsyncSession, sql: str) -> set[int]:
    """The threads SQLite ran `sql` on (a function the statement calls records them)."""
    seen: set[int] = set()

    def record(value: int) -> int:
        seen.add(threading.get_ident())
        return value

    raw = await (await session.connection()).get_raw_connection()
    raw.driver_connection._sqlite().create_function("seen", 1, record)
    await session.execute(text(sql))
    return seen


async def test_a_read_runs_on_the_event_loops_thread_and_a_write_off_it(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], sqlite_only: None,
) -> None:
    """A read of a row takes SQLite microseconds and a trip to aiosqlite's thread and back
    far more, four of them per SELECT (issue 18); a write may wait for a lock, so it must
    not stop the event loop."""
    loop_thread = threading.get_ident()
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    async with sessionmaker() as session:
        assert await _threads_of(session, "SELECT seen(1)") == {loop_thread}
        await begin_write(session)
        written = await _threads_of(session, "INSERT INTO t VALUES (seen(1))")
        assert written and loop_thread not in written
        # a read after the write, in the same transaction, cannot wait either
        assert await _threads_of(session, "SELECT seen(2)") == {loop_thread}
        await session.commit()
        assert await _threads_of(session, "SELECT seen(3)") == {loop_thread}  # written and over
        await session.rollback()
        # a write in a transaction that only read so far (strict_writes allows a first write)
        assert loop_thread not in await _threads_of(session, "INSERT INTO t VALUES (seen(4))")
        await session.commit()
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 2


async def test_only_what_can_wait_leaves_the_event_loop(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], sqlite_only: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The calls sent to the connection's thread: a write transaction's BEGIN IMMEDIATE,
    its writes and its COMMIT; none for a read-only session's BEGIN, SELECTs and end."""
    from models import sqlite_driver

    sent: list[str] = []
    real = sqlite_driver.Connection._submit

    def submit(self: sqlite_driver.Connection, function: Any) -> Any:
        # a statement (partial(cursor.execute, sql, parameters)) or commit and rollback
        is_statement = isinstance(function, functools.partial)
        sent.append(function.args[0].split()[0] if is_statement else function.__name__)
        return real(self, function)

    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    monkeypatch.setattr(sqlite_driver.Connection, "_submit", submit)
    async with sessionmaker() as session:
        await session.execute(text("SELECT count(*) FROM t"))
        await session.execute(text("SELECT n FROM t"))
        await session.rollback()
        await session.execute(text("SELECT 1"))
        await session.commit()
        assert sent == []
        await begin_write(session)
        await session.execute(text("SELECT count(*) FROM t"))
        await session.execute(text("INSERT INTO t VALUES (1)"))
        await session.execute(text("SELECT n FROM t"))
        await session.commit()
    assert sent == ["BEGIN", "INSERT", "commit"]


@contextlib.asynccontextmanager
async def _write_locked_by_another_engine(
    db_url: str,
) -> AsyncIterator[tuple[AsyncSession, AsyncEngine]]:
    """Two engines on one SQLite file (two processes, as SQLite sees them, each with its own
    queue of writers): yields the first's session holding the write lock, and the second."""
    first = create_engine(db_url, busy_timeout=1.0)
    second = create_engine(db_url, busy_timeout=1.0)
    try:
        async with first.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        holder = create_sessionmaker(first)()
        await begin_write(holder)
        try:
            yield holder, second
        finally:
            await holder.close()
    finally:
        await first.dispose()
        await second.dispose()


@contextlib.asynccontextmanager
async def _loop_watched() -> AsyncIterator[list[float]]:
    """How long each 10 ms sleep of a watching task took meanwhile: the loop's stalls."""
    stalls: list[float] = []

    async def watch() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            stalls.append(loop.time() - before)

    watcher = asyncio.create_task(watch())
    try:
        yield stalls
    finally:
        watcher.cancel()


async def _insert(engine: AsyncEngine, n: int) -> None:
    async with create_sessionmaker(engine)() as session:
        await begin_write(session)
        await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        await session.commit()


async def test_a_writer_waiting_for_another_connections_lock_leaves_the_loop_free(
    db_url: str, sqlite_only: None,
) -> None:
    """Another process (here: another engine) holds SQLite's write lock; this one's write
    waits for it on the connection's thread while the event loop goes on."""
    async with _write_locked_by_another_engine(db_url) as (holder, second):
        async with _loop_watched() as stalls:
            waiting = asyncio.create_task(_insert(second, 1))
            await asyncio.sleep(0.3)
            # the loop ran while the write waited
            assert not waiting.done() and len(stalls) >= 5
            await holder.rollback()
            await waiting
        async with second.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 1


async def test_a_write_cancelled_while_it_waits_for_the_lock_leaves_the_loop_free(
    db_url: str, sqlite_only: None,
) -> None:
    """A person's update cancelled (the bot stopping) while its BEGIN IMMEDIATE waits on
    the connection's thread: the rollback that follows waits its turn there too, rather
    than stopping the event loop on the connection the thread still holds."""
    async with _write_locked_by_another_engine(db_url) as (holder, second):
        async with _loop_watched() as stalls:
            waiting = asyncio.create_task(_insert(second, 1))
            await asyncio.sleep(0.2)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await asyncio.sleep(1.2)  # the cancelled BEGIN IMMEDIATE gives up in the meantime
            assert max(stalls) < 0.5
        await holder.rollback()
        await _insert(second, 2)  # the connection still works
        async with second.connect() as conn:
            assert (await conn.execute(text("SELECT n FROM t"))).scalars().all() == [2]
