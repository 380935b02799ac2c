"""Time for the whole bot comes from a clock, so tests can move it instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


@runtime_checkable
class MovableClock(Clock, Protocol):
    """A clock that can be moved forward (the playground's and the tests')."""

    def advance(self, delta: timedelta) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """The wall clock, moved forward on request: the playground's and end-to-end tests'
    way to see tomorrow's reminders now."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward (never back: what was sent stays sent)."""
        if delta < timedelta():
            raise ValueError("time only moves forward")
        self.offset += delta
        return self.now()


class ManualClock:
    """A clock that stands still until told to move (tests and the playground)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to a given moment."""
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by a timedelta or by keyword parts (hours=2)."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now
