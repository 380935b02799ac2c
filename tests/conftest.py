"""Shared fixtures: a moved clock, a fresh database per test, factories for people."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

import bot  # noqa: F401  # first, as in production: aiogram's types built on first use
from models.db import create_engine, create_sessionmaker
from services.clock import ManualClock

# 09:00 on a Monday in Shanghai.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
# A Redis server the tests may empty (tools/run-tests starts one); unset: Redis tests skip.
REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
async def redis_url() -> str:
    """TEST_REDIS_URL, emptied for this test; skips where there is none."""
    if not REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the Redis tests: tools/run-tests starts redis-server")
        pytest.skip("needs TEST_REDIS_URL (tools/run-tests starts redis-server)")
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    return REDIS_URL


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/test.db"


async def fresh_postgres_url() -> str:
    """A new empty database on the test server, so tests never see each other's rows."""
    assert POSTGRES_URL
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=_backends())
async def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """SQLite always; PostgreSQL too when TEST_POSTGRES_URL is set."""
    if request.param == "postgresql":
        return await fresh_postgres_url()
    return sqlite_url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url, strict_writes=True)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session
