"""Domain errors: services raise them, handlers turn them into friendly text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession


class DomainError(Exception):
    """A rule of the domain said no; the message is for logs, not for users."""


class NotAllowed(DomainError):
    """The actor lacks the role or scope for this action."""


class NotFound(DomainError):
    """The thing does not exist (or no longer does)."""


class InvalidInput(DomainError):
    """A value a user gave breaks a rule (too long, empty, in the past…)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


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
