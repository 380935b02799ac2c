"""`python -m bench.profile [--tree PATH] [--seconds 12] [--top 40] OUT.txt`

Where the bot's event loop spends its time in a crowd: starts the bot (of this tree,
or of another checkout with `--tree`), runs the throughput workload's closed loop
(50 people) and records the bot with py-spy (`pip install py-spy`) after a 4 s
warm-up, raw stacks into OUT.txt. Prints the functions with the largest share of the
main thread's samples, inclusive and self (aiosqlite's worker threads wait in C and
are left out). Compare two commits by running it on each (issue 18's profile table in
BENCHMARKS.md was made so).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import sys
import tempfile
from pathlib import Path

from bench import throughput
from bench.common import ROOT, BotProcess, Options, midday_zone, scratch_database
from emulator import Emulator

WARM_UP = 4.0


async def record(out: Path, tree: Path, seconds: float) -> dict[str, object]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory(prefix="profile-") as workdir:
        options = Options(quick=True, db=None, workdir=Path(workdir), concurrency=50)
        emulator = Emulator()
        await emulator.start()
        try:
            async with scratch_database(options, "profile") as db_url:
                await throughput.seed_bot_db(db_url, emulator)
                bot = await BotProcess.start(emulator, db_url=db_url, workdir=options.workdir,
                                             label="profiled", tree=tree, FLOOD_RATE="1000000",
                                             TIMEZONE=midday_zone())
                try:
                    async def sample() -> None:
                        await asyncio.sleep(WARM_UP)
                        process = await asyncio.create_subprocess_exec(
                            spy, "record", "-p", str(bot.process.pid), "-f", "raw", "-r", "200",
                            "-d", str(int(seconds)), "-o", str(out),
                            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
                        await process.wait()

                    sampling = asyncio.create_task(sample())
                    script, _names = throughput.bot_workload()
                    figures = await throughput.drive(
                        emulator, bot, script, options=options, first_id=throughput.FIRST_USER,
                        closed_seconds=WARM_UP + seconds + 1, open_seconds=0)
                    await sampling
                    return {k: figures[k] for k in ("updates_per_second", "cpu_ms_per_update",
                                                    "handlers_tried_per_update",
                                                    "db_statements_per_update")}
                finally:
                    await bot.stop()
        finally:
            await emulator.stop()


def shares(raw: Path) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    """Main-thread samples: their number, and per function the inclusive and self counts."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "_run_module_as_main" not in stack:
            continue
        n = int(count)
        total += n
        frames = [frame.split(" (")[0] for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    return total, inclusive, own


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the bot's source tree")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    print(await record(args.out, args.tree, args.seconds))
    total, inclusive, own = shares(args.out)
    print(f"main-thread samples: {total}")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title}")
        for name, n in counts.most_common(args.top):
            print(f"{100 * n / max(total, 1):5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
