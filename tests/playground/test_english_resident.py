"""Ann, a new English-speaking resident, on a phone: a seat in two taps from 📚 Courses,
giving it up asked once (and kept when she says No), and words typed out of the blue
offered as a report and sent in two taps. Screenshots of every step are saved in
test-artifacts/playground/english/ to look at."""

from __future__ import annotations

import pytest

from models.db import ROOT
from tests.playground.test_browser import PHONE, OpenPage, no_violations
from tests.playground.test_elderly import Walk

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


async def test_ann_enrols_gives_up_asked_once_and_reports_cold_on_a_phone(
    playground: str, open_page: OpenPage,
) -> None:
    page = await open_page(*PHONE)
    await page.goto(playground + "/")
    walk = Walk(page, ROOT / "test-artifacts" / "playground" / "english")
    chat = walk.chat
    await chat.locator(".open-panel").click()
    await page.fill("#new-name", "Ann Walker")
    await page.select_option("#new-lang", "en")
    await page.click("#new-person button[type=submit]")
    await chat.locator(".who", has_text="Ann Walker").wait_for()
    await chat.locator(".start-btn").click()
    await walk.shot("start")
    await walk.says("A teacher sees the names on the roster")  # who sees what, before consent

    await walk.tap("✅ I agree")
    await walk.tap("阳光社区 Sunshine")
    await walk.tap("2号网格 Grid 2")
    await walk.says("All set")

    # a seat: two taps from the main menu
    await walk.menu("📚 Courses")
    await walk.tap("✍️ Enrol: Smartphone basics")
    await walk.says("You are enrolled")

    # giving it up is asked once; "No" keeps it
    await walk.tap("❌ Cancel my place")
    await walk.says("Cancel your place")
    await walk.tap("No, keep my place")
    await walk.tap("❌ Cancel my place")
    await walk.tap("Yes, cancel my place")
    await walk.says("cancelled")

    # words out of the blue reach someone: offered as a report, sent in two taps
    await page.fill(".composer textarea, .composer input",
                    "The light on the stairs of block 3 is broken.")
    await page.keyboard.press("Enter")
    await walk.says("Send this to your community staff as a report?")
    await walk.shot("offered")
    await walk.tap("🔧 Facilities and repairs")
    await walk.tap("✅ Send")
    await walk.says("has gone to the community staff")
    await no_violations(playground)
