"""Staff change a poll (issue 16): edit a question before publishing, extend the deadline
after, and "close now" asks first; the poll's card names its community and says 🔒 closed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.voices import PollStaffAction, PollStaffCb
from models.polls import Poll, PollQuestion
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, rows
from tests.handlers.test_concerns import staff_member
from tests.handlers.test_polls import in_days


async def draft_to_preview(staff: Person) -> None:
    await staff.tap("💬 My voice")
    await staff.press("📊 Run polls")
    await staff.press("➕ New poll")
    await staff.send("The little square")
    await staff.send("Where should the bench go?")
    await staff.send("By the gate\nUnder the tree")
    await staff.press("Next ▶")
    await staff.press("👥 Everyone")
    await staff.press(in_days(staff, 3))
    assert staff.last.startswith("Check the poll:")


async def test_a_question_is_edited_before_publishing(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    staff = await staff_member(harness, session, clock, sunny)
    await draft_to_preview(staff)
    await staff.press("✏️ Edit question 1")
    assert staff.last.startswith("✏️ Question 1: write the question again.")
    assert "Where should the bench go?" in staff.last
    await staff.send("Where should the new bench go?")
    assert staff.last.startswith("Now the choices")
    await staff.send("By the gate\nUnder the tree\nBy the pond")
    assert staff.last.startswith("Check the poll:")
    assert "Where should the new bench go?" in staff.last and "By the pond" in staff.last
    await staff.press("✅ Publish")
    [question] = await rows(session, PollQuestion)
    assert question.text == "Where should the new bench go?"
    assert question.options == ["By the gate", "Under the tree", "By the pond"]


async def published(harness: Harness, session: AsyncSession, clock: ManualClock) -> Person:
    sunny = await make_community(session, clock, "Sunny Court")
    staff = await staff_member(harness, session, clock, sunny)
    await draft_to_preview(staff)
    await staff.press("✅ Publish")
    await staff.tap("💬 My voice")
    await staff.press("📊 Run polls")
    await staff.press("🟢 The little square")
    return staff


async def test_the_deadline_is_extended_after_publishing(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    staff = await published(harness, session, clock)
    assert "Sunny Court" in staff.last  # the card names its community
    closed_at_first = (await rows(session, Poll))[0].closes_at
    await staff.press("🗓 Extend the deadline")
    assert staff.last.startswith("Until when should it stay open?")
    labels = staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert in_days(staff, 2) not in labels  # only later than it closes now
    await staff.press(in_days(staff, 10))
    [after] = await rows(session, Poll)
    assert after.closes_at - closed_at_first == timedelta(days=7)
    assert staff.last.startswith("🟢 Open until")
    assert "Sunny Court" in staff.last


async def test_close_now_asks_first_and_the_card_says_closed(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    staff = await published(harness, session, clock)
    await staff.press("🔒 Close it now")
    assert staff.last.startswith("Close the poll “The little square” now?")
    assert staff.handle.last_bot_message.button_labels == [  # type: ignore[union-attr]
        "Yes, close it now", "No, keep it open"]
    await staff.press("No, keep it open")
    [poll] = await rows(session, Poll)
    assert poll.closes_at > clock.now() and staff.last.startswith("🟢 Open until")
    await staff.press("🔒 Close it now")
    await staff.press("Yes, close it now")
    [poll] = await rows(session, Poll)
    assert poll.closes_at <= clock.now()
    assert staff.last.startswith("🔒 Closed at")
    labels = staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "🔒 Close it now" not in labels and "🗓 Extend the deadline" not in labels
    stale_yes = PollStaffCb(action=PollStaffAction.CLOSE_YES, poll_id=poll.id or 0).pack()
    assert await staff.forge(stale_yes) == "This poll has already closed."


def buttons(person: Person) -> list[str]:
    return person.handle.last_bot_message.button_labels  # type: ignore[union-attr]


async def test_every_step_of_the_poll_wizard_has_back_and_cancel(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("💬 My voice")
    await staff.press("📊 Run polls")
    await staff.press("➕ New poll")
    assert "/cancel" not in staff.last and {"◀ Back", "✖ Cancel"} <= set(buttons(staff))
    await staff.press("◀ Back")
    assert staff.last.startswith("📊 Polls")
    await staff.press("➕ New poll")
    await staff.send("The little square")
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(staff))
    await staff.press("◀ Back")
    assert staff.last.startswith("➕ New poll.") and "The little square" in staff.last
    await staff.send("The little square")
    await staff.send("Where should the bench go?")
    assert staff.last.startswith("Now the choices") and {"◀ Back", "✖ Cancel"} <= set(
        buttons(staff))
    await staff.press("◀ Back")
    assert staff.last.startswith("Question 1: write the question.")
    await staff.send("Where should the bench go?")
    await staff.send("By the gate\nUnder the tree")
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(staff))
    await staff.press("◀ Back")  # the choices again (the question kept)
    assert staff.last.startswith("Now the choices")
    await staff.send("By the gate\nUnder the tree")
    await staff.press("Next ▶")
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(staff))
    await staff.press("◀ Back")
    assert staff.last.startswith("Question 1: Where should the bench go?")
    await staff.press("Next ▶")
    await staff.press("🏘 Choose grids")
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(staff))
    await staff.press("◀ Back")
    assert staff.last == "Who is the poll for?"
    await staff.press("👥 Everyone")
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(staff))
    await staff.press("◀ Back")
    assert staff.last == "Who is the poll for?"
    await staff.press("👥 Everyone")
    await staff.press(in_days(staff, 3))
    assert {"◀ Back", "✖ Discard"} <= set(buttons(staff))
    await staff.press("◀ Back")
    assert staff.last == "When should it close?"
    await staff.press("✖ Cancel")
    assert staff.last == "Discarded. Nothing was sent."
    assert await rows(session, Poll) == []
