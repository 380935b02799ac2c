"""The whole run, arranged so that the bot process starts as few times as possible
(starting one costs seconds: its imports alone take about 2 s of CPU).

1. The bare aiogram echo bot: closed loop, open loop at 250/s (for the ratio).
2. The full bot on one database that grows tier by tier (1k, 10k, 100k residents in a
   community "Riverside"; simulated newcomers join "Sunny Court", so they are never in
   the audience). At each tier: the closed-loop crowd (and, at the first tier, the open
   loop), then an announcement to every resident under the emulator's flood limits.
   RSS is sampled throughout.
3. The full bot restarted on the largest database: its RSS at rest, a wave of button
   taps, then the reminders. RSS sampled throughout.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import broadcast, memory, reminders, throughput
from bench.common import (
    BotProcess,
    Options,
    RssSampler,
    flood_limits,
    freeze_heap,
    midday_zone,
    percentile,
    rounded,
    scratch_database,
    seed,
    sender_env,
    setup,
)
from emulator import Emulator

RESIDENTS = "Riverside"
FIRST_RESIDENT = 1_000_000


@dataclass(frozen=True)
class Plan:
    """How big each part of the run is."""

    tiers: tuple[int, ...]  # residents in the database at each scaling step
    closed_seconds: float  # closed-loop load at the first tier (the throughput figure)
    open_seconds: float  # open-loop load at 250 updates/s
    scaling_seconds: float  # closed-loop load at the other tiers
    taps: int
    reminders: int
    reminder_spread: float
    rest_seconds: float = 3.0
    bare: bool = True


FULL = Plan(tiers=(1000, 10_000, 100_000), closed_seconds=20, open_seconds=15,
            scaling_seconds=10, taps=5000, reminders=10_000, reminder_spread=60)
QUICK = Plan(tiers=(200, 1000, 5000), closed_seconds=3, open_seconds=3, scaling_seconds=2,
             taps=500, reminders=1000, reminder_spread=10)
# For tests/test_bench.py: everything once, as small as it gets.
TINY = Plan(tiers=(20, 60), closed_seconds=0.5, open_seconds=0.5, scaling_seconds=0.5, taps=20,
            reminders=20, reminder_spread=1, rest_seconds=0.5, bare=False)


async def run(options: Options, plan: Plan,
              emit: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    """Run everything; `emit` gets each figure set as soon as it is known.

    This process plays Telegram. Its cyclic garbage collector is off while it runs
    (and `freeze_heap` collects between measurements): with 100,000 residents a
    collection paused it for long enough that it then read a bunch of the bot's
    requests at once and, counting them like Telegram, refused 914 of them with
    429 in one broadcast. A pause of the stand-in, not of the bot.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return await _run(options, plan, emit)
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()


async def _run(options: Options, plan: Plan,
               emit: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []

    def out(result: dict[str, Any]) -> None:
        results.append(result)
        emit(result)

    limit = options.limit
    base = setup(options, flood_rate=1_000_000, plan=plan.__dict__)
    bare = await throughput.measure_bare(options, plan.closed_seconds, plan.open_seconds) \
        if plan.bare else None
    _script, workload = throughput.bot_workload()

    emulator = Emulator()
    await emulator.start()
    try:
        async with scratch_database(options, "district") as db_url:
            await throughput.seed_bot_db(db_url, emulator)
            await reminders.install_trigger(db_url)
            env = {"FLOOD_RATE": "1000000", "TIMEZONE": midday_zone(), **sender_env(limit)}
            bot = await BotProcess.start(emulator, db_url=db_url, workdir=options.workdir,
                                         label="bot-1", **env)
            sampler = RssSampler(bot)
            sampler.start()
            try:
                admin = await broadcast.onboard_admin(emulator)
                seeded = 0
                for n, residents in enumerate(plan.tiers):
                    await seed(db_url, emulator, count=residents - seeded,
                               first_tg_id=FIRST_RESIDENT + seeded, community=RESIDENTS,
                               timezone=midday_zone(), migrate_first=False)
                    seeded = residents
                    freeze_heap()
                    emulator.flood = None  # people's taps: measure the bot, not the limits
                    load = await throughput.drive(
                        emulator, bot, _script, options=options,
                        first_id=throughput.FIRST_USER + n * 10_000_000,
                        closed_seconds=plan.closed_seconds if n == 0 else plan.scaling_seconds,
                        open_seconds=plan.open_seconds if n == 0 else 0)
                    if n == 0:
                        ratio = (load["updates_per_second"] / bare["updates_per_second"]
                                 if bare and bare["updates_per_second"] else None)
                        out({"bench": "throughput", "workload": workload,
                             "residents_in_db": residents, **load,
                             "ratio_vs_bare_aiogram": rounded(ratio),
                             **{f"bare_{k}": v for k, v in (bare or {}).items()},
                             "setup": base})
                    emulator.flood = flood_limits(limit)
                    sent = await broadcast.measure(
                        emulator, bot, admin, db_url=db_url, community=RESIDENTS,
                        first_tg_id=FIRST_RESIDENT, count=residents, limit=limit)
                    out({**sent, "setup": {**base, **broadcast.flood_setup(limit)}})
                    out({"bench": "scaling", "residents_in_db": residents,
                         "updates_per_second": load["updates_per_second"],
                         "p50_ms": load["p50_ms"], "p99_ms": load["p99_ms"],
                         "broadcast_queue_seconds": sent["queue_seconds"],
                         "broadcast_send_seconds": sent["send_seconds"],
                         "broadcast_rate_ratio": sent["rate_ratio"],
                         "broadcast_db_bytes_per_recipient": sent["db_bytes_per_recipient"],
                         "rss_mb": rounded(bot.rss_mb(), 1), "setup": base})
            finally:
                await sampler.stop()
                await bot.stop()
            busy_peak = sampler.peak

            bot = await BotProcess.start(emulator, db_url=db_url, workdir=options.workdir,
                                         label="bot-2", **env)
            sampler = RssSampler(bot)
            sampler.start()
            try:
                await asyncio.sleep(plan.rest_seconds)
                rest = percentile(sampler.samples[len(sampler.samples) // 2:], 50)
                freeze_heap()
                emulator.flood = None
                wave = await memory.tap_wave(
                    emulator, first_tg_id=FIRST_RESIDENT, residents=seeded, taps=plan.taps,
                    concurrency=min(options.concurrency, seeded))
                wave_peak = sampler.peak
                emulator.flood = flood_limits(limit)
                count = min(plan.reminders, seeded)
                due = await reminders.measure(emulator, bot, db_url=db_url,
                                              first_tg_id=FIRST_RESIDENT, count=count,
                                              spread=plan.reminder_spread)
            finally:
                await sampler.stop()
                await bot.stop()
            peaks = [p for p in (busy_peak, wave_peak) if p is not None]
            out({"bench": "memory", "residents_in_db": seeded,
                 "rest_rss_mb": rounded(rest, 1),
                 "peak_rss_mb": rounded(max(peaks, default=None), 1),
                 "peak_rss_broadcasts_and_crowds_mb": rounded(busy_peak, 1),
                 "peak_rss_tap_wave_mb": rounded(wave_peak, 1),
                 "broadcast_recipients": seeded, **wave, "setup": base})
            out({**due, "setup": {**base, **sender_env(limit), "outbox_tick_seconds": 1.0,
                                  "flood": {"global_per_second": limit,
                                            "per_chat_per_second": 1.0}}})
    finally:
        await emulator.stop()
    return results
