"""Bad input, privacy commands, flooding, errors and blocking: the edges of every conversation."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.common import HomeCommunityCb, NotifyToggleCb
from models.users import Role, RoleGrant, User
from services import communities
from services.clock import ManualClock
from tests.factories import grant, make_community
from tests.handlers.conftest import Harness, Person, onboard, user_of


async def onboarded(harness: Harness, tg_id: int = 3001, language: str = "en") -> Person:
    person = harness.person(tg_id, "Ann", language)
    await person.send("/start")
    await person.press("✅ I agree" if language == "en" else "✅ 我同意")
    return person


async def test_unknown_text_and_commands_get_a_nudge_to_the_menu(harness: Harness) -> None:
    ann = await onboarded(harness)
    await ann.send("what is this?")
    assert ann.last.startswith("Sorry, I didn't understand that.")
    assert ann.menu[-2:] == ["⚙️ Settings", "❓ Help"]
    assert "🛠 Manage community" not in ann.menu
    await ann.send("/frobnicate")
    assert ann.last.startswith("I don't know that command.")


async def test_a_stale_or_unknown_button_is_answered_politely(harness: Harness) -> None:
    ann = await onboarded(harness)
    assert await ann.forge("zz:1:2") == "This button is out of date. Please use the menu below."
    # Not choosing a community now: any community button is out of date (issue 14 #4).
    assert await ann.forge(HomeCommunityCb(community_id=999999).pack()) == \
        "This button is out of date."


async def test_mydata_sends_a_file_and_deleteme_erases_after_confirmation(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Sunny Court")
    ann = harness.person(3002, "Ann", "en")
    await ann.send("/start")
    await ann.press("✅ I agree")
    await ann.press("Sunny Court")
    await ann.send("/mydata")
    message = ann.handle.last_bot_message
    assert message is not None and message.document_name == "my-data.json"
    data = json.loads(harness.emulator.state.files[message.document].data)
    assert data["you"]["first_name"] == "Ann"

    await ann.send("/deleteme")
    await ann.press("No, keep my data")
    assert ann.last == "Nothing was deleted."
    await ann.send("/deleteme")
    await ann.press("Yes, erase my data")
    assert ann.last.startswith("Your data has been erased.")
    assert ann.handle.reply_keyboard is None
    rows = (await session.execute(select(User).execution_options(populate_existing=True)))
    (row,) = rows.scalars().all()
    assert (row.tg_id, row.first_name, row.deleted_at) == (None, None, clock.now())

    await ann.send("/start")  # a new beginning, as a new person
    assert "Privacy notice" in ann.last


async def test_settings_change_language_and_community(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Sunny Court")
    await make_community(session, clock, "Plum Garden")
    ann = harness.person(3003, "Ann", "en")
    await ann.send("/start")
    await ann.press("✅ I agree")
    await ann.press("Sunny Court")
    await ann.tap("⚙️ Settings")
    await ann.press("🏠 My community")
    await ann.press("Plum Garden")
    assert ann.last == "Move from Sunny Court to Plum Garden?"
    await ann.press("✅ Yes, move me")
    assert ann.texts[-2] == "Your community: Plum Garden"
    await ann.tap("⚙️ Settings")
    await ann.press("🌐 Language")
    await ann.press("中文")
    assert ann.menu[-2:] == ["⚙️ 设置", "❓ 帮助"]
    await ann.tap("❓ 帮助")
    assert ann.last.startswith("<b>使用说明</b>") is False and "使用说明" in ann.last


async def test_a_flooding_user_is_slowed_with_one_friendly_message(
    harness: Harness, clock: ManualClock
) -> None:
    ann = await onboarded(harness)
    clock.advance(seconds=10)
    for _ in range(10):  # ten messages in the same instant
        await ann.handle.send("hi")
        await harness.settle()
    slow = "You are going a little fast. Please wait a few seconds and try again."
    assert ann.texts.count(slow) == 1
    assert ann.texts.count("Sorry, I didn't understand that. Please press one of the buttons "
                           "below, or send /help.") == 8
    clock.advance(seconds=6)
    await ann.send("hi")
    assert ann.last.startswith("Sorry, I didn't understand that.")


async def test_after_a_burst_a_user_gets_one_update_every_window_over_rate(
    harness: Harness, clock: ManualClock
) -> None:
    ann = await onboarded(harness)  # the flood limit: 8 updates per 5 s

    async def say_hi() -> None:  # at this instant (ann.send lets a second pass)
        await ann.handle.send("hi")
        await harness.settle()

    clock.advance(seconds=10)
    for _ in range(9):
        await say_hi()
    sorry = "Sorry, I didn't understand that. Please press one of the buttons below, or send /help."
    assert ann.texts.count(sorry) == 8
    clock.advance(seconds=0.5)  # 5 s / 8 = 0.625 s not gone yet
    await say_hi()
    assert ann.texts.count(sorry) == 8
    clock.advance(seconds=0.125)
    await say_hi()
    await say_hi()
    assert ann.texts.count(sorry) == 9


async def test_an_unexpected_error_is_logged_with_the_update_id_and_apologised_for(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ann = await onboarded(harness)

    async def broken(*args: object, **kwargs: object) -> communities.Page:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(communities, "list_communities", broken)
    with caplog.at_level(logging.ERROR):
        await ann.send("/start")
    assert ann.last == "Sorry, something went wrong on our side. Please try again, or send /menu."
    assert "database on fire" not in ann.last
    failure = next(r for r in caplog.records if r.name == "handlers.errors")
    assert failure.getMessage().startswith("update 1")
    assert failure.exc_info is not None


async def test_a_user_who_blocks_the_bot_is_marked_and_unmarked(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    ann = await onboarded(harness, 3004)
    ann.handle.block()
    await harness.settle()
    await session.commit()  # a fresh snapshot after each step: the bot wrote meanwhile
    query = select(User).where(User.tg_id == 3004).execution_options(populate_existing=True)
    assert (await session.execute(query)).scalar_one().blocked_at == clock.now()
    ann.handle.unblock()
    await harness.settle()
    await session.commit()
    assert (await session.execute(query)).scalar_one().blocked_at is None


async def test_admins_come_from_admin_ids_and_roles_only_from_invites(
    harness: Harness, session: AsyncSession
) -> None:
    ann = await onboarded(harness, 3005)
    await ann.send("/start inv_made-up-token")
    assert ann.texts[-1].startswith("This invite link is not valid.")
    assert (await session.execute(select(RoleGrant).where(RoleGrant.role == Role.ADMIN))
            ).first() is None


async def test_notification_settings_mute_a_kind_and_set_quiet_hours(
    harness: Harness, session: AsyncSession
) -> None:
    from datetime import time

    from services import preferences

    ann = await onboarded(harness, 3006)
    await ann.tap("⚙️ Settings")
    await ann.press("🔔 Notifications")
    assert "🌙 Quiet hours: 9:00 pm–8:00 am" in ann.last  # as people say it, not 21:00
    await ann.press("📢 Announcements: on")
    assert ann.alerts[-1] == "Saved ✅"
    await ann.press("🌙 Quiet hours: 9:00 pm–8:00 am")
    await ann.press("10:00 pm–7:00 am")
    assert "🌙 Quiet hours: 10:00 pm–7:00 am" in ann.last
    message = ann.handle.last_bot_message
    assert message is not None and "📢 Announcements: off" in message.button_labels
    assert await ann.forge(NotifyToggleCb(kind="status").pack()) == "This button is out of date."

    await session.commit()
    user = (await session.execute(select(User).where(User.tg_id == 3006))).scalar_one()
    prefs = await preferences.get_preferences(session, user_id=user.id or 0)
    assert [str(k) for k in prefs.muted] == ["announcement"]
    assert (prefs.quiet_start, prefs.quiet_end) == (time(22), time(7))
    await ann.press("🌙 Quiet hours: 10:00 pm–7:00 am")
    await ann.press("No quiet hours")
    # Not "Quiet hours: none. Messages … wait until they end": there is no end to wait for.
    assert "🌙 No quiet hours: messages come at any time" in ann.last
    assert "wait until they end" not in ann.last
    message = ann.handle.last_bot_message
    assert message is not None and "🌙 Quiet hours: none" in message.button_labels


@pytest.mark.parametrize(("locale", "expect"), [
    ("en", ["What this bot keeps about you", "Name: Ann", "Language: English",
            "Community: Sunny Court", "1 role (staff, teacher…)",
            "The file below holds all of it."]),
    ("zh", ["本机器人保存的关于您的信息", "姓名：Ann", "语言：中文", "社区：Sunny Court",
            "1 个身份（工作人员、老师等）", "下面的文件包含全部内容"]),
])
async def test_mydata_says_in_words_what_is_kept_before_the_file(
    harness: Harness, session: AsyncSession, clock: ManualClock, locale: str,
    expect: list[str],
) -> None:
    """Issue 14: /mydata sends, besides the JSON file, a readable summary in the person's
    language, and the JSON speaks of the person, not of our tables."""
    community = await make_community(session, clock, "Sunny Court")
    ann = harness.person(3020, "Ann", locale)
    await onboard(ann, "Sunny Court")
    await grant(session, clock, await user_of(session, ann), Role.TEACHER, community)
    await session.commit()
    await ann.send("/mydata")
    summary = ann.texts[-2]
    for words in expect:
        assert words in summary, (words, summary)
    message = ann.handle.last_bot_message
    assert message is not None and message.document_name == "my-data.json"
    data = json.loads(harness.emulator.state.files[message.document].data)
    assert "you" in data and "user" not in data and "outbox" not in data
    assert '"dedupe_key"' not in harness.emulator.state.files[message.document].data.decode()


async def test_help_lists_what_this_person_can_use(harness: Harness) -> None:
    ann = await onboarded(harness, 3007)
    await ann.tap("❓ Help")
    assert "📚 Courses: order a course you would like" in ann.last
    assert "📢 Announcements" not in ann.last
    assert "/deleteme: erase your data" in ann.last


async def test_deleteme_through_the_bot_leaves_no_text_in_the_database_file(
    harness: Harness, session: AsyncSession, clock: ManualClock, db_url: str
) -> None:
    from pathlib import Path

    from tests.services.test_privacy import ann_leaves_text_everywhere

    _ann, secrets = await ann_leaves_text_everywhere(session, clock, ann_tg_id=3301,
                                                     staff_tg_id=3302)
    staff = harness.person(3302, "Staff", "en")
    await staff.send("/mydata")
    message = staff.handle.last_bot_message
    assert message is not None and message.document_name == "my-data.json"
    export = harness.emulator.state.files[message.document].data.decode()
    assert [s for s in secrets if s in export] == []  # a resident's words are not staff's data

    ann = harness.person(3301, "Zhangsanfeng", "en")
    await ann.send("/deleteme")
    await ann.press("Yes, erase my data")
    assert ann.last.startswith("Your data has been erased.")
    if db_url.startswith("sqlite"):
        path = Path(db_url.split("///", 1)[1])
        stored = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert [s for s in secrets if s.encode() in stored] == []


def test_every_part_of_an_export_has_its_line_in_the_summary() -> None:
    """A table added to the export (services.privacy.SECTIONS) must be said in /mydata's
    summary too, or /mydata would fail for the people it holds rows of."""
    from handlers.settings import _kept_lines
    from services.privacy import SECTIONS
    assert set(SECTIONS.values()) - set(_kept_lines()) == {"you"}
