"""Volunteers can trust every tap (issues 14 and 16), through the real dispatcher with the
outbox sender running: reminders after a re-claim, no call for a shift one gave back,
one task per publish, answered messages that stop offering buttons, and staff's tools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, func, select

from bot.config import Settings
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.audit import AuditEntry
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.volunteers import Shift, ShiftClaim, VolunteerTask
from scheduler.outbox import OutboxSender
from scheduler.volunteers import volunteer_short_shifts
from services import volunteers as vol
from services.access import Access
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, rows
from tests.handlers.test_volunteers import (
    TUE_18,
    become_volunteer,
    draft_up_to_the_day,
    make_staff,
)
from tests.scheduler.conftest import FAST, wait_until

BUTTONS = OUTBOX_KEYBOARDS.volunteers
SHIFT_CARD = "📅 Tue 3 Mar, 6:00 pm–8:00 pm Patrol"


@pytest.fixture
async def sender(harness: Harness, sessionmaker: async_sessionmaker[AsyncSession],
                 clock: ManualClock, settings: Settings) -> AsyncIterator[OutboxSender]:
    sender = OutboxSender(bot=harness.bot, sessionmaker=sessionmaker, clock=clock, limits=FAST,
                          default_locale=settings.default_locale, default_tz=settings.timezone)
    await sender.start()
    harness.dp.workflow_data["outbox_notify"] = sender.kick  # as bot/__main__.py wires it
    yield sender
    await sender.stop()


async def delivered(sender: OutboxSender, sessionmaker: async_sessionmaker[AsyncSession],
                    harness: Harness) -> None:
    """Let the sender send every row due by now, then handle what people pressed."""
    sender.kick()

    async def nothing_due() -> bool:
        async with sessionmaker() as session:
            now = harness.clock.now()
            left = await session.execute(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                col(OutboxMessage.not_before) <= now))
            return int(left.scalar_one()) == 0

    await wait_until(nothing_due)
    await harness.settle()


async def quick_press(person: Person, label: str) -> None:
    """Press a button a moment after the last one (a change of mind: under a second)."""
    person.harness.clock.advance(milliseconds=300)
    await person.handle.press_text(label)
    await person.harness.settle()


def reminders(person: Person) -> list[str]:
    return [text for text in person.texts if text.startswith("⏰ Reminder")]


async def patrol(session: AsyncSession, clock: ManualClock, access: Access, community_id: int,
                 headcount: int = 2, skills: tuple[str, ...] = ()) -> Shift:
    task = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS, community_id=community_id,
        title="Patrol", place="North gate", skills=skills,
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), headcount)])
    (shift,) = await vol.task_shifts(session, task_id=task.id or 0)
    return shift


async def test_a_volunteer_who_gives_a_place_back_and_takes_it_again_gets_each_reminder_once(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await patrol(session, clock, access, community.id or 0)
    await delivered(sender, sessionmaker, harness)
    assert "Volunteers wanted" in ann.last

    # The next day, before the first reminder: claim from the list, give it back, take it
    # again from the call.
    clock.set(TUE_18 - timedelta(hours=26))
    await ann.tap("🙋 Volunteer")
    await ann.press("🔎 Shifts that need people")
    await ann.press("✋ 1. Tue 3 Mar, 6:00 pm")
    assert ann.last.startswith("✅ Your place is booked.")
    await ann.press("🙅 Can't come")
    assert ann.last.startswith("Your place is given back")
    await ann.press("✋ 1. 03-03 18:00")
    assert ann.last.startswith("✅ Your place is booked.")
    # Then, taps quicker than a second: "can't come" by mistake and the place taken again.
    await ann.tap("🙋 Volunteer")
    await ann.press(SHIFT_CARD)
    await ann.press("🙅 Can't come")
    await quick_press(ann, "✋ 1. 03-03 18:00")
    await quick_press(ann, "🙅 Can't come")
    await quick_press(ann, "✋ 1. 03-03 18:00")
    assert ann.last.startswith("✅ Your place is booked.")

    clock.set(TUE_18 - timedelta(hours=23, minutes=30))
    await delivered(sender, sessionmaker, harness)
    assert len(reminders(ann)) == 1
    clock.set(TUE_18 - timedelta(minutes=50))
    await delivered(sender, sessionmaker, harness)
    assert len(reminders(ann)) == 2
    last = ann.handle.last_bot_message
    assert last is not None and "✅ Check in" in last.button_labels
    clock.set(TUE_18 + timedelta(hours=3))
    await delivered(sender, sessionmaker, harness)
    assert len(reminders(ann)) == 2
    (claim,) = await rows(session, ShiftClaim)
    assert claim.status == "claimed"
    sent = await rows(session, OutboxMessage, col(OutboxMessage.user_id) == claim.user_id,
                      col(OutboxMessage.status) == OutboxStatus.SENT,
                      col(OutboxMessage.dedupe_key).like("vrem:%"))
    assert len(sent) == 2


async def test_a_volunteer_who_gave_a_shift_back_is_not_called_to_cover_it(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    ann, bob = harness.person(2001, "Ann"), harness.person(2002, "Bob")
    for person in (ann, bob):  # tutors: the patrol's first call is not for them
        await become_volunteer(person, community.name, ["📚 Tutoring"], [])
    await patrol(session, clock, access, community.id or 0, skills=("patrol",))
    await ann.tap("🙋 Volunteer")
    await ann.press("🔎 Shifts that need people")
    await ann.press("✋ 1. Tue 3 Mar, 6:00 pm")
    await ann.press("🙅 Can't come")
    assert ann.last.startswith("Your place is given back")

    clock.set(TUE_18 - timedelta(hours=23))  # still short: the others are called
    await volunteer_short_shifts(sessionmaker=sessionmaker, clock=clock, notify=sender.kick,
                                 keyboards=OUTBOX_KEYBOARDS)
    await delivered(sender, sessionmaker, harness)
    assert bob.last.startswith("🙋 Still short of volunteers: <b>Patrol</b>") or \
        bob.last.startswith("🙋 Still short of volunteers: Patrol")
    assert not any("Still short" in text for text in ann.texts)


async def together(harness: Harness) -> None:
    """Handle the pending updates at the same time, as polling does (one task per update)."""
    updates = await harness.bot.get_updates(offset=harness.offset, timeout=0)
    if updates:
        harness.offset = updates[-1].update_id + 1
    await asyncio.gather(*(harness.dp.feed_update(harness.bot, u) for u in updates))
    await harness.settle()


async def test_publishing_a_task_twice_at_once_makes_one_task_and_one_call(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    community = await make_community(session, clock)
    staff, _access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await draft_up_to_the_day(staff)
    await staff.press("Tomorrow")
    await staff.press("6:00 pm")
    await staff.press("2 h")
    await staff.press("2")
    publish = staff.handle.last_bot_message
    assert publish is not None and "✅ Publish" in publish.button_labels
    await staff.handle.press_text("✅ Publish")
    await staff.handle.press_text("✅ Publish")
    await together(harness)

    assert len(await rows(session, VolunteerTask)) == 1
    assert len(await rows(session, Shift)) == 1
    pings = await rows(session, OutboxMessage, col(OutboxMessage.kind) == OutboxKind.PING)
    assert len(pings) == 1
    assert len(await rows(session, AuditEntry,
                          col(AuditEntry.action) == "volunteer.task.create")) == 1
    assert staff.alerts[-2:] == ["Published ✅", "Published ✅"]
