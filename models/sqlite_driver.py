"""SQLite connections that read on the event loop's own thread (issue 18).

SQLAlchemy's aiosqlite dialect drives aiosqlite, which runs every call on a thread of
its own: making a cursor, executing, fetching the rows and closing the cursor are four
trips there and back for one SELECT, each a queue put, a thread wake-up, a callback
through the event loop's self-pipe and two hand-overs of the GIL. The read itself, an
indexed row of a small table, takes SQLite some microseconds; the trips cost far more.

`Connection` here has the interface of aiosqlite's that the dialect calls (it is given
to SQLAlchemy with `create_async_engine(async_creator=...)`, models/db.py), and runs a
call on the caller's thread when SQLite cannot wait in it: a read (in WAL mode, which
models/db.py sets, a reader never waits for a writer), a deferred BEGIN, and the end of
a transaction that has not written. What can wait goes to the connection's own thread,
as with aiosqlite: a write and BEGIN IMMEDIATE (they may wait for another connection's
lock, up to busy_timeout), a PRAGMA, and the COMMIT or ROLLBACK of a transaction that
wrote (it writes the WAL and may checkpoint it).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url as _make_url

T = TypeVar("T")

# Statements that only read: they run on the caller's thread.
_READS = re.compile(r"\s*(?:(?:SELECT|SAVEPOINT)\b"
                    r"|BEGIN(?:\s+DEFERRED)?(?:\s+TRANSACTION)?\s*;?\s*$)", re.IGNORECASE)
# Statements that end a transaction (or a savepoint): they wait if it wrote.
_ENDS = re.compile(r"\s*(?:COMMIT|END|ROLLBACK|RELEASE)\b", re.IGNORECASE)
# A WITH that writes (WITH … INSERT) is a write.
_WRITE_WORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def reads_only(statement: str) -> bool:
    """Whether a statement only reads, so cannot wait for a lock."""
    if _READS.match(statement):
        return True
    return statement.lstrip()[:4].upper() == "WITH" and not _WRITE_WORD.search(statement)


class Connection:
    """One sqlite3 connection, called on the event loop's thread or on its own thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._thread: ThreadPoolExecutor | None = None
        self._queued = 0  # calls given to the thread and not yet finished there
        # From a write (or BEGIN IMMEDIATE) to the end of its transaction: its end waits.
        self._writing = False
        self._tx = _Inline()  # SQLAlchemy's adapter sets isolation_level through aiosqlite's queue

    # -- the two ways a call is run

    def _sqlite(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    def may_wait(self, statement: str) -> bool:
        """Whether SQLite may wait in this statement: for a lock, or to write the WAL."""
        if _ENDS.match(statement):
            return self._writing
        return not reads_only(statement)

    async def run(self, function: Callable[[], T], *, may_wait: bool) -> T:
        """Call `function` here, or on the connection's thread if it may wait or the thread
        is still busy with this connection (a call whose caller was cancelled goes on
        there: the next one waits its turn, not the event loop for SQLite's mutex)."""
        if not may_wait and not self._queued:
            return function()
        if may_wait:
            self._writing = True
        return await asyncio.wrap_future(self._submit(function))

    def _submit(self, function: Callable[[], T]) -> Future[T]:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        self._queued += 1
        future = self._thread.submit(function)
        future.add_done_callback(lambda _done: _call_soon(loop, self._finished))
        return future

    def _finished(self) -> None:
        """On the event loop, after a call on the thread: once the thread is idle and the
        transaction that wrote has ended (COMMIT, ROLLBACK, or SQLite's own), calls run
        here again."""
        self._queued -= 1
        connection = self._connection
        if not self._queued and self._writing and (
                connection is None or not connection.in_transaction):
            self._writing = False

    # -- aiosqlite.Connection's interface, as SQLAlchemy uses it

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._sqlite()

    @property
    def in_transaction(self) -> bool:
        return self._sqlite().in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._sqlite().isolation_level

    def cursor(self) -> _Opening:
        return _Opening(self)

    def new_cursor(self) -> Cursor:
        return Cursor(self, self._sqlite().cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        return await self.new_cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await self.run(self._sqlite().commit, may_wait=self._writing)

    async def rollback(self) -> None:
        await self.run(self._sqlite().rollback, may_wait=self._writing)

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any],
                              *, deterministic: bool = False) -> None:
        self._sqlite().create_function(name, num_params, func, deterministic=deterministic)

    async def close(self) -> None:
        connection = self._connection
        if connection is None:
            return
        # A transaction that wrote is rolled back by the close, which may write.
        await self.run(connection.close, may_wait=self._writing)
        self._connection = None
        self._stop_thread()

    def stop(self) -> None:
        """Close without waiting (SQLAlchemy's terminate, maybe outside the event loop)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            if self._thread is not None and self._queued:
                self._thread.submit(connection.close)  # after the call still running there
            else:
                connection.close()
        self._stop_thread()

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=False)
            self._thread = None


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
        loop.call_soon_threadsafe(callback)


class Cursor:
    """A sqlite3 cursor whose statements run where its connection says."""

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor
        # A write's rows (RETURNING) are fetched where it ran, a read's on the caller's thread.
        self._waits = False

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        self._waits = self._connection.may_wait(sql)
        await self._connection.run(partial(self._cursor.execute, sql, parameters),
                                   may_wait=self._waits)
        return self

    async def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> Cursor:
        self._waits = True
        await self._connection.run(partial(self._cursor.executemany, sql, parameters),
                                   may_wait=True)
        return self

    async def fetchone(self) -> Any:
        return await self._connection.run(self._cursor.fetchone, may_wait=self._waits)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        fetch = partial(self._cursor.fetchmany, size if size is not None else self.arraysize)
        return await self._connection.run(fetch, may_wait=self._waits)

    async def fetchall(self) -> list[Any]:
        return await self._connection.run(self._cursor.fetchall, may_wait=self._waits)

    async def close(self) -> None:
        await self._connection.run(self._cursor.close, may_wait=False)  # frees the statement

    async def __aiter__(self) -> AsyncIterator[Any]:
        while rows := await self.fetchmany():
            for row in rows:
                yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _Opening:
    """What `Connection.cursor()` returns: SQLAlchemy enters it to get the cursor."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def __aenter__(self) -> Cursor:
        return self._connection.new_cursor()

    async def __aexit__(self, *_exc: object) -> None:
        return None


class _Inline:
    """Stands in for aiosqlite's queue of calls: SQLAlchemy's adapter sets a connection's
    isolation_level by putting (future, function) on it."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


def connector(url: str | URL) -> Callable[[], Any]:
    """The `async_creator` for create_async_engine: a new Connection to the URL's database,
    with the arguments SQLAlchemy's own dialect would give sqlite3 (path, uri, timeout)."""
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(_make_url(url))
    database, options = args[0], {**kwargs, "check_same_thread": False}

    async def connect() -> Connection:
        return Connection(sqlite3.connect(database, **options))

    return connect
