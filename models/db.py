"""The database engine, sessions, write transactions and migrations.

SQLite is the default and gets the settings a busy bot needs: WAL so readers
never wait for the writer, synchronous=NORMAL (safe with WAL), a busy timeout,
and BEGIN IMMEDIATE for transactions that read and then write. A deferred
transaction that read first fails at once with "database is locked" when it
tries to write after another connection did; an immediate one waits its turn.

Within one process, SQLite write transactions also queue on an asyncio lock
(`begin_write`) before BEGIN IMMEDIATE: SQLite's own busy handler makes a
waiting writer sleep and poll (1, 2, 5 … 100 ms), which under load left the
database idle between writers; the lock hands it over at once, in order.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import PoolResetState
from sqlalchemy.pool.base import reset_none, reset_rollback

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from models import sqlite_driver

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long a write may wait for SQLite's lock in all (this process's other writers, another
# process holding it) before giving up: a person's tap waits rather than being refused.
SQLITE_WRITE_WAIT_SECONDS = 30.0
SQLITE_CACHE_KIB = 512  # page cache per connection
IMMEDIATE = "sqlite_immediate"


class ReadThenWrite(RuntimeError):
    """A write in a deferred SQLite transaction that has already read (see begin_write)."""


def create_engine(
    url: str, *, strict_writes: bool = False,
    busy_timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000,
    write_wait: float = SQLITE_WRITE_WAIT_SECONDS, **kwargs: Any,
) -> AsyncEngine:
    """Create the async engine; tunes SQLite and creates its folder.

    `strict_writes` (the tests turn it on) makes a write that follows a read
    in a deferred SQLite transaction raise ReadThenWrite at once, instead of
    failing now and then with "database is locked" when updates collide.
    On SQLite, one wait for the lock lasts `busy_timeout` seconds, and begin_write
    tries again until `write_wait` seconds have passed.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # A connection given back is rolled back only if it has a transaction open (see
    # rolls_back_on_return): most have none, and each rollback is a thread hop.
    kwargs.setdefault("pool_reset_on_return", None)
    # Reads on the event loop's thread, writes on the connection's own (sqlite_driver).
    kwargs.setdefault("async_creator", sqlite_driver.connector(url))
    engine = create_async_engine(url, **kwargs)
    _tune_sqlite(engine, busy_timeout_ms=round(busy_timeout * 1000))
    _WRITERS[engine.sync_engine] = _Writers(wait=write_wait)
    if strict_writes:
        _check_writes(engine)
    return engine


