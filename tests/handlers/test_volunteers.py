"""Volunteers through the real dispatcher: profile, a task drafted with buttons, claims,
late withdrawal, check-in with a location, staff hours and the Excel file; forged buttons."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.callback_data import (
    VolPlaceAction,
    VolPlaceCb,
    VolStaffAction,
    VolStaffCb,
    VolTakeCb,
)
from bot.callback_data.volunteers import (
    VolCancelTaskCb,
    VolDraftPeopleCb,
    VolHoursAction,
    VolHoursCb,
    VolMonthCb,
)
from bot.keyboards.dates import DayCb, TimeCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.audit import AuditEntry
from models.communities import Community, Grid
from models.outbox import OutboxKind, OutboxMessage
from models.users import Role
from models.volunteers import TITLE_MAX, HoursEntry, Shift, ShiftClaim, Volunteer, VolunteerTask
from services import volunteers as vol
from services.access import Access
from services.clock import ManualClock
from tests.factories import grant, make_community
from tests.handlers.conftest import Harness, Person, onboard, rows, user_of

BUTTONS = OUTBOX_KEYBOARDS.volunteers

TUE_18 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai, the day after START


async def make_staff(harness: Harness, session: AsyncSession, clock: ManualClock,
                     community: Community, tg_id: int = 3001) -> tuple[Person, Access]:
    person = harness.person(tg_id, "Organiser")
    await onboard(person, community.name)
    access = await grant(session, clock, await user_of(session, person), Role.STAFF, community)
    return person, access


async def become_volunteer(person: Person, community: str, skills: list[str],
                           times: list[str]) -> None:
    await onboard(person, community)
    await person.tap("🙋 Volunteer")
    await person.press("🙋 Become a volunteer")
    for skill in skills:
        await person.press("⬜ " + skill)
    await person.press("Next ▶")
    for time in times:
        await person.press("⬜ " + time)
    await person.press("Next ▶")


async def test_a_resident_volunteers_and_staff_publish_a_task_by_buttons(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], ["Weekday evenings"])
    assert "Saved ✅" in ann.last and "Street patrol" in ann.last
    assert "Hours: this month 0, this year 0, in total 0" in ann.last
    bob = harness.person(2002, "Bob")
    await become_volunteer(bob, community.name, ["📚 Tutoring"], [])
    await bob.press("⏸ Pause")
    assert "⏸ Paused" in bob.last
    await bob.press("▶️ Resume")
    (profile,) = await rows(session, Volunteer, col(Volunteer.user_id) ==
                            (await user_of(session, ann)).id)
    assert (profile.skills, profile.slots) == (["patrol"], ["wd_ev"])

    staff, _access = await make_staff(harness, session, clock, community)
    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("➕ New task")
    await staff.send("Tuesday evening patrol")
    await staff.press("Skip ▶")  # no title in Chinese
    await staff.send("Bring a torch.")
    await staff.press("⬜ 🚶 Street patrol")
    await staff.press("Next ▶")
    assert "Where?" in staff.last
    await staff.send("North gate")
    await staff.handle.send_location(31.2304, 121.4737)
    await harness.settle()
    assert staff.last == "Shift 1: which day?"
    await staff.press("Tomorrow")
    await staff.press("6:00 pm")
    await staff.press("2 h")
    # A forged headcount of 0 is refused and changes nothing.
    assert await staff.forge(VolDraftPeopleCb(headcount=0).pack()) == \
        "A shift needs at least 1 person."
    await staff.press("2")
    assert "1. Tue 3 Mar, 6:00 pm–8:00 pm, 2 people" in staff.last
    await staff.press("🔁 Repeat weekly")
    await staff.press("2")
    assert "🔁 Every week, 2 weeks" in staff.last
    await staff.press("✅ Publish")
    assert staff.last.startswith("✅ Published: Tuesday evening patrol")

    (task,) = await rows(session, VolunteerTask)
    assert (task.place, task.skills, task.latitude) == ("North gate", ["patrol"], 31.2304)
    shifts = await rows(session, Shift)
    assert [s.starts_at for s in shifts] == [TUE_18, TUE_18 + timedelta(weeks=1)]
    pings = await rows(session, OutboxMessage, col(OutboxMessage.kind) == OutboxKind.PING)
    assert [p.user_id for p in pings] == [(await user_of(session, ann)).id]

    # Ann sees the task among shifts that need people and claims it in one tap.
    await ann.tap("🙋 Volunteer")
    await ann.press("🔎 Shifts that need people")
    assert "Tuesday evening patrol" in ann.last and "2 places left" in ann.last
    await ann.press("✋ 1. Tue 3 Mar, 6:00 pm")
    assert ann.last.startswith("✅ Your place is booked.")
    claim_data = VolTakeCb(shift_id=shifts[0].id or 0).pack()
    assert await ann.forge(claim_data) == ("You already have a place on this shift. "
                                           "See you there!")
    assert [s.taken for s in await rows(session, Shift)] == [1, 0]


async def test_forged_and_bad_buttons_get_plain_answers_and_change_nothing(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    other = await make_community(session, clock, name="Other Court")
    _staff, access = await make_staff(harness, session, clock, home)
    _other_staff, other_access = await make_staff(harness, session, clock, other, tg_id=3002)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, home.name, ["🚶 Street patrol"], [])
    task = await vol.create_task(
        session, access=other_access, clock=clock, buttons=BUTTONS,
        community_id=other.id or 0, title="Elsewhere", place="P",
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 1)])
    (foreign,) = await vol.task_shifts(session, task_id=task.id or 0)
    ours = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS,
        community_id=home.id or 0, title="Ours", place="P",
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 1)])
    (shift,) = await vol.task_shifts(session, task_id=ours.id or 0)

    claim = VolTakeCb(shift_id=foreign.id or 0).pack()
    assert await ann.forge(claim) == "This button is not for you."
    assert await ann.forge(VolTakeCb(shift_id=999).pack()) == \
        "This button is out of date."
    # Ann is no staff: staff buttons, even for her own community, are refused.
    confirm = VolStaffCb(action=VolStaffAction.TASKS, community_id=home.id or 0).pack()
    assert await ann.forge(confirm) == "You can't do that here. Only staff of this community can."
    # Staff of the other community can't cancel our task by naming their own community.
    other_staff = harness.person(3002, "Organiser")
    cancel = VolCancelTaskCb(community_id=other.id or 0, task_id=ours.id or 0,
                             confirmed=True).pack()
    assert await other_staff.forge(cancel) == \
        "You can't do that here. Only staff of this community can."

    # A full shift, then check-in on a shift one has not claimed, then too early.
    await ann.forge(VolTakeCb(shift_id=shift.id or 0).pack())
    bob = harness.person(2002, "Bob")
    await become_volunteer(bob, home.name, ["🚶 Street patrol"], [])
    assert await bob.forge(VolTakeCb(shift_id=shift.id or 0).pack()) \
        == "Sorry, this shift is full. Thank you for offering!"
    (ann_claim,) = await rows(session, ShiftClaim)
    check_in = VolPlaceCb(action=VolPlaceAction.CHECK_IN, claim_id=ann_claim.id or 0).pack()
    assert await bob.forge(check_in) == "This button is not for you."
    assert await ann.forge(check_in) == "Check-in opens one hour before the shift starts."
    # A correction of hours by someone who is not staff of that community.
    correct = VolHoursCb(action=VolHoursAction.CORRECT, community_id=other.id or 0,
                         claim_id=ann_claim.id or 0).pack()
    assert await other_staff.forge(correct) == \
        "You can't do that here. Only staff of this community can."
    forged_month = VolMonthCb(community_id=home.id or 0, month=202613).pack()
    assert await _staff.forge(forged_month) == "This button is out of date."
    assert [c.checked_in_at for c in await rows(session, ShiftClaim)] == [None]
    assert await rows(session, AuditEntry, col(AuditEntry.action).like("volunteer.task.cancel")) \
        == []


async def test_late_withdrawal_check_in_out_hours_and_the_excel_file(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock, grids=("Block 1",))
    staff = harness.person(3001, "Organiser")
    await onboard(staff, community.name, "Block 1")
    access = await grant(session, clock, await user_of(session, staff), Role.STAFF, community)
    ann, bob = harness.person(2001, "Ann"), harness.person(2002, "Bob")
    for person in (ann, bob):
        await onboard(person, community.name, "Block 1")
        await person.tap("🙋 Volunteer")
        await person.press("🙋 Become a volunteer")
        await person.press("⬜ 🚶 Street patrol")
        await person.press("Next ▶")
        await person.press("Next ▶")
        await person.press("Block 1")
    task = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS,
        community_id=community.id or 0, title="Patrol", place="North gate",
        latitude=31.2304, longitude=121.4737,
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 3)])
    (shift,) = await vol.task_shifts(session, task_id=task.id or 0)
    for person in (ann, bob):
        await person.forge(VolTakeCb(shift_id=shift.id or 0).pack())

    # Bob can't come, 2 hours before: he must say why, and staff are told.
    clock.set(TUE_18 - timedelta(hours=2))
    await bob.tap("🙋 Volunteer")
    await bob.press("📅 Tue 3 Mar, 6:00 pm–8:00 pm Patrol")
    await bob.press("🙅 Can't come")
    assert "less than 12 hours away" in bob.last
    await bob.send("My grandson is ill")
    assert bob.last.startswith("Your place is given back and the organisers are told.")
    staff_user = await user_of(session, staff)
    (told,) = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == staff_user.id)
    assert told.params["reason"] == "My grandson is ill"

    # Ann checks in near the place and out at the end.
    clock.set(TUE_18 - timedelta(minutes=5))
    await ann.tap("🙋 Volunteer")
    await ann.press("📅 Tue 3 Mar, 6:00 pm–8:00 pm Patrol")
    await ann.press("✅ Check in")
    assert "share your location" in ann.last
    await ann.tap("📍 Share my location")
    assert ann.last == "📍 Thank you: you are at the place."
    assert "🙋 Volunteer" in ann.menu
    clock.set(TUE_18 + timedelta(hours=1, minutes=30))
    await ann.tap("🙋 Volunteer")
    await ann.press("📅 Tue 3 Mar, 6:00 pm–8:00 pm Patrol")
    await ann.press("🏁 Check out")
    assert ann.last.startswith("🏁 Checked out. About 1.5 hours")
    (claim,) = await rows(session, ShiftClaim, col(ShiftClaim.status) == "claimed")
    assert claim.near_place is True

    # Staff confirm, then correct with a reason; the ledger keeps both.
    clock.set(TUE_18 + timedelta(hours=3))
    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("📋 Tasks and shifts")
    await staff.press("Patrol · 1/3")
    await staff.press("👥 1. Tue 3 Mar, 6:00 pm")
    assert staff.last.startswith("Patrol\n🏘 Sunny Court\n🕒 Tue 3 Mar")
    assert "1. Ann · in 5:55 pm · out 7:30 pm · 📍 at the place" in staff.last
    await staff.press("✅ 1. Ann: 1.5 h")
    assert "✅ 1.5 h confirmed" in staff.last
    await staff.press("✏️ 1 correct")
    await staff.send("lots")
    assert staff.last == "Please send a number of hours between 0 and 24."
    await staff.send("2")
    await staff.send("Stayed to lock the gate")
    assert staff.last.startswith("Corrected ✅") and "✅ 2 h confirmed" in staff.last
    entries = await rows(session, HoursEntry)
    assert [(e.minutes, e.delta, e.reason) for e in entries] == [
        (90, 90, None), (120, 30, "Stayed to lock the gate")]

    await ann.tap("🙋 Volunteer")
    assert "Hours: this month 2, this year 2, in total 2" in ann.last

    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("🏅 Hours by grid")
    assert staff.last.startswith("🏅 Confirmed volunteer hours, March 2026\n🏘 Sunny Court\n")
    assert "Block 1" in staff.last and "1. Ann: 2 h" in staff.last
    await staff.press("📥 Excel: this month")
    document = staff.handle.last_bot_message
    assert document is not None and document.document_name == "volunteer-hours-2026-03.xlsx"
    assert document.content == "Volunteer hours, March 2026: one row per volunteer and shift."
    data = harness.emulator.state.files[document.document or ""].data
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "Shifts"]
    sheet = book["Shifts"]
    assert sheet["A1"].value == "Volunteer hours · Sunny Court · March 2026"
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[1][:3] == ["Volunteer", "Grid", "Task"]
    assert all(c.font.bold for c in sheet[2]) and sheet.freeze_panes == "A3"
    assert [(r[0], r[1], r[2], r[8], r[-1]) for r in table[2:]] == [
        ("Ann", "Block 1", "Patrol", "present", 2)]

    await staff.press("🏅 Commend")
    await staff.press("⬜ Ann · 2 h")
    await staff.press("📣 Send the thanks (1)")
    assert staff.alerts[-1] == "Thanks sent to 1 person 🏅"
    ann_user = await user_of(session, ann)
    thanks = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == ann_user.id,
                        col(OutboxMessage.dedupe_key).like("vcommend:%"))
    assert len(thanks) == 1
    actions = {a.action for a in await rows(session, AuditEntry)}
    assert {"volunteer.task.create", "volunteer.hours.confirm", "volunteer.hours.correct",
            "volunteer.export", "volunteer.commend"} <= actions


async def draft_up_to_the_day(staff: Person) -> None:
    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("➕ New task")
    await staff.send("Night patrol")
    await staff.press("Skip ▶")
    await staff.press("Skip ▶")
    await staff.press("Next ▶")
    await staff.send("North gate")
    await staff.press("Skip ▶")
    assert staff.last == "Shift 1: which day?"


async def test_a_shift_picked_for_tomorrow_before_midnight_lands_on_the_day_shown(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    staff, _access = await make_staff(harness, session, clock, community)
    clock.set(datetime(2026, 3, 2, 15, 50, tzinfo=UTC))  # Monday 23:50 in Shanghai
    await draft_up_to_the_day(staff)
    await staff.press("Tomorrow")
    clock.set(datetime(2026, 3, 2, 16, 10, tzinfo=UTC))  # Tuesday 00:10: "tomorrow" moved on
    await staff.press("6:00 pm")
    await staff.press("2 h")
    await staff.press("2")
    await staff.press("✅ Publish")
    (shift,) = await rows(session, Shift)
    assert shift.starts_at == TUE_18  # Tuesday 18:00, the day the screen said


async def test_a_shift_today_offers_only_times_still_ahead_and_days_as_far_as_allowed(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    staff, _access = await make_staff(harness, session, clock, community)
    clock.set(datetime(2026, 3, 2, 7, 10, tzinfo=UTC))  # Monday 15:10 in Shanghai
    await draft_up_to_the_day(staff)
    too_far = date(2026, 3, 2) + timedelta(days=vol.MAX_DAYS_AHEAD + 1)
    assert await staff.forge(DayCb(day=too_far.toordinal()).pack()) == \
        "That is too far ahead: at most 180 days from today."
    yesterday = date(2026, 3, 1).toordinal()
    assert await staff.forge(DayCb(day=yesterday).pack()) == \
        "That time has already passed. Please choose a later one."
    await staff.press("Today")
    assert staff.last == "What time does it start?"
    message = staff.handle.last_bot_message
    assert message is not None
    labels = message.button_labels
    assert labels[0] == "3:30 pm" and "3:00 pm" not in labels and "9:00 am" not in labels
    assert await staff.forge(TimeCb(minutes=9 * 60).pack()) == \
        "That time has already passed. Please choose a later one."
    await staff.press("3:30 pm")
    assert staff.last == "How long is the shift?"


async def test_a_title_too_long_is_answered_with_its_limit_and_the_draft_waits(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    staff, _access = await make_staff(harness, session, clock, community)
    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("➕ New task")
    await staff.send("x" * (TITLE_MAX + 1))
    assert staff.last == (f"That is too long: at most {TITLE_MAX} characters. "
                          "Please send it again.")
    await staff.send("Night patrol")
    assert staff.last.startswith("🌐 Title in Chinese (optional)")
    await staff.send("夜间巡逻")
    assert staff.last.startswith("Describe it in a few words")


async def test_the_hours_workbook_in_chinese_has_a_summary_and_shifts_in_time_order(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 16: a title row, a bold frozen header, widths, a summary with totals and
    shares, sheet and column names in the reader's language, rows in time order."""
    community = await make_community(session, clock, "幸福社区", grids=("第一网格",))
    staff = harness.person(3001, "刘", "zh")
    await onboard(staff, community.name, "第一网格")
    access = await grant(session, clock, await user_of(session, staff), Role.STAFF, community)
    zed, amy = harness.person(2001, "Zed"), harness.person(2002, "Amy")  # they read English
    for person in (zed, amy):
        await onboard(person, community.name, "第一网格")
        await person.tap("🙋 Volunteer")
        await person.press("🙋 Become a volunteer")
        await person.press("⬜ 🚶 Street patrol")
        await person.press("Next ▶")
        await person.press("Next ▶")
        await person.press("第一网格")
    late = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS, community_id=community.id or 0,
        title="晚间巡逻", place="北门",
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 3)])
    (grid,) = await rows(session, Grid)
    early = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS, community_id=community.id or 0,
        title="早间巡逻", place="南门", grid_id=grid.id,
        shifts=[vol.ShiftSpec(TUE_18 - timedelta(hours=10), TUE_18 - timedelta(hours=9), 3)])
    (late_shift,) = await vol.task_shifts(session, task_id=late.id or 0)
    (early_shift,) = await vol.task_shifts(session, task_id=early.id or 0)
    await amy.forge(VolTakeCb(shift_id=late_shift.id or 0).pack())
    await zed.forge(VolTakeCb(shift_id=early_shift.id or 0).pack())
    await amy.forge(VolTakeCb(shift_id=early_shift.id or 0).pack())

    # Every staff screen names the community (and the task's grid where it has one).
    await staff.tap("🙋 志愿服务")
    await staff.press("🧑‍💼 组织志愿服务：幸福社区")
    await staff.press("📋 任务和班次")
    assert staff.last.startswith("🏘 幸福社区\n任务（已报名 / 需要人数）：")
    await staff.press("早间巡逻 · 2/3")
    await staff.press("👥 1. 3月3日（周二）上午8:00")
    assert staff.last.startswith("早间巡逻\n🏘 幸福社区 · 第一网格\n🕒 ")
    assert "已报名：2/3" in staff.last
    await staff.tap("🙋 志愿服务")
    await staff.press("🧑‍💼 组织志愿服务：幸福社区")
    await staff.press("🏅 各网格服务时长")
    assert staff.last.startswith("🏅 已确认的志愿服务时长，2026年3月\n🏘 幸福社区\n")
    await staff.press("🏅 表扬")
    assert staff.last == "🏘 幸福社区\n您想表扬2026年3月的哪些志愿者？请按名字，然后按发送。"
    await staff.press("◀ 返回")
    await staff.press("📥 Excel：本月")
    document = staff.handle.last_bot_message
    assert document is not None and document.document_name == "volunteer-hours-2026-03.xlsx"
    assert "2026-03" not in document.content  # a month in words, not ISO, in the caption
    book = load_workbook(io.BytesIO(harness.emulator.state.files[document.document or ""].data))
    assert book.sheetnames == ["汇总", "班次"]
    sheet = book["班次"]
    assert sheet["A1"].value == "志愿服务时长 · 幸福社区 · 2026年3月"
    assert sheet["A1"].font.bold
    assert [c.value for c in sheet[2]][:4] == ["志愿者", "网格", "任务", "地点"]
    assert all(c.font.bold for c in sheet[2]) and sheet.freeze_panes == "A3"
    body = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert [(r[0], r[2]) for r in body] == [("Amy", "早间巡逻"), ("Zed", "早间巡逻"),
                                            ("Amy", "晚间巡逻")]  # by time, not by name
    assert [r[4] for r in body] == sorted(r[4] for r in body)  # oldest first
    assert body[0][4] == datetime(2026, 3, 3, 8, 0)  # the community's wall-clock time
    assert sheet.column_dimensions["C"].width >= 2 * len("早间巡逻")  # CJK is twice as wide
    summary = book["汇总"]
    assert summary["A1"].value == "志愿服务时长 · 幸福社区 · 2026年3月"
    assert [c.value for c in summary[2]] == [None, "数量", "占比"]
    lines = {row[0]: (row[1], row[2]) for row in summary.iter_rows(min_row=3, values_only=True)}
    assert lines["已认领班次"] == (3, 1)
    assert lines["尚未记录"] == (3, 1) and lines["到岗"] == (0, 0)
    assert lines["志愿者"] == (2, None)
    assert lines["已确认时长"] == (0, 0)
    assert summary["C3"].number_format == "0.0%"
