"""What we keep about a person: giving it to them (/mydata) and erasing it (/deleteme).

Both walk the tables through their foreign keys to users.id, so a new table is found
without touching this code; what may be erased or exported is declared here, once:

- `ERASERS` lists every feature's eraser with the columns it blanks; `KEPT` says why
  each other text column of a user-linked table is left as it is. A test fails on a
  text column in neither, so a feature cannot add text about people that /deleteme
  forgets.
- `ACTED_ON` are the columns that name the person as someone who handled another's
  row (the staff member a report was given to): such rows are exported without their
  text, which is the other person's. `SECRETS` are never exported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, String, Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel
from sqlmodel.main import default_registry
from sqlmodel.sql.sqltypes import AutoString

from models.db import begin_write
from models.users import RoleGrant, User
from services import concerns, course_orders, course_sessions, outbox, polls, volunteer_hours
from services import volunteers as volunteer_service
from services.clock import Clock

log = logging.getLogger(__name__)

EraseFn = Callable[[AsyncSession, int, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Eraser:
    """One feature's part of /deleteme: blanks `blanks` ("table.column") for a person,
    and gives up the places they hold, as of the given moment. It runs in erase_user's
    write transaction and must not commit."""

    erase: EraseFn
    blanks: frozenset[str]


def _eraser(erase: EraseFn, *blanks: str) -> Eraser:
    return Eraser(erase, frozenset(blanks))


async def _erase_person(session: AsyncSession, user_id: int, now: datetime) -> None:
    """The person's own row loses their name and Telegram identity; their roles go."""
    await session.execute(delete(RoleGrant).where(RoleGrant.user_id == user_id))  # type: ignore[arg-type]
    user = await session.get(User, user_id)
    assert user is not None
    user.tg_id = None
    user.first_name = None
    user.username = None
    user.consented_at = None
    user.deleted_at = now
    session.add(user)


ERASERS: tuple[Eraser, ...] = (
    _eraser(course_orders.erase_orders, "course_orders.topic"),
    _eraser(course_sessions.erase_enrolments, "enrolments.comment"),
    _eraser(volunteer_service.erase_volunteer, "volunteers.other_skill",
            "volunteer_claims.reason"),
    _eraser(volunteer_hours.erase_hours, "volunteer_hours.reason"),
    _eraser(concerns.erase_reports, "voice_reports.description", "voice_reports.photo_file_id",
            "voice_reports.voice_file_id", "voice_reports.answer", "voice_reports.decline_reason",
            "voice_report_notes.text", "voice_report_notes.voice_file_id"),
    _eraser(polls.erase_answers, "poll_answers.other_text"),
    _eraser(outbox.erase_user_messages, "outbox.text", "outbox.params", "outbox.keyboard",
            "outbox.file_id", "outbox.last_error"),
    _eraser(_erase_person, "users.first_name", "users.username"),  # last: the row itself
)

