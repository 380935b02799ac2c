"""End to end: a broadcast that meets a PostgreSQL outage, and one whose bot is killed with -9.

The bot is the real `python -m bot` process; the emulator, owned by the test,
counts what each recipient received. The PostgreSQL cluster is the test's own
(a throwaway one started here, not TEST_POSTGRES_URL's), so the test may stop it;
without PostgreSQL's server programs the PostgreSQL cases skip.

What they hold the outbox to (see the at-least-once note in services/outbox.py):
- an outage of the database loses nothing and sends nothing twice;
- a kill -9 loses nothing, and sends again only messages Telegram had taken
  whose outcome was not yet written: the sends in flight at the moment of the
  kill, never more than one second's worth of sends (`SendLimits.in_flight`).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlmodel import col

from emulator import Emulator
from models.communities import Community
from models.db import create_engine, create_sessionmaker
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.users import User
from scheduler.outbox import SendLimits
from services import broadcasts
from services.access import Access
from services.broadcasts import Audience
from services.clock import SystemClock
from tests.e2e.test_broadcasts import TEXT, copies, seed, wait_until

pytestmark = pytest.mark.e2e


# --- A PostgreSQL cluster the test may stop --------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A throwaway PostgreSQL server on 127.0.0.1: started, stopped and started again."""

    bin: Path
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.root / "data"), "-U", "postgres", "-A", "trust",
                  "--no-sync")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "log"), "-w",
                  "-o", f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c max_connections=100", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop")

    async def fresh_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        return self.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="clr-pg-outage."))
    if os.geteuid() == 0:
        try:
            postgres = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root and there is no postgres user to run the server")
        os.chown(root, postgres.pw_uid, postgres.pw_gid)
    server = Cluster(pg_bin, root, _free_port())
    server.init()
    server.start()
    yield server
    with contextlib.suppress(subprocess.SubprocessError):
        server.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)


# --- The broadcast and what arrived ---------------------------------------------------------


async def broadcast_to_everyone(db_url: str) -> None:
    engine = create_engine(db_url)
    async with create_sessionmaker(engine)() as session:
        community_id = (await session.execute(select(col(Community.id)))).scalar_one()
        await broadcasts.create_broadcast(session, access=Access(user_id=1, is_admin=True),
                                          clock=SystemClock(), community_id=community_id,
                                          text=TEXT, audience=Audience("all"))
    await engine.dispose()


async def rows_by_status(db_url: str) -> dict[OutboxStatus, set[int]]:
    """The broadcast's recipients (Telegram ids) by the status of their row."""
    engine = create_engine(db_url)
    async with create_sessionmaker(engine)() as session:
        found = (await session.execute(
            select(col(OutboxMessage.status), col(User.tg_id))
            .join(User, col(User.id) == col(OutboxMessage.user_id))
            .where(col(OutboxMessage.kind) == OutboxKind.ANNOUNCEMENT))).all()
    await engine.dispose()
    statuses: dict[OutboxStatus, set[int]] = {status: set() for status in OutboxStatus}
    for status, tg_id in found:
        assert tg_id is not None
        statuses[OutboxStatus(status)].add(tg_id)
    return statuses


def received(emulator: Emulator, people: list[int]) -> Counter[int]:
    return Counter({p: copies(emulator, p) for p in people})


async def until_all_sent(emulator: Emulator, db_url: str, people: list[int],
                         within: float) -> None:
    """Until everyone has a copy and every row is marked sent: then nothing can go out
    again (only pending and sending rows are ever claimed)."""
    await wait_until(lambda: all(copies(emulator, p) >= 1 for p in people), within,
                     "delivery to everyone")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while len((await rows_by_status(db_url))[OutboxStatus.SENT]) < len(people):
        assert loop.time() < deadline, "rows still unsent in the database"
        await asyncio.sleep(0.2)


# --- PostgreSQL stops mid-broadcast ---------------------------------------------------------


