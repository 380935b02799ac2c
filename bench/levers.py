"""`python -m bench.levers --before REV [--after REV] [--rounds 3] [--seconds 15]`

Issue 18's comparison, one lever at a time: the crowd (closed loop, the throughput
workload) against bare aiogram, the bot as of commit `--before` and the bot as of
`--after` (default: this tree), in runs whose order changes from round to round
(`run_order`: each variant in each place, and after each other, equally often over six
rounds), so that a machine getting busier or quieter, or a place in the round, weighs
on both sides alike; six rounds, or twelve, where the time allows. Each run is a fresh
emulator, database and bot process.

Per run: updates a second, the bot's CPU per update (which steal does not inflate as
much as a rate), Bot API calls per update (counted by the emulator), and from the
bot's own /metrics (where the commit has them) handlers tried and SQL statements per
update. Per round: each bot's CPU per update as a ratio to bare aiogram's in the same
round. Prints one JSON object per run, then a summary (medians over the rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from bench import throughput
from bench.common import ROOT, BotProcess, Options, midday_zone, scratch_database, setup
from bench.driver import bare_script
from emulator import Emulator

T = TypeVar("T")


@contextlib.contextmanager
def checkout(rev: str, where: Path) -> Iterator[Path]:
    """A detached work tree of `rev` (git worktree), removed afterwards."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet",
                    str(where), rev], check=True)
    try:
        yield where
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)],
                       check=False)


async def seed_in(tree: Path, db_url: str) -> None:
    """The crowd's community, made by the tree's own code (its migrations and models):
    an older commit's bot cannot start on a database migrated past its head."""
    code = ("import asyncio; from bench.throughput import seed_bot_db; "
            f"asyncio.run(seed_bot_db({db_url!r}, None))")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"seeding in {tree} failed:\n{output.decode()[-3000:]}")


async def crowd(options: Options, label: str, tree: Path | None, seconds: float,
                first_id: int) -> dict[str, Any]:
    """One closed-loop crowd against the bare bot (tree None) or the bot of a tree."""
    emulator = Emulator()
    await emulator.start()
    try:
        if tree is None:
            bot = await BotProcess.start(emulator, db_url=None, workdir=options.workdir,
                                         label=label, module="bench.bare_bot")
            try:
                return await throughput.drive(emulator, bot, bare_script(), options=options,
                                              first_id=first_id, closed_seconds=seconds,
                                              open_seconds=0)
            finally:
                await bot.stop()
        async with scratch_database(options, label) as db_url:
            await seed_in(tree, db_url)
            bot = await BotProcess.start(emulator, db_url=db_url, workdir=options.workdir,
                                         label=label, tree=tree, FLOOD_RATE="1000000",
                                         TIMEZONE=midday_zone())
            try:
                script, _names = throughput.bot_workload()
                return await throughput.drive(emulator, bot, script, options=options,
                                              first_id=first_id, closed_seconds=seconds,
                                              open_seconds=0)
            finally:
                await bot.stop()
    finally:
        await emulator.stop()


def run_order(variants: list[T], n: int) -> list[T]:
    """Round `n`'s order of the three runs. Over each six rounds every variant runs first,
    second and third twice, and after each other variant equally often (a Williams
    design): with bare, before, after then after, before, bare, "before" always ran
    second, and the same commit measured against itself came out 5–9 % dearer as
    "after" in each of four rounds."""
    shift = n % 3
    rotated = variants[shift:] + variants[:shift]
    return rotated if n % 6 < 3 else rotated[::-1]


KEPT = ("updates_per_second", "cpu_ms_per_update", "api_calls_per_update",
        "handlers_tried_per_update", "db_statements_per_update", "bot_cpu_percent",
        "cpu_steal_percent", "p50_ms", "p99_ms", "timeouts", "missing_buttons")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.levers",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("--before", required=True, help="the commit before the lever")
    parser.add_argument("--after", default=None, help="the commit with it (default: this tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0, help="closed loop per run")
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="levers-") as workdir, contextlib.ExitStack() as trees:
        work = Path(workdir)
        options = Options(quick=True, db=None, workdir=work, concurrency=args.concurrency)
        before = trees.enter_context(checkout(args.before, work / "before"))
        after = trees.enter_context(checkout(args.after, work / "after")) if args.after \
            else ROOT
        variants: list[tuple[str, Path | None]] = [("bare", None), ("before", before),
                                                   ("after", after)]
        base = setup(options, before=args.before, after=args.after or "this tree",
                     seconds=args.seconds)
        for n in range(args.rounds):
            round_results: dict[str, dict[str, Any]] = {}
            for name, tree in run_order(variants, n):
                started = time.monotonic()
                figures = await crowd(options, f"{name}-{n}", tree, args.seconds,
                                      first_id=throughput.FIRST_USER + n * 100_000)
                kept = {k: figures.get(k) for k in KEPT}
                round_results[name] = kept
                line = {"bench": "levers", "round": n, "bot": name, **kept,
                        "run_seconds": round(time.monotonic() - started, 1)}
                print(json.dumps({**line, "setup": base}, ensure_ascii=False), flush=True)
            bare = round_results["bare"]["cpu_ms_per_update"]
            for name in ("before", "after"):
                mine = round_results[name]["cpu_ms_per_update"]
                round_results[name]["cpu_ratio_vs_bare"] = \
                    round(bare / mine, 3) if bare and mine else None
            results.append(round_results)
    print()
    print(summary(results))
    return 0


def summary(rounds: list[dict[str, dict[str, Any]]]) -> str:
    """Medians over the rounds, one line per figure: bare, before, after."""
    lines = [f"{'figure':<28} {'bare':>10} {'before':>10} {'after':>10}"]
    for key in (*KEPT, "cpu_ratio_vs_bare"):
        row = [key]
        for name in ("bare", "before", "after"):
            values: list[float] = [r[name][key] for r in rounds
                                   if r[name].get(key) is not None]
            row.append(f"{statistics.median(values):.2f}" if values else "–")
        lines.append(f"{row[0]:<28} {row[1]:>10} {row[2]:>10} {row[3]:>10}")
    per_round = ", ".join(
        f"{r['before'].get('cpu_ratio_vs_bare')} → {r['after'].get('cpu_ratio_vs_bare')}"
        for r in rounds)
    lines.append(f"cpu_ratio_vs_bare per round (before → after): {per_round}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
