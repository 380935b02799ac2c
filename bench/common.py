"""What every benchmark shares: the setup record, scratch databases, the bot process,
seeding, figures (percentiles, peak rates) and process probes (RSS, CPU, bytes written).

Nothing here imports from tests/: the few lines the e2e tests also have are copied.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import os
import platform
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bot.__main__ import loop_factory
from bot.config import Settings
from emulator import Emulator
from models.communities import Community
from models.db import ROOT, begin_write, create_engine, create_sessionmaker, migrate
from models.users import User

ADMIN_TG_ID = 900
SEED_CHUNK = 5000

# Bot API methods that put something in front of the user: the "reply" to an update.
REPLY_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup",
                           "editMessageCaption", "sendPhoto", "sendDocument"})


@dataclass(frozen=True)
class Options:
    """How big a run is, and where its databases live."""

    quick: bool
    db: str | None  # None: SQLite files in `workdir`; else a PostgreSQL server URL
    workdir: Path
    limit: float = 1000.0  # L: the emulator's global (and paid) messages a second
    concurrency: int = 100  # simulated users acting at once in closed-loop runs

    @property
    def database(self) -> str:
        return "postgresql" if self.db else "sqlite"


def setup(options: Options, **extra: Any) -> dict[str, Any]:
    """What the figures were measured on; every JSON line carries it."""
    loop = asyncio.get_running_loop()
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "aiogram": version("aiogram"),
        "sqlalchemy": version("sqlalchemy"),
        "database": options.database,
        "event_loop": f"{type(loop).__module__}.{type(loop).__name__}",  # the benchmark's
        "bot_event_loop": "uvloop" if loop_factory() else "asyncio",
        "bot_update_concurrency": Settings.model_fields["update_concurrency"].default,
        "concurrency": options.concurrency,
        "quick": options.quick,
        **extra,
    }


# --- Figures ------------------------------------------------------------------------------


def freeze_heap() -> None:
    """Collect this process's garbage now, and keep what survives (the emulator's
    users and chats so far) out of later passes. The benchmark runs with the cyclic
    collector off (`bench.suite.run`) and calls this between measurements."""
    gc.collect()
    gc.freeze()


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The most timestamps within any half-open window of `window` seconds."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def midday_zone() -> str:
    """An Etc/GMT zone where it is now between 12:00 and 13:00, far from anyone's quiet
    hours (21:00-08:00 by default), so the outbox never defers a benchmark's message."""
    hours = (12 - datetime.now(UTC).hour) % 24
    if hours > 14:
        hours -= 24
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"


# --- Databases ----------------------------------------------------------------------------


def _pg_urls(server: str, name: str) -> tuple[str, str]:
    """(asyncpg DSN of the server's maintenance database, SQLAlchemy URL of `name`)."""
    url = make_url(Settings(database_url=server).database_url)
    admin = url.set(drivername="postgresql", database=url.database or "postgres")
    return (admin.render_as_string(hide_password=False),
            url.set(database=name).render_as_string(hide_password=False))


@contextlib.asynccontextmanager
async def scratch_database(options: Options, label: str) -> AsyncIterator[str]:
    """A new, empty database for one benchmark, dropped afterwards; yields its URL."""
    if options.db is None:
        path = options.workdir / f"{label}-{secrets.token_hex(3)}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 - instant
        return
    import asyncpg

    name = f"bench_{label}_{secrets.token_hex(4)}"
    admin_dsn, url = _pg_urls(options.db, name)
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield url
    finally:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


async def seed(
    db_url: str,
    emulator: Emulator,
    *,
    count: int,
    first_tg_id: int,
    community: str,
    timezone: str,
    migrate_first: bool = True,
) -> int:
    """A community of `count` consented residents who started the bot long ago.

    Inserted straight into the bot's database (onboarding them through the chat would
    measure nothing new); returns the community's id.
    """
    engine = create_engine(db_url)
    try:
        if migrate_first:
            await migrate(engine)
        now = datetime.now(UTC)
        async with create_sessionmaker(engine)() as session:
            await begin_write(session)  # the bot may be running and writing too
            found = (await session.execute(text("SELECT id FROM communities WHERE name = :n"),
                                           {"n": community})).scalar()
            if found is None:
                row = Community(name=community, timezone=timezone, created_at=now)
                session.add(row)
                await session.flush()
                found = row.id
            for start in range(0, count, SEED_CHUNK):
                await session.execute(insert(User), [
                    {"tg_id": first_tg_id + i, "first_name": f"R{i}", "locale": "en",
                     "community_id": found, "consented_at": now, "created_at": now}
                    for i in range(start, min(count, start + SEED_CHUNK))])
            await session.commit()
    finally:
        await engine.dispose()
    for i in range(count):
        emulator.user(first_tg_id + i, f"R{i}", language_code="en").open_chat()
    assert found is not None
    return int(found)


