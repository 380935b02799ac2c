"""`python -m bench.profile [--tree PATH] [--seconds 12] [--top 40] [--read] OUT.txt`

Where the bot's event loop spends its time in a crowd: starts the bot (of this tree,
or of another checkout with `--tree`), runs the throughput workload's closed loop
(50 people) and records the bot with py-spy (`pip install py-spy`) after a 4 s
warm-up, raw stacks into OUT.txt. Prints the functions with the largest share of the
main thread's samples, inclusive and self (aiosqlite's worker threads wait in C and
are left out), and where an update's time goes by part (polling, dispatch, the
database, the Bot API calls, the handlers). Compare two commits by running it on each
(issue 18's profile tables in BENCHMARKS.md were made so); `--read` only reads an
OUT.txt recorded before.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def main_thread(raw: Path) -> Iterator[tuple[list[str], int]]:
    """Each main-thread stack in a raw recording: its functions (outermost first) and
    how many samples had it."""
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "_run_module_as_main" in stack:
            yield [frame.split(" (")[0] for frame in stack.split(";")], int(count)


def shares(raw: Path) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    """Main-thread samples: their number, and per function the inclusive and self counts."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, n in main_thread(raw):
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    return total, inclusive, own


# Each main-thread sample goes to the first part whose frames it has (names as py-spy
# prints them); a part is (name, frames, then sub-parts the same way, or none).
PARTS: list[tuple[str, tuple[str, ...], list[tuple[str, tuple[str, ...]]]]] = [
    ("polling (getUpdates, parsing the updates)", ("Dispatcher._polling",), []),
    ("Bot API calls from handlers", ("BaseSession.__call__",), [
        ("building the request", ("build_form_data",)),
        ("parsing the answer", ("check_response",)),
        ("aiohttp, middlewares, the rest", ()),
    ]),
    ("database (SQLAlchemy, SQLite)", ("greenlet_spawn", "AsyncSession.", "Connection.run",
                                         "Connection._submit"), []),
    ("handlers, not counting the above", ("LeanObserver.trigger",), [
        ("keyboards", ("KeyboardBuilder", "CallbackData.pack", "KeyboardButton")),
        ("texts", ("gettext", "format_")),
        ("the rest", ()),
    ]),
    ("dispatch and middlewares, not counting the above", ("Dispatcher._process_update",), []),
    ("the event loop's own work and the rest", (), []),
]


def _first(frames: list[str], choices: list[Any]) -> Any:
    for choice in choices:
        if not choice[1] or any(word in frame for frame in frames for word in choice[1]):
            return choice
    return None


def by_part(raw: Path) -> list[tuple[str, int]]:
    """Main-thread samples per part of PARTS ("part: sub-part" where it has some), in
    PARTS' order; the first row is the total."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, n in main_thread(raw):
        total += n
        name, _words, subs = _first(frames, PARTS)
        counts[name] += n
        if subs:
            counts[f"{name}: {_first(frames, subs)[0]}"] += n
    rows = [("all", total)]
    for name, _words, subs in PARTS:
        rows.append((name, counts[name]))
        rows += [(f"{name}: {sub}", counts[f"{name}: {sub}"]) for sub, _ in subs]
    return rows


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the bot's source tree")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--read", action="store_true", help="read OUT.txt, do not record")
    args = parser.parse_args(argv)
    if not args.read:
        print(await record(args.out, args.tree, args.seconds))
    total, inclusive, own = shares(args.out)
    print(f"main-thread samples: {total}")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title}")
        for name, n in counts.most_common(args.top):
            print(f"{100 * n / max(total, 1):5.1f} %  {name}")
    print("--- by part")
    for name, n in by_part(args.out)[1:]:
        indent = "    " if ": " in name else ""
        print(f"{indent}{100 * n / max(total, 1):5.1f} %  {name.rpartition(': ')[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
