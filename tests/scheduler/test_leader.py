"""One replica runs the background work; another takes over when it goes; replicas
starting together migrate once. PostgreSQL only (SQLite is one process)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_engine, head_revision, migrate
from scheduler.leader import Leadership
from tests.conftest import fresh_postgres_url

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"),
                                reason="needs TEST_POSTGRES_URL")


class FakeSender:
    def __init__(self) -> None:
        self.kicks = 0

    def kick(self) -> None:
        self.kicks += 1


class FakeBackground:
    """What start_background returns, counting starts and stops."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self.sender = FakeSender()
        log.append(f"{name} started")

    async def stop(self) -> None:
        self.log.append(f"{self.name} stopped")


@pytest.fixture
async def engines() -> AsyncIterator[list[AsyncEngine]]:
    url = await fresh_postgres_url()
    made = [create_engine(url) for _ in range(3)]
    yield made
    for engine in made:
        await engine.dispose()


def replica(engine: AsyncEngine, log: list[str], name: str) -> Leadership:
    async def start() -> Any:
        return FakeBackground(log, name)

    return Leadership(engine, start, every=0.1)


async def eventually(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never held")


async def test_one_leader_and_a_takeover_when_it_stops(engines: list[AsyncEngine]) -> None:
    log: list[str] = []
    a, b, c = (replica(e, log, n) for e, n in zip(engines, "abc", strict=True))
    for leadership in (a, b, c):
        await leadership.begin()
    await asyncio.sleep(0.5)  # several rounds of the others trying
    assert log == ["a started"] and a.leading and not b.leading and not c.leading
    b.kick()  # a follower's handlers wake nothing (the leader's tick finds the row)
    a.kick()
    assert isinstance(a.background, FakeBackground) and a.background.sender.kicks == 1

    await a.stop()
    await eventually(lambda: b.leading or c.leading)
    assert log[:2] == ["a started", "a stopped"] and len(log) == 3
    for leadership in (b, c):
        await leadership.stop()


async def test_a_leader_whose_connection_dies_is_replaced(engines: list[AsyncEngine]) -> None:
    log: list[str] = []
    a, b = replica(engines[0], log, "a"), replica(engines[1], log, "b")
    await a.begin()
    await b.begin()
    assert a.leading
    # As when its machine dies: the server ends the connection holding the lock.
    async with engines[2].connect() as admin:
        await admin.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"))
        await admin.commit()
    await eventually(lambda: b.leading and not a.leading)
    # Which comes first is a race: for a moment both may run, which the outbox's
    # leases make harmless (a row is claimed by one sender only).
    assert sorted(log) == ["a started", "a stopped", "b started"]
    await a.stop()
    await b.stop()


async def test_replicas_starting_together_migrate_once(engines: list[AsyncEngine]) -> None:
    # Without the lock they deadlock on each other's DDL (or fail on a duplicate table).
    await asyncio.wait_for(asyncio.gather(*(migrate(engine) for engine in engines)), 60)
    async with engines[0].connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert [v for (v,) in versions] == [head_revision()]
