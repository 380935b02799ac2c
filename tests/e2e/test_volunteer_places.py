"""End to end, in English and Chinese: a volunteer claims a shift, presses 🙅 Can't come and
confirms it, takes the place again, gets the reminder (once), and finds the shift in
🗂 My shifts so far."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from emulator import Emulator, UserHandle
from tests.e2e.steps import TIMEOUT, community_with_staff, showing_log, step, stop_cleanly
from tests.e2e.test_volunteers import BotTime, claim_label, say, volunteer

pytestmark = pytest.mark.e2e


async def publish(wang: UserHandle, time: BotTime, title: str) -> datetime:
    """Staff publish a patrol two days from now at 10:00, for two people."""
    day = (time.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    await step(wang, wang.press_reply("🙋 Volunteer"), "🙋 Volunteer")
    await step(wang, wang.press_text("🧑‍💼 Organise: Sunny Court"), "Volunteer work")
    await step(wang, wang.press_text("➕ New task"), "What is it called?")
    await step(wang, wang.send(title), "Title in Chinese (optional)")
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
    return day


async def test_cant_come_confirmed_then_claimed_again_is_reminded_and_in_the_history(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    bot = await start_bot(DEV_CLOCK="true", SWEEP_SECONDS="1", FLOOD_RATE="1000")
    async with showing_log(bot):
        wang = await community_with_staff(emulator, community="Sunny Court", staff_id=2002)
        ann = emulator.user(2001, "Ann", language_code="en")
        await volunteer(ann, "🚶 Street patrol")
        time = BotTime(wang)
        day = await publish(wang, time, "Morning patrol")

        await ann.wait_for("Volunteers wanted", timeout=TIMEOUT)
        await step(ann, ann.press_text(claim_label(day, "en")), "Your place is booked")
        await step(ann, ann.press_text("🙅 Can't come"), "🙅 Give back your place on")
        card = await step(ann, ann.press_text("No, keep my place"), "Morning patrol")
        assert "Give back" not in card
        await step(ann, ann.press_text("🙅 Can't come"), "🙅 Give back your place on")
        await step(ann, ann.press_text("Yes, give my place back"), "You gave this place back")
        await wang.wait_for("Ann gave back their place on Morning patrol (Sunny Court)",
                            timeout=TIMEOUT)

        # Again, from the call (its button says ✅ from the first time).
        await step(ann, ann.press_text(claim_label(day, "en", "✅")), "Your place is booked")
        await time.move_to(day - timedelta(hours=23, minutes=30))
        reminder = await ann.wait_for("⏰ Reminder: Morning patrol", timeout=TIMEOUT)
        assert reminder.button_labels == ["👍 Still coming", "🙅 Can't come"]
        assert sum("⏰ Reminder" in m.content for m in ann.bot_messages) == 1

        await step(ann, ann.press_reply("🙋 Volunteer"), "Your shifts")
        history = await step(ann, ann.press_text("🗂 My shifts so far"), "1 shift, newest first")
        assert f"1. {say(day)}, 10:00 am–12:00 pm\n    Morning patrol · Sunny Court\n" \
            "    🕒 coming · about 2 hours" in history
    await stop_cleanly(bot, emulator)


async def test_in_chinese_cant_come_asks_once_and_the_history_shows_the_shift(
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
        day = await publish(wang, time, "晨间巡逻")

        await auntie.wait_for("招募志愿者：晨间巡逻", timeout=TIMEOUT)
        await step(auntie, auntie.press_text(claim_label(day, "zh")), "报名成功")
        await step(auntie, auntie.press_text("🙅 来不了"), "🙅 要退出")
        await step(auntie, auntie.press_text("是的，退出这个班次"), "🙅")
        await wang.wait_for("王阿姨 gave back their place on 晨间巡逻 (Sunny Court)",
                            timeout=TIMEOUT)
        await step(auntie, auntie.press_text(claim_label(day, "zh", "✅")), "报名成功")

        await time.move_to(day - timedelta(hours=23, minutes=30))
        reminder = await auntie.wait_for("⏰ 提醒：晨间巡逻", timeout=TIMEOUT)
        assert reminder.button_labels == ["👍 会来", "🙅 来不了"]
        assert sum("⏰ 提醒" in m.content for m in auntie.bot_messages) == 1
        await step(auntie, auntie.press_reply("🙋 志愿服务"), "您的班次")
        history = await step(auntie, auntie.press_text("🗂 我的服务记录"), "共1个班次")
        assert "晨间巡逻 · Sunny Court\n    🕒 即将开始 · 约 2 小时" in history
    await stop_cleanly(bot, emulator)
