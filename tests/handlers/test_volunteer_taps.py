"""Volunteers can trust every tap (issues 14 and 16), through the real dispatcher with the
outbox sender running: reminders after a re-claim, no call for a shift one gave back,
one task per publish, answered messages that stop offering buttons, and staff's tools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, func, select

from bot.callback_data.volunteers import VolConfirmAllCb
from bot.config import Settings
from bot.keyboards.communities import ScopeCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.audit import AuditEntry
from models.db import begin_write
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.users import Role
from models.volunteers import HoursEntry, Shift, ShiftClaim, VolunteerTask
from scheduler.outbox import OutboxSender
from scheduler.volunteers import volunteer_short_shifts
from services import volunteer_hours as hours
from services import volunteers as vol
from services.access import Access
from services.clock import ManualClock
from tests.factories import grant, make_community
from tests.handlers.conftest import ADMIN_TG_ID, Harness, Person, member, onboard, rows, user_of
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
    """Press a button a moment after the last one (a change of mind: well under a second)."""
    person.harness.clock.advance(milliseconds=100)
    await person.handle.press_text(label)
    await person.harness.settle()


async def claim_from_the_list(person: Person, *, quick: bool = False) -> None:
    """🙋 Volunteer → 🔎 Shifts that need people → ✋ the patrol."""
    if quick:
        person.harness.clock.advance(milliseconds=100)
        await person.handle.press_reply("🙋 Volunteer")
        await person.harness.settle()
        for label in ("🔎 Shifts that need people", "✋ 1. Tue 3 Mar, 6:00 pm"):
            await quick_press(person, label)
        return
    await person.tap("🙋 Volunteer")
    await person.press("🔎 Shifts that need people")
    await person.press("✋ 1. Tue 3 Mar, 6:00 pm")


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
    # again from a new list.
    clock.set(TUE_18 - timedelta(hours=26))
    await claim_from_the_list(ann)
    assert ann.last.startswith("✅ Your place is booked.")
    await ann.press("🙅 Can't come")
    await ann.press("Yes, give my place back")
    assert ann.last.endswith("🙅 You gave this place back. Thank you for letting us know.")
    await claim_from_the_list(ann)
    assert ann.last.startswith("✅ Your place is booked.")
    # Then, taps quicker than a second: "can't come" by mistake and the place taken again.
    await ann.tap("🙋 Volunteer")
    await ann.press(SHIFT_CARD)
    await ann.press("🙅 Can't come")
    await ann.press("Yes, give my place back")
    await claim_from_the_list(ann, quick=True)
    await quick_press(ann, "🙅 Can't come")
    await quick_press(ann, "Yes, give my place back")
    await claim_from_the_list(ann, quick=True)
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
    await ann.press("Yes, give my place back")
    assert ann.last.endswith("🙅 You gave this place back. Thank you for letting us know.")

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


def labels(person: Person, text: str) -> list[str]:
    """The buttons under the person's last message that contains `text`."""
    found = [m for m in person.handle.bot_messages if text in m.content]
    assert found, text
    return found[-1].button_labels


async def test_a_call_whose_shift_filled_stops_offering_it(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    ann, bob = harness.person(2001, "Ann"), harness.person(2002, "Bob")
    for person in (ann, bob):
        await become_volunteer(person, community.name, ["🚶 Street patrol"], [])
    await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS, community_id=community.id or 0,
        title="Patrol", place="North gate",
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 1),
                vol.ShiftSpec(TUE_18 + timedelta(days=1), TUE_18 + timedelta(days=1, hours=2),
                              2)])
    await delivered(sender, sessionmaker, harness)
    assert labels(bob, "Volunteers wanted") == ["✋ 1. Tomorrow, 6:00 pm",
                                                "✋ 2. Wed 4 Mar, 6:00 pm"]

    await ann.press("✋ 1. Tomorrow, 6:00 pm")
    assert ann.last.startswith("✅ Your place is booked.")
    # Ann's call now shows her place, not a button to take it again.
    assert labels(ann, "Volunteers wanted") == ["✅ 1. Tomorrow, 6:00 pm",
                                                "✋ 2. Wed 4 Mar, 6:00 pm"]

    # Bob taps the shift Ann filled: told it is full, and his call stops offering it.
    await bob.press("✋ 1. Tomorrow, 6:00 pm")
    assert bob.alerts[-1] == "Sorry, this shift is full. Thank you for offering!"
    assert labels(bob, "Volunteers wanted") == ["✋ 2. Wed 4 Mar, 6:00 pm"]
    await bob.press("✋ 2. Wed 4 Mar, 6:00 pm")
    assert labels(bob, "Volunteers wanted") == ["✅ 2. Wed 4 Mar, 6:00 pm"]
    # Ann's ✅, pressed again, says she has the place.
    await ann.press("✅ 1. Tomorrow, 6:00 pm")
    assert ann.alerts[-1] == "You already have a place on this shift. See you there!"


