"""Issue 16: a history of sent broadcasts, who did not receive one (by name, so staff can
phone them), its delivery list in Excel, and editing a scheduled one until it starts."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callback_data.broadcasts import BroadcastEditCb, BroadcastEditWhat, BroadcastShowCb
from bot.config import Settings
from models.audit import AuditEntry
from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community
from models.db import begin_write
from models.users import Role, User
from scheduler.broadcasts import broadcast_progress
from scheduler.outbox import OutboxSender
from services.clock import ManualClock
from tests.factories import grant, make_community, make_user
from tests.handlers.conftest import Harness, Person, rows
from tests.scheduler.conftest import FAST, settled, wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def sender(harness: Harness, sessionmaker: async_sessionmaker[AsyncSession],
                 clock: ManualClock, settings: Settings) -> AsyncIterator[OutboxSender]:
    sender = OutboxSender(bot=harness.bot, sessionmaker=sessionmaker, clock=clock, limits=FAST,
                          default_locale=settings.default_locale, default_tz=settings.timezone)
    await sender.start()
    harness.dp.workflow_data["outbox_notify"] = sender.kick
    yield sender
    await sender.stop()


async def staff_of(harness: Harness, session: AsyncSession, clock: ManualClock,
                   community: Community, language: str = "en") -> Person:
    staff = harness.person(4000, "Liu", language)
    await staff.send("/start")
    await staff.press("✅ I agree" if language == "en" else "✅ 我同意")
    await staff.press(community.name)
    last = staff.handle.last_bot_message
    if last and ("Not sure" in last.button_labels or "不确定" in last.button_labels):
        await staff.press("Not sure" if language == "en" else "不确定")
    [user] = await rows(session, User, User.tg_id == 4000)
    await grant(session, clock, user, Role.STAFF, community)
    await staff.send("/menu")
    return staff


async def residents(harness: Harness, session: AsyncSession, clock: ManualClock,
                    community: Community) -> tuple[Person, Person]:
    """王奶奶 receives; Grandpa Li blocked the bot; Bo never opened a chat (the send fails)."""
    wang = harness.person(6601, "王奶奶", "zh")
    wang.handle.open_chat()
    await make_user(session, clock, tg_id=6601, name="王奶奶", community=community, locale="zh")
    li = harness.person(6602, "Grandpa Li")
    li.handle.open_chat()
    li.handle.block()
    await make_user(session, clock, tg_id=6602, name="Grandpa Li", community=community)
    await make_user(session, clock, tg_id=6603, name="Bo", community=community)
    return wang, li


async def announce(staff: Person, text: str, sessionmaker: async_sessionmaker[AsyncSession],
                   harness: Harness, clock: ManualClock, settings: Settings,
                   now: tuple[str, str, str] = ("📢 Announcements", "✏️ New announcement",
                                                "👥 Everyone"),
                   go: tuple[str, str] = ("📤 Send now", "✅ Confirm")) -> None:
    menu, new, everyone = now
    await staff.tap(menu)
    await staff.press(new)
    await staff.send(text)
    await staff.press(everyone)
    for label in go:
        await staff.press(label)

    await wait_until(settled(sessionmaker))
    await broadcast_progress(bot=harness.bot, sessionmaker=sessionmaker, clock=clock,
                             settings=settings)  # the report: it is over


async def test_history_names_who_did_not_receive_it_and_exports_the_delivery_list(
    harness: Harness, session: AsyncSession, clock: ManualClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    wang, _li = await residents(harness, session, clock, sunny)
    staff = await staff_of(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("📜 Sent announcements")
    assert staff.last == "No announcement has gone out yet."

    await announce(staff, "Water off on Friday", sessionmaker, harness, clock, settings)
    await announce(staff, "Lift repaired", sessionmaker, harness, clock, settings)
    assert "Water off on Friday" in wang.texts and "Lift repaired" in wang.texts

    await staff.tap("📢 Announcements")
    await staff.press("📜 Sent announcements")
    listing = staff.last
    assert listing.startswith("📜 Sent announcements, newest first:")
    assert listing.index("#2 ·") < listing.index("#1 ·")  # newest first
    assert ("#1 · Today, 9:00 am · Sunny Court\n2 of 4 received it · blocked 1 · failed 1 · "
            "“Water off on Friday”") in listing
    await staff.press("#1")
    detail = staff.last
    assert detail.startswith("📢 Announcement #1 · Today, 9:00 am\nTo Sunny Court · 4 people\n"
                             "Sent 2 · blocked the bot 1 · failed 1 · muted or left 0")
    assert "2 people did not receive it:" in detail
    assert "• Grandpa Li — blocked the bot" in detail and "• Bo — failed" in detail
    assert "王奶奶" not in detail

    await staff.press("📥 Delivery list (Excel)")
    document = staff.handle.last_bot_message
    assert document is not None and document.document_name == "announcement-1.xlsx"
    book = load_workbook(io.BytesIO(harness.emulator.state.files[document.document or ""].data))
    assert book.sheetnames == ["Summary", "Delivery"]
    sheet = book["Delivery"]
    assert sheet["A1"].value == "Announcement #1 · Sunny Court: delivery list"
    assert sheet["A1"].font.bold
    assert [c.value for c in sheet[2]] == ["No.", "Name", "Username", "Grid", "Outcome",
                                           "Received at"]
    assert all(c.font.bold for c in sheet[2]) and sheet.freeze_panes == "A3"
    body = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    outcomes = {row[1]: row[4] for row in body}
    assert outcomes == {"王奶奶": "received", "Liu": "received", "Grandpa Li": "blocked the bot",
                        "Bo": "failed"}
    assert [row[4] for row in body][:2] == ["received", "received"]  # in the order sent
    assert sheet.column_dimensions["B"].width >= len("Grandpa Li")  # as wide as the names
    summary = {row[0]: (row[1], row[2]) for row in book["Summary"].iter_rows(
        min_row=3, values_only=True)}
    assert summary["received"] == (2, 0.5) and summary["Total"] == (4, 1)
    assert summary["blocked the bot"] == (1, 0.25)
    assert book["Summary"]["C3"].number_format == "0.0%" and book["Summary"].freeze_panes == "A3"
    assert any(e.action == "broadcast.export" for e in await rows(session, AuditEntry))


async def test_the_history_pages_newest_first_and_is_for_staff_of_the_community(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    river = await make_community(session, clock, "River Court")
    await begin_write(session)
    for i in range(10):
        session.add(Broadcast(community_id=sunny.id, text=f"Notice {i}", audience={"kind": "all"},
                              send_at=clock.now() - timedelta(days=10 - i),
                              finished_at=clock.now() - timedelta(days=10 - i),
                              status=BroadcastStatus.DONE, total=3, created_at=clock.now()))
    theirs = Broadcast(community_id=river.id, text="River only", audience={"kind": "all"},
                       send_at=clock.now(), finished_at=clock.now(),
                       status=BroadcastStatus.DONE, total=3, created_at=clock.now())
    session.add(theirs)
    await session.commit()
    staff = await staff_of(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("📜 Sent announcements")
    first = staff.last
    assert first.index("#10 ·") < first.index("#9 ·") and "#3 ·" in first and "#2 ·" not in first
    assert "River only" not in first
    await staff.press("▶")
    assert "#2 ·" in staff.last and "#1 ·" in staff.last and "#10 ·" not in staff.last
    answer = await staff.forge(BroadcastShowCb(broadcast_id=theirs.id or 0).pack())
    assert answer == "You can't do that here. Only staff of this community can."


async def test_history_in_chinese(
    harness: Harness, session: AsyncSession, clock: ManualClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "幸福社区", grids=("第二网格",))
    await residents(harness, session, clock, sunny)
    staff = await staff_of(harness, session, clock, sunny, "zh")
    await announce(staff, "周五停水", sessionmaker, harness, clock, settings,
                   now=("📢 通知公告", "✏️ 发布新通知", "👥 所有人"), go=("📤 立即发送", "✅ 确认"))
    await staff.tap("📢 通知公告")
    await staff.press("📜 已发通知")
    assert ("#1 · 今天上午9:00 · 幸福社区\n4 人中 2 人已收到 · 屏蔽 1 · 失败 1 · “周五停水”"
            in staff.last)
    await staff.press("#1")
    assert "2 人没有收到：" in staff.last and "• Grandpa Li — 已屏蔽机器人" in staff.last
    await staff.press("📥 送达名单（Excel）")
    document = staff.handle.last_bot_message
    assert document is not None and document.document is not None
    book = load_workbook(io.BytesIO(harness.emulator.state.files[document.document].data))
    assert book.sheetnames == ["汇总", "送达名单"]
    assert [c.value for c in book["送达名单"][2]] == ["序号", "姓名", "用户名", "网格", "结果",
                                                 "收到时间"]


async def test_a_scheduled_announcement_can_be_edited_until_it_starts(
    harness: Harness, session: AsyncSession, clock: ManualClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    wang, _li = await residents(harness, session, clock, sunny)
    staff = await staff_of(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("Fair on Tuesday")
    await staff.press("👥 Everyone")
    await staff.press("🗓 Schedule")
    await staff.press("Tomorrow")
    await staff.press("10:00 am")
    await staff.press("✅ Confirm")

    await staff.tap("📢 Announcements")
    await staff.press("🗓 Scheduled and sending")
    await staff.press("✏️ Edit #1")
    assert staff.last == ("🗓 Announcement #1 goes out at Tue 3 Mar, 10:00 am, to Sunny Court · "
                          "4 people.\n\nWhat would you like to change?")
    await staff.press("📝 Text")
    assert staff.last == "Send the new text of announcement #1 (or /cancel)."
    await staff.send("Fair moved to Wednesday")
    assert staff.last == ("✅ Saved.\n🗓 Announcement #1 goes out at Tue 3 Mar, 10:00 am, to "
                          "Sunny Court · 4 people.")
    await staff.tap("📢 Announcements")
    await staff.press("🗓 Scheduled and sending")
    await staff.press("✏️ Edit #1")
    await staff.press("🕘 Time")
    assert staff.last == "Announcement #1: which day?"
    await staff.press("Wed 4 Mar")
    await staff.press("11:30 am")
    assert staff.last == ("✅ Saved.\n🗓 Announcement #1 goes out at Wed 4 Mar, 11:30 am, to "
                          "Sunny Court · 4 people.")
    [broadcast] = await rows(session, Broadcast)
    assert broadcast.send_at.astimezone(SHANGHAI) == datetime(2026, 3, 4, 11, 30,
                                                              tzinfo=SHANGHAI)
    assert broadcast.text == "Fair moved to Wednesday"
    edits = [e for e in await rows(session, AuditEntry) if e.action == "broadcast.edit"]
    assert [e.details["changed"] for e in edits] == [["text"], ["send_at"]]

    await staff.tap("📢 Announcements")
    await staff.press("🗓 Scheduled and sending")  # an Edit button kept for later
    clock.set(datetime(2026, 3, 4, 3, 30, tzinfo=UTC))  # Wednesday 11:30 in Shanghai
    await broadcast_progress(bot=harness.bot, sessionmaker=sessionmaker, clock=clock,
                             settings=settings, notify=sender.kick)
    await wait_until(settled(sessionmaker))
    assert "Fair moved to Wednesday" in wang.texts and "Fair on Tuesday" not in wang.texts
    assert await staff.forge(BroadcastEditCb(broadcast_id=1, what=BroadcastEditWhat.TEXT)
                             .pack()) == ("Announcement #1 has started or was cancelled: it can "
                                          "no longer be changed.")
    await staff.press("✏️ Edit #1")
    assert staff.alerts[-1] == ("Announcement #1 has started or was cancelled: it can no "
                                "longer be changed.")