# Text columns of user-linked tables that /deleteme leaves, and why.
KEPT: Mapping[str, str] = {
    "users.locale": "a setting (zh or en), not something they wrote",
    "audit_log.action": "what was done (\"report.answer\"): the anonymised audit line",
    "audit_log.details": "ids and counts only: the anonymised audit line",
    "notification_prefs.muted": "which kinds of message they muted: settings",
    "poll_answers.choices": "the options they chose, kept anonymous for the results",
    "volunteers.skills": "skills picked from the list, kept anonymous for the figures",
    "volunteers.slots": "free times picked from the list, kept anonymous",
    "broadcasts.text": "an announcement staff published to the community",
    "broadcasts.media": "whether the announcement had a picture or a file",
    "broadcasts.file_id": "the announcement's picture or file",
    "broadcasts.audience": "whom the announcement went to (ids)",
    "broadcasts.draft_key": "a random key of the draft, so a double tap sends it once",
    "courses.title": "the course menu, published to the community",
    "courses.description": "the course menu, published to the community",
    "courses.titles": "the course's title in other languages, on the menu for all",
    "course_sessions.title": "a session announced to the community",
    "course_sessions.titles": "a session's title in other languages, announced to all",
    "course_sessions.venue": "a session announced to the community",
    "course_sessions.bring": "what to bring, said by staff on a session announced to all",
    "course_sessions.cancel_reason": "why a session was called off, said to all enrolled",
    "course_sessions.checkin_token": "the session's check-in code, not about anyone",
    "course_walk_ins.name": "the name of someone staff let in at a session's door: not "
                            "the staff member's own words about themselves",
    "course_orders.draft": "a random token of the ordering conversation, not about anyone",
    "course_orders.titles": "the menu course's title in other languages, copied from the menu "
                            "(blanked with the order's topic all the same)",
    "volunteer_tasks.title": "a task published to the community",
    "volunteer_tasks.titles": "a task's title in other languages, published to all",
    "volunteer_tasks.description": "a task published to the community",
    "volunteer_tasks.skills": "a task published to the community",
    "volunteer_tasks.place": "a task published to the community",
    "volunteer_tasks.draft_key": "a random key of the draft it was published from",
    "polls.title": "a poll published to the community",
    "polls.audience": "whom the poll went to (ids)",
    "voice_reports.draft_key": "a random code naming the draft a report came from, not text",
    "invites.token": "a one-time code, about no one; it expires",
    "outbox.key": "which message it was (its English template), not its content",
    "outbox.group_key": "a technical key of ids",
    "outbox.dedupe_key": "a technical key of ids",
    "outbox.lease_owner": "which bot process sent it",
}

# Columns that name the person as the one who handled someone else's row.
ACTED_ON = frozenset({
    "voice_reports.assignee_id", "volunteer_claims.attendance_by",
    "volunteer_hours.recorded_by", "courses.reviewed_by", "role_grants.granted_by",
    "course_orders.taken_by", "outbox.about_user_id", "voice_report_notes.author_id",
    "course_walk_ins.added_by",
})
# Never in an export: codes that would let someone act (an invite, a check-in), and the
# bodies of messages, which quote other people (a staff notice of a resident's report).
SECRETS = frozenset({
    "invites.token", "course_sessions.checkin_token", "course_orders.draft",
    "outbox.text", "outbox.params", "outbox.keyboard", "outbox.last_error",
})


# What each table is called in a person's export: plain words, never our table names.
# A test fails on a user-linked table missing here, so a new feature names its part.
SECTIONS: Mapping[str, str] = {
    "users": "you",
    "role_grants": "your_roles",
    "notification_prefs": "your_notification_settings",
    "teacher_subjects": "subjects_you_teach",
    "enrolments": "your_places_in_course_sessions",
    "course_orders": "courses_you_ordered",
    "order_backings": "course_orders_you_backed",
    "courses": "courses_you_teach_or_reviewed",
    "course_sessions": "course_sessions_you_teach_or_scheduled",
    "course_walk_ins": "walk_ins_you_let_in_at_a_session",
    "volunteers": "your_volunteer_profile",
    "volunteer_claims": "volunteer_shifts_you_took",
    "volunteer_hours": "your_volunteer_hours",
    "volunteer_tasks": "volunteer_tasks_you_published",
    "voice_reports": "reports",
    "voice_backings": "reports_you_backed",
    "voice_report_notes": "notes_you_wrote_on_reports",
    "poll_answers": "your_poll_answers",
    "polls": "polls_you_ran",
    "broadcasts": "announcements_you_sent",
    "invites": "invites_you_made_or_used",
    "audit_log": "what_you_did_as_staff",
    "outbox": "messages_the_bot_sent_you",
    "staff_digests": "your_daily_digest_time",
}
# Bookkeeping of how the bot works, about no one: left out of an export.
TECHNICAL = frozenset({
    "key", "group_key", "dedupe_key", "draft_key", "draft", "lease_owner", "lease_until",
    "attempts", "priority", "blob_id", "message_id", "progress_chat_id",
    "progress_message_id",
})


