"""Fewer database round trips per update (issue 18, lever 5): the read of the person
that every update makes is reused by the handler's own reads, in one transaction."""

from __future__ import annotations

import os
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.base import Generative

from bot.metrics import DB_STATEMENTS
from models.courses import Category, Course, CourseStatus
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
        assert DB_STATEMENTS.count - counted == len(seen)


# The crowd's session (bench/throughput.py's bot_workload), step by step: what each step
# costs the database. A step that needs more fails here by name, not only in the bench.
RESIDENT_SESSION: list[tuple[str, str, list[str]]] = [
    # a new person: their read finds nothing; one insert, whose grants are none
    ("send", "/start", ["BEGIN", "SELECT", "COMMIT", "BEGIN", "INSERT", "COMMIT"]),
    # the consent's write, then one page of communities (no count for a short list)
    ("press", "✅ I agree", ["BEGIN", "SELECT", "COMMIT", "BEGIN", "UPDATE", "COMMIT",
                            "BEGIN", "SELECT", "ROLLBACK"]),
    # the community and its grids, then the write
    ("press", "Sunny Court", ["BEGIN", "SELECT", "SELECT", "SELECT", "COMMIT",
                              "BEGIN", "UPDATE", "COMMIT"]),
    ("tap", "📚 Courses", ["BEGIN", "SELECT", "SELECT", "ROLLBACK"]),
    ("press", "📖 Course menu", ["BEGIN", "SELECT", "ROLLBACK"]),
    # one page of courses: no count for a short list
    ("press", "🔧 Practical skills", ["BEGIN", "SELECT", "SELECT", "ROLLBACK"]),
    ("press", "Phone photos for beginners", ["BEGIN", "SELECT", "SELECT", "SELECT",
                                             "ROLLBACK"]),
    ("tap", "🙋 Volunteer", ["BEGIN", "SELECT", "SELECT", "ROLLBACK"]),
    ("tap", "💬 My voice", ["BEGIN", "SELECT", "SELECT", "ROLLBACK"]),
    ("tap", "⚙️ Settings", ["BEGIN", "SELECT", "SELECT", "ROLLBACK"]),
    ("tap", "❓ Help", ["BEGIN", "SELECT", "ROLLBACK"]),
]


async def test_the_crowds_session_costs_no_more_round_trips_than_listed(
    harness: Harness, session: AsyncSession, clock: ManualClock, engine: AsyncEngine,
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    for n, title in enumerate(["Phone photos for beginners", "Tai chi in the morning",
                               "Fixing a bicycle"]):
        session.add(Course(community_id=home.id or 0, title=title,
                           category=Category.SKILLS if n % 2 == 0 else Category.SPORTS,
                           description="A course for neighbours.",
                           status=CourseStatus.APPROVED, created_at=clock.now()))
    await session.commit()
    ann = harness.person(5202, "Ann")
    for kind, label, expected in RESIDENT_SESSION:
        counted = DB_STATEMENTS.count
        with statements(engine) as seen:
            await getattr(ann, kind)(label)
        assert seen == expected, (label, seen)
        assert DB_STATEMENTS.count - counted == len(seen), label  # the bench counts the same
    assert ann.last.startswith("How to use this bot")


async def test_the_crowds_screens_are_read_with_statements_built_once(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLAlchemy caches a statement's SQL, not the Python objects around it: putting a
    SELECT together again, and working out its cache key, took ~140 µs of CPU a query
    (BENCHMARKS.md, fourth pass). A resident's everyday screens use statements built
    once, with bound parameters for what varies (SQLAlchemy's own `session.get` aside)."""
    home = await make_community(session, clock, "Sunny Court")
    session.add(Course(community_id=home.id or 0, title="Phone photos for beginners",
                       category=Category.SKILLS, description="A course for neighbours.",
                       status=CourseStatus.APPROVED, created_at=clock.now()))
    await session.commit()
    built: list[str] = []
    for cls, name in ((Select, "__init__"), (Generative, "_generate")):
        monkeypatch.setattr(cls, name, _noting(getattr(cls, name), built))
    for person in (harness.person(5203, "Ann"), harness.person(5204, "Bo")):
        built.clear()  # the first person's: statements built on first use
        for kind, label, _expected in RESIDENT_SESSION:
            await getattr(person, kind)(label)
    assert built == [], sorted(Counter(built).items())


def _noting(method: Any, built: list[str]) -> Any:
    """`method`, noting in `built` which of the project's functions had it called (not
    counting calls made by SQLAlchemy's `session.get` on its own)."""
    def noted(*args: Any, **kwargs: Any) -> Any:
        for frame in reversed(traceback.extract_stack()[:-1]):
            if frame.name in ("get", "_get_impl") and frame.filename.endswith("orm/session.py"):
                break
            if frame.filename.startswith("<") or f"{os.sep}sqlalchemy{os.sep}" in \
                    frame.filename or f"{os.sep}sqlmodel{os.sep}" in frame.filename:
                continue  # SQLAlchemy's generated methods and its own calls
            built.append(f"{Path(frame.filename).name}:{frame.name}")
            break
        return method(*args, **kwargs)
    return noted
