"""End to end: staff publish a task → only the matching volunteer is pinged → claim →
reminder → check-in and out → staff confirm → hours for the volunteer and in the Excel file."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.when import say_moment
from emulator import Emulator, UserHandle
from tests.e2e.steps import (
    TIMEOUT,
    alert,
    community_with_staff,
    join,
    showing_log,
    step,
    stop_cleanly,
)

pytestmark = pytest.mark.e2e
ZONE = ZoneInfo("Asia/Shanghai")


class BotTime:
    """The bot process's clock, moved with /clock (it runs from the real time plus a jump)."""

    def __init__(self, user: UserHandle) -> None:
        self.user = user
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(ZONE) + self.offset

    async def move_to(self, moment: datetime) -> None:
        minutes = int((moment - self.now()).total_seconds() // 60) + 1
        assert 0 < minutes <= 9999
        await step(self.user, self.user.send(f"/clock +{minutes}m"), "The bot's time is now")
        self.offset += timedelta(minutes=minutes)


def say(day: datetime) -> str:
    """A day as the bot says it in English (bot/when.py): "Fri 4 Dec"."""
    return f"{day:%a} {day.day} {day:%b}"


def claim_label(moment: datetime, language: str, mark: str = "✋") -> str:
    """A call's first button as the sender says it to a volunteer of `language` (two days
    ahead or more: no 今天/明天): "✋ 1. 12月5日（周六）上午10:00" / "✋ 1. Sat 5 Dec, 10:00 am"."""
    return f"{mark} 1. {say_moment(moment, ZONE, locale=language)}"


async def volunteer(user: UserHandle, skill: str) -> None:
    await join(user, "Sunny Court")
    await step(user, user.press_reply("🙋 Volunteer"), "Help your neighbours")
    await step(user, user.press_text("🙋 Become a volunteer"), "Step 1 of 3")
    await step(user, user.press_text("⬜ " + skill), "Step 1 of 3")
    await step(user, user.press_text("Next ▶"), "Step 2 of 3")
    await step(user, user.press_text("Next ▶"), "Saved ✅")


async def test_a_task_from_ping_to_confirmed_hours_and_the_excel_file(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    # Tests tap faster than people: lift the flood limit.
    bot = await start_bot(DEV_CLOCK="true", SWEEP_SECONDS="1", FLOOD_RATE="1000")
    async with showing_log(bot):
        wang = await community_with_staff(emulator, community="Sunny Court", staff_id=2002)

        ann = emulator.user(2001, "Ann", language_code="en")
        await volunteer(ann, "🚶 Street patrol")
        bob = emulator.user(2003, "Bob", language_code="en")
        await volunteer(bob, "📚 Tutoring")

        # Staff publish a patrol, two days from now at 10:00, for two people.
        time = BotTime(wang)
        day = (time.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0,
                                                       microsecond=0)
        await step(wang, wang.press_reply("🙋 Volunteer"), "🙋 Volunteer")
        await step(wang, wang.press_text("🧑‍💼 Organise: Sunny Court"), "Volunteer work")
        await step(wang, wang.press_text("➕ New task"), "What is it called?")
        await step(wang, wang.send("Morning patrol"), "Title in Chinese (optional)")
        await step(wang, wang.press_text("Skip ▶"), "Describe it")
        await step(wang, wang.press_text("Skip ▶"), "Which skills")
        await step(wang, wang.press_text("⬜ 🚶 Street patrol"), "Which skills")
        await step(wang, wang.press_text("Next ▶"), "Where?")
        await step(wang, wang.send("North gate"), "on the map")
        await step(wang, wang.press_text("Skip ▶"), "which day?")
        await step(wang, wang.press_text(say(day)), "What time")
        await step(wang, wang.press_text("10:00 am"), "How long")
        await step(wang, wang.press_text("2 h"), "How many people")
        await step(wang, wang.press_text("2"), "Check the task")
        await step(wang, wang.press_text("✅ Publish"), "Published")

        # Ann (patrol) is pinged through the outbox; Bob (tutoring) is not.
        ping = await ann.wait_for("Volunteers wanted", timeout=TIMEOUT)
        assert "Morning patrol" in ping.content
        await step(ann, ann.press_text(claim_label(day, "en")), "Your place is booked")
        assert not any("Volunteers wanted" in m.content for m in bob.bot_messages)

        # The day before: a reminder with "still coming" / "can't come".
        await time.move_to(day - timedelta(hours=23, minutes=30))
        reminder = await ann.wait_for("Reminder", timeout=TIMEOUT)
        assert reminder.button_labels == ["👍 Still coming", "🙅 Can't come"]
        await ann.press_text("👍 Still coming")
        await alert(ann, "👍 Thank you! See you there.")

        # An hour before: the second reminder, with a check-in button.
        await time.move_to(day - timedelta(minutes=50))
        await ann.wait_for(lambda m: "✅ Check in" in m.button_labels, timeout=TIMEOUT)
        await step(ann, ann.press_text("✅ Check in"), "share your location")
        await step(ann, ann.press_reply("📍 Share my location"), "Thank you")

        await time.move_to(day + timedelta(hours=2, minutes=5))
        await step(ann, ann.press_reply("🙋 Volunteer"), "Your shifts")
        await step(ann, ann.press_text(f"📅 {say(day)}, 10:00 am–12:00 pm Morning patrol"),
                   "Checked in at")
        await step(ann, ann.press_text("🏁 Check out"), "About 2 hours")

        # Staff confirm; the hours appear for Ann and in the month's spreadsheet.
        await step(wang, wang.press_reply("🙋 Volunteer"), "🙋 Volunteer")
        await step(wang, wang.press_text("🧑‍💼 Organise: Sunny Court"), "Volunteer work")
        await step(wang, wang.press_text("📋 Tasks and shifts"), "Tasks")
        await step(wang, wang.press_text("Morning patrol · 1/2"), "North gate")
        await step(wang, wang.press_text(f"👥 1. {say(day)}, 10:00 am"), "Places taken: 1 of 2")
        await step(wang, wang.press_text("✅ 1. Ann: 2 h"), "✅ 2 h confirmed")
        text = await step(ann, ann.press_reply("🙋 Volunteer"), "Hours")
        assert "Hours: this month 2, this year 2, in total 2" in text

        await step(wang, wang.press_reply("🙋 Volunteer"), "🙋 Volunteer")
        await step(wang, wang.press_text("🧑‍💼 Organise: Sunny Court"), "Volunteer work")
        await step(wang, wang.press_text("🏅 Hours by grid"), "1. Ann: 2 h")
        await wang.press_text("📥 Excel: this month")
        document = await wang.wait_for(lambda m: m.document is not None, timeout=TIMEOUT)
        sheet = load_workbook(io.BytesIO(emulator.state.files[document.document or ""].data)
                              )["Shifts"]
        table = [list(row) for row in sheet.iter_rows(min_row=3, values_only=True)]
        assert len(table) == 1
        assert (table[0][0], table[0][2], table[0][3], table[0][-1]) == (
            "Ann", "Morning patrol", "North gate", 2)
        assert table[0][4] == day.replace(tzinfo=None)
    await stop_cleanly(bot, emulator)


async def test_in_chinese_an_answered_call_and_reminder_show_the_answer_and_staff_confirm_all(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    bot = await start_bot(DEV_CLOCK="true", SWEEP_SECONDS="1", FLOOD_RATE="1000")
    async with showing_log(bot):
        wang = await community_with_staff(emulator, community="Sunny Court", staff_id=2002)
        auntie = emulator.user(2011, "王阿姨", language_code="zh")
        await step(auntie, auntie.send("/start"), "隐私说明")
        await step(auntie, auntie.press_text("✅ 我同意"), "您住在哪个社区")
        await step(auntie, auntie.press_text("Sunny Court"), "设置完成")
        await step(auntie, auntie.press_reply("🙋 志愿服务"), "用您喜欢的方式")
        await step(auntie, auntie.press_text("🙋 成为志愿者"), "第 1 步")
        await step(auntie, auntie.press_text("⬜ 🚶 街巷巡逻"), "第 1 步")
        await step(auntie, auntie.press_text("下一步 ▶"), "第 2 步")
        await step(auntie, auntie.press_text("下一步 ▶"), "已保存")

        time = BotTime(wang)
        day = (time.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0,
                                                       microsecond=0)
        await step(wang, wang.press_reply("🙋 Volunteer"), "🙋 Volunteer")
        await step(wang, wang.press_text("🧑‍💼 Organise: Sunny Court"), "Volunteer work")
        await step(wang, wang.press_text("➕ New task"), "What is it called?")
        await step(wang, wang.send("晨间巡逻"), "Title in Chinese (optional)")
        await step(wang, wang.press_text("Skip ▶"), "Describe it")
        await step(wang, wang.press_text("Skip ▶"), "Which skills")
        await step(wang, wang.press_text("⬜ 🚶 Street patrol"), "Which skills")
        await step(wang, wang.press_text("Next ▶"), "Where?")
        await step(wang, wang.send("北门"), "on the map")
        await step(wang, wang.press_text("Skip ▶"), "which day?")
        await step(wang, wang.press_text(say(day)), "What time")
        await step(wang, wang.press_text("10:00 am"), "How long")
        await step(wang, wang.press_text("2 h"), "How many people")
        await step(wang, wang.press_text("2"), "Check the task")
        await step(wang, wang.press_text("✅ Publish"), "Published")

        # The call, claimed: it now shows ✅ for her place instead of ✋.
        await auntie.wait_for("招募志愿者：晨间巡逻", timeout=TIMEOUT)
        await step(auntie, auntie.press_text(claim_label(day, "zh")), "报名成功")
        await auntie.wait_for(lambda m: "招募志愿者" in m.content
                              and m.button_labels == [claim_label(day, "zh", "✅")],
                              timeout=TIMEOUT)

        # The day before: the reminder, answered, says so and offers nothing more.
        await time.move_to(day - timedelta(hours=23, minutes=30))
        await auntie.wait_for("⏰ 提醒：晨间巡逻", timeout=TIMEOUT)
        await auntie.press_text("👍 会来")
        answered = await auntie.wait_for("👍 您已确认会来。", timeout=TIMEOUT)
        assert "⏰ 提醒：晨间巡逻" in answered.content and answered.button_labels == []

        # After the shift, staff confirm the month's waiting shifts at once; she is told.
        await time.move_to(day + timedelta(hours=2, minutes=5))
        await step(wang, wang.press_reply("🙋 Volunteer"), "🙋 Volunteer")
        await step(wang, wang.press_text("🧑‍💼 Organise: Sunny Court"), "Volunteer work")
        await step(wang, wang.press_text("🏅 Hours by grid"),
                   "Shifts waiting for hours to be confirmed: 1")
        await step(wang, wang.press_text("✅ Confirm all (1)"), "Confirm the hours of 1 shift")
        await step(wang, wang.press_text("✅ Yes, confirm 1"), "王阿姨: 2 h")
        told = await auntie.wait_for("的服务时长已确认：2 小时", timeout=TIMEOUT)
        assert "晨间巡逻" in told.content
    await stop_cleanly(bot, emulator)
