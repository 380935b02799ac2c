"""Notification preferences: which kinds a user muted, and their quiet hours.

Only news a user did not ask for can be muted: course news, volunteer pings and
announcements. Reminders of what they signed up for and updates on their own
requests cannot, and no preference holds back a message queued as urgent.
Quiet hours are read in the user's community's time zone (the district's when
they have none); a non-urgent message that falls inside them waits for their end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from models.db import write
from models.outbox import OutboxKind
from models.preferences import QUIET_END, QUIET_START, NotificationPrefs
from services.clock import Clock
from services.errors import InvalidInput

MUTABLE_KINDS = frozenset({OutboxKind.COURSE_NEWS, OutboxKind.PING, OutboxKind.ANNOUNCEMENT})
_KINDS = frozenset(kind.value for kind in OutboxKind)
NO_QUIET = time(0, 0)  # stored at both ends when a user wants no quiet hours


@dataclass(frozen=True)
class Preferences:
    """A user's preferences; `quiet_start`/`quiet_end` are None when they want no quiet hours."""

    muted: frozenset[OutboxKind] = frozenset()
    quiet_start: time | None = QUIET_START
    quiet_end: time | None = QUIET_END

    @classmethod
    def of(cls, row: NotificationPrefs | None) -> Preferences:
        """From a table row; no row means the defaults."""
        if row is None:
            return cls()
        return cls.from_columns(row.muted, row.quiet_start, row.quiet_end)

    @classmethod
    def from_columns(cls, muted: list[str] | None, quiet_start: time, quiet_end: time
                     ) -> Preferences:
        """From the row's columns, as a query that joins the table returns them."""
        kinds = frozenset(OutboxKind(k) for k in muted or () if k in _KINDS)
        if quiet_start == quiet_end:  # stored as 00:00–00:00: no quiet hours
            return cls(muted=kinds, quiet_start=None, quiet_end=None)
        return cls(muted=kinds, quiet_start=quiet_start, quiet_end=quiet_end)

    def allows(self, kind: OutboxKind | str, *, urgent: bool) -> bool:
        """Whether a message of this kind may be sent at all (quiet hours aside)."""
        return urgent or kind not in self.muted


DEFAULTS = Preferences()


def parse_quiet_hours(text: str) -> Preferences:
    """The district's default preferences from "21:00-08:00", or "off" for no quiet hours."""
    text = text.strip().lower()
    if text in ("off", "none", ""):
        return Preferences(quiet_start=None, quiet_end=None)
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError('use HH:MM-HH:MM, e.g. 21:00-08:00, or "off"') from None
    if start == end:
        raise ValueError('start and end are the same; use "off" for no quiet hours')
    return Preferences(quiet_start=start, quiet_end=end)


def quiet_until(prefs: Preferences, now: datetime, tz: ZoneInfo | str) -> datetime | None:
    """The end (aware UTC) of the quiet period `now` falls in, or None if it is not quiet."""
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = now.astimezone(zone)
    at = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:  # e.g. 13:00–14:00
        if not start <= at < end:
            return None
        end_day = today
    elif at >= start:  # e.g. 21:00–08:00, in the evening: ends tomorrow
        end_day = today + timedelta(days=1)
    elif at < end:  # …in the small hours: ends today
        end_day = today
    else:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def is_quiet(prefs: Preferences, now: datetime, tz: ZoneInfo | str) -> bool:
    """Whether `now` is inside the user's quiet hours."""
    return quiet_until(prefs, now, tz) is not None


async def get_preferences(
    session: AsyncSession, *, user_id: int, defaults: Preferences = DEFAULTS
) -> Preferences:
    """The user's preferences, or the district's defaults if they never changed any."""
    row = await session.get(NotificationPrefs, user_id)
    return defaults if row is None else Preferences.of(row)


async def _row(session: AsyncSession, *, user_id: int, clock: Clock,
               defaults: Preferences) -> NotificationPrefs:
    """The user's row, read inside a write (`async with write(session)`): it is about
    to change."""
    row = await session.get(NotificationPrefs, user_id)
    if row is None:  # starts from the district's defaults
        row = NotificationPrefs(user_id=user_id, updated_at=clock.now(),
                                quiet_start=defaults.quiet_start or NO_QUIET,
                                quiet_end=defaults.quiet_end or NO_QUIET)
        session.add(row)
    row.updated_at = clock.now()
    return row


async def set_muted(
    session: AsyncSession, *, user_id: int, clock: Clock, kind: OutboxKind, muted: bool,
    defaults: Preferences = DEFAULTS,
) -> Preferences:
    """Mute or unmute one kind of news."""
    if kind not in MUTABLE_KINDS:
        raise InvalidInput("kind", "not_mutable")
    async with write(session):
        row = await _row(session, user_id=user_id, clock=clock, defaults=defaults)
        kinds = set(row.muted)
        if muted:
            kinds.add(str(kind))
        else:
            kinds.discard(str(kind))
        row.muted = sorted(kinds)  # a new list, so the JSON column is seen as changed
    return Preferences.of(row)


async def set_quiet_hours(
    session: AsyncSession, *, user_id: int, clock: Clock, start: time | None, end: time | None
) -> Preferences:
    """Set quiet hours (local times; they may span midnight). None, None: no quiet hours."""
    if (start is None) != (end is None):
        raise InvalidInput("quiet_hours", "both_or_neither")
    if start is not None and start == end:
        raise InvalidInput("quiet_hours", "empty")
    async with write(session):
        row = await _row(session, user_id=user_id, clock=clock, defaults=DEFAULTS)
        row.quiet_start = (start.replace(second=0, microsecond=0, tzinfo=None) if start
                           else NO_QUIET)
        row.quiet_end = end.replace(second=0, microsecond=0, tzinfo=None) if end else NO_QUIET
    return Preferences.of(row)
