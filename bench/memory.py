"""4. memory: the bot's resident memory at rest with every resident in the database, and
its peak through broadcasts and a wave of button taps (sampled with psutil).

The wave: seeded residents tap main-menu buttons (❓ Help, ⚙️ Settings, 🙋 Volunteer,
📚 Courses), `concurrency` at a time, each waiting for the bot's answer.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from bench.common import percentile, rounded
from bench.driver import ReplyWatch, Step, Users
from emulator import Emulator

TAPS = [Step("send", "❓ Help", "How to use this bot"),
        Step("send", "⚙️ Settings", "⚙️ Settings"),
        Step("send", "🙋 Volunteer", "Help your neighbours"),
        Step("send", "📚 Courses", "What would you like to do")]


async def tap_wave(
    emulator: Emulator, *, first_tg_id: int, residents: int, taps: int, concurrency: int,
) -> dict[str, Any]:
    """`taps` menu taps by residents first_tg_id…, `concurrency` at a time."""
    watch = ReplyWatch(emulator)
    watch.start()
    users = Users(emulator, watch, TAPS, first_id=first_tg_id, timeout=60)
    numbers = iter(range(taps))

    async def worker() -> None:
        for n in numbers:
            user = emulator.user(first_tg_id + n % residents)
            wait = await users.act(user, TAPS[n % len(TAPS)])
            if wait is not None:
                await users.finish(wait)

    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await asyncio.gather(*(worker() for _ in itertools.repeat(None, concurrency)))
    finally:
        await watch.stop()
    elapsed = loop.time() - started
    tally = users.tally
    return {"taps": taps, "taps_answered": tally.done, "taps_per_second":
            round(tally.done / elapsed, 1) if elapsed > 0 else None,
            "taps_p99_ms": rounded(1000 * (percentile(tally.latencies, 99) or 0), 1)}
