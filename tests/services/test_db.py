"""SQLite write transactions: read-then-write under contention waits instead of failing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.db import begin_write


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
