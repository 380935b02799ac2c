"""/clock: move the bot's time forward (playground and end-to-end tests only).

Registered only when `dev_clock_enabled(settings)`: by default when the bot
runs without a token, against its own emulator. After a jump, the deadline
sweeps run at once and the outbox sender is woken, so what fell due shows up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.keyboards.outbox import OutboxKeyboards
from scheduler.jobs import run_sweeps
from services.clock import Clock, MovableClock

router = Router(name=__name__)
STEP = re.compile(r"^\+?(\d{1,4})([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_step(text: str) -> timedelta | None:
    """'+25h', '2d', '+30m' → a timedelta; anything else → None."""
    match = STEP.match(text.strip().lower())
    if not match:
        return None
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@router.message(Command("clock"))
async def on_clock(
    message: Message, command: CommandObject, clock: Clock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], outbox_notify: Callable[[], None],
    keyboards: OutboxKeyboards,
) -> None:
    """/clock shows the bot's time; /clock +25h moves it forward."""
    zone = ZoneInfo(settings.timezone)
    if command.args:
        step = parse_step(command.args)
        if step is None or not isinstance(clock, MovableClock):
            await message.answer(_("Use /clock +30m, /clock +2h or /clock +1d."))
            return
        clock.advance(step)
        await run_sweeps(sessionmaker=sessionmaker, clock=clock, notify=outbox_notify,
                         keyboards=keyboards)
        outbox_notify()
    await message.answer(_("🕰 The bot's time is now {time}.").format(
        time=clock.now().astimezone(zone).strftime("%Y-%m-%d %H:%M")))
