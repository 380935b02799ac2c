"""Volunteer sweeps: deadlines that pass on their own (see scheduler/jobs.py).

Reminders need no sweep: they are queued in the outbox with `not_before` when
a shift is claimed, and cancelled with the claim.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.keyboards.outbox import OutboxKeyboards
from services import volunteers
from services.clock import Clock


async def volunteer_short_shifts(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Callable[[], None],
    keyboards: OutboxKeyboards,
) -> None:
    """Shifts still short 24 h before they start: call the community's other volunteers.

    Safe to run twice or late: each shift is called once (a conditional UPDATE).
    """
    async with sessionmaker() as session:
        await volunteers.ping_short_shifts(session, clock=clock, buttons=keyboards.volunteers,
                                           notify=notify)
