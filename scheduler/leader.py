"""Which replica runs the background work: the one holding a PostgreSQL advisory lock.

Every replica answers updates; only the leader runs the outbox sender, the
deadline sweeps, the broadcast progress job and the outbox purge. So the send
rate across the district is exactly OUTBOX_RATE, a sweep never runs twice at
once and a progress message is edited by one process.

The lock is a session lock held on one database connection of the leader. When
the leader dies its connection closes and PostgreSQL frees the lock at once (a
killed process) or within about 20 s (a machine gone silent: the connection's
TCP keepalives, set below); the other replicas try for it every few seconds, so
one takes over within 30 s. A leader that cannot reach the database steps down.
SQLite is for one process: there the process is the leader from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.db import LEADER_LOCK
from scheduler import Background

log = logging.getLogger(__name__)

# Server-side settings of the lock's connection: a client gone silent is noticed in
# 5 + 3 × 5 s of keepalives (or 10 s of unacknowledged data), so the lock frees.
KEEPALIVE = ("SET tcp_keepalives_idle = 5", "SET tcp_keepalives_interval = 5",
             "SET tcp_keepalives_count = 3", "SET tcp_user_timeout = 10000")


class Leadership:
    """Runs `start()`'s background work while this replica holds the leader lock."""

    def __init__(
        self, engine: AsyncEngine, start: Callable[[], Awaitable[Background]], *,
        every: float = 5.0,
    ) -> None:
        self.engine = engine
        self.start = start
        self.every = every
        self.background: Background | None = None
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def leading(self) -> bool:
        return self.background is not None

    def kick(self) -> None:
        """Wake the outbox sender, when it runs here (else the leader's tick finds the row)."""
        if self.background is not None:
            self.background.sender.kick()

    async def begin(self) -> None:
        """Try once now (so a lone replica leads from the start), then keep trying."""
        await self._try()
        self._task = asyncio.create_task(self._loop(), name="leadership")

    async def stop(self) -> None:
        """Stop the background work (its sender gives back what it held), free the lock."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._step_down(release=True)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.every)
            if self._stopping.is_set():
                return
            try:
                await (self._check() if self.leading else self._try())
            except Exception:
                log.exception("leadership: check failed")

    async def _try(self) -> None:
        if self.engine.dialect.name != "postgresql":
            self.background = await self.start()
            return
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                    {"key": LEADER_LOCK})
            if not got:
                await conn.close()
                return
            for statement in KEEPALIVE:
                await conn.execute(text(statement))
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self.background = await self.start()
        log.info("leadership: this replica runs the outbox sender and the sweeps")

    async def _check(self) -> None:
        if self._conn is None:
            return
        try:
            await asyncio.wait_for(self._conn.execute(text("SELECT 1")), self.every)
        except Exception:
            log.error("leadership: lost the database connection holding the lock; "
                      "stopping the background work for another replica to take over")
            await self._step_down(release=False)

    async def _step_down(self, *, release: bool) -> None:
        background, self.background = self.background, None
        if background is not None:
            await background.stop()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if release:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK})
            await conn.close()
        except Exception:
            with contextlib.suppress(Exception):
                await conn.invalidate()
