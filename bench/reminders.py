"""3. reminders: 10,000 reminders falling due within the same minute.

The rows are queued ahead of time (as the course and volunteer services queue their
reminders), spread evenly over one minute, and the bot's outbox finds them on its own
(its tick, every OUTBOX_TICK_SECONDS). Lateness is measured against each row's
not_before:

- to claim: the outbox does not record when a row was claimed (its lease is cleared
  when it is settled), so the benchmark adds a trigger to its scratch database that
  notes the time of every pending → sending change (SQLite julianday('now'),
  PostgreSQL clock_timestamp()): the exact claim time, at the cost of one small insert
  per claimed row in the claim's transaction;
- to delivery: when the emulator received the sendMessage.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.common import BotProcess, CpuMeter, percentile, rounded, wait_for_deliveries
from emulator import Emulator
from models.db import begin_write, create_engine, create_sessionmaker
from models.outbox import OutboxKind
from services import outbox
from services.clock import SystemClock

LEAD = 3.0  # seconds between queueing and the first due time

SQLITE_TRIGGER = [
    "CREATE TABLE bench_claims (id INTEGER NOT NULL, claimed REAL NOT NULL)",
    """CREATE TRIGGER bench_claim AFTER UPDATE OF status ON outbox
       WHEN NEW.status = 'sending' AND OLD.status = 'pending'
       BEGIN INSERT INTO bench_claims VALUES (NEW.id,
             (julianday('now') - 2440587.5) * 86400.0); END""",
]
POSTGRES_TRIGGER = [
    "CREATE TABLE bench_claims (id BIGINT NOT NULL, claimed DOUBLE PRECISION NOT NULL)",
    """CREATE FUNCTION bench_claim() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO bench_claims VALUES (NEW.id, extract(epoch FROM clock_timestamp()));
       RETURN NEW; END $$""",
    """CREATE TRIGGER bench_claim AFTER UPDATE OF status ON outbox FOR EACH ROW
       WHEN (NEW.status = 'sending' AND OLD.status = 'pending') EXECUTE FUNCTION bench_claim()""",
]


def lateness(values: list[float]) -> dict[str, float | None]:
    return {"p50_s": rounded(percentile(values, 50)), "p99_s": rounded(percentile(values, 99)),
            "max_s": rounded(max(values, default=None))}


async def install_trigger(db_url: str) -> None:
    """Record claim times in the scratch database (see the module's docstring)."""
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            for statement in (POSTGRES_TRIGGER if db_url.startswith("postgresql")
                              else SQLITE_TRIGGER):
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def measure(
    emulator: Emulator, bot: BotProcess, *, db_url: str, first_tg_id: int, count: int,
    spread: float,
) -> dict[str, Any]:
    """Queue a reminder for each of `count` residents from `first_tg_id`, due evenly
    over `spread` seconds starting LEAD seconds from now; wait for them all."""
    engine = create_engine(db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        first_due = datetime.now(UTC) + timedelta(seconds=LEAD)
        async with sessionmaker() as session:
            users = (await session.execute(text(
                "SELECT id, tg_id FROM users WHERE tg_id >= :f AND tg_id < :l ORDER BY tg_id"),
                {"f": first_tg_id, "l": first_tg_id + count})).all()
            due = {user_id: first_due + timedelta(seconds=spread * n / count)
                   for n, (user_id, _tg) in enumerate(users)}
            # A write, not the read's snapshot upgraded: on SQLite that fails at once
            # ("database is locked") if the running bot committed in between.
            await begin_write(session)
            await outbox.queue_many(session, clock=SystemClock(), rows=(
                outbox.Outgoing(user_id=user_id, kind=OutboxKind.REMINDER,
                                text="⏰ Reminder: the session starts in one hour.",
                                not_before=when, dedupe_key=f"bench:reminder:{user_id}")
                for user_id, when in due.items()))
            await session.commit()
        sends_before = len(emulator.flood_control.send_times)
        meter = CpuMeter(bot)
        got = await wait_for_deliveries(emulator, first_tg_id, count, since=sends_before)
        cpu = meter.percent()
        async with sessionmaker() as session:
            claims = (await session.execute(text(
                "SELECT o.user_id, min(c.claimed) FROM outbox o JOIN bench_claims c "
                "ON c.id = o.id WHERE o.kind = 'reminder' GROUP BY o.id, o.user_id"))).all()
    finally:
        await engine.dispose()
    # The emulator's clock is monotonic; due times and claim times are wall-clock.
    offset = time.time() - time.monotonic()
    claim_late = [claimed - due[user_id].timestamp() for user_id, claimed in claims]
    due_by_chat = {tg_id: due[user_id].timestamp() for user_id, tg_id in users}
    first_sends: dict[int, float] = {}
    for t, chat_id in emulator.flood_control.send_times[sends_before:]:
        if chat_id in due_by_chat and chat_id not in first_sends:
            first_sends[chat_id] = t + offset
    delivery_late = [t - due_by_chat[chat_id] for chat_id, t in first_sends.items()]
    claim = lateness(claim_late)
    delivery = lateness(delivery_late)
    return {
        "bench": "reminders",
        "reminders": count,
        "due_within_seconds": spread,
        "claim_lateness_p50_s": claim["p50_s"],
        "claim_lateness_p99_s": claim["p99_s"],
        "claim_lateness_max_s": claim["max_s"],
        "claim_measured_by": "trigger on outbox status pending->sending (exact claim time)",
        "delivery_lateness_p50_s": delivery["p50_s"],
        "delivery_lateness_p99_s": delivery["p99_s"],
        "delivery_lateness_max_s": delivery["max_s"],
        "claimed_early": sum(1 for late in claim_late if late < 0),
        "lost": got.lost,
        "duplicates": got.duplicates,
        **cpu,
    }
