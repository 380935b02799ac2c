"""End to end: a resident reports with a photo → staff triage (assign, in progress, resolved
with an answer) → the resident is told at each step and rates; a poll answered by several
people → staff get the chart as a picture → on closing, everyone gets it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emulator import Emulator
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


async def test_a_report_from_photo_to_rating_and_a_poll_with_its_chart(
    emulator: Emulator, start_bot: Callable[..., Any]
) -> None:
    bot = await start_bot(DEV_CLOCK="true", SWEEP_SECONDS="1", FLOOD_RATE="1000")
    async with showing_log(bot):
        wang = await community_with_staff(emulator, community="Sunny Court", staff_id=3002)
        ann = emulator.user(3001, "Ann", language_code="en")
        await join(ann, "Sunny Court")

        # Ann reports a broken light with a photo.
        await step(ann, ann.press_reply("💬 My voice"), "My voice")
        await step(ann, ann.press_text("📝 Report a problem"), "What is it about?")
        await step(ann, ann.press_text("🔧 Facilities and repairs"), "Describe the problem")
        await step(ann, ann.send("The stair light in building 3 is broken"), "A photo helps")
        await step(ann, ann.send_photo(), "Are you where it is?")
        await step(ann, ann.press_reply("Skip ▶"), "Please check your report")
        await step(ann, ann.press_text("✅ Send"), "Your report #1 has gone")

        # Staff are told, open it (photo and name), give it to themselves, move it on.
        await wang.wait_for("New report #1", timeout=TIMEOUT)
        await wang.press_text("🗂 Open the report")
        opened = await wang.wait_for(lambda m: m.photo is not None, timeout=TIMEOUT)
        assert "From: Ann" in opened.content
        await step(wang, wang.press_text("👤 Give it to…"), "Who will handle report #1?")
        await step(wang, wang.press_text("👤 Wang"), "now handled by Wang")
        await wang.press_text("🔧 Being worked on")
        await alert(wang, "Marked as being worked on. The resident has been told.")
        await ann.wait_for("is being worked on now", timeout=TIMEOUT)
        await step(wang, wang.press_text("✅ Resolved"), "What was done?")
        await step(wang, wang.send("A new bulb was fitted today."), "Saved.")
        resolved = await ann.wait_for("has been resolved", timeout=TIMEOUT)
        assert "A new bulb was fitted today." in resolved.content
        await step(ann, ann.press_text("5 ⭐"), "You gave ⭐⭐⭐⭐⭐")

        # A poll for everyone; three people answer.
        bob = emulator.user(3003, "Bob", language_code="en")
        cid = emulator.user(3004, "Cid", language_code="en")
        await join(bob, "Sunny Court")
        await join(cid, "Sunny Court")
        await step(wang, wang.press_reply("💬 My voice"), "My voice")
        await step(wang, wang.press_text("📊 Run polls"), "Polls")
        await step(wang, wang.press_text("➕ New poll"), "Write a short title")
        await step(wang, wang.send("Bench"), "Question 1")
        await step(wang, wang.send("Where should the bench go?"), "the choices")
        await step(wang, wang.send("By the gate\nUnder the tree"), "Question 1: Where")
        await step(wang, wang.press_text("Next ▶"), "Who is the poll for?")
        await step(wang, wang.press_text("👥 Everyone"), "When should it close?")
        await step(wang, wang.press_text("Tomorrow"), "Check the poll")
        await step(wang, wang.press_text("📊 Send everyone the chart at the end: no"),
                   "Check the poll")
        await step(wang, wang.press_text("✅ Publish"), "Poll #1 is out")
        choices = {ann: "Under the tree", bob: "Under the tree", cid: "By the gate"}
        for person, choice in choices.items():
            await person.wait_for("A new poll", timeout=TIMEOUT)
            await step(person, person.press_text("🗳 Answer"), "Question 1 of 1")
            await step(person, person.press_text(choice), "Your answers are saved")

        await step(wang, wang.press_reply("💬 My voice"), "My voice")
        await step(wang, wang.press_text("📊 Run polls"), "Polls")
        await step(wang, wang.press_text("🟢 Bench"), "3 people answered")
        await wang.press_text("📊 Chart")
        chart = await wang.wait_for(lambda m: m.photo is not None and "Bench" in m.content,
                                    timeout=TIMEOUT)
        assert "By the gate: 1" in chart.content and "Under the tree: 2" in chart.content
        assert emulator.state.files[chart.photo or ""].data.startswith(b"\x89PNG")

        # Two days on (it closed at 20:00 the next day) the poll has closed by itself,
        # and everyone gets the chart.
        await step(wang, wang.send("/clock +2d"), "The bot's time is now")
        for person in (ann, bob, cid):
            result = await person.wait_for(
                lambda m: m.photo is not None and "Results of the poll" in m.content,
                timeout=TIMEOUT)
            assert "People who answered: 3" in result.content
            assert emulator.state.files[result.photo or ""].data.startswith(b"\x89PNG")
        await cid.press_text("✏️ Change my answers")
        await alert(cid, "This poll has closed. Thank you for your interest!")
    await stop_cleanly(bot, emulator)


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_photo_sent_cold_becomes_a_report_in_two_taps_and_staff_get_it(
    emulator: Emulator, start_bot: Callable[..., Any], language: str
) -> None:
    """Issue 14: a photo with a caption, sent without opening any menu, is a report after
    two taps (its category, ✅ Send); staff are told, naming the community, and see the
    photo."""
    words = {
        "en": ("The stair light is broken", "Send this to your community staff as a report?",
               "🔧 Facilities and repairs", "Please check your report", "✅ Send",
               "Your report #1 has gone"),
        "zh": ("楼道灯坏了", "要把这个作为反映发给社区工作人员吗？", "🔧 设施维修",
               "请核对您的反映", "✅ 提交", "您的反映 #1 已交给社区工作人员"),
    }[language]
    caption, offer, category, check, send, thanks = words
    bot = await start_bot(FLOOD_RATE="1000")
    async with showing_log(bot):
        wang = await community_with_staff(emulator, community="幸福社区", staff_id=3002)
        ann = emulator.user(3001, "王奶奶" if language == "zh" else "Ann",
                            language_code=language)
        if language == "en":
            await join(ann, "幸福社区")
        else:
            await step(ann, ann.send("/start"), "隐私说明")
            await step(ann, ann.press_text("✅ 我同意"), "您住在哪个社区？")
            await step(ann, ann.press_text("幸福社区"), "您想先做什么？")

        taps = 0
        await step(ann, ann.send_photo(caption=caption), offer)
        await step(ann, ann.press_text(category), check)
        taps += 1
        await step(ann, ann.press_text(send), thanks)
        taps += 1
        assert taps <= 3

        told = await wang.wait_for("New report #1 · 幸福社区", timeout=TIMEOUT)
        assert caption in told.content
        await wang.press_text("🗂 Open the report")
        card = await wang.wait_for(lambda m: m.photo is not None, timeout=TIMEOUT)
        assert caption in card.content and "幸福社区" in card.content
    await stop_cleanly(bot, emulator)