def _user_columns(table: Table) -> list[Column[Any]]:
    return [
        column for column in table.columns
        if any(fk.column.table.name == "users" and fk.column.name == "id"
               for fk in column.foreign_keys)
    ]


@cache
def _annotations() -> dict[str, dict[str, Any]]:
    return {str(mapper.local_table.name): {  # type: ignore[attr-defined]
        name: info.annotation for name, info in mapper.class_.model_fields.items()}
        for mapper in default_registry.mappers}


def text_columns(table: Table) -> list[str]:
    """The table's columns that can hold words (strings, JSON), leaving out enumerations."""
    kinds = _annotations().get(table.name, {})
    found = []
    for column in table.columns:
        if not isinstance(column.type, String | JSON | AutoString):
            continue
        kind = kinds.get(column.name)
        choices = [k for k in getattr(kind, "__args__", (kind,)) if k is not type(None)]
        if choices and all(isinstance(k, type) and issubclass(k, Enum) for k in choices):
            continue
        found.append(column.name)
    return found


def user_linked_text_columns() -> Iterator[str]:
    """"table.column" of every text column in users and the tables that point to it."""
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "users" or _user_columns(table):
            yield from (f"{table.name}.{name}" for name in text_columns(table))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


async def export_user_data(session: AsyncSession, *, user: User) -> dict[str, Any]:
    """Every row that is about this user, table by table; never a secret, never text of
    someone else's row they only handled (it keeps the ids and times of what they did)."""
    you = {k: _plain(v) for k, v in user.model_dump().items() if k not in TECHNICAL}
    data: dict[str, Any] = {SECTIONS["users"]: you}
    for table in SQLModel.metadata.sorted_tables:
        columns = _user_columns(table)
        if table.name == "users" or not columns:
            continue
        theirs = [c.name for c in columns if f"{table.name}.{c.name}" not in ACTED_ON]
        others_text = set(text_columns(table))
        rows = (await session.execute(
            select(table).where(or_(*(column == user.id for column in columns)))
        )).mappings().all()
        exported = []
        for row in rows:
            own = any(row[name] == user.id for name in theirs)
            exported.append({k: _plain(v) for k, v in row.items()
                             if f"{table.name}.{k}" not in SECRETS and k not in TECHNICAL
                             and (own or k not in others_text)})
        if exported:
            data[SECTIONS[table.name]] = exported
    return data


def counted(data: Mapping[str, Any]) -> dict[str, int]:
    """How many rows each section of an export holds (the person's own row left out)."""
    return {section: len(rows) for section, rows in data.items()
            if section != SECTIONS["users"] and rows}


def export_as_json(data: dict[str, Any]) -> bytes:
    """The export as a readable UTF-8 JSON file."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


async def erase_user(session: AsyncSession, *, user: User, clock: Clock) -> None:
    """Erase a person's personal data; keep anonymous rows so counts stay true.

    On SQLite the text must leave the file too: every connection deletes securely
    (models/db.py), and the write-ahead log, which still holds the old pages, is
    written back and emptied here.
    """
    assert user.id is not None
    await begin_write(session)
    now = clock.now()
    for eraser in ERASERS:
        await eraser.erase(session, user.id, now)
    await session.commit()
    if session.get_bind().dialect.name == "sqlite":
        await checkpoint_sqlite(session)


async def checkpoint_sqlite(session: AsyncSession) -> None:
    """Copy SQLite's write-ahead log into the file and empty it, outside any transaction."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        # Waits (busy_timeout) for readers still on an older snapshot; if one outlasts it,
        # the old pages stay in the log until a later checkpoint overwrites them.
        cursor = await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, *_ = await cursor.fetchone()
        await cursor.close()
    if busy:
        log.warning("erasure: the SQLite log could not be emptied yet (a long reader)")
