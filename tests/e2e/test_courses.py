"""End to end, the real bot process: a resident orders a course, five neighbours back it,
a teacher takes and schedules it, residents enrol, a reminder's "can't come" promotes the
waiting list, the promoted resident checks in by the QR code's link and rates the session.

Time moves with the dev-only /clock command. The district's time zone is chosen so that
it is late morning there when the test starts: every message then falls outside the
residents' quiet hours (21:00–08:00), whenever the test runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator import Emulator
from tests.e2e.conftest import ADMIN_TG_ID
from tests.e2e.steps import INVITE_LINK, TIMEOUT, join, showing_log, step, stop_cleanly

pytestmark = pytest.mark.e2e
CHECK_IN = re.compile(r"start=(ci_[\w-]+)")
TOPIC = "Smartphone photos"


def late_morning_zone() -> str:
    """An Etc/GMT zone where it is now between 11:00 and 12:00."""
    hours = (11 - datetime.now(UTC).hour) % 24
    if hours > 14:
        hours -= 24
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"


async def test_the_course_loop_from_order_to_rating(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    bot = await start_bot(DEV_CLOCK="true", SWEEP_SECONDS="1", FLOOD_RATE="100",
                          TIMEZONE=late_morning_zone())
    async with showing_log(bot):
        admin = emulator.user(ADMIN_TG_ID, "Director", language_code="en")
        await step(admin, admin.send("/start"), "Privacy notice")
        await step(admin, admin.press_text("✅ I agree"), "No communities")
        await step(admin, admin.press_reply("🛠 Manage community"), "There are no communities")
        await step(admin, admin.press_text("➕ New community"), "new community's name")
        await step(admin, admin.send("Sunny Court"), "Community created")
        invite = await step(admin, admin.press_text("👩‍🏫 Invite a teacher"), "Invite link")
        token = INVITE_LINK.search(invite).group(1)  # type: ignore[union-attr]

        teacher = emulator.user(4000, "Teacher Sun", language_code="en")
        await step(teacher, teacher.send(f"/start {token}"), "Privacy notice")
        await step(teacher, teacher.press_text("✅ I agree"), "You are now a teacher")
        await step(teacher, teacher.press_reply("📚 Courses"), "What would you like to do")
        await step(teacher, teacher.press_text("🏷 What I teach"), "Which categories")
        await step(teacher, teacher.press_text("🔧 Practical skills"), "Which categories")

        # Ann orders; five neighbours back her order; the teacher is pinged.
        ann = emulator.user(4001, "Ann", language_code="en")
        await join(ann, "Sunny Court")
        await step(ann, ann.press_reply("📚 Courses"), "What would you like to do")
        await step(ann, ann.press_text("🙋 Order a course"), "What would you like to learn")
        await step(ann, ann.send(TOPIC), "Which kind of course")
        await step(ann, ann.press_text("🔧 Practical skills"), "When would suit you")
        await step(ann, ann.press_text("🗓 Choose days and times"), "Which days")
        await step(ann, ann.press_text("Any day is fine"), "What time of day")
        await step(ann, ann.press_text("Afternoon"), "How many people")
        await step(ann, ann.press_text("about 10"), "Your order is in")
        backers = []
        for n in range(5):
            backer = emulator.user(4100 + n, f"Neighbour {n}", language_code="en")
            await join(backer, "Sunny Court")
            await step(backer, backer.press_reply("📚 Courses"), "What would you like to do")
            await step(backer, backer.press_text("👥 Neighbours' orders"), "Tap one to back it")
            await step(backer, backer.press_text(f"{TOPIC} · 👍 {n}"), TOPIC)
            backs = "1 neighbour backs" if n == 0 else f"{n + 1} neighbours back"
            await step(backer, backer.press_text("👍 Me too!"), backs)
            backers.append(backer)
        await teacher.wait_for(f"6 neighbours want the course “{TOPIC}”", timeout=TIMEOUT)

        # The teacher takes it and schedules it for tomorrow 16:00, two seats.
        await step(teacher, teacher.press_text("👀 See the order"), "Backed by 5 neighbours")
        await step(teacher, teacher.press_text("✋ I'll teach it"), "It's yours")
        await step(teacher, teacher.press_text("🗓 Schedule a session"), "Which day")
        await step(teacher, teacher.press_text("Tomorrow"), "What time does it start")
        await step(teacher, teacher.press_text("4:00 pm"), "How long")
        await step(teacher, teacher.press_text("60 min"), "Where is it")
        await step(teacher, teacher.send("Living room, 2nd floor"), "How many seats")
        await step(teacher, teacher.send("2"), "Please check")
        await step(teacher, teacher.press_text("✅ Yes, that's right"), "Scheduled ✅")

        # Everyone who ordered or backed it hears, with an Enrol button.
        first, waiting = backers[0], backers[1]
        for person in (ann, first, waiting):
            await person.wait_for("The course you asked for is on", timeout=TIMEOUT)
        await step(ann, ann.press_text("✍️ Enrol"), "You are enrolled")
        await step(first, first.press_text("✍️ Enrol"), "You are enrolled")
        await step(waiting, waiting.press_text("✍️ Enrol"), "the last seat was just taken")
        await step(waiting, waiting.press_text("🕒 Join the waiting list"), "waiting list")

        # 24 hours before: Ann can't come; the first on the waiting list is offered her seat.
        await step(admin, admin.send("/clock +5h"), "The bot's time is now")
        await ann.wait_for("⏰ Reminder", timeout=TIMEOUT)
        await step(ann, ann.press_text("❌ I can't come"), "Can't come to")
        await step(ann, ann.press_text("Yes, I can't come"), "Your place is cancelled")
        await waiting.wait_for("A seat has come free", timeout=TIMEOUT)
        await step(waiting, waiting.press_text("✅ Yes, I'll take the seat"), "The seat is yours")

        # The teacher shows the check-in QR code; the promoted resident scans it in time.
        await step(teacher, teacher.press_reply("📚 Courses"), "What would you like to do")
        await step(teacher, teacher.press_text("🧑‍🏫 My teaching"), "My teaching")
        labels = [label for m in teacher.bot_messages for label in m.button_labels
                  if label.endswith(TOPIC)]
        await step(teacher, teacher.press_text(labels[-1]), "Enrolled: 2")
        qr = await step(teacher, teacher.press_text("📷 Check-in QR code"), "Check-in for")
        assert teacher.bot_messages[-1].photo
        payload = CHECK_IN.search(qr).group(1)  # type: ignore[union-attr]
        await step(admin, admin.send("/clock +23h"), "The bot's time is now")
        await step(waiting, waiting.send(f"/start {payload}"), "✅ Checked in")

        # After the session: asked to rate; the teacher sees it.
        await step(admin, admin.send("/clock +3h"), "The bot's time is now")
        await waiting.wait_for("Please give it 1 to 5 stars", timeout=TIMEOUT)
        await step(waiting, waiting.press_text("5⭐"), "add a few words")
        await step(waiting, waiting.send("Very clear, thank you!"), "the teacher will read it")
        await step(teacher, teacher.press_text("⭐ Ratings"),
                   "⭐ 5.0 from 1 rating\n⭐⭐⭐⭐⭐ Very clear, thank you!")
    await stop_cleanly(bot, emulator)
