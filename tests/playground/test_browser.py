"""The playground page in a real browser: people onboard, enrol, download files and
watch a broadcast arrive, only by clicking and typing on the page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
PHONE = (390, 844)
DESKTOP = (1280, 800)
OpenPage = Callable[..., Awaitable[Any]]


def button(scope: Any, label: str) -> Any:
    """The newest inline button with this label (older messages keep theirs)."""
    return scope.locator(".inline-btn", has_text=label).last


async def no_violations(base: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/_emu/violations") as r:
        assert (await r.json())["violations"] == []


async def test_a_new_resident_onboards_in_chinese_enrols_and_downloads_the_ics(
    playground: str, open_page: OpenPage,
) -> None:
    page = await open_page(*PHONE)
    await page.goto(playground + "/")
    chat = page.locator(".chat")

    await chat.locator(".open-panel").click()  # on a phone the panel slides in
    await page.fill("#new-name", "小林")
    await page.select_option("#new-lang", "zh-hans")
    await page.click("#new-person button[type=submit]")
    await chat.locator(".who", has_text="小林").wait_for()

    await chat.locator(".start-btn").click()
    await button(chat, "✅ 我同意").click()
    await button(chat, "阳光社区 Sunshine").click()
    await button(chat, "2号网格 Grid 2").click()
    await chat.locator(".msg.in", has_text="设置完成").wait_for()

    await chat.locator(".reply-btn", has_text="📚 课程").click()
    await button(chat, "🗓 近期课程").click()
    await button(chat, "智能手机入门").click()
    await button(chat, "✍️ 报名").click()
    card = chat.locator(".msg.in", has_text="报名成功")
    await card.wait_for()
    # The bot's HTML arrives as entities and is drawn as elements: the title is bold.
    await card.locator("b", has_text="智能手机入门").wait_for()

    await button(chat, "📅 加入我的日历").click()
    document = chat.locator("a.document", has_text=".ics")
    await document.wait_for()
    async with page.expect_download() as info:
        await document.click()
    download = await info.value
    assert download.suggested_filename.endswith(".ics")
    calendar = await asyncio.to_thread(Path(await download.path()).read_text)
    assert calendar.startswith("BEGIN:VCALENDAR") and "智能手机入门" in calendar
    await no_violations(playground)


async def test_staff_broadcast_arrives_in_a_residents_chat_side_by_side(
    playground: str, open_page: OpenPage,
) -> None:
    page = await open_page(*DESKTOP)
    await page.goto(playground + "/?me=9107&other=9103")  # Staff Liu left, Bo right
    staff = page.locator(".chat[data-pane='0']")
    resident = page.locator(".chat[data-pane='1']")
    await staff.locator(".who", has_text="Staff Liu").wait_for()
    await resident.locator(".who", has_text="Bo").wait_for()

    await staff.locator(".start-btn").click()
    await staff.locator(".reply-btn", has_text="📢 Announcements").click()
    await button(staff, "✏️ New announcement").click()
    await staff.locator(".msg.in", has_text="Write the announcement").wait_for()
    # Markup typed by a person is shown as text, never injected into the page.
    text = 'Water is off on Friday 9-12 <img src=x onerror="document.title=1">'
    await staff.locator(".composer .text").fill(text)
    await staff.locator(".composer .text").press("Enter")
    await button(staff, "👥 Everyone").click()
    await button(staff, "📤 Send now").click()
    await button(staff, "✅ Confirm").click()

    arrived = resident.locator(".msg.in", has_text="Water is off on Friday 9-12")
    await arrived.wait_for()
    assert text in await arrived.inner_text()
    assert await page.locator(".bubble img").count() == 0
    assert await page.title() != "1"

    # The clock control speaks for the person in the chat last used.
    await resident.locator(".messages").click()
    await page.click(".clock-btn[data-step='+1d']")
    await resident.locator(".msg.in", has_text="The bot's time is now").wait_for()
    await no_violations(playground)
