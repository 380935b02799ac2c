"""A resident's first minutes: /start, privacy, language, community, grid, menu."""

from __future__ import annotations

import importlib
import re

import pytest
from aiogram.fsm.state import StatesGroup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.users import User
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness


async def user_row(session: AsyncSession, tg_id: int) -> User:
    await session.commit()  # a fresh snapshot: the bot wrote through other connections
    query = select(User).where(User.tg_id == tg_id).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


async def test_an_english_resident_onboards_by_searching_for_their_community(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    await make_community(session, clock, "Plum Garden")
    ann = harness.person(1001, "Ann", "en")

    reply = await ann.send("/start")
    assert reply is not None
    assert "Privacy notice" in reply.content
    assert reply.button_labels == ["✅ I agree", "中文", "English"]

    await ann.press("✅ I agree")
    agreed_at = clock.now()
    assert "Which community do you live in?" in ann.last
    await ann.send("sunny")
    assert ann.last.startswith("Communities matching “sunny”")
    assert ann.handle.last_bot_message is not None
    assert ann.handle.last_bot_message.button_labels == ["Sunny Court", "Choose later"]

    await ann.press("Sunny Court")
    assert "which grid" in ann.last
    await ann.press("Block 2")
    assert ann.texts[-2] == "All set! 🎉"
    assert ann.last == "What would you like to do first?"
    assert ann.menu[-2:] == ["⚙️ Settings", "❓ Help"]
    assert "🛠 Manage community" not in ann.menu

    row = await user_row(session, 1001)
    assert row.consented_at == agreed_at
    assert row.community_id == sunny.id
    assert row.grid_id is not None
    assert row.locale == "en"  # from Telegram, until they choose


async def test_a_chinese_resident_is_spoken_to_in_chinese_and_can_switch(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "阳光花园社区")
    li = harness.person(1002, "李奶奶", "zh-hans")
    reply = await li.send("/start")
    assert reply is not None and "隐私说明" in reply.content

    await li.press("English")
    assert "Privacy notice" in li.last
    assert li.alerts[-1] == "Language: English"
    await li.press("✅ I agree")
    assert "Which community do you live in?" in li.last
    assert (await user_row(session, 1002)).locale == "en"

    await li.send("/language")
    await li.press("中文")
    assert li.last == "语言：中文"
    assert "⚙️ 设置" in li.menu


async def test_search_without_a_match_offers_the_whole_list(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    for number in range(8):
        await make_community(session, clock, f"幸福里{number}号社区")
    wang = harness.person(1003, "Wang", "zh")
    await wang.send("/start")
    await wang.press("✅ 我同意")
    await wang.send("梅园")
    assert wang.last.startswith("没有名称包含“梅园”的社区")
    message = wang.handle.last_bot_message
    assert message is not None
    assert message.button_labels[-3:] == ["1/2", "▶", "以后再选"]
    await wang.press("▶")
    message = wang.handle.last_bot_message
    assert message is not None and message.edited
    assert message.button_labels == ["幸福里6号社区", "幸福里7号社区", "◀", "2/2", "以后再选"]
    await wang.press("2/2")  # a label, not an action: answered, nothing changes


async def test_with_no_communities_the_resident_goes_straight_to_the_menu(
    harness: Harness,
) -> None:
    bob = harness.person(1004, "Bob", "en")
    await bob.send("/start")
    await bob.press("✅ I agree")
    assert "No communities have been set up yet" in bob.last
    assert "⚙️ Settings" in bob.menu


async def test_nothing_but_onboarding_before_consent(harness: Harness) -> None:
    eve = harness.person(1005, "Eve", "en")
    await eve.send("/start")
    await eve.send("hello")
    assert eve.texts[-2:][0] == "First, please read and accept the privacy notice."
    assert "Privacy notice" in eve.last
    await eve.send("/help")
    assert "How to use this bot" in eve.last


async def test_returning_user_is_welcomed_back(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Sunny Court")
    ann = harness.person(1006, "Ann", "en")
    await ann.send("/start")
    await ann.press("✅ I agree")
    await ann.press("Sunny Court")
    await ann.send("/start")
    assert ann.last == "Welcome back! 👋"
    assert ann.menu[-2:] == ["⚙️ Settings", "❓ Help"]
    assert "🛠 Manage community" not in ann.menu


@pytest.mark.parametrize("module", ["handlers.onboarding", "handlers.broadcasts",
                                    "handlers.manage"])
def test_each_conversation_state_is_in_its_diagram(module: str) -> None:
    """The Mermaid diagram in the module's docstring names every state of its flow."""
    loaded = importlib.import_module(module)
    diagram = (loaded.__doc__ or "").split("```mermaid")[1].split("```")[0]
    groups = [value for value in vars(loaded).values()
              if isinstance(value, type) and issubclass(value, StatesGroup)
              and value is not StatesGroup]
    assert groups
    for group in groups:
        for state in group.__states__:
            name = "".join(part.title() for part in (state.state or "").split(":")[-1]
                           .split("_"))
            assert re.search(rf"\b{name}\b", diagram), f"{module}: {name} not in the diagram"


async def test_old_onboarding_buttons_are_out_of_date_and_change_nothing(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 14 #4: the first message's ✅ I agree pressed mid-onboarding, and a community
    on an old picker pressed after onboarding, answer "out of date" and change nothing."""
    sunny = await make_community(session, clock, "Sunny Court")
    await make_community(session, clock, "River Court")
    ann = harness.person(1010, "Ann", "en")
    await ann.send("/start")
    await ann.send("/start")  # a second privacy notice; the first keeps its buttons
    first, _second = [m for m in ann.handle.bot_messages if "Privacy notice" in m.content]
    await ann.press("✅ I agree")
    assert "Which community do you live in?" in ann.last
    picking = ann.handle.last_bot_message
    agree = next(data for row in first.inline_keyboard for label, data in row
                 if label == "✅ I agree")
    await ann.handle.press(first.message_id, agree)
    await harness.settle()
    assert ann.alerts[-1] == "This button is out of date."
    assert ann.handle.last_bot_message == picking  # no main menu, still choosing

    await ann.send("/start")  # a second picker, while she has no community yet
    old_picker = picking
    await ann.press("Sunny Court")
    assert ann.texts[-2] == "All set! 🎉"
    assert old_picker is not None
    river = next(data for row in old_picker.inline_keyboard for label, data in row
                 if label == "River Court")
    await ann.handle.press(old_picker.message_id, river)
    await harness.settle()
    assert ann.alerts[-1] == "This button is out of date."
    assert (await user_row(session, 1010)).community_id == sunny.id
    assert ann.last == "What would you like to do first?"


async def test_changing_community_happens_in_settings_with_a_confirmation(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1",))
    river = await make_community(session, clock, "River Court")
    ann = harness.person(1011, "Ann", "en")
    await ann.send("/start")
    await ann.press("✅ I agree")
    await ann.press("Sunny Court")
    await ann.press("Block 1")
    await ann.tap("⚙️ Settings")
    assert "🏠 Your community: Sunny Court · Block 1" in ann.last
    await ann.press("🏠 My community")
    await ann.press("River Court")
    assert ann.last == "Move from Sunny Court · Block 1 to River Court?"
    await ann.press("✖ No, stay")
    assert (await user_row(session, 1011)).community_id == sunny.id
    await ann.tap("⚙️ Settings")
    await ann.press("🏠 My community")
    await ann.press("River Court")
    await ann.press("✅ Yes, move me")
    assert ann.texts[-2] == "Your community: River Court"
    assert (await user_row(session, 1011)).community_id == river.id


async def test_after_choose_later_courses_and_my_voice_offer_the_picker_right_there(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 14 #7: no dead end "choose your community first, in Settings"; once the
    community is chosen, one short message offers the three most useful things."""
    sunny = await make_community(session, clock, "Sunny Court")
    ann = harness.person(1012, "Ann", "en")
    await ann.send("/start")
    await ann.press("✅ I agree")
    await ann.press("Choose later")
    await ann.tap("📚 Courses")
    await ann.press("📖 Course menu")
    assert ann.last.startswith("First, choose your community.")
    await ann.press("Sunny Court")
    assert ann.texts[-3:-1] == ["Your community: Sunny Court", "All set! 🎉"]
    assert ann.last == "What would you like to do first?"
    assert ann.handle.last_bot_message.button_labels == [  # type: ignore[union-attr]
        "📖 Course menu", "📝 Report a problem", "🙋 Volunteer"]
    assert (await user_row(session, 1012)).community_id == sunny.id
    await ann.press("📖 Course menu")
    assert ann.last.startswith("📖 Course menu. Choose a category:")

    bo = harness.person(1013, "Bo", "en")
    await bo.send("/start")
    await bo.press("✅ I agree")
    await bo.press("Choose later")
    await bo.tap("💬 My voice")
    await bo.press("📝 Report a problem")
    assert bo.last.startswith("First, choose your community.")
    assert "Sunny Court" in bo.handle.last_bot_message.button_labels  # type: ignore[union-attr]


@pytest.mark.parametrize(("locale", "words"), [
    ("en", ["A teacher sees the names on the roster", "photos, voice messages and locations",
            "only as totals"]),
    ("zh", ["老师能看到自己课程名单上的姓名", "照片、语音和位置", "只以总数"]),
])
async def test_the_privacy_notice_says_who_sees_what(harness: Harness, locale: str,
                                                     words: list[str]) -> None:
    """Issue 14: the notice says truthfully who sees what (teachers see their rosters) and
    names the photos, voice messages and locations people send."""
    ann = harness.person(4090, "Ann", locale)
    await ann.send("/start")
    for part in words:
        assert part in ann.last, (part, ann.last)