def rolls_back_on_return(engine: Engine, dbapi_connection: Any, state: PoolResetState) -> bool:
    """Whether the pool rolls back a connection given back to it (a round trip).

    SQLAlchemy's default rolls back every connection it did not roll back itself, also one
    whose session ended with COMMIT or ROLLBACK: a thread hop with aiosqlite for each
    session, issue 18. For SQLite (reset_on_return None, create_engine) only a connection
    that sqlite3 says is in a transaction is rolled back, a flag read without a hop."""
    if not state.asyncio_safe:
        return False
    if engine.pool._reset_on_return is reset_none:
        try:
            return bool(dbapi_connection._connection.in_transaction)  # sqlite_driver's flag
        except Exception:  # closed, or another driver: roll back, as SQLAlchemy would
            return True
    return engine.pool._reset_on_return is reset_rollback and not state.transaction_was_reset


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _check_writes(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def on_execute(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if not conn.in_transaction() or conn.info.get(IMMEDIATE):
            return
        if verb in ("SELECT", "WITH"):
            conn.info["has_read"] = True
        elif verb in WRITES and conn.info.get("has_read"):
            raise ReadThenWrite(
                "this transaction read and then writes without begin_write(session): "
                f"under load SQLite answers 'database is locked'. Statement: {statement[:120]}")


def _tune_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own handling can't do IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten content is zeroed, not left in free space: what /deleteme
        # erases must leave the file (services/privacy.py empties the log too).
        cursor.execute("PRAGMA secure_delete=ON")
        # Each pooled connection keeps its own page cache (SQLite's default: 2 MiB).
        # The operating system caches the file anyway; half a MiB each took 8 MB
        # off the bot's memory in a 50,000-recipient broadcast, at the same speed.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    if engine.sync_engine.pool._reset_on_return is reset_none:
        @event.listens_for(engine.sync_engine.pool, "reset")
        def on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
            if rolls_back_on_return(engine.sync_engine, dbapi_connection, state):
                dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.info[IMMEDIATE] = immediate
        conn.info["has_read"] = False
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep their objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def begin_write(session: AsyncSession) -> None:
    """Start a transaction that will write.

    Ends any read-only transaction first (its snapshot would make a later
    write fail on SQLite), then begins with BEGIN IMMEDIATE on SQLite, after
    waiting its turn among this process's writers (the turn passes on when the
    transaction ends: commit, rollback or close); on PostgreSQL this is an
    ordinary BEGIN and services lock rows they change. When another process holds
    SQLite's lock longer than busy_timeout, BEGIN is tried again, until the engine's
    write_wait has passed in all. A second write in the same task while the first is
    still open fails with TimeoutError after write_wait, as SQLite itself would have.
    """
    if session.in_transaction():
        await session.commit()
    session.sync_session.info[WRITING] = True
    bind = session.get_bind()
    writers = _WRITERS.get(bind.engine) if isinstance(bind, Engine | Connection) else None
    if writers is None:
        await session.connection(execution_options={IMMEDIATE: True})
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + writers.wait
    while True:
        lock = writers.lock()
        try:
            await asyncio.wait_for(lock.acquire(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise TimeoutError("database is locked: other writes took longer than "
                               f"{writers.wait:g} s") from None
        session.sync_session.info[WRITER] = lock
        try:
            await session.connection(execution_options={IMMEDIATE: True})
            return
        except OperationalError as error:
            await session.rollback()  # lets this process's next writer have a go meanwhile
            if not _locked(error) or loop.time() >= deadline:
                raise
        except BaseException:
            _release_writer(session.sync_session)
            raise


def _locked(error: OperationalError) -> bool:
    """SQLite's "database is locked" (another connection holds the write lock)."""
    return "locked" in str(error.orig) or "busy" in str(error.orig)


class Refusal(Exception):
    """A rule said no before anything was written (services' DomainError is one)."""


@asynccontextmanager
async def write(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """One unit of work: take the writer's turn, check, write, commit.

        async with write(session):
            shift = await session.get(Shift, shift_id)
            if shift.taken >= shift.headcount:
                raise ShiftUnavailable("full")     # a Refusal: ends the turn, writes nothing
            shift.taken += 1
        # committed here

    A refusal is raised by the checks, before any write: the transaction ends with a
    commit (which, unlike a rollback, leaves the objects already loaded usable) and
    the turn passes on at once. Any other error rolls back.
    """
    await begin_write(session)
    try:
        yield session
    except Refusal:
        await session.commit()
        raise
    except BaseException:
        await session.rollback()
        raise
    await session.commit()


WRITER = "sqlite_writer_lock"
WRITING, WROTE = "writing", "wrote"


def has_written(session: AsyncSession) -> bool:
    """Whether a write transaction begun with begin_write was committed in this session."""
    return bool(session.sync_session.info.get(WROTE))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(WRITING, False):
        session.info[WROTE] = True


class _Writers:
    """This process's queue of SQLite writers: one asyncio lock per event loop."""

    def __init__(self, *, wait: float) -> None:
        self.wait = wait
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())

    def lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


_WRITERS: weakref.WeakKeyDictionary[Engine, _Writers] = weakref.WeakKeyDictionary()


def _release_writer(session: Session) -> None:
    lock = session.info.pop(WRITER, None)
    if lock is not None:
        lock.release()


@event.listens_for(Session, "after_transaction_end")
def _write_ended(session: Session, transaction: SessionTransaction) -> None:
    """Committed, rolled back or closed: the next writer may begin."""
    if transaction.parent is None:
        _release_writer(session)
        session.info.pop(WRITING, None)  # committed (see _committed) or rolled back


# PostgreSQL advisory lock keys (any 64-bit numbers no other program on the database uses).
MIGRATION_LOCK = 0x636C725F6D6967  # "clr_mig"
LEADER_LOCK = 0x636C725F6C6472  # "clr_ldr"


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration, independent of the working directory."""
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Bring the database schema up to date (run at start-up).

    A database already at the newest revision is left alone without loading
    Alembic (with Mako and Pygments, 11 MB that would stay in the bot's memory).
    """
    async with engine.connect() as conn:
        current = await conn.run_sync(_current_revision)
    if current is not None and current == head_revision():
        return

    def upgrade(connection: Connection) -> None:
        from alembic import command

        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.connect() as conn:
        conn = await conn.execution_options(**{IMMEDIATE: True})
        async with conn.begin():
            if engine.dialect.name == "postgresql":
                # Replicas starting together: one migrates, the others wait here and
                # then find the schema at head (Alembic does nothing). The lock ends
                # with the transaction.
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK})
            await conn.run_sync(upgrade)


def _current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return found[0] if len(found) == 1 else None


_REVISION = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = (?:['\"]([^'\"]+)['\"]|None)", re.MULTILINE)


def head_revision() -> str | None:
    """The newest migration's revision, read from migrations/versions/ (None: unclear,
    so Alembic decides; tests/test_migrations.py checks this agrees with Alembic)."""
    revisions, parents = set(), set()
    for path in (ROOT / "migrations" / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None
