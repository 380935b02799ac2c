"""A volunteer's places, through the real dispatcher with the outbox sender running:
🙅 Can't come asks once on the pressed card or reminder (No keeps the place and puts the
message back; Yes gives it back; late, a reason is the yes), in English and Chinese."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.callback_data.volunteers import VolHistoryCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.outbox import OutboxMessage
from models.users import Role
from models.volunteers import HoursEntry, Shift, ShiftClaim, Volunteer, VolunteerTask
from scheduler.outbox import OutboxSender
from services import volunteer_hours as hours
from services import volunteers as vol
from services.access import Access
from services.clock import ManualClock
from tests.factories import grant, make_community
from tests.handlers.conftest import Harness, Person, onboard, rows, user_of
from tests.handlers.test_volunteer_taps import (
    claim_from_the_list,
    delivered,
    patrol,
    sender,
)
from tests.handlers.test_volunteers import TUE_18, become_volunteer, make_staff

__all__ = ["sender"]  # the fixture, shared
BUTTONS = OUTBOX_KEYBOARDS.volunteers


def on_screen(person: Person, message_id: int) -> tuple[str, list[str]]:
    """The words and buttons of one of the bot's messages as the person sees it now."""
    (message,) = [m for m in person.handle.bot_messages if m.message_id == message_id]
    return message.content, message.button_labels


async def status(session: AsyncSession) -> str:
    (claim,) = await rows(session, ShiftClaim)
    return str(claim.status)


async def test_cant_come_asks_once_on_the_card_and_no_keeps_the_place(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await patrol(session, clock, access, community.id or 0)
    clock.set(TUE_18 - timedelta(hours=30))
    await claim_from_the_list(ann)
    # The card of her place (the sender may deliver the call to her after it, on PostgreSQL).
    card = next(m for m in reversed(ann.handle.bot_messages) if "🙅 Can't come" in m.button_labels)
    before = on_screen(ann, card.message_id)
    assert "🙅 Can't come" in before[1]
    assert "Patrol\n🏘 Sunny Court\n🕒 Tue 3 Mar, 6:00 pm–8:00 pm\n📍 North gate" in before[0]

    await ann.press("🙅 Can't come")
    text, buttons = on_screen(ann, card.message_id)  # the card itself asks
    assert text == before[0] + "\n\n🙅 Give back your place on Patrol, Tue 3 Mar, " \
        "6:00 pm–8:00 pm?"
    assert buttons == ["Yes, give my place back", "No, keep my place"]
    assert await status(session) == "claimed"

    await ann.press("No, keep my place")
    assert ann.alerts[-1] == "👍 Your place is kept."
    assert on_screen(ann, card.message_id) == before
    assert await status(session) == "claimed"
    staff_user = await user_of(session, staff)
    assert await rows(session, OutboxMessage, col(OutboxMessage.user_id) == staff_user.id) == []

    await ann.press("🙅 Can't come")
    await ann.press("Yes, give my place back")
    text, buttons = on_screen(ann, card.message_id)
    assert text == before[0] + "\n\n🙅 You gave this place back. Thank you for letting us know."
    assert buttons == []
    assert await status(session) == "withdrawn"
    await delivered(sender, sessionmaker, harness)
    assert staff.last.startswith("ℹ️ Ann gave back their place on Patrol")


async def test_cant_come_on_a_reminder_puts_the_reminder_back_and_late_asks_why_in_chinese(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    li = harness.person(2002, "李", "zh")
    await onboard(li, community.name)
    await vol.save_profile(session, user=await user_of(session, li), clock=clock,
                           skills=["patrol"], slots=[])
    shift = await patrol(session, clock, access, community.id or 0)
    await delivered(sender, sessionmaker, harness)
    await li.press("✋ 1. 明天（周二）下午6:00")
    assert li.last.startswith("✅ 报名成功")

    clock.set(TUE_18 - timedelta(hours=23, minutes=30))
    await delivered(sender, sessionmaker, harness)
    reminder = li.handle.last_bot_message
    assert reminder is not None and reminder.content.startswith("⏰ 提醒：Patrol\n🏘 Sunny Court\n")
    before = on_screen(li, reminder.message_id)
    await li.press("🙅 来不了")
    text, buttons = on_screen(li, reminder.message_id)
    assert text == before[0] + "\n\n🙅 要退出3月3日（周二）下午6:00–下午8:00的Patrol吗？"
    assert buttons == ["是的，退出这个班次", "不，保留我的名额"]
    await li.press("不，保留我的名额")
    assert on_screen(li, reminder.message_id) == before
    assert await status(session) == "claimed"

    # Two hours before: too late to give it back without a word; a reason is the yes.
    clock.set(shift.starts_at - timedelta(hours=2))
    await li.press("🙅 来不了")
    text, buttons = on_screen(li, reminder.message_id)
    assert "不到12小时" in text
    assert buttons[-1] == "不，保留我的名额" and len(buttons) == 4
    assert buttons[0] == "🤒 我身体不适"
    await li.press("🤒 我身体不适")
    assert await status(session) == "withdrawn"
    text, buttons = on_screen(li, reminder.message_id)
    assert buttons == [] and "不到12小时" not in text
    assert text == before[0] + "\n\n已为您取消报名，并告诉了组织者。谢谢您告诉我们。"
    await delivered(sender, sessionmaker, harness)
    assert staff.last.startswith("⚠️ 李 can't come to Patrol (Sunny Court) ")
    assert "Reason: 🤒 我身体不适" in staff.last


async def ten_weekly_patrols(session: AsyncSession, clock: ManualClock, access: Access,
                             community_id: int) -> list[Shift]:
    task = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS, community_id=community_id,
        title="Patrol", place="North gate", weeks=10,
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 3)])
    return await vol.task_shifts(session, task_id=task.id or 0)