async def test_a_broadcast_loses_and_repeats_nothing_when_postgresql_stops_twice(
    emulator: Emulator, start_bot: Callable[..., Any], cluster: Cluster
) -> None:
    """1,500 recipients at 100 a second; at 300 and at 900 deliveries the server stops
    (`-m fast`, then `-m immediate`) for 10 s, longer than the 5 s lease."""
    db_url = await cluster.fresh_database()
    people = await seed(db_url, emulator, 1500, blocked=0)
    await broadcast_to_everyone(db_url)
    bot = await start_bot(DATABASE_URL=db_url, OUTBOX_RATE="100", OUTBOX_LEASE_SECONDS="5")

    def delivered() -> int:
        return sum(received(emulator, people).values())

    outages = []
    for at, mode in ((300, "fast"), (900, "immediate")):
        await wait_until(lambda at=at: delivered() >= at, 60, f"{at} deliveries")  # type: ignore[misc]
        await asyncio.to_thread(cluster.stop, mode)
        stopped_at = delivered()
        await asyncio.sleep(10)
        during = delivered() - stopped_at  # rows already claimed go on being sent
        await asyncio.to_thread(cluster.start)
        outages.append((mode, stopped_at, during))
    assert outages[-1][1] < 1500, "the broadcast ended before the second outage"

    await until_all_sent(emulator, db_url, people, within=90)
    counts = received(emulator, people)
    twice = sorted(p for p, n in counts.items() if n > 1)
    print(f"outages (mode, deliveries when stopped, deliveries during): {outages}; "
          f"{len(twice)} people got two copies")
    assert bot.process.returncode is None, bot.output[-3000:]
    assert twice == [], f"{len(twice)} duplicates; log:\n{bot.output[-3000:]}"
    assert min(counts.values()) == 1


# --- kill -9 mid-broadcast ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def kill_db_url(request: pytest.FixtureRequest, bot_db_url: str) -> str:
    if request.param == "sqlite":
        return bot_db_url
    server: Cluster = request.getfixturevalue("cluster")
    return await server.fresh_database()


RATE = 200.0


async def test_a_kill_9_repeats_only_the_sends_in_flight(
    emulator: Emulator, start_bot: Callable[..., Any], kill_db_url: str
) -> None:
    """1,000 recipients at 200 a second; the bot dies with SIGKILL after 300 deliveries.

    Who got a copy before the kill, against what the database says, measures the
    window: a delivered row still "sending" was sent but its outcome not written.
    Only those get a second copy, after the restart; every row written as sent, or
    never sent, arrives exactly once.
    """
    db_url = kill_db_url
    people = await seed(db_url, emulator, 1000, blocked=0)
    await broadcast_to_everyone(db_url)
    env = {"DATABASE_URL": db_url, "OUTBOX_RATE": str(RATE), "OUTBOX_LEASE_SECONDS": "5"}
    bot = await start_bot(**env)
    await wait_until(lambda: sum(received(emulator, people).values()) >= 300, 60,
                     "300 deliveries")
    bot.kill()
    await bot.process.wait()
    await asyncio.sleep(0.5)  # requests that reached the emulator before the kill are answered
    before = received(emulator, people)
    got = {p for p, n in before.items() if n}
    rows = await rows_by_status(db_url)
    sending, sent = rows[OutboxStatus.SENDING], rows[OutboxStatus.SENT]
    window = got & sending  # Telegram took them; the database never heard
    assert sent <= got, "a row marked sent never arrived"
    assert got <= sent | sending, "a message arrived for a row never claimed"
    assert 300 <= len(got) < 1000

    again = await start_bot(**env)
    await until_all_sent(emulator, db_url, people, within=120)
    counts = received(emulator, people)
    twice = {p for p, n in counts.items() if n > 1}
    print(f"{kill_db_url.split(':')[0]}: killed after {len(got)} deliveries; "
          f"{len(sending)} rows claimed, {len(window)} of them delivered but not written "
          f"down; {len(twice)} people got two copies")
    assert min(counts.values()) == 1, "someone got nothing"
    assert max(counts.values()) <= 2
    assert twice <= window, "a copy went out twice though its outcome was written down"
    # The documented bound: at most the requests in flight, one second's worth of sends.
    assert len(window) <= SendLimits(rate=RATE).in_flight
    assert await again.stop() == 0
