"""End to end, the real bot process (issue 16): a district admin with 30 communities finds
one by typing part of its name and opens its members and figures; a staff member chooses
a digest time in ⚙️ Settings and, when the bot's clock gets there, the digest arrives with
the right lines, each opening the thing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator import Emulator
from models.communities import Community, Grid
from models.courses import Category, Lesson
from models.db import create_engine, create_sessionmaker, migrate
from models.users import Role, RoleGrant, User
from models.voices import Report, ReportCategory
from tests.e2e.conftest import ADMIN_TG_ID
from tests.e2e.steps import TIMEOUT, showing_log, step, stop_cleanly

pytestmark = pytest.mark.e2e
STAFF_TG_ID = 5001


def zone_at(hour: int) -> str:
    """An Etc/GMT zone where the hour of day is now `hour`."""
    hours = (hour - datetime.now(UTC).hour) % 24
    if hours > 14:
        hours -= 24
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"


async def seed(db_url: str, *, communities: int, zone: str) -> list[int]:
    """社区1…社区N, each with a grid; Wang is staff of the last one, with a resident who
    raised a report 4 days ago and a session tomorrow with free seats there."""
    engine = create_engine(db_url)
    await migrate(engine)
    now = datetime.now(UTC)
    async with create_sessionmaker(engine)() as session:
        made = [Community(name=f"社区{n}", timezone=zone, created_at=now)
                for n in range(1, communities + 1)]
        session.add_all(made)
        await session.flush()
        session.add_all(Grid(community_id=c.id or 0, name="第一网格", created_at=now)
                        for c in made)
        last = made[-1]
        wang = User(tg_id=STAFF_TG_ID, first_name="Wang", locale="en", community_id=last.id,
                    consented_at=now, created_at=now)
        ann = User(tg_id=STAFF_TG_ID + 1, first_name="Ann", locale="en", community_id=last.id,
                   consented_at=now, created_at=now)
        session.add_all([wang, ann])
        await session.flush()
        session.add(RoleGrant(user_id=wang.id or 0, role=Role.STAFF, community_id=last.id,
                              created_at=now))
        session.add(Report(community_id=last.id or 0, author_id=ann.id or 0,
                           category=ReportCategory.SAFETY, description="The lamp is out",
                           created_at=now - timedelta(days=4),
                           updated_at=now - timedelta(days=4)))
        session.add(Lesson(community_id=last.id or 0, title="Tai chi",
                           category=Category.SPORTS, starts_at=now + timedelta(days=1, hours=3),
                           venue="Hall", capacity=10, checkin_token="e2e", created_at=now))
        await session.commit()
        ids = [c.id or 0 for c in made]
    await engine.dispose()
    return ids


async def test_an_admin_with_30_communities_finds_one_and_opens_its_members_and_figures(
    emulator: Emulator, start_bot: Callable[..., Any], bot_db_url: str
) -> None:
    await seed(bot_db_url, communities=30, zone="Asia/Shanghai")
    bot = await start_bot(FLOOD_RATE="100")
    async with showing_log(bot):
        admin = emulator.user(ADMIN_TG_ID, "Director", language_code="en")
        await step(admin, admin.send("/start"), "Privacy notice")
        await step(admin, admin.press_text("✅ I agree"), "Which community")
        await step(admin, admin.press_text("Choose later"), "choose your community later")
        await step(admin, admin.press_reply("🛠 Manage community"), "Choose a community")
        await step(admin, admin.press_text("🔎 Find a community"), "You serve 30 communities")
        found = await step(admin, admin.send("社区3"), "communities match “社区3”")
        assert "2 communities match" in found  # 社区3 and 社区30
        message = admin.last_bot_message
        assert message is not None and message.button_labels[:2] == ["社区3", "社区30"]
        await step(admin, admin.press_text("社区30"), "Grids: 第一网格")
        members = await step(admin, admin.press_text("👥 Members"), "members")
        assert members == "社区30 · members\n\nStaff\n• Wang, since Today"
        await step(admin, admin.press_text("◀ Back"), "Grids: 第一网格")
        figures = await step(admin, admin.press_text("📊 Figures"), "📢 Announcements sent")
        assert figures.startswith("📊 社区30 · figures\n\n👥 Residents: 2")
        assert "💬 Reports: 1" in figures
        assert any(m.photo for m in admin.bot_messages)
        await step(admin, admin.press_text("📥 Excel"), "The figures, with a summary sheet")
    await stop_cleanly(bot, emulator)


async def test_the_daily_digest_arrives_with_the_right_lines(
    emulator: Emulator, start_bot: Callable[..., Any], bot_db_url: str
) -> None:
    """It is 7 o'clock in the community; Wang asks for the digest at 8:00; an hour on the
    bot's clock later it comes, and its first line opens the report."""
    await seed(bot_db_url, communities=1, zone=zone_at(7))
    bot = await start_bot(DEV_CLOCK="true", SWEEP_SECONDS="1", FLOOD_RATE="100")
    async with showing_log(bot):
        wang = emulator.user(STAFF_TG_ID, "Wang", language_code="en")
        await step(wang, wang.send("/menu"), "Main menu")
        await step(wang, wang.press_reply("⚙️ Settings"), "Settings")
        await step(wang, wang.press_text("📬 Daily digest"), "Now: off.")
        await step(wang, wang.press_text("8:00 am"), "Now: every day at 8:00 am.")
        await step(wang, wang.send("/clock +1h"), "")
        digest = (await wang.wait_for("📬 Daily digest · 社区1", timeout=TIMEOUT)).content
        assert digest.splitlines()[1:] == [
            "1. 🗂 Report #1 (🚨 Safety): untouched for 4 days",
            digest.splitlines()[2],
        ] and digest.splitlines()[2].startswith("2. 🪑 “Tai chi”, Tomorrow, ")
        assert digest.endswith(": 10 of 10 seats free")
        await step(wang, wang.press_text("1. 🗂 Report #1 (🚨 Safety): untouched for 4 da…"),
                   "The lamp is out")
    await stop_cleanly(bot, emulator)
