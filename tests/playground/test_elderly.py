"""王奶奶, a new elderly resident, on a phone: from START to a seat in a class and a
report about a broken light, only by tapping big buttons and typing one sentence.
Screenshots of every step are saved in test-artifacts/playground/elderly/ to look at."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from models.db import ROOT
from tests.playground.test_browser import PHONE, OpenPage, button, no_violations

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT / "test-artifacts" / "playground" / "elderly"


class Walk:
    """The page, and a numbered screenshot after every step."""

    def __init__(self, page: Any, shots: Path = SHOTS) -> None:
        self.page, self.shots = page, shots
        self.chat = page.locator(".chat")
        self.step = 0

    async def shot(self, name: str) -> None:
        self.step += 1
        await self.page.wait_for_timeout(300)  # let the last message settle in the page
        self.shots.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(self.shots / f"{self.step:02d}-{name}.png"))

    async def tap(self, label: str) -> None:
        """An inline button under the newest message that has it."""
        await button(self.chat, label).click()
        await self.shot(re.sub(r"\W+", "-", label).strip("-")[:24] or "tap")

    async def menu(self, label: str) -> None:
        """A big button of the main menu, under the box."""
        await self.chat.locator(".reply-btn", has_text=label).click()
        await self.shot(re.sub(r"\W+", "-", label).strip("-")[:24] or "menu")

    async def says(self, text: str) -> None:
        await self.chat.locator(".msg.in", has_text=text).last.wait_for()


async def a_new_wang_nainai(page: Any, playground: str, shots: Path) -> Walk:
    """王奶奶 made on the page's panel, START pressed, and onboarded by three taps."""
    await page.goto(playground + "/")
    walk = Walk(page, shots)
    chat = walk.chat
    await chat.locator(".open-panel").click()
    await page.fill("#new-name", "王奶奶")
    await page.select_option("#new-lang", "zh-hans")
    await page.click("#new-person button[type=submit]")
    await chat.locator(".who", has_text="王奶奶").wait_for()
    await chat.locator(".start-btn").click()
    await walk.shot("start")
    await walk.tap("✅ 我同意")
    await walk.tap("阳光社区 Sunshine")
    await walk.tap("2号网格 Grid 2")
    await walk.says("设置完成")
    return walk


async def test_wang_nainai_enrols_and_reports_a_broken_light_on_a_phone(
    playground: str, open_page: OpenPage,
) -> None:
    page = await open_page(*PHONE)
    walk = await a_new_wang_nainai(page, playground, SHOTS)
    chat = walk.chat

    # a seat in a class: three taps from the main menu
    await walk.menu("📚 课程")
    await walk.tap("🗓 近期课程")
    await walk.tap("智能手机入门")
    await walk.tap("✍️ 报名")
    await walk.says("报名成功")

    # a report: the words typed once, everything else a button
    await walk.menu("💬 我要说")
    await walk.tap("📝 反映问题")
    await walk.tap("🔧 设施维修")
    await page.fill(".composer textarea, .composer input", "3号楼楼道的灯坏了，晚上看不见。")
    await page.keyboard.press("Enter")
    await walk.says("照片")
    await walk.shot("description")
    await walk.tap("跳过 ▶")
    await chat.locator(".reply-btn", has_text="跳过 ▶").click()
    await walk.shot("no-location")
    await walk.tap("🏘 整个社区")
    await walk.tap("✅ 提交")
    await walk.says("已交给社区工作人员")
    await no_violations(playground)


async def test_wang_nainai_orders_a_course_and_sends_a_quick_report_on_a_phone(
    playground: str, open_page: OpenPage,
) -> None:
    """The short paths: a course ordered in four taps (a suggestion, a time that suits),
    a report in three taps and one sentence; every title she reads is in Chinese."""
    page = await open_page(*PHONE)
    walk = await a_new_wang_nainai(page, playground, SHOTS / "short")
    chat = walk.chat

    await walk.menu("📚 课程")
    await walk.tap("🙋 点一门课")
    await walk.says("您想学什么？")
    suggestion = chat.locator(".msg.in").last.locator(".inline-btn", has_text="📚")
    title = (await suggestion.first.inner_text()).removeprefix("📚").strip()
    assert title and not re.search(r"[A-Za-z]", title), title  # her language only
    await suggestion.first.click()
    await walk.shot("suggestion")
    await walk.tap("🏖 周末")
    await walk.says("点单成功")

    await walk.menu("💬 我要说")
    await walk.tap("🔧 设施维修")
    await page.fill(".composer textarea, .composer input", "3号楼楼道的灯坏了，晚上看不见。")
    await page.keyboard.press("Enter")
    await walk.shot("words")
    await walk.tap("✅ 提交")
    await walk.says("已交给社区工作人员")
    await no_violations(playground)
