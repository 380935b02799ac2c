"""A volunteer's places, through the real dispatcher with the outbox sender running:
🙅 Can't come asks once on the pressed card or reminder (No keeps the place and puts the
message back; Yes gives it back; late, a reason is the yes), in English and Chinese."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from models.outbox import OutboxMessage
from models.volunteers import ShiftClaim
from scheduler.outbox import OutboxSender
from services import volunteers as vol
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, onboard, rows, user_of
from tests.handlers.test_volunteer_taps import (
    claim_from_the_list,
    delivered,
    patrol,
    sender,
)
from tests.handlers.test_volunteers import TUE_18, become_volunteer, make_staff

__all__ = ["sender"]  # the fixture, shared


def on_screen(person: Person, message_id: int) -> tuple[str, list[str]]:
    """The words and buttons of one of the bot's messages as the person sees it now."""
    (message,) = [m for m in person.handle.bot_messages if m.message_id == message_id]
    return message.content, message.button_labels


async def status(session: AsyncSession) -> str:
    (claim,) = await rows(session, ShiftClaim)
    return str(claim.status)


async def test_cant_come_asks_once_on_the_card_and_no_keeps_the_place(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await patrol(session, clock, access, community.id or 0)
    clock.set(TUE_18 - timedelta(hours=30))
    await claim_from_the_list(ann)
    card = ann.handle.last_bot_message
    assert card is not None
    before = on_screen(ann, card.message_id)
    assert "🙅 Can't come" in before[1]

    await ann.press("🙅 Can't come")
    text, buttons = on_screen(ann, card.message_id)  # the card itself asks
    assert text == before[0] + "\n\n🙅 Give back your place on Patrol, Tue 3 Mar, " \
        "6:00 pm–8:00 pm?"
    assert buttons == ["Yes, give my place back", "No, keep my place"]
    assert await status(session) == "claimed"

    await ann.press("No, keep my place")
    assert ann.alerts[-1] == "👍 Your place is kept."
    assert on_screen(ann, card.message_id) == before
    assert await status(session) == "claimed"
    staff_user = await user_of(session, staff)
    assert await rows(session, OutboxMessage, col(OutboxMessage.user_id) == staff_user.id) == []

    await ann.press("🙅 Can't come")
    await ann.press("Yes, give my place back")
    text, buttons = on_screen(ann, card.message_id)
    assert text == before[0] + "\n\n🙅 You gave this place back. Thank you for letting us know."
    assert buttons == []
    assert await status(session) == "withdrawn"
    await delivered(sender, sessionmaker, harness)
    assert staff.last.startswith("ℹ️ Ann gave back their place on Patrol")


async def test_cant_come_on_a_reminder_puts_the_reminder_back_and_late_asks_why_in_chinese(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    li = harness.person(2002, "李", "zh")
    await onboard(li, community.name)
    await vol.save_profile(session, user=await user_of(session, li), clock=clock,
                           skills=["patrol"], slots=[])
    shift = await patrol(session, clock, access, community.id or 0)
    await delivered(sender, sessionmaker, harness)
    await li.press("✋ 1. 03-03 18:00")
    assert li.last.startswith("✅ 报名成功")

    clock.set(TUE_18 - timedelta(hours=23, minutes=30))
    await delivered(sender, sessionmaker, harness)
    reminder = li.handle.last_bot_message
    assert reminder is not None and reminder.content.startswith("⏰ 提醒：Patrol")
    before = on_screen(li, reminder.message_id)
    await li.press("🙅 来不了")
    text, buttons = on_screen(li, reminder.message_id)
    assert text == before[0] + "\n\n🙅 要退出3月3日（周二）下午6:00–下午8:00的Patrol吗？"
    assert buttons == ["是的，退出这个班次", "不，保留我的名额"]
    await li.press("不，保留我的名额")
    assert on_screen(li, reminder.message_id) == before
    assert await status(session) == "claimed"

    # Two hours before: too late to give it back without a word; a reason is the yes.
    clock.set(shift.starts_at - timedelta(hours=2))
    await li.press("🙅 来不了")
    text, buttons = on_screen(li, reminder.message_id)
    assert "不到12小时" in text
    assert buttons[-1] == "不，保留我的名额" and len(buttons) == 4
    assert buttons[0] == "🤒 我身体不适"
    await li.press("🤒 我身体不适")
    assert await status(session) == "withdrawn"
    text, buttons = on_screen(li, reminder.message_id)
    assert buttons == [] and "不到12小时" not in text
    assert text == before[0] + "\n\n已为您取消报名，并告诉了组织者。谢谢您告诉我们。"
    await delivered(sender, sessionmaker, harness)
    assert staff.last.startswith("⚠️ 李 can't come to Patrol")
    assert "Reason: 🤒 我身体不适" in staff.last