async def test_the_history_shows_each_shift_with_its_hours_and_whether_confirmed_paged(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await ann.tap("🙋 Volunteer")
    await ann.press("🗂 My shifts so far")
    assert ann.last == ("🗂 My shifts so far\nNo shifts yet. Take one from 🔎 Shifts that need "
                        "people.")
    shifts = await ten_weekly_patrols(session, clock, access, community.id or 0)
    user = await user_of(session, ann)
    claims = [await vol.claim_shift(session, user=user, clock=clock, buttons=BUTTONS,
                                    shift_id=s.id or 0) for s in shifts]
    await vol.withdraw(session, user=user, clock=clock, claim_id=claims[9].id or 0)
    clock.set(TUE_18 + timedelta(weeks=2, hours=3))
    await hours.confirm_hours(session, access=access, clock=clock, claim_id=claims[0].id or 0)
    await hours.mark_absent(session, access=access, clock=clock, claim_id=claims[1].id or 0)

    await ann.tap("🙋 Volunteer")
    await ann.press("🗂 My shifts so far")
    page = ann.handle.last_bot_message
    assert page is not None
    assert page.content.splitlines()[:2] == ["🗂 My shifts so far", "9 shifts, newest first."]
    lines = page.content.splitlines()
    assert lines[2:5] == [
        "1. Tue 28 Apr, 6:00 pm–8:00 pm", "    Patrol · Sunny Court",
        "    🕒 coming · about 2 hours"]
    assert lines[-7:] == [
        "7. Tue 17 Mar, 6:00 pm–8:00 pm", "    Patrol · Sunny Court",
        "    ⏳ 2 hours, waiting for staff to confirm",
        "8. Tue 10 Mar, 6:00 pm–8:00 pm", "    Patrol · Sunny Court", "    ✖ marked absent",
        "Page 1 of 2"]
    assert page.button_labels == ["Older ▶", "◀ Back"]

    await ann.press("Older ▶")
    older = ann.handle.last_bot_message
    assert older is not None and older.message_id == page.message_id  # the same message
    assert older.content.splitlines()[2:] == [
        "9. Tue 3 Mar, 6:00 pm–8:00 pm", "    Patrol · Sunny Court", "    ✅ 2 hours confirmed",
        "Page 2 of 2"]
    assert older.button_labels == ["◀ Newer", "◀ Back"]
    # A stale page number shows the nearest page, never an error.
    await ann.forge(VolHistoryCb(page=7).pack(), message_id=page.message_id)
    assert on_screen(ann, page.message_id)[0].endswith("Page 2 of 2")
    await ann.press("◀ Back")
    assert ann.last.startswith("🙋 Volunteer")


async def test_the_history_in_chinese(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    li = harness.person(2002, "李", "zh")
    await onboard(li, community.name)
    user = await user_of(session, li)
    await vol.save_profile(session, user=user, clock=clock, skills=["patrol"], slots=[])
    shifts = await ten_weekly_patrols(session, clock, access, community.id or 0)
    first = await vol.claim_shift(session, user=user, clock=clock, buttons=BUTTONS,
                                  shift_id=shifts[0].id or 0)
    clock.set(TUE_18 + timedelta(hours=3))
    await hours.confirm_hours(session, access=access, clock=clock, claim_id=first.id or 0)
    await li.tap("🙋 志愿服务")
    await li.press("🗂 我的服务记录")
    assert li.last.splitlines() == [
        "🗂 我的服务记录", "共1个班次，最近的在前。", "1. 3月3日（周二）下午6:00–下午8:00",
        "    Patrol · Sunny Court", "    ✅ 已确认 2 小时"]


def buttons_of(person: Person) -> list[str]:
    last = person.handle.last_bot_message
    assert last is not None
    return last.button_labels


async def test_every_step_of_the_task_draft_has_back_and_cancel(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    community = await make_community(session, clock, grids=("Block 1",))
    staff = harness.person(3001, "Organiser")
    await onboard(staff, community.name, "Block 1")
    await grant(session, clock, await user_of(session, staff), Role.STAFF, community)
    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("➕ New task")
    assert staff.last.startswith("New volunteer task. What is it called?")
    assert buttons_of(staff) == ["✖ Cancel"]  # the first step: nothing to go back to
    await staff.send("Night patrol")
    assert staff.last.startswith("🌐 Title in Chinese (optional)")  # optional: Skip answers
    assert buttons_of(staff)[-3:] == ["Skip ▶", "◀ Back", "✖ Cancel"]
    await staff.send("夜间巡逻")
    assert buttons_of(staff)[-3:] == ["Skip ▶", "◀ Back", "✖ Cancel"]
    await staff.press("◀ Back")
    assert staff.last.startswith("🌐 Title in Chinese (optional)")
    await staff.press("◀ Back")
    assert staff.last.startswith("New volunteer task. What is it called?")
    await staff.send("Evening patrol")  # typed again: the new title
    await staff.press("Skip ▶")
    await staff.press("Skip ▶")
    await staff.press("⬜ 🚶 Street patrol")
    await staff.press("Next ▶")
    assert staff.last == "Which grid is it in?"
    await staff.press("◀ Back")
    assert "✅ 🚶 Street patrol" in buttons_of(staff)  # the tick kept
    await staff.press("◀ Back")
    assert staff.last.startswith("Describe it in a few words")
    await staff.press("◀ Back")
    assert staff.last.startswith("🌐 Title in Chinese (optional)")
    await staff.press("Skip ▶")
    await staff.press("Skip ▶")
    await staff.press("Next ▶")
    await staff.press("Block 1")
    assert staff.last.startswith("Where?") and buttons_of(staff) == ["◀ Back", "✖ Cancel"]
    await staff.press("◀ Back")
    assert staff.last == "Which grid is it in?"
    await staff.press("Whole community")
    await staff.send("North gate")
    await staff.press("◀ Back")
    assert staff.last.startswith("Where?")
    await staff.send("South gate")
    await staff.press("Skip ▶")
    assert staff.last == "Shift 1: which day?" and buttons_of(staff)[-2:] == [
        "◀ Back", "✖ Cancel"]
    await staff.press("◀ Back")
    assert staff.last.startswith("If you like, send the place on the map")
    await staff.press("Skip ▶")
    await staff.press("Tomorrow")
    assert buttons_of(staff)[-2:] == ["◀ Back", "✖ Cancel"]
    await staff.press("6:00 pm")
    assert staff.last == "How long is the shift?" and buttons_of(staff)[-2:] == [
        "◀ Back", "✖ Cancel"]
    await staff.press("◀ Back")
    assert staff.last == "What time does it start?"
    await staff.press("7:00 pm")
    await staff.press("2 h")
    assert staff.last == "How many people are needed?"
    await staff.press("◀ Back")
    assert staff.last == "How long is the shift?"
    await staff.press("3 h")
    await staff.press("4")
    assert "1. Tue 3 Mar, 7:00 pm–10:00 pm, 4 people" in staff.last
    assert "Evening patrol" in staff.last and "South gate" in staff.last
    await staff.press("🔁 Repeat weekly")
    assert buttons_of(staff)[-2:] == ["◀ Back", "✖ Cancel"]
    await staff.press("◀ Back")
    assert staff.last.startswith("Check the task, then publish it.")
    await staff.press("➕ Add another shift")
    assert staff.last == "Shift 2: which day?"
    await staff.press("◀ Back")  # the second shift not added: the summary as it was
    assert staff.last.startswith("Check the task, then publish it.")
    await staff.press("➕ Add another shift")
    await staff.press("✖ Cancel")
    assert staff.last == "✖ Cancelled. The draft was dropped; nothing was published."
    assert buttons_of(staff) == ["◀ Volunteer work"]
    assert await rows(session, VolunteerTask) == []
    await staff.press("◀ Volunteer work")
    assert staff.last.startswith("🧑‍💼 Volunteer work")


async def test_every_step_of_the_profile_has_back_and_cancel_in_chinese(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    community = await make_community(session, clock, grids=("一网格",))
    li = harness.person(2002, "李", "zh")
    await onboard(li, community.name, "一网格")
    await li.tap("🙋 志愿服务")
    await li.press("🙋 成为志愿者")
    assert buttons_of(li)[-1] == "✖ 取消" and "◀ 返回" not in buttons_of(li)
    await li.press("⬜ 🚶 街巷巡逻")
    await li.press("✍️ 其他（自己输入）")
    assert li.last == "请用几个字写下您的技能。" and buttons_of(li) == ["◀ 返回", "✖ 取消"]
    await li.press("◀ 返回")
    assert "✅ 🚶 街巷巡逻" in buttons_of(li)
    await li.press("下一步 ▶")
    assert buttons_of(li)[-2:] == ["◀ 返回", "✖ 取消"]
    await li.press("◀ 返回")
    assert li.last.startswith("第 1 步")
    await li.press("下一步 ▶")
    await li.press("下一步 ▶")
    assert li.last.startswith("第 3 步") and buttons_of(li)[-2:] == ["◀ 返回", "✖ 取消"]
    await li.press("◀ 返回")
    assert li.last.startswith("第 2 步")
    await li.press("✖ 取消")
    assert li.last.startswith("✖ 已取消，什么都没有改动。")
    assert await rows(session, Volunteer) == []


async def test_staff_add_a_shift_to_a_published_task_and_those_on_a_removed_shift_are_told(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    li = harness.person(2002, "李", "zh")
    await onboard(li, community.name)
    await vol.save_profile(session, user=await user_of(session, li), clock=clock,
                           skills=["patrol"], slots=[])
    bob = harness.person(2003, "Bob")
    await become_volunteer(bob, community.name, ["📚 Tutoring"], [])
    await patrol(session, clock, access, community.id or 0, skills=("patrol",))
    await delivered(sender, sessionmaker, harness)
    assert sum("招募志愿者" in text for text in li.texts) == 1

    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("📋 Tasks and shifts")
    await staff.press("Patrol · 0/2")
    await staff.press("➕ Add a shift")
    assert staff.last == "A new shift for Patrol: which day?"
    await staff.press("◀ Back")
    assert staff.last == "No shift was added." and buttons_of(staff) == ["◀ Back to the task"]
    await staff.press("◀ Back to the task")
    await staff.press("➕ Add a shift")
    await staff.press("Tomorrow")
    await staff.press("8:00 pm")
    await staff.press("2 h")
    await staff.press("3")
    assert staff.alerts[-1] == "Added ✅"
    assert staff.last == ("✅ Shift added to Patrol: Tue 3 Mar, 8:00 pm–10:00 pm, 3 people. "
                          "Volunteers whose skills and free times match are being told.")
    await staff.press("◀ Back to the task")
    assert "2. Tue 3 Mar, 8:00 pm–10:00 pm · 0 of 3" in staff.last
    added = (await rows(session, Shift))[-1]

    # The volunteer the new shift suits is called for it (once); the tutor is not.
    await delivered(sender, sessionmaker, harness)
    assert sum("招募志愿者" in text for text in li.texts) == 2
    assert li.last.startswith("🙋 招募志愿者：Patrol\n🏘 Sunny Court\n📍 North gate\n")
    assert buttons_of(li) == ["✋ 1. 明天（周二）下午8:00"]
    assert not any("Volunteers wanted" in text for text in bob.texts)
    await li.press("✋ 1. 明天（周二）下午8:00")
    assert li.last.startswith("✅ 报名成功")

    # Staff remove that shift again: she is told.
    await staff.press("👥 2. Tue 3 Mar, 8:00 pm")
    await staff.press("❌ Cancel this shift")
    await staff.press("Yes, cancel it")
    await delivered(sender, sessionmaker, harness)
    assert li.last.startswith("❌ 组织者已取消：Patrol（Sunny Court）")
    (claim,) = await rows(session, ShiftClaim, col(ShiftClaim.shift_id) == added.id)
    assert claim.status == "cancelled"


async def test_staff_correct_hours_by_a_button_and_cancel_leaves_them_as_they_were(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    shift = await patrol(session, clock, access, community.id or 0)
    await vol.claim_shift(session, user=await user_of(session, ann), clock=clock,
                          buttons=BUTTONS, shift_id=shift.id or 0)
    clock.set(TUE_18 + timedelta(hours=3))
    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("📋 Tasks and shifts")
    await staff.press("Patrol · 1/2")
    await staff.press("👥 1. Tue 3 Mar, 6:00 pm")
    await staff.press("✅ 1. Ann: 2 h")
    await staff.press("✏️ 1 correct")
    assert staff.last.startswith("How many hours were they, really? Press one")
    assert buttons_of(staff)[:4] == ["0 hours", "0.5 hours", "1 hour", "1.5 hours"]
    assert buttons_of(staff)[-1] == "✖ Cancel"
    await staff.press("2.5 hours")
    assert staff.last.startswith("Why are you correcting them?")
    await staff.press("✖ Cancel")  # the roster again; nothing changed
    assert "✅ 2 h confirmed" in staff.last
    await staff.send("Stayed late")  # no longer asked for: not taken as a reason
    assert [(e.minutes, e.reason) for e in await rows(session, HoursEntry)] == [(120, None)]

    await staff.press("✏️ 1 correct")
    await staff.press("2.5 hours")
    await staff.send("Stayed to lock the gate")
    assert staff.last.startswith("Corrected ✅") and "✅ 2.5 h confirmed" in staff.last
    assert [(e.minutes, e.reason) for e in await rows(session, HoursEntry)] == [
        (120, None), (150, "Stayed to lock the gate")]


async def test_staff_hear_of_a_withdrawal_in_the_night_when_their_quiet_hours_end(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await patrol(session, clock, access, community.id or 0)
    clock.set(TUE_18 - timedelta(hours=19, minutes=30))  # Monday 22:30 in Shanghai
    await claim_from_the_list(ann)
    await ann.press("🙅 Can't come")
    await ann.press("Yes, give my place back")
    await delivered(sender, sessionmaker, harness)
    assert not any("gave back" in text for text in staff.texts)  # 21:00–08:00: not now
    clock.set(TUE_18 - timedelta(hours=9, minutes=55))  # Tuesday 08:05
    await delivered(sender, sessionmaker, harness)
    assert staff.last.startswith("ℹ️ Ann gave back their place on Patrol (Sunny Court) ")
