"""Fewer database round trips per update (issue 18, lever 5): the read of the person
that every update makes is reused by the handler's own reads, in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.metrics import DB_STATEMENTS
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, onboard


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """What the engine did, as BEGIN, COMMIT, ROLLBACK and each statement's verb (the
    transaction's ends from SQLAlchemy's events, which both backends fire)."""
    seen: list[str] = []

    def log(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.split(None, 1)[0].upper()
        if verb != "BEGIN":  # SQLite's own BEGIN (models/db.py); the event says it
            seen.append(verb)

    listeners = {"before_cursor_execute": log,
                 "begin": lambda _conn: seen.append("BEGIN"),
                 "commit": lambda _conn: seen.append("COMMIT"),
                 "rollback": lambda _conn: seen.append("ROLLBACK")}
    for name, listener in listeners.items():
        event.listen(engine.sync_engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners.items():
            event.remove(engine.sync_engine, name, listener)


async def test_a_screen_that_only_reads_is_one_transaction(
    harness: Harness, session: AsyncSession, clock: ManualClock, engine: AsyncEngine,
) -> None:
    await make_community(session, clock, "Sunny Court")
    ann = harness.person(5201, "Ann")
    await onboard(ann, "Sunny Court")
    for label in ("🙋 Volunteer", "⚙️ Settings", "📚 Courses", "❓ Help"):
        counted = DB_STATEMENTS.count
        with statements(engine) as seen:
            await ann.tap(label)
        # the person's read, then the screen's, in one transaction: no COMMIT between
        assert seen.count("BEGIN") == 1 and "COMMIT" not in seen, (label, seen)
        assert seen[:2] == ["BEGIN", "SELECT"], (label, seen)
        # the bench's counter: those statements, and the transaction's end
        assert DB_STATEMENTS.count - counted >= len(seen)
