"""Domain errors: services raise them, handlers turn them into friendly text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from models.db import Refusal


class DomainError(Refusal):
    """A rule of the domain said no; the message is for logs, not for users.

    The bot answers every one through one table (bot/replies.py); a handler catches
    one only where it answers differently.
    """


class NotAllowed(DomainError):
    """The actor lacks the role or scope for this action."""


class NotYours(NotAllowed):
    """The thing belongs to someone else (their place, their report)."""


class NotTeacherOrStaff(NotAllowed):
    """Only the session's teacher or the community's staff may change it."""


class NotFound(DomainError):
    """The thing does not exist (or no longer does)."""


class InvalidInput(DomainError):
    """A value a user gave breaks a rule (too long, empty, in the past…); `limit` is
    the bound it broke, where there is one (a text's most characters), so one reply
    covers every "too long"."""

    def __init__(self, field: str, reason: str, *, limit: int | None = None) -> None:
        super().__init__(f"{field}: {reason}" + (f" (limit {limit})" if limit else ""))
        self.field = field
        self.reason = reason
        self.limit = limit


class AlreadyExists(DomainError):
    """A unique name or key is taken."""


class InviteUnusable(DomainError):
    """An invite that has expired, was used, or was revoked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" | "used" | "revoked" | "unknown"


@asynccontextmanager
async def refusing(session: AsyncSession) -> AsyncIterator[None]:
    """The checks of a write, made after `begin_write` and before anything is written:
    when one says no (a DomainError), the transaction ends, having written nothing,
    before the error goes up, so the writer's turn passes on at once (SQLite's
    lock, PostgreSQL's row locks) instead of when the session closes.

        await begin_write(session)
        async with refusing(session):
            if shift.taken >= shift.headcount:
                raise ShiftUnavailable("full")
        ...write...
    """
    try:
        yield
    except DomainError:
        await session.commit()
        raise
