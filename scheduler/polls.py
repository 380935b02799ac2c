"""Poll sweeps: one reminder before the deadline, closing polls whose time has passed (see
scheduler/jobs.py)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.keyboards.outbox import OutboxKeyboards
from services import polls
from services.clock import Clock


async def polls_close(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Callable[[], None],
    keyboards: OutboxKeyboards,
) -> None:
    """Close due polls and send their charts. Safe to run twice or late: each poll closes once
    (a conditional UPDATE), and a poll missed during a restart closes on the next run."""
    async with sessionmaker() as session:
        await polls.close_due(session, clock=clock, notify=notify)


async def polls_remind(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Callable[[], None],
    keyboards: OutboxKeyboards,
) -> None:
    """Remind those who have not answered, once per poll, a day before it closes. Safe to run
    twice or late: each poll's reminder is claimed by one run (a conditional UPDATE)."""
    async with sessionmaker() as session:
        await polls.remind_due(session, clock=clock, buttons=keyboards.polls, notify=notify)
