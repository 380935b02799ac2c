"""Course sweeps: deadlines that pass on their own (see scheduler/jobs.py).

Residents' reminders need no sweep: they are queued in the outbox with
`not_before` when a seat is taken. The teacher's reminder is queued by a sweep
at its time, so that it carries the headcount of that moment.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.keyboards.outbox import OutboxKeyboards
from services import course_sessions
from services.clock import Clock


async def course_offers_expire(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Callable[[], None],
    keyboards: OutboxKeyboards,
) -> None:
    """Waitlist offers nobody answered in time pass to the next in line.

    Safe to run twice or late: each lapsed offer is found by its deadline and
    changed under the session's lock.
    """
    async with sessionmaker() as session:
        await course_sessions.expire_offers(session, clock=clock, buttons=keyboards.courses,
                                            notify=notify)


async def course_free_seats_offered(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Callable[[], None],
    keyboards: OutboxKeyboards,
) -> None:
    """Seats given up without being offered on (a resident erased their data) go to the
    waitlist, as a seat someone leaves does."""
    async with sessionmaker() as session:
        await course_sessions.offer_free_seats(session, clock=clock, buttons=keyboards.courses,
                                               notify=notify)


async def course_teacher_reminders(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Callable[[], None],
    keyboards: OutboxKeyboards,
) -> None:
    """Remind teachers of their sessions with the current headcount (once per reminder
    time: the outbox's dedupe key)."""
    async with sessionmaker() as session:
        await course_sessions.remind_teachers(session, clock=clock, notify=notify)
