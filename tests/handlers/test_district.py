"""District and staff tools (issue 16), through the real dispatcher: a community's members
with role and since when, removing a role (asked once, audited, the person told), invites
that tell the inviter and welcome the new member, renaming and deleting communities and
grids, and the audit log on screen and in Excel."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.callback_data.district import (
    DigestCb,
    FiguresCb,
    ManageFindCb,
    MemberRemoveCb,
    StepAction,
    VolunteerRemoveCb,
)
from bot.callback_data.voices import RateCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.audit import AuditEntry
from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community, Grid
from models.courses import Category, Course, Enrolment, EnrolmentStatus, Lesson, LessonStatus
from models.db import begin_write
from models.digest import DigestSetting
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.polls import Poll
from models.users import Role, RoleGrant, User
from models.voices import Report, ReportCategory, ReportNote, ReportStatus
from models.volunteers import HoursEntry, Shift, ShiftClaim, Volunteer, VolunteerTask
from scheduler.digest import staff_digests
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import ADMIN_TG_ID, Harness, member, onboard, rows, user_of

LINK = re.compile(r"https://t\.me/\w+\?start=(inv_[\w-]+)")


async def volunteer(session: AsyncSession, clock: ManualClock, user_id: int,
                    community: Community) -> None:
    await begin_write(session)
    session.add(Volunteer(user_id=user_id, community_id=community.id or 0, skills=["tech"],
                          created_at=clock.now(), updated_at=clock.now()))
    await session.commit()


async def test_staff_see_members_and_remove_a_teacher_who_is_told(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, _s = await member(harness, session, clock, home, 3001, "Liu", Role.STAFF)
    clock.advance(days=3)
    teacher, teacher_access = await member(harness, session, clock, home, 3002, "Sam",
                                           Role.TEACHER)
    _chen, chen_access = await member(harness, session, clock, home, 3003, "Chen")
    await volunteer(session, clock, chen_access.user_id, home)

    await staff.send("/menu")  # the role came after onboarding: the menu is drawn again
    await staff.tap("🛠 Manage community")
    await staff.press("Sunny Court")
    await staff.press("👥 Members")
    assert staff.last == (
        "Sunny Court · members\n\n"
        "Staff\n• Liu, since Mon 2 Mar\n\n"
        "Teachers\n• Sam, since Today\n\n"
        "Volunteers\n• Chen, since Today")
    labels = staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "➖ Remove Sam (teacher)" in labels
    assert not any("Liu" in label for label in labels)  # staff cannot remove staff

    await staff.press("➖ Remove Sam (teacher)")
    assert staff.last == "Remove Sam as a teacher of Sunny Court? They will be told."
    await staff.press("No, keep Sam")
    assert staff.last.startswith("Sunny Court · members")
    await staff.press("➖ Remove Sam (teacher)")
    question = staff.handle.last_bot_message
    await staff.press("Yes, remove the role")
    assert staff.last.startswith("Sam is no longer a teacher of Sunny Court.\n\n"
                                 "Sunny Court · members")
    assert "Teachers" not in staff.last
    assert await rows(session, RoleGrant, col(RoleGrant.user_id) == teacher_access.user_id) \
        == []
    told = await rows(session, OutboxMessage, col(OutboxMessage.user_id)
                      == teacher_access.user_id)
    assert [m.key for m in told][-1] == ("You are no longer a teacher of {community}. "
                                         "Thank you for your work!")
    assert told[-1].params == {"community": "Sunny Court"}
    audit = await rows(session, AuditEntry, col(AuditEntry.action) == "role.remove")
    assert [(a.actor_id, a.details["user_id"]) for a in audit] == [
        (_s.user_id, teacher_access.user_id)]

    # The old question pressed again changes nothing.
    assert question is not None
    await staff.forge(MemberRemoveCb(action=StepAction.DO, grant_id=999).pack())
    assert staff.alerts[-1] == "This button is out of date."
    assert len(await rows(session, AuditEntry, col(AuditEntry.action) == "role.remove")) == 1
    await teacher.send("/menu")  # the teacher is now a resident, nothing breaks


async def test_members_in_chinese_and_staff_may_not_remove_staff(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "幸福社区")
    staff, _s = await member(harness, session, clock, home, 3011, "刘", Role.STAFF, "zh")
    _other, other_access = await member(harness, session, clock, home, 3012, "王", Role.STAFF,
                                        "zh")
    await staff.send("/menu")
    await staff.tap("🛠 社区管理")
    await staff.press("幸福社区")
    await staff.press("👥 成员")
    assert staff.last == "幸福社区 · 成员\n\n工作人员\n• 刘，自今天\n• 王，自今天"
    grants = await rows(session, RoleGrant, col(RoleGrant.user_id) == other_access.user_id)
    answer = await staff.forge(MemberRemoveCb(action=StepAction.DO,
                                              grant_id=grants[0].id or 0).pack())
    assert answer == "您无权进行此操作，只有本社区工作人员可以。"
    assert len(await rows(session, RoleGrant, col(RoleGrant.user_id)
                          == other_access.user_id)) == 1


async def test_an_admin_removes_staff_and_a_used_invite_tells_the_inviter(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Sunny Court")
    admin = harness.person(ADMIN_TG_ID, "Director", "en")
    await onboard(admin)
    admin_user = await user_of(session, admin)
    await admin.tap("🛠 Manage community")
    await admin.press("Sunny Court")
    await admin.press("🧑‍💼 Invite a staff member")
    token = LINK.search(admin.last).group(1)  # type: ignore[union-attr]

    wang = harness.person(3021, "Wang", "zh")
    await wang.send(f"/start {token}")
    await wang.press("✅ 我同意")
    wang_user = await user_of(session, wang)
    to_admin = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == admin_user.id)
    assert [(m.key, m.params) for m in to_admin] == [(
        "✅ {name} used your invite link and is now a staff member of {community}.",
        {"name": "Wang", "community": "Sunny Court"})]
    to_wang = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == wang_user.id)
    assert to_wang[-1].key.startswith("What you can do now, as a staff member of {community}")
    buttons = [b["text"] for row in to_wang[-1].keyboard["inline_keyboard"] for b in row]
    assert buttons == ["🛠 Manage community", "👥 Members"]

    await admin.tap("🛠 Manage community")
    await admin.press("Sunny Court")
    await admin.press("👥 Members")
    await admin.press("➖ Remove Wang (staff member)")
    await admin.press("Yes, remove the role")
    assert admin.last.startswith("Wang is no longer a staff member of Sunny Court.")
    told = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == wang_user.id)
    assert told[-1].key.startswith("You are no longer a staff member of {community}.")


async def test_admin_renames_and_deletes_only_what_is_empty(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    await make_community(session, clock, "Empty Court", grids=("Block 9",))
    admin = harness.person(ADMIN_TG_ID, "Director", "en")
    await onboard(admin)
    ann = harness.person(3031, "Ann", "en")
    await onboard(ann, "Sunny Court", "Block 1")

    await admin.tap("🛠 Manage community")
    await admin.press("Sunny Court")
    await admin.press("✏️ Rename")
    assert admin.last == "Send the new name for Sunny Court (or /cancel)."
    await admin.send("Empty Court")
    assert admin.last == "A community with this name already exists. Please send another name."
    await admin.send("Sunny Gardens")
    assert admin.last.startswith("Renamed ✅\n\nSunny Gardens")

    await admin.press("🗺 Grids")
    assert admin.last == "Grids of Sunny Gardens:"
    await admin.press("Block 1")
    await admin.press("🗑 Delete")
    assert admin.alerts[-1] == "Block 1 still has residents or activity, so it can't be deleted."
    await admin.press("◀ Back")
    await admin.press("Block 2")
    await admin.press("✏️ Rename")
    await admin.send("Block 3")
    assert admin.last.startswith("Renamed ✅\n\nBlock 3 · Sunny Gardens")
    await admin.press("🗑 Delete")
    assert admin.last == "Delete the grid Block 3? This cannot be undone."
    await admin.press("Yes, delete it")
    assert admin.last.startswith("Block 3 is deleted.\n\nGrids of Sunny Gardens:")
    assert [g.name for g in await rows(session, Grid)] == ["Block 1", "Block 9"]

    await admin.press("◀ Back")
    await admin.press("🗑 Delete")  # Sunny Gardens has Ann
    assert admin.alerts[-1] == ("Sunny Gardens still has residents or activity, so it "
                                "can't be deleted.")
    await admin.tap("🛠 Manage community")
    await admin.press("Empty Court")
    await admin.press("🗑 Delete")
    assert admin.last == "Delete the community Empty Court and its grids? This cannot be undone."
    await admin.press("No, keep the community")
    assert admin.last.startswith("Empty Court\nTime zone:")
    await admin.press("🗑 Delete")
    await admin.press("Yes, delete it")
    assert admin.last.startswith("Empty Court is deleted.")
    assert [c.name for c in await rows(session, Community)] == ["Sunny Gardens"]
    actions = [a.action for a in await rows(session, AuditEntry)]
    assert actions[-4:] == ["community.rename", "grid.rename", "grid.delete",
                            "community.delete"]


async def test_the_audit_log_on_screen_and_in_excel(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, _s = await member(harness, session, clock, home, 3041, "Liu", Role.STAFF)
    await staff.send("/menu")
    await staff.tap("🛠 Manage community")
    await staff.press("Sunny Court")
    await staff.press("➕ Add grids")
    await staff.send("Block 1")
    clock.advance(hours=2)
    await staff.press("👩‍🏫 Invite a teacher")
    await staff.tap("🛠 Manage community")
    await staff.press("Sunny Court")
    await staff.press("📜 Audit log")
    assert staff.last == ("Sunny Court · the last 2 staff actions\n\n"
                          "Today, 11:00 am · Liu: made an invite link for a teacher\n"
                          "Today, 9:00 am · Liu: added the grid Block 1")
    await staff.press("📥 Excel")
    document = staff.handle.last_bot_message
    assert document is not None and document.document_name == "audit-log.xlsx"
    data = harness.emulator.state.files[document.document or ""].data
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "Actions"]
    sheet = book["Actions"]
    assert sheet["A1"].value == "Audit log · Sunny Court"
    assert [c.value for c in sheet[2]] == ["When", "Who", "What"]
    assert sheet["A2"].font.bold and sheet.freeze_panes == "A3"
    assert [sheet.cell(row=r, column=3).value for r in (3, 4)] == [
        "added the grid Block 1", "made an invite link for a teacher"]  # oldest first
    assert timedelta(hours=2) <= sheet["A4"].value - sheet["A3"].value < timedelta(hours=2,
                                                                                minutes=1)
    summary = book["Summary"]
    assert [c.value for c in summary[3]][:2] == ["Actions", 2]


async def seed_activity(session: AsyncSession, clock: ManualClock, home: Community,
                        people: list[int]) -> None:
    """A report answered after 3 hours, a session held (4 seats, 3 taken, 2 came, rated 4
    and 5), 2 volunteer hours in Block 1, an announcement to 3 that reached 2."""
    now = clock.now()
    grid = (await rows(session, Grid, col(Grid.name) == "Block 1"))[0]
    await begin_write(session)
    report = Report(community_id=home.id or 0, author_id=people[0], category=ReportCategory.SAFETY,
                    description="Lamp", status=ReportStatus.RESOLVED,
                    created_at=now - timedelta(days=2), updated_at=now)
    session.add(report)
    await session.flush()
    session.add(ReportNote(report_id=report.id or 0, text="Fixed",
                           created_at=now - timedelta(days=2) + timedelta(hours=3)))
    session.add(Report(community_id=home.id or 0, author_id=people[1],
                       category=ReportCategory.IDEA, description="Bench", created_at=now,
                       updated_at=now))
    lesson = Lesson(community_id=home.id or 0, title="Tai chi", category=Category.SPORTS,
                    starts_at=now - timedelta(days=1), venue="Hall", capacity=4,
                    checkin_token="tok", created_at=now - timedelta(days=5))
    session.add(lesson)
    await session.flush()
    for user_id, came, stars in ((people[0], True, 4), (people[1], True, 5),
                                 (people[2], False, None)):
        session.add(Enrolment(session_id=lesson.id or 0, user_id=user_id,
                              status=EnrolmentStatus.ENROLLED, queued_at=now,
                              attended_at=now - timedelta(days=1) if came else None,
                              rating=stars, created_at=now, updated_at=now))
    session.add(Volunteer(user_id=people[0], community_id=home.id or 0, grid_id=grid.id,
                          created_at=now, updated_at=now))
    task = VolunteerTask(community_id=home.id or 0, title="Patrol", place="Gate",
                         created_at=now)
    session.add(task)
    await session.flush()
    shift = Shift(task_id=task.id or 0, starts_at=now - timedelta(hours=5),
                  ends_at=now - timedelta(hours=3), headcount=2, taken=1)
    session.add(shift)
    await session.flush()
    claim = ShiftClaim(shift_id=shift.id or 0, user_id=people[0], claimed_at=now)
    session.add(claim)
    await session.flush()
    session.add(HoursEntry(claim_id=claim.id or 0, user_id=people[0],
                           community_id=home.id or 0, worked_at=shift.starts_at, minutes=120,
                           delta=120, created_at=now))
    broadcast = Broadcast(community_id=home.id, text="Hi", send_at=now - timedelta(hours=1),
                          status=BroadcastStatus.DONE, total=3, created_at=now)
    session.add(broadcast)
    await session.flush()
    await session.commit()
    for user_id, status in zip(people, (OutboxStatus.SENT, OutboxStatus.SENT,
                                        OutboxStatus.FAILED), strict=True):
        await begin_write(session)
        session.add(OutboxMessage(user_id=user_id, kind=OutboxKind.ANNOUNCEMENT, text="Hi",
                                  status=status, group_key=f"broadcast:{broadcast.id}",
                                  not_before=now, created_at=now, params={}))
        await session.commit()


async def test_figures_of_a_community_as_a_message_a_chart_and_a_workbook(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    staff, _s = await member(harness, session, clock, home, 3051, "Liu", Role.STAFF)
    people = []
    for tg_id, name, grid in ((3052, "Ann", "Block 1"), (3053, "Bob", "Block 1"),
                              (3054, "Cy", "Block 2")):
        person = harness.person(tg_id, name, "en")
        await onboard(person, "Sunny Court", grid)
        people.append((await user_of(session, person)).id or 0)
    await seed_activity(session, clock, home, people)

    await staff.send("/menu")
    await staff.tap("🛠 Manage community")
    await staff.press("Sunny Court")
    await staff.press("📊 Figures")
    chart = staff.handle.bot_messages[-2]
    assert chart.photo is not None
    assert harness.emulator.state.files[chart.photo].data.startswith(b"\x89PNG")
    assert staff.last == (
        "📊 Sunny Court · figures\n\n"
        "👥 Residents: 3 (3 new in Mar 2026)\n• Block 1: 2\n• Block 2: 1\n\n"
        "💬 Reports: 2\n📥 Received 1 · ✅ Resolved 1\n"
        "🚨 Safety 1 · 💡 Idea for improvement 1\n"
        "Median time to a first answer: 3 hours (1 answered)\n\n"
        "📚 Sessions held: 1\nSeats filled: 3 of 4 (75%)\nAttendance: 2 of 3 (67%)\n"
        "Rating: ⭐ 4.5 from 2 ratings\n\n"
        "🙋 Volunteer hours: 2 h\n• Block 1: 2 h\n• Mar 2026: 2 h\n\n"
        "📢 Announcements sent: 1, reaching 2 of 3 people (67%)")
    await staff.press("📥 Excel")
    document = staff.handle.last_bot_message
    assert document is not None and document.document_name == "figures-2026-03.xlsx"
    book = load_workbook(io.BytesIO(harness.emulator.state.files[document.document or ""].data))
    assert book.sheetnames == ["Summary", "Residents by grid", "Reports", "Volunteer hours",
                               "Hours by grid"]
    summary = {row[0]: row[1:] for row in book["Summary"].iter_rows(min_row=3,
                                                                   values_only=True)}
    assert summary["Residents"] == (3, None)
    assert summary["Seats filled"] == (3, 0.75)
    assert summary["Reached"][0] == 2 and abs(summary["Reached"][1] - 2 / 3) < 1e-9
    assert book["Summary"]["A1"].value == "Figures · Sunny Court"
    assert book["Residents by grid"]["A2"].font.bold


async def test_figures_in_chinese_and_across_communities_for_an_admin(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "幸福社区", grids=("第一网格",))
    await make_community(session, clock, "阳光社区")
    admin = harness.person(ADMIN_TG_ID, "主任", "zh")
    await onboard(admin, "幸福社区", "第一网格")
    await admin.tap("🛠 社区管理")
    await admin.press("📊 全部社区")
    assert admin.last.startswith("📊 幸福社区、阳光社区 · 数据统计\n\n"
                                 "👥 居民：1人（2026年3月新增1人）\n• 幸福社区 · 第一网格：1")
    eve = harness.person(3061, "Eve", "en")
    await onboard(eve, "幸福社区", "第一网格")
    for forged in (FiguresCb(community_id=0), FiguresCb(community_id=0, export=True),
                   ManageFindCb()):  # a resident pressing forged admin buttons
        assert (await eve.forge(forged.pack())).startswith("You can't do that here.")


async def digest_times(session: AsyncSession) -> list[tuple[int, int]]:
    await session.commit()
    found = await session.execute(select(DigestSetting.user_id, DigestSetting.minutes))
    return [(user_id, minutes) for user_id, minutes in found.all()]


async def seed_digest(session: AsyncSession, clock: ManualClock, home: Community,
                      resident: int, teacher: int) -> None:
    """One of each thing the digest lists, as of clock.now() (Tue 3 Mar, 08:00)."""
    now = clock.now()
    await begin_write(session)
    session.add(Report(community_id=home.id or 0, author_id=resident,
                       category=ReportCategory.SAFETY, description="Lamp",
                       created_at=now - timedelta(days=4), updated_at=now - timedelta(days=4)))
    session.add(Report(community_id=home.id or 0, author_id=resident,
                       category=ReportCategory.OTHER, description="Noise", rating=1,
                       rated_at=now - timedelta(hours=3), status=ReportStatus.RESOLVED,
                       created_at=now - timedelta(days=2), updated_at=now - timedelta(hours=3)))
    session.add(Report(community_id=home.id or 0, author_id=resident,  # fresh: not listed
                       category=ReportCategory.OTHER, description="New", created_at=now,
                       updated_at=now))
    session.add(Course(community_id=home.id or 0, teacher_id=teacher, title="Calligraphy",
                       category=Category.ARTS, created_at=now - timedelta(hours=5)))
    session.add(Poll(community_id=home.id or 0, title="Bench colour",
                     closes_at=now + timedelta(days=1, hours=2), created_at=now))
    tomorrow = Lesson(community_id=home.id or 0, title="Tai chi", category=Category.SPORTS,
                      starts_at=now + timedelta(days=1, hours=1), venue="Hall", capacity=2,
                      checkin_token="t1", created_at=now)
    cancelled = Lesson(community_id=home.id or 0, title="Yoga", category=Category.SPORTS,
                       starts_at=now + timedelta(days=3), venue="Hall", capacity=2,
                       status=LessonStatus.CANCELLED, checkin_token="t2", created_at=now)
    session.add_all([tomorrow, cancelled])
    task = VolunteerTask(community_id=home.id or 0, title="Patrol", place="Gate",
                         created_at=now)
    session.add(task)
    await session.flush()
    session.add(Enrolment(session_id=tomorrow.id or 0, user_id=resident,
                          status=EnrolmentStatus.ENROLLED, queued_at=now, created_at=now,
                          updated_at=now))
    session.add(AuditEntry(at=now - timedelta(hours=2), actor_id=teacher,
                           action="session.cancel", community_id=home.id,
                           details={"session_id": cancelled.id}))
    shift = Shift(task_id=task.id or 0, starts_at=now - timedelta(hours=14),
                  ends_at=now - timedelta(hours=12), headcount=2, taken=1)
    session.add(shift)
    await session.flush()
    session.add(ShiftClaim(shift_id=shift.id or 0, user_id=resident, claimed_at=now))
    await session.commit()


async def test_the_daily_digest_is_chosen_in_settings_and_queued_once_a_day(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, staff_access = await member(harness, session, clock, home, 3071, "Liu", Role.STAFF)
    _ann, ann_access = await member(harness, session, clock, home, 3072, "Ann")
    _sam, sam_access = await member(harness, session, clock, home, 3073, "Sam", Role.TEACHER)
    await staff.send("/menu")
    await staff.tap("⚙️ Settings")
    await staff.press("📬 Daily digest")
    assert staff.last.endswith("Now: off.")
    assert staff.handle.last_bot_message.button_labels == [  # type: ignore[union-attr]
        "7:00 am", "8:00 am", "9:00 am", "12:00 pm", "5:00 pm", "6:00 pm", "✓ 🔕 Off"]
    await staff.press("8:00 am")
    assert staff.last.endswith("Now: every day at 8:00 am.")
    assert await digest_times(session) == [(staff_access.user_id, 480)]

    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    await seed_digest(session, clock, home, ann_access.user_id, sam_access.user_id)
    clock.set(datetime(2026, 3, 3, 7, 59, tzinfo=ZoneInfo("Asia/Shanghai")))

    async def sweep() -> list[OutboxMessage]:
        await staff_digests(sessionmaker=sessionmaker, clock=clock, notify=lambda: None,
                            keyboards=OUTBOX_KEYBOARDS)
        return [m for m in await rows(session, OutboxMessage,
                                      col(OutboxMessage.user_id) == staff_access.user_id)
                if (m.dedupe_key or "").startswith("digest:")]

    assert await sweep() == []  # 7:59: not yet
    clock.advance(minutes=1)
    queued = await sweep()
    clock.advance(minutes=30)
    assert [m.id for m in await sweep()] == [m.id for m in queued]  # once a day
    assert len(queued) == 1 and queued[0].dedupe_key == f"digest:{staff_access.user_id}:2026-03-03"
    assert queued[0].text == (
        "📬 Daily digest · Sunny Court\n"
        "1. 🗂 Report #1 (🚨 Safety): untouched for 4 days\n"
        "2. ⭐ Report #2 was rated 1 ⭐\n"
        "3. ⏱ “Patrol”, Mon 2 Mar, 6:00 pm: 1 place waits for hours\n"
        "4. 📚 A course offer waits for your decision: “Calligraphy”\n"
        "5. 🚫 “Yoga”, Fri 6 Mar, 8:00 am, was cancelled by its teacher\n"
        "6. 🗳 Poll “Bench colour” closes Tomorrow, 10:00 am\n"
        "7. 🪑 “Tai chi”, Tomorrow, 9:00 am: 1 of 2 seats free")
    buttons = [b for row in queued[0].keyboard["inline_keyboard"] for b in row]
    assert [b["callback_data"].split(":")[0] for b in buttons] == [
        "rt", "rt", "vtr", "cc", "cs", "qs", "cs"]
    assert buttons[0]["text"] == "1. 🗂 Report #1 (🚨 Safety): untouched for 4 da…"

    clock.advance(days=1)  # the next day: another, and 🔕 Off stops them
    assert len(await sweep()) == 2
    await staff.tap("⚙️ Settings")
    await staff.press("📬 Daily digest")
    await staff.press("🔕 Off")
    assert staff.last.endswith("Now: off.")
    clock.advance(days=1)
    assert len(await sweep()) == 2


async def test_the_digest_lists_the_ratings_given_since_yesterday_not_reports_touched_since(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A 1 ⭐ given three days ago is not listed again because staff added a note today;
    a 2 ⭐ given this morning on a report last touched last week is."""
    home = await make_community(session, clock, "Sunny Court")
    _staff, staff_access = await member(harness, session, clock, home, 3075, "Liu", Role.STAFF)
    ann, ann_access = await member(harness, session, clock, home, 3076, "Ann")
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    now = clock.now()
    await begin_write(session)
    session.add(DigestSetting(user_id=staff_access.user_id, minutes=480, updated_at=now))
    session.add(Report(community_id=home.id or 0, author_id=ann_access.user_id,
                       category=ReportCategory.OTHER, description="Noise", rating=1,
                       rated_at=now - timedelta(days=3), status=ReportStatus.RESOLVED,
                       created_at=now - timedelta(days=5), closed_at=now - timedelta(days=4),
                       updated_at=now - timedelta(hours=1)))  # a note added today
    session.add(Report(community_id=home.id or 0, author_id=ann_access.user_id,
                       category=ReportCategory.SAFETY, description="Lamp",
                       status=ReportStatus.RESOLVED, created_at=now - timedelta(days=9),
                       closed_at=now - timedelta(hours=3),
                       updated_at=now - timedelta(hours=3)))
    await session.commit()
    clock.advance(hours=-2)
    last = ann.handle.last_bot_message
    assert last is not None  # the 2 ⭐ button, as on the "resolved" notice
    await ann.handle.press(last.message_id, RateCb(report_id=2, stars=2).pack(), forged=True)
    await harness.settle()
    rated = await rows(session, Report, col(Report.id) == 2)
    assert rated[0].rating == 2 and rated[0].rated_at == clock.now()
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    await staff_digests(sessionmaker=sessionmaker, clock=clock, notify=lambda: None,
                        keyboards=OUTBOX_KEYBOARDS)
    [digest] = [m for m in await rows(session, OutboxMessage,
                                      col(OutboxMessage.user_id) == staff_access.user_id)
                if (m.dedupe_key or "").startswith("digest:")]
    assert digest.text == "📬 Daily digest · Sunny Court\n1. ⭐ Report #2 was rated 2 ⭐"


