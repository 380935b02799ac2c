"""2. broadcast: a staff member announces to 10,000 and to 100,000 residents.

The emulator enforces a global limit L (free and paid budgets alike) and one message a
second per chat; the bot's outbox sends paid broadcasts at L. The announcement is made
through the chat, as staff make it (📢 → community → text → 👥 Everyone → 📤 → ✅), so
the queueing happens in the bot process and wakes its sender at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from bench.common import (
    ADMIN_TG_ID,
    BotProcess,
    CpuMeter,
    WriteProbe,
    flood_limits,
    max_in_window,
    rounded,
    sender_env,
    wait_for_deliveries,
)
from emulator import Emulator, UserHandle
from models.db import create_engine

TEXT = "Water is off tomorrow from 9 to 12."
TIMEOUT = 60.0


async def onboard_admin(emulator: Emulator) -> UserHandle:
    admin = emulator.user(ADMIN_TG_ID, "Director", language_code="en")
    await admin.send("/start")
    await admin.wait_for("Privacy notice", timeout=TIMEOUT)
    await admin.press_text("✅ I agree")
    await admin.wait_for("Which community", timeout=TIMEOUT)
    await admin.press_text("Choose later")
    await admin.wait_for("choose your community later", timeout=TIMEOUT)
    return admin


async def announce(
    emulator: Emulator, admin: UserHandle, community: str, count: int
) -> tuple[float, float]:
    """Make the announcement through the chat; returns when ✅ Confirm was pressed
    (emulator clock) and the seconds from then to the progress screen (the broadcast
    is queued by then)."""
    await admin.press_reply("📢 Announcements")
    await admin.wait_for("📢 Announcements", timeout=TIMEOUT)
    await admin.press_text("✏️ New announcement")
    picker = await admin.wait_for("Which community?", timeout=TIMEOUT)
    # The shared picker marks the community chosen last time with ⭐ (and lists it first).
    starred = f"⭐ {community}"
    await admin.press_text(starred if starred in picker.button_labels else community)
    await admin.wait_for("Write the announcement", timeout=TIMEOUT)
    await admin.send(TEXT)
    await admin.wait_for("Who should receive it?", timeout=TIMEOUT)
    await admin.press_text("👥 Everyone")
    # Every card names its community: "It will reach Riverside · 20 people."
    await admin.wait_for(f"It will reach {community} · {count} people.", timeout=TIMEOUT)
    await admin.press_text("📤 Send now")
    await admin.wait_for(f"Send it to {community} · {count} people now?", timeout=TIMEOUT)
    mark = len(emulator.requests)
    pressed = emulator.clock()
    await admin.press_text("✅ Confirm")
    await admin.wait_for(lambda m: "✅ Confirm" not in m.button_labels, timeout=600)
    shown = next(r.time for r in emulator.requests[mark:]
                 if r.chat_id == ADMIN_TG_ID and r.method.startswith(("edit", "send")))
    return pressed, shown - pressed


async def outbox_rows(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one())
    finally:
        await engine.dispose()


async def measure(
    emulator: Emulator, bot: BotProcess, admin: UserHandle, *, db_url: str, community: str,
    first_tg_id: int, count: int, limit: float,
) -> dict[str, Any]:
    """Announce to `community` (`count` residents from `first_tg_id`) and wait for it."""
    rows_before = await outbox_rows(db_url)
    probe = WriteProbe(bot, db_url)
    await probe.begin()
    meter = CpuMeter(bot)
    requests_before = len(emulator.requests)
    sends_before = len(emulator.flood_control.send_times)
    started, queue_seconds = await announce(emulator, admin, community, count)
    got = await wait_for_deliveries(emulator, first_tg_id, count, since=sends_before)
    written = await probe.written()
    rows = await outbox_rows(db_url) - rows_before
    span = max(got.times) - min(got.times) if got.count > 1 else 0.0
    rate = (got.count - 1) / span if span > 0 else None
    last = first_tg_id + count
    return {
        "bench": "broadcast",
        "recipients": count,
        "queue_seconds": rounded(queue_seconds),
        "send_seconds": rounded(span, 2),
        "end_to_end_seconds": rounded(max(got.times, default=started) - started, 2),
        "limit_per_second": limit,
        "achieved_per_second": rounded(rate, 1),
        "rate_ratio": rounded(rate / limit if rate else None),
        "max_per_second": max_in_window(got.times),
        "too_many_requests": sum(1 for r in emulator.requests[requests_before:]
                                 if r.status == 429 and isinstance(r.chat_id, int)
                                 and first_tg_id <= r.chat_id < last),
        "lost": got.lost,
        "duplicates": got.duplicates,
        "outbox_rows_per_recipient": rounded(rows / count),
        "db_bytes_per_recipient": rounded(written / count, 1),
        "db_bytes_source": probe.source,
        **meter.percent(),
    }


def flood_setup(limit: float) -> dict[str, Any]:
    return {"flood": {"global_per_second": limit, "burst": flood_limits(limit).global_burst,
                      "per_chat_per_second": 1.0}, **sender_env(limit), "outbox_batch_size": 100}