# --- The bot process ----------------------------------------------------------------------

# The bot's /metrics counters the throughput figures read, by the name they go by there.
COUNTERS = {"bot_updates_total": "updates", "bot_api_calls_total": "api_calls",
            "bot_handlers_tried_total": "handlers_tried",
            "bot_db_statements_total": "db_statements"}


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])



class BotProcess:
    """A `python -m bot` (or the bare echo bot) running against the benchmark's emulator."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path,
                 metrics_port: int | None = None) -> None:
        self.process = process
        self.log = log
        self.ps = psutil.Process(process.pid)
        self.metrics_port = metrics_port  # the full bot's /metrics, for its counters

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @classmethod
    async def start(
        cls,
        emulator: Emulator,
        *,
        db_url: str | None,
        workdir: Path,
        label: str,
        module: str = "bot",
        tree: Path | str = ROOT,
        **env: str,
    ) -> BotProcess:
        """Start the process and wait until it is long polling the emulator. `tree` is
        the source tree it runs from (another commit's checkout, to compare)."""
        log = workdir / f"{label}.log"
        metrics_port = free_port() if module == "bot" else None
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.base_url,
            "ADMIN_IDS": str(ADMIN_TG_ID),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **({"DATABASE_URL": db_url} if db_url else {}),
            **({"METRICS_PORT": str(metrics_port), "WEBHOOK_HOST": "127.0.0.1"}
               if metrics_port else {}),
            **({"PYTHONPATH": str(tree)} if Path(tree) != ROOT else {}),
            **env,
        }
        polls = sum(1 for r in emulator.requests if r.method == "getUpdates")
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", module, cwd=tree, env=environment,
                stdout=out, stderr=asyncio.subprocess.STDOUT)
        bot = cls(process, log, metrics_port)
        deadline = time.monotonic() + 120
        while sum(1 for r in emulator.requests if r.method == "getUpdates") <= polls:
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{label} did not start:\n{bot.output[-3000:]}")
            await asyncio.sleep(0.05)
        return bot

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    async def counters(self) -> dict[str, float]:
        """The bot's counters from its /metrics, summed over labels: updates, Bot API
        calls, handlers tried and SQL statements (those a commit has)."""
        if self.metrics_port is None:
            return {}
        import aiohttp

        async with aiohttp.ClientSession() as http, \
                http.get(f"http://127.0.0.1:{self.metrics_port}/metrics") as answer:
            page = await answer.text()
        found: dict[str, float] = {}
        for line in page.splitlines():
            if line.startswith("#") or 'method="getUpdates"' in line:
                continue
            name = line.partition("{")[0].partition(" ")[0]
            if name in COUNTERS:
                key = COUNTERS[name]
                found[key] = found.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
        return found

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def write_bytes(self) -> int:
        """Bytes the process passed to write() and friends: its database and log files
        (socket sends are not counted)."""
        return int(self.ps.io_counters().write_chars)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode or 0


@dataclass
class RssSampler:
    """Samples a process's resident memory every `every` seconds while running."""

    bot: BotProcess
    every: float = 0.05
    samples: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.samples.append(self.bot.rss_mb())
            await asyncio.sleep(self.every)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def peak(self) -> float | None:
        return max(self.samples, default=None)


class CpuMeter:
    """CPU use of the bot process and of this one (emulator and driver) over a stretch,
    and the machine's steal time: on a virtual machine, the share of its CPU time the
    host gave to other guests. Every figure here is a time, so a stretch with much
    steal is slower for reasons outside the code (one 10,000-recipient broadcast ran at
    0.95 × L on a quiet host and at 0.54 × L with 27 % steal, same code)."""

    def __init__(self, bot: BotProcess) -> None:
        self.bot = bot
        self.me = psutil.Process()
        self.start = time.monotonic()
        self.bot_start = bot.cpu_seconds()
        self.me_start = self._mine()
        self.machine_start = psutil.cpu_times()

    def _mine(self) -> float:
        times = self.me.cpu_times()
        return times.user + times.system

    def percent(self) -> dict[str, float]:
        """Per cent of one core each used since this meter was made, and the per cent of
        the machine's CPU time stolen meanwhile (0 where the system does not say)."""
        elapsed = max(1e-9, time.monotonic() - self.start)
        machine = psutil.cpu_times()
        total = _all_cpu_time(machine) - _all_cpu_time(self.machine_start)
        stolen = getattr(machine, "steal", 0.0) - getattr(self.machine_start, "steal", 0.0)
        return {
            "bot_cpu_percent": round(100 * (self.bot.cpu_seconds() - self.bot_start) / elapsed, 1),
            "emulator_cpu_percent": round(100 * (self._mine() - self.me_start) / elapsed, 1),
            "cpu_steal_percent": round(100 * stolen / total, 1) if total > 0 else 0.0,
        }


