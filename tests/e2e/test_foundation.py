"""End to end: the real bot process, onboarding in zh and en, an admin, a one-time invite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emulator import Emulator
from tests.e2e.conftest import ADMIN_TG_ID
from tests.e2e.steps import INVITE_LINK, showing_log, step, stop_cleanly

pytestmark = pytest.mark.e2e
async def test_onboarding_admin_and_a_one_time_invite(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    bot = await start_bot()
    async with showing_log(bot):
        admin = emulator.user(ADMIN_TG_ID, "Director", language_code="en")
        await step(admin, admin.send("/start"), "Privacy notice")
        await step(admin, admin.press_text("✅ I agree"), "No communities have been set up yet")
        await step(admin, admin.press_reply("🛠 Manage community"), "There are no communities")
        await step(admin, admin.press_text("➕ New community"), "new community's name")
        await step(admin, admin.send("阳光花园社区"), "Community created")
        await step(admin, admin.press_text("➕ Add grids"), "grid names")
        await step(admin, admin.send("1号楼\n2号楼"), "Added: 1号楼、2号楼")
        invite = await step(admin, admin.press_text("🧑‍💼 Invite a staff member"),
                            "Invite link")
        token = INVITE_LINK.search(invite).group(1)  # type: ignore[union-attr]

        # A resident in Chinese, searching by part of the name.
        li = emulator.user(2001, "李奶奶", language_code="zh-hans")
        await step(li, li.send("/start"), "隐私说明")
        await step(li, li.press_text("✅ 我同意"), "您住在哪个社区")
        await step(li, li.send("阳光"), "名称包含“阳光”的社区")
        await step(li, li.press_text("阳光花园社区"), "网格")
        await step(li, li.press_text("2号楼"), "设置完成")
        labels = [label for row in li.reply_keyboard or [] for label in row]
        assert {"⚙️ 设置", "❓ 帮助"} <= set(labels) and "🛠 社区管理" not in labels

        # The staff invite works once.
        wang = emulator.user(2002, "Wang", language_code="en")
        await step(wang, wang.send(f"/start {token}"), "Privacy notice")
        await step(wang, wang.press_text("✅ I agree"), "You are now a staff member")
        assert "🛠 Manage community" in [b for row in wang.reply_keyboard or [] for b in row]
        zhao = emulator.user(2003, "Zhao", language_code="en")
        await step(zhao, zhao.send("/start"), "Privacy notice")
        await step(zhao, zhao.press_text("✅ I agree"), "Which community")
        await step(zhao, zhao.send(f"/start {token}"), "already been used")
    await stop_cleanly(bot, emulator)