async def test_an_answered_reminder_shows_the_answer_and_check_in_offers_check_out(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    ann, bob = harness.person(2001, "Ann"), harness.person(2002, "Bob")
    for person in (ann, bob):
        await become_volunteer(person, community.name, ["🚶 Street patrol"], [])
    await patrol(session, clock, access, community.id or 0)
    await delivered(sender, sessionmaker, harness)
    for person in (ann, bob):
        await person.press("✋ 1. Tomorrow, 6:00 pm")

    clock.set(TUE_18 - timedelta(hours=23, minutes=30))
    await delivered(sender, sessionmaker, harness)
    await ann.press("👍 Still coming")
    assert ann.alerts[-1] == "👍 Thank you! See you there."
    assert "👍 You said you are coming." in ann.last and "⏰ Reminder" in ann.last
    assert labels(ann, "⏰ Reminder") == []
    await bob.press("🙅 Can't come")
    await bob.press("Yes, give my place back")
    assert "🙅 You gave this place back." in bob.last and "⏰ Reminder" in bob.last
    assert labels(bob, "⏰ Reminder") == []

    clock.set(TUE_18 - timedelta(minutes=50))
    await delivered(sender, sessionmaker, harness)
    assert labels(ann, "⏰ Reminder") == ["👍 Still coming", "🙅 Can't come", "✅ Check in"]
    assert not [t for t in bob.texts[-1:] if "⏰ Reminder" in t and "🙅" not in t]
    await ann.press("✅ Check in")
    assert "share your location" in ann.last
    # The reminder she pressed now says she is in, and offers the check-out.
    assert labels(ann, "⏰ Reminder") == ["🏁 Check out"]
    assert "✅ Checked in at 5:10 pm" in [m.content for m in ann.handle.bot_messages
                                         if "⏰ Reminder" in m.content][-1]
    clock.set(TUE_18 + timedelta(hours=2))
    await ann.press("🏁 Check out")
    assert ann.last.startswith("🏁 Checked out.")


async def test_staff_hear_of_every_withdrawal_and_volunteers_of_their_confirmed_hours(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    ann, bob = harness.person(2001, "Ann"), harness.person(2002, "Bob")
    for person in (ann, bob):
        await become_volunteer(person, community.name, ["🚶 Street patrol"], [])
    await patrol(session, clock, access, community.id or 0, headcount=3)
    await delivered(sender, sessionmaker, harness)
    for person in (ann, bob):
        await person.press("✋ 1. Tomorrow, 6:00 pm")
    await bob.press("🙅 Can't come")  # a day and more ahead: no reason asked
    await bob.press("Yes, give my place back")
    await delivered(sender, sessionmaker, harness)
    assert staff.last == ("ℹ️ Bob gave back their place on Patrol (Sunny Court) Tomorrow, "
                          "6:00 pm–8:00 pm.\n"
                          "Places taken now: 1 of 3.")

    clock.set(TUE_18 + timedelta(hours=2, minutes=20))  # before quiet hours (21:00)
    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("📋 Tasks and shifts")
    await staff.press("Patrol · 1/3")
    await staff.press("👥 1. Tue 3 Mar, 6:00 pm")
    await staff.press("✅ 1. Ann: 2 h")
    await delivered(sender, sessionmaker, harness)
    assert "Your hours are confirmed: 2 h for Patrol (Sunny Court, " in ann.last
    await staff.press("✏️ 1 correct")
    await staff.send("3")
    await staff.send("Stayed to lock the gate")
    await delivered(sender, sessionmaker, harness)
    assert "were corrected to 3 h" in ann.last and "Stayed to lock the gate" in ann.last


async def test_a_time_that_passed_on_the_screen_redraws_it_with_a_way_back(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    community = await make_community(session, clock)
    staff, _access = await make_staff(harness, session, clock, community)
    clock.set(datetime(2026, 3, 2, 7, 10, tzinfo=UTC))  # Monday 15:10 in Shanghai
    await draft_up_to_the_day(staff)
    await staff.press("Today")
    assert staff.last == "What time does it start?"
    first = staff.handle.last_bot_message
    assert first is not None and first.button_labels[:2] == ["3:30 pm", "4:00 pm"]
    assert first.button_labels[-2:] == ["◀ Back", "✖ Cancel"]

    clock.set(datetime(2026, 3, 2, 7, 35, tzinfo=UTC))  # 15:35: 3:30 pm is gone meanwhile
    await staff.press("3:30 pm")
    assert staff.alerts[-1] == "That time has already passed. Please choose a later one."
    times = staff.handle.last_bot_message
    assert times is not None and staff.last == "What time does it start?"
    assert times.button_labels[0] == "4:00 pm" and "3:30 pm" not in times.button_labels
    await staff.press("◀ Back")
    assert staff.last == "Shift 1: which day?"
    await staff.press("Tomorrow")
    await staff.press("9:00 am")
    assert staff.last == "How long is the shift?"

    # Late at night, today has no time left: a stale "Today" leads back to the days.
    clock.set(datetime(2026, 3, 2, 14, 50, tzinfo=UTC))  # 22:50
    await staff.tap("🙋 Volunteer")
    await draft_up_to_the_day(staff)
    assert "Today" not in (staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
                           if staff.handle.last_bot_message else [])


async def test_an_admin_with_no_home_and_staff_of_two_communities_pick_one_to_organise(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    rainy = await make_community(session, clock, "Rainy Court")
    for n in range(3, 11):
        await make_community(session, clock, f"幸福社区{n}")
    admin = harness.person(ADMIN_TG_ID, "Zhou")
    await onboard(admin)  # no home community
    await admin.tap("🙋 Volunteer")
    await admin.press("🧑‍💼 Organise volunteer work")
    assert "You serve 10 communities." in admin.last
    await admin.send("rainy")
    await admin.press("Rainy Court")
    assert admin.last.startswith("🧑‍💼 Volunteer work · Rainy Court")
    await admin.press("➕ New task")
    assert admin.last.startswith("New volunteer task.")
    assert not [a for a in admin.alerts if "Only staff" in a]

    liu, _access = await member(harness, session, clock, sunny, 7001, "Liu", Role.STAFF)
    await grant(session, clock, await user_of(session, liu), Role.STAFF, rainy)
    await liu.tap("🙋 Volunteer")
    await liu.press("🧑‍💼 Organise volunteer work")
    assert "You serve 2 communities." in liu.last
    message = liu.handle.last_bot_message
    assert message is not None and message.button_labels[:2] == ["Rainy Court", "Sunny Court"]
    await liu.press("Sunny Court")
    assert liu.last.startswith("🧑‍💼 Volunteer work · Sunny Court")
    await liu.tap("🙋 Volunteer")
    await liu.press("🧑‍💼 Organise volunteer work")
    assert liu.handle.last_bot_message.button_labels[0] == "⭐ Sunny Court"  # type: ignore[union-attr]
    # A forged choice of a community Liu does not serve changes nothing.
    forged = ScopeCb(flow="vs", community_id=(await make_community(
        session, clock, "Elsewhere")).id or 0).pack()
    assert await liu.forge(forged) == "You can't do that here. Only staff of this community can."


async def test_staff_confirm_a_months_waiting_shifts_at_once(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    community = await make_community(session, clock)
    staff, access = await make_staff(harness, session, clock, community)
    ann, bob = harness.person(2001, "Ann"), harness.person(2002, "Bob")
    for person in (ann, bob):
        await become_volunteer(person, community.name, ["🚶 Street patrol"], [])
    task = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS, community_id=community.id or 0,
        title="Patrol", place="North gate", weeks=2,
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 2)])
    march = await vol.task_shifts(session, task_id=task.id or 0)
    april = await patrol(session, clock, access, community.id or 0)  # another task
    await session.commit()
    await begin_write(session)
    await session.execute(update(Shift).where(col(Shift.id) == april.id).values(
        starts_at=datetime(2026, 4, 1, 10, tzinfo=UTC), ends_at=datetime(2026, 4, 1, 12,
                                                                         tzinfo=UTC)))
    await session.commit()
    people = [await user_of(session, ann), await user_of(session, bob)]
    for shift in [*march, april]:
        for user in people:
            await vol.claim_shift(session, user=user, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    clock.set(TUE_18 + timedelta(weeks=1, hours=3))  # both March shifts are over
    # Bob's first shift is confirmed by hand already: three are waiting.
    claims = await rows(session, ShiftClaim)
    bob_first = next(c for c in claims if c.user_id == people[1].id and c.shift_id == march[0].id)
    await hours.confirm_hours(session, access=access, clock=clock, claim_id=bob_first.id or 0)

    await staff.tap("🙋 Volunteer")
    await staff.press("🧑‍💼 Organise: Sunny Court")
    await staff.press("🏅 Hours by grid")
    assert "Shifts waiting for hours to be confirmed: 3" in staff.last
    await staff.press("✅ Confirm all (3)")
    assert staff.last == ("Confirm the hours of 3 shifts in 2026-03 as proposed (from check-in "
                          "and check-out, else the whole shift)?")
    await staff.press("✅ Yes, confirm 3")
    assert staff.alerts[-1] == "✅ Confirmed: 3"
    assert "Ann: 4 h" in staff.last and "Bob: 4 h" in staff.last
    assert "Shifts waiting" not in staff.last
    entries = await rows(session, HoursEntry)
    assert len(entries) == 4 and {e.minutes for e in entries} == {120}
    # The stale "yes" again: nothing more is confirmed.
    yes = VolConfirmAllCb(community_id=community.id or 0, month=202603, confirmed=True).pack()
    assert await staff.forge(yes) == "✅ Confirmed: 0"
    assert len(await rows(session, HoursEntry)) == 4
    (audit,) = await rows(session, AuditEntry, col(AuditEntry.action) ==
                          "volunteer.hours.confirm_all")
    assert len(audit.details["claim_ids"]) == 3
    told = await rows(session, OutboxMessage, col(OutboxMessage.key).like("✅ Your hours%"))
    assert len(told) == 4
    # Someone else's community: refused.
    other = await make_community(session, clock, "Other Court")
    forged = VolConfirmAllCb(community_id=other.id or 0, month=202603, confirmed=True).pack()
    assert await staff.forge(forged) == \
        "You can't do that here. Only staff of this community can."


async def test_the_booking_promises_only_the_reminders_still_to_come_and_a_nudge_to_check_out(
    harness: Harness, session: AsyncSession, clock: ManualClock, sender: OutboxSender,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    community = await make_community(session, clock)
    _staff, access = await make_staff(harness, session, clock, community)
    ann = harness.person(2001, "Ann")
    await become_volunteer(ann, community.name, ["🚶 Street patrol"], [])
    await patrol(session, clock, access, community.id or 0)
    await delivered(sender, sessionmaker, harness)  # the call
    clock.set(TUE_18 - timedelta(hours=5))  # the day-before reminder's time has passed
    await claim_from_the_list(ann)
    assert ann.last.startswith("✅ Your place is booked. We will remind you one hour before.")
    assert "the day before" not in ann.last

    clock.set(TUE_18 - timedelta(minutes=10))
    await delivered(sender, sessionmaker, harness)
    await ann.press("✅ Check in")
    clock.set(TUE_18 + timedelta(hours=2, minutes=1))  # the shift is over: a nudge
    await delivered(sender, sessionmaker, harness)
    assert ann.last.startswith("🏁 Patrol (Sunny Court) has ended.")
    assert labels(ann, "has ended") == ["🏁 Check out"]
    await ann.press("🏁 Check out")
    assert ann.last.startswith("🏁 Checked out.")
    assert labels(ann, "has ended") == []