def _all_cpu_time(times: Any) -> float:
    """All CPU time the machine counted (Linux counts a guest's time in user time too)."""
    return sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


async def wait_until_idle(emulator: Emulator, bot: BotProcess, *, within: float = 180.0) -> float:
    """Wait until the bot has taken every update and gone quiet (under 5 % of a core
    for half a second); returns the seconds waited. After an overload (the open
    loop), the bot works through its backlog for a while: the next measurement
    must not share the CPU with it."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        cpu = bot.cpu_seconds()
        await asyncio.sleep(0.5)
        if not emulator.state.updates and bot.cpu_seconds() - cpu < 0.025:
            break
    return time.monotonic() - started


# --- Deliveries ---------------------------------------------------------------------------


@dataclass
class Deliveries:
    """What reached a range of recipients, from the emulator's record of successful sends."""

    times: list[float]  # monotonic, one per message received
    copies: dict[int, int]  # chat id -> messages received
    expected: int

    @property
    def lost(self) -> int:
        return self.expected - len(self.copies)

    @property
    def duplicates(self) -> int:
        return sum(1 for n in self.copies.values() if n > 1)

    @property
    def count(self) -> int:
        return len(self.times)


def _tally(found: Deliveries, emulator: Emulator, first_tg_id: int, start: int) -> int:
    """Add the sends from the `start`-th on to `found`; returns where it stopped."""
    sends = emulator.flood_control.send_times
    end, last = len(sends), first_tg_id + found.expected
    for t, chat_id in itertools.islice(sends, start, end):
        if first_tg_id <= chat_id < last:
            found.times.append(t)
            found.copies[chat_id] = found.copies.get(chat_id, 0) + 1
    return end


async def wait_for_deliveries(
    emulator: Emulator, first_tg_id: int, count: int, *, since: int = 0, stall: float = 30.0,
    settle: float = 1.0,
) -> Deliveries:
    """Wait until every recipient has a message (or nothing arrives for `stall`
    seconds), then `settle` seconds more so that late duplicates are counted.

    Counts only the sends new since the last look: this process plays Telegram,
    and re-reading 100,000 sends ten times a second kept it from answering."""
    found = Deliveries([], {}, count)
    seen, last_count, last_change = since, -1, time.monotonic()
    while True:
        seen = _tally(found, emulator, first_tg_id, seen)
        if len(found.copies) >= count:
            break
        if found.count != last_count:
            last_count, last_change = found.count, time.monotonic()
        elif time.monotonic() - last_change > stall:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(settle)
    _tally(found, emulator, first_tg_id, seen)
    return found


class WriteProbe:
    """Bytes the database wrote: the bot's file writes on SQLite (the database, its
    write-ahead log, a little log text), the WAL's growth on PostgreSQL."""

    def __init__(self, bot: BotProcess, db_url: str) -> None:
        self.bot = bot
        self.db_url = db_url
        self.postgres = db_url.startswith("postgresql")
        self._start: Any = None

    @property
    def source(self) -> str:
        return "postgresql WAL bytes" if self.postgres else "bot process write() bytes"

    async def _pg(self, sql: str, *args: Any) -> Any:
        import asyncpg

        url = make_url(self.db_url).set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            return await connection.fetchval(sql, *args)
        finally:
            await connection.close()

    async def begin(self) -> None:
        if self.postgres:
            self._start = await self._pg("SELECT pg_current_wal_lsn()::text")
        else:
            self._start = self.bot.write_bytes()

    async def written(self) -> int:
        if self.postgres:
            # Passed as text: asyncpg would want an integer for a pg_lsn parameter.
            return int(await self._pg(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)", self._start))
        return self.bot.write_bytes() - int(self._start)


def flood_limits(rate: float) -> Any:
    """Telegram's limits as the emulator enforces them: `rate` a second overall (free and
    paid alike), bursts of rate/20, and one message a second to a chat."""
    from emulator import FloodLimits

    burst = max(1, int(rate / 20))
    return FloodLimits(per_chat_per_second=1.0, per_chat_burst=3, global_per_second=rate,
                       global_burst=burst, paid_per_second=rate, paid_burst=burst)


def sender_env(rate: float) -> dict[str, str]:
    """The bot's outbox at `rate` a second: paid broadcasts above Telegram's free 30/s."""
    shown = f"{min(rate, 1000.0):g}"
    if rate > 30:
        return {"OUTBOX_PAID_RATE": shown, "OUTBOX_RATE": shown}
    return {"OUTBOX_RATE": shown}
