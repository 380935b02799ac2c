"""1. throughput: the full bot and a bare aiogram echo bot under the same simulated crowd.

Closed loop: `concurrency` people at once, each waiting for every reply before the next
tap, new people as others finish: the most updates a second the bot can answer.
Open loop: updates pushed on a fixed schedule (250 a second), whatever the bot's pace,
for the latency a user sees at that load.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import (
    BotProcess,
    CpuMeter,
    Options,
    midday_zone,
    percentile,
    rounded,
    seed,
    wait_until_idle,
)
from bench.driver import COMMUNITY, COURSE, ReplyWatch, Step, Users, bare_script
from bot.keyboards.menu import MENU
from emulator import Emulator
from models.courses import Category, Course, CourseStatus
from models.db import create_engine, create_sessionmaker

OPEN_RATE = 250.0
FIRST_USER = 10_000_000  # simulated people get fresh ids from here up
# What each main-menu button answers first (in English); buttons not listed here
# (features landing later) are timed to their first reply, whatever it says.
MENU_REPLIES = {
    "courses": "What would you like to do",
    "volunteer": "Help your neighbours",
    "settings": "⚙️ Settings",
    "help": "How to use this bot",
}


def bot_workload() -> tuple[list[Step], list[str]]:
    """The resident's session for the full bot, built from the menu in the tree now:
    onboarding, then every resident's main-menu button, browsing the course menu when
    📚 Courses exists. Returns the steps and the workload's name for the report."""
    steps = [
        Step("send", "/start", "Privacy notice"),
        Step("press", "✅ I agree", "Which community"),
        Step("press", COMMUNITY, "All set"),
    ]
    names = ["onboarding"]
    for item in MENU:
        if item.key in ("announce", "manage"):  # staff only
            continue
        steps.append(Step("reply", item.label, MENU_REPLIES.get(item.key, "")))
        names.append(item.key)
        if item.key == "courses":
            steps += [Step("press", "📖 Course menu", "Choose a category"),
                      Step("press", "🔧 Practical skills", "Choose a course"),
                      Step("press", COURSE, COURSE)]
            names.append("course-browsing")
    return steps, names


async def seed_bot_db(db_url: str, emulator: Emulator) -> int:
    """The community newcomers join, with a few courses on its menu."""
    community_id = await seed(db_url, emulator, count=0, first_tg_id=0,
                              community=COMMUNITY, timezone=midday_zone())
    engine = create_engine(db_url)
    now = datetime.now(UTC)
    async with create_sessionmaker(engine)() as session:
        for n, title in enumerate([COURSE, "Tai chi in the morning", "Fixing a bicycle",
                                   "Cooking for one", "Paper cutting"]):
            category = Category.SKILLS if n % 2 == 0 else Category.SPORTS
            session.add(Course(community_id=community_id, title=title, category=category,
                               description="A course for neighbours.",
                               status=CourseStatus.APPROVED, created_at=now))
        await session.commit()
    await engine.dispose()
    return community_id


async def drive(
    emulator: Emulator, bot: BotProcess, script: list[Step], *, options: Options,
    first_id: int, closed_seconds: float, open_seconds: float,
) -> dict[str, Any]:
    """Closed loop, then open loop at OPEN_RATE, against a running bot."""
    watch = ReplyWatch(emulator)
    watch.start()
    try:
        warm = Users(emulator, watch, script, first_id=first_id, timeout=30)
        await warm.closed_loop(emulator.clock() + 0.01)  # one person: imports, caches
        closed = Users(emulator, watch, script, first_id=first_id + 1000, timeout=30)
        counted = await bot.counters()
        requests = len(emulator.requests)
        cpu_before = bot.cpu_seconds()
        meter = CpuMeter(bot)
        started = time.monotonic()
        stop_at = emulator.clock() + closed_seconds
        await asyncio.gather(*(closed.closed_loop(stop_at) for _ in range(options.concurrency)))
        elapsed = time.monotonic() - started
        cpu = meter.percent()
        cpu_seconds = bot.cpu_seconds() - cpu_before
        calls = sum(1 for r in emulator.requests[requests:] if r.method != "getUpdates")
        per_update = await _per_update(bot, counted)
        opened = Users(emulator, watch, script, first_id=first_id + 1_000_000, timeout=30)
        if open_seconds > 0:
            await opened.open_loop(OPEN_RATE, open_seconds)
    finally:
        await watch.stop()
    drained = await wait_until_idle(emulator, bot)  # the backlog, before anything else
    c, o = closed.tally, opened.tally
    return {
        "updates_per_second": round(c.done / elapsed, 1),
        "p50_ms": rounded(_ms(percentile(c.latencies, 50)), 1),
        "p99_ms": rounded(_ms(percentile(c.latencies, 99)), 1),
        "updates": c.done,
        "cpu_ms_per_update": rounded(1000 * cpu_seconds / c.done if c.done else None, 2),
        "api_calls_per_update": rounded(calls / c.done if c.done else None, 2),
        **per_update,
        "timeouts": c.timeouts + o.timeouts,
        "missing_buttons": c.missing_buttons + o.missing_buttons,
        **cpu,
        "open_loop_rate": OPEN_RATE,
        "open_loop_updates": o.done,
        "open_loop_p50_ms": rounded(_ms(percentile(o.latencies, 50)), 1),
        "open_loop_p99_ms": rounded(_ms(percentile(o.latencies, 99)), 1),
        "open_loop_max_ms": rounded(_ms(max(o.latencies, default=None)), 1),
        "drain_seconds": rounded(drained, 1),
    }


async def _per_update(bot: BotProcess, before: dict[str, float]) -> dict[str, float | None]:
    """Handlers tried and SQL statements per update the bot handled meanwhile, from its
    own counters (None where the bot has no such counter: the bare bot, older commits)."""
    after = await bot.counters()
    updates = after.get("updates", 0.0) - before.get("updates", 0.0)
    figures: dict[str, float | None] = {}
    for name in ("handlers_tried", "db_statements"):
        figures[f"{name}_per_update"] = rounded(
            (after[name] - before.get(name, 0.0)) / updates
            if name in after and updates else None, 2)
    return figures


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


async def measure_bare(options: Options, closed_seconds: float, open_seconds: float,
                       ) -> dict[str, Any]:
    """The bare aiogram echo bot under the same crowd."""
    emulator = Emulator()
    await emulator.start()
    try:
        bot = await BotProcess.start(emulator, db_url=None, workdir=options.workdir,
                                     label="bare-aiogram", module="bench.bare_bot")
        try:
            return await drive(emulator, bot, bare_script(), options=options,
                               first_id=FIRST_USER, closed_seconds=closed_seconds,
                               open_seconds=open_seconds)
        finally:
            await bot.stop()
    finally:
        await emulator.stop()
