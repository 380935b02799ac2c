"""Periodic sweeps: the jobs that act when a time passes (a deadline, a reminder window).

Each sweep is a module-level async function `sweep(*, sessionmaker, clock, notify,
keyboards)` (`keyboards`: the buttons of the messages it queues, bot/keyboards/outbox.py)
that opens its own session, finds what has become due by `clock.now()`, acts on
it and commits. A sweep must be safe to run twice and to run late: after a
restart, the first tick catches up on everything that fell due meanwhile. That
is why deadlines are swept rather than scheduled one by one (APScheduler's own
job store would be a second place that must survive restarts).

Features add their sweeps to SWEEPS; `add_sweeps` runs each on one interval.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.keyboards.outbox import OutboxKeyboards
from scheduler import courses as course_sweeps
from scheduler import digest as digest_sweeps
from scheduler import polls as poll_sweeps
from scheduler import volunteers as volunteer_sweeps
from services.clock import Clock

log = logging.getLogger(__name__)

Notify = Callable[[], None]


class Sweep(Protocol):
    """A periodic job: look at what is due now, act, commit."""

    __name__: str

    def __call__(
        self, *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Notify,
        keyboards: OutboxKeyboards,
    ) -> Awaitable[None]: ...


SWEEPS: list[Sweep] = [
    volunteer_sweeps.volunteer_short_shifts,
    course_sweeps.course_offers_expire,
    course_sweeps.course_free_seats_offered,
    course_sweeps.course_teacher_reminders,
    poll_sweeps.polls_remind,
    poll_sweeps.polls_close,
    digest_sweeps.staff_digests,
]


async def run_sweeps(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Notify,
    keyboards: OutboxKeyboards,
) -> None:
    """Run every sweep once; one failing sweep does not stop the others."""
    for sweep in SWEEPS:
        try:
            await sweep(sessionmaker=sessionmaker, clock=clock, notify=notify, keyboards=keyboards)
        except Exception:
            log.exception("sweep %s failed", sweep.__name__)


def add_sweeps(
    scheduler: AsyncIOScheduler, *, sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock, notify: Notify, keyboards: OutboxKeyboards, seconds: float = 30.0,
) -> None:
    """Run all sweeps every `seconds`."""
    scheduler.add_job(
        run_sweeps, "interval", seconds=seconds, id="sweeps", replace_existing=True,
        kwargs={"sessionmaker": sessionmaker, "clock": clock, "notify": notify,
                "keyboards": keyboards},
    )