async def test_the_digest_in_chinese_and_not_for_residents(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_community(session, clock, "幸福社区")
    staff, staff_access = await member(harness, session, clock, home, 3081, "刘", Role.STAFF,
                                       "zh")
    eve, _e = await member(harness, session, clock, home, 3082, "Eve")
    await staff.send("/menu")
    await staff.tap("⚙️ 设置")
    await staff.press("📬 每日摘要")
    await staff.press("上午9:00")
    assert staff.last.endswith("现在：每天上午9:00。")
    clock.set(datetime(2026, 3, 3, 9, 5, tzinfo=ZoneInfo("Asia/Shanghai")))
    await staff_digests(sessionmaker=sessionmaker, clock=clock, notify=lambda: None,
                        keyboards=OUTBOX_KEYBOARDS)
    queued = await rows(session, OutboxMessage, col(OutboxMessage.user_id)
                        == staff_access.user_id)
    assert queued[-1].text == "📬 每日摘要 · 幸福社区\n今天没有需要您处理的事项。🌿"
    await eve.send("/menu")
    await eve.tap("⚙️ Settings")
    assert "📬 Daily digest" not in eve.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert (await eve.forge(DigestCb(minutes=480).pack())).startswith("You can't do that")
    assert len(await digest_times(session)) == 1


async def test_exports_of_reports_sessions_and_residents(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    staff, _s = await member(harness, session, clock, home, 3091, "Liu", Role.STAFF)
    people = []
    for tg_id, name, grid in ((3092, "Ann", "Block 1"), (3093, "Bob", "Block 1"),
                              (3094, "Cy", "Block 2")):
        person = harness.person(tg_id, name, "en")
        await onboard(person, "Sunny Court", grid)
        people.append((await user_of(session, person)).id or 0)
    await seed_activity(session, clock, home, people)
    await staff.send("/menu")
    await staff.tap("🛠 Manage community")
    await staff.press("Sunny Court")
    await staff.press("📥 Exports")
    assert staff.last == "📥 Excel files of Sunny Court: which one?"

    async def workbook(label: str, name: str) -> Any:
        await staff.press(label)
        document = staff.handle.last_bot_message
        assert document is not None and document.document_name == name
        return load_workbook(io.BytesIO(harness.emulator.state.files[document.document
                                                                     or ""].data))

    book = await workbook("💬 Reports", "reports.xlsx")
    assert book.sheetnames == ["Summary", "Reports"]
    sheet = book["Reports"]
    assert sheet["A1"].value == "Reports · Sunny Court"
    assert [c.value for c in sheet[2]][:5] == ["No.", "Received", "Category", "Grid", "Status"]
    assert [(r[0], r[2], r[9]) for r in sheet.iter_rows(min_row=3, values_only=True)] == [
        (1, "🚨 Safety", "Ann"), (2, "💡 Idea for improvement", "Bob")]  # oldest first
    assert sheet.freeze_panes == "A3"

    book = await workbook("📚 Sessions and attendance", "sessions.xlsx")
    assert book.sheetnames == ["Summary", "Sessions", "Places"]
    row = next(book["Sessions"].iter_rows(min_row=3, values_only=True))
    assert row[1:10] == ("Tai chi", None, "Hall", "no", 4, 3, 0, 2, 2 / 3)  # no teacher
    assert [r[2:5:2] for r in book["Places"].iter_rows(min_row=3, values_only=True)] == [
        ("Ann", book["Places"]["E3"].value), ("Bob", book["Places"]["E4"].value),
        ("Cy", None)]
    summary = {r[0]: r[1:] for r in book["Summary"].iter_rows(min_row=3, values_only=True)}
    assert summary["Seats filled"] == (3, 0.75)

    book = await workbook("👥 Residents by grid", "residents.xlsx")
    assert next(iter(book["Residents"].iter_rows(min_row=3, values_only=True)))[1:] == (
        "Block 1", "Ann")
    summary = {r[0]: r[1:] for r in book["Summary"].iter_rows(min_row=3, values_only=True)}
    assert summary["Block 1"] == (2, 2 / 3)
    actions = [a.action for a in await rows(session, AuditEntry)]
    assert actions[-3:] == ["reports.export", "sessions.export", "residents.export"]


async def many_volunteers(session: AsyncSession, clock: ManualClock, community: Community,
                          count: int) -> list[int]:
    """`count` residents of `community` who volunteer, one a minute (their ids, in order)."""
    await begin_write(session)
    users = []
    for n in range(count):
        user = User(tg_id=900_000 + n, first_name=f"V{n:03d}", created_at=clock.now(),
                    consented_at=clock.now(), community_id=community.id)
        session.add(user)
        users.append(user)
    await session.flush()
    for n, user in enumerate(users):
        moment = clock.now() + timedelta(minutes=n)
        session.add(Volunteer(user_id=user.id or 0, community_id=community.id or 0,
                              skills=["tech"], created_at=moment, updated_at=moment))
    await session.commit()
    return [user.id or 0 for user in users]


async def test_members_are_paged_and_staff_remove_a_volunteer_who_is_told(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    staff, _s = await member(harness, session, clock, home, 3101, "Liu", Role.STAFF)
    ids = await many_volunteers(session, clock, home, 120)
    # V016 has a shift ahead and one already served: the one ahead is given back.
    await begin_write(session)
    task = VolunteerTask(community_id=home.id or 0, title="Patrol", place="Gate",
                         created_at=clock.now())
    session.add(task)
    await session.flush()
    ahead = Shift(task_id=task.id or 0, starts_at=clock.now() + timedelta(days=2),
                  ends_at=clock.now() + timedelta(days=2, hours=2), headcount=3, taken=1)
    past = Shift(task_id=task.id or 0, starts_at=clock.now() - timedelta(days=2),
                 ends_at=clock.now() - timedelta(days=2) + timedelta(hours=2), headcount=3,
                 taken=1)
    session.add_all([ahead, past])
    await session.flush()
    session.add_all([ShiftClaim(shift_id=ahead.id or 0, user_id=ids[16], claimed_at=clock.now()),
                     ShiftClaim(shift_id=past.id or 0, user_id=ids[16], claimed_at=clock.now())])
    await session.commit()

    await staff.send("/menu")
    await staff.tap("🛠 Manage community")
    await staff.press("Sunny Court")
    await staff.press("👥 Members")
    first = staff.handle.last_bot_message
    assert first is not None
    assert staff.last.startswith("Sunny Court · members\n\nStaff\n• Liu, since Today\n\n"
                                 "Volunteers\n• V000, since Today\n")
    assert staff.last.endswith("• V013, since Today\n\n121 people in all")
    labels = first.button_labels
    assert labels[:14] == [f"➖ Remove V{n:03d} (volunteer)" for n in range(14)]
    assert labels[14:] == ["1/9", "▶", "◀ Back"]
    assert len(staff.last) < 1000

    await staff.press("▶")
    assert staff.last.startswith("Sunny Court · members\n\nVolunteers\n• V014, since Today\n")
    assert "Staff" not in staff.last and "V029" not in staff.last
    labels = staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert labels[-4:] == ["◀", "2/9", "▶", "◀ Back"]
    for _page in range(7):
        await staff.press("▶")
    assert staff.last.endswith("• V119, since Today\n\n121 people in all")
    assert staff.handle.last_bot_message.button_labels[-3:] == [  # type: ignore[union-attr]
        "◀", "9/9", "◀ Back"]
    for _page in range(7):
        await staff.press("◀")

    await staff.press("➖ Remove V016 (volunteer)")
    assert staff.last == ("Remove V016 as a volunteer of Sunny Court? Their places on shifts "
                          "still ahead are given back; they will be told.")
    await staff.press("No, keep V016")
    assert "• V016, since Today" in staff.last  # back on the same page
    await staff.press("➖ Remove V016 (volunteer)")
    profile = (await rows(session, Volunteer, col(Volunteer.user_id) == ids[16]))[0]
    await staff.press("Yes, remove the role")
    assert staff.last.startswith("V016 is no longer a volunteer of Sunny Court.\n\n"
                                 "Sunny Court · members\n\nVolunteers\n• V014, since Today\n"
                                 "• V015, since Today\n• V017, since Today")
    assert await rows(session, Volunteer, col(Volunteer.user_id) == ids[16]) == []
    claims = await rows(session, ShiftClaim, col(ShiftClaim.user_id) == ids[16])
    assert [c.status for c in claims] == ["withdrawn", "claimed"]  # the one served stays
    assert [s.taken for s in await rows(session, Shift)] == [0, 1]
    told = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == ids[16])
    assert [(m.key, m.params) for m in told] == [(
        "You are no longer a volunteer of {community}: your places on shifts still ahead "
        "were given back. Thank you for your help!", {"community": "Sunny Court"})]
    audit = await rows(session, AuditEntry, col(AuditEntry.action) == "role.remove")
    assert [(a.details["role"], a.details["user_id"]) for a in audit] == [
        ("volunteer", ids[16])]

    # The question pressed again: out of date, nothing more.
    assert await staff.forge(VolunteerRemoveCb(action=StepAction.DO, volunteer_id=profile.id
                                               or 0, page=1).pack()) \
        == "This button is out of date."
    assert len(await rows(session, AuditEntry, col(AuditEntry.action) == "role.remove")) == 1


async def test_members_pages_in_chinese_and_a_resident_may_not_remove_volunteers(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, "幸福社区")
    staff, _s = await member(harness, session, clock, home, 3111, "刘", Role.STAFF, "zh")
    ids = await many_volunteers(session, clock, home, 20)
    await staff.send("/menu")
    await staff.tap("🛠 社区管理")
    await staff.press("幸福社区")
    await staff.press("👥 成员")
    assert staff.last.endswith("• V013，自今天\n\n共 21 人")
    await staff.press("▶")
    assert staff.last == ("幸福社区 · 成员\n\n志愿者\n"
                          + "\n".join(f"• V{n:03d}，自今天" for n in range(14, 20))
                          + "\n\n共 21 人")
    await staff.press("➖ 取消 V019（志愿者）")
    assert staff.last == ("取消 V019 在幸福社区的志愿者身份？"
                          "其今后班次的名额将退回，系统会通知对方。")

    resident, _r = await member(harness, session, clock, home, 3112, "王", None, "zh")
    profile = (await rows(session, Volunteer, col(Volunteer.user_id) == ids[0]))[0]
    await resident.forge(VolunteerRemoveCb(action=StepAction.DO,
                                           volunteer_id=profile.id or 0).pack())
    assert len(await rows(session, Volunteer)) == 20
