"""Staff announcements through the chat: compose, audience, preview, send, progress, cancel."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callback_data.broadcasts import (
    BroadcastDraftAction,
    BroadcastDraftCb,
    BroadcastMenuAction,
    BroadcastMenuCb,
    BroadcastStopCb,
)
from bot.config import Settings
from bot.keyboards.communities import ScopeCb
from bot.keyboards.dates import DayCb, TimeCb
from models.audit import AuditEntry
from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community
from models.outbox import OutboxMessage
from models.users import Role, User
from scheduler.broadcasts import broadcast_progress
from scheduler.outbox import OutboxSender, SendLimits
from services import preferences
from services.clock import ManualClock
from tests.factories import grant, make_community, make_user
from tests.handlers.conftest import Harness, Person, rows
from tests.scheduler.conftest import FAST, settled, wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEN = "10:00 am"
FORGED_DAYS = (DayCb(day=10**9).pack(),             # no such day
               DayCb(day=1).pack(),                 # year 1
               DayCb(day=date(2026, 3, 1).toordinal()).pack(),   # yesterday
               DayCb(day=date(2026, 4, 30).toordinal()).pack())  # two months ahead
FORGED_TIMES = (TimeCb(minutes=99 * 60).pack(),     # 99:00 tomorrow
                TimeCb(minutes=-5).pack(),
                TimeCb(minutes=10 * 60 + 7).pack())  # not a time the picker offers


@pytest.fixture
async def sender(harness: Harness, sessionmaker: async_sessionmaker[AsyncSession],
                 clock: ManualClock, settings: Settings) -> AsyncIterator[OutboxSender]:
    sender = OutboxSender(bot=harness.bot, sessionmaker=sessionmaker, clock=clock, limits=FAST,
                          default_locale=settings.default_locale, default_tz=settings.timezone)
    await sender.start()
    harness.dp.workflow_data["outbox_notify"] = sender.kick  # as bot/__main__.py wires it
    yield sender
    await sender.stop()


async def resident(harness: Harness, tg_id: int, grid: str | None, language: str = "en") -> Person:
    person = harness.person(tg_id, f"R{tg_id}", language)
    await person.send("/start")
    await person.press("✅ I agree" if language == "en" else "✅ 我同意")
    await person.press("Sunny Court")
    last = person.handle.last_bot_message
    if last and ("Not sure" in last.button_labels or "不确定" in last.button_labels):  # grids
        await person.press(grid or ("Not sure" if language == "en" else "不确定"))
    return person


async def staff_member(harness: Harness, session: AsyncSession, clock: ManualClock,
                       community: Community) -> Person:
    staff = await resident(harness, 5000, None)
    user = (await session.execute(select(User).where(User.tg_id == 5000))).scalar_one()
    await grant(session, clock, user, Role.STAFF, community)
    await staff.send("/menu")  # the keyboard follows the new role
    return staff


async def test_staff_announce_to_one_grid_and_watch_it_arrive(
    harness: Harness, session: AsyncSession, clock: ManualClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    ones = [await resident(harness, 5001, "Block 1"), await resident(harness, 5002, "Block 1",
                                                                     "zh")]
    two = await resident(harness, 5003, "Block 2")
    staff = await staff_member(harness, session, clock, sunny)
    assert "📢 Announcements" in staff.menu

    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    assert staff.last.startswith("Write the announcement.")
    await staff.send("Water is off <b>tomorrow</b> 9–12")
    await staff.press("🏘 Choose grids")
    await staff.press("Done")
    assert staff.alerts[-1] == "Choose at least one grid."
    await staff.press("▫️ Block 1")
    await staff.press("✅ Block 1")  # off again
    await staff.press("▫️ Block 1")
    await staff.press("Done")
    assert staff.texts[-2] == "Water is off &lt;b&gt;tomorrow&lt;/b&gt; 9–12" or \
        staff.texts[-2] == "Water is off <b>tomorrow</b> 9–12"
    assert staff.last == "It will reach Sunny Court · Block 1 · 2 people."
    await staff.press("📤 Send now")
    assert staff.last == "Send it to Sunny Court · Block 1 · 2 people now?"
    await staff.press("✅ Confirm")
    # The sender is already at work: the count is whatever went out by then.
    assert re.match(r"📤 Sending announcement #1: [012] of 2\n", staff.last)

    await wait_until(settled(sessionmaker))
    for person in ones:
        assert person.handle.last_bot_message is not None
        assert "Water is off" in person.last
    assert not any("Water is off" in text for text in two.texts)

    await broadcast_progress(bot=harness.bot, sessionmaker=sessionmaker, clock=clock,
                             settings=settings)
    assert staff.last.startswith("✅ Announcement #1 has gone out to 2 people.\n"
                                  "To Sunny Court · Block 1\nSent 2 ·")
    await session.commit()
    broadcast = (await session.execute(select(Broadcast))).scalar_one()
    assert broadcast.status == BroadcastStatus.DONE


async def test_a_scheduled_announcement_can_be_cancelled_before_it_starts(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1",))
    await resident(harness, 5011, "Block 1")
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("Community fair on Sunday")
    await staff.press("👥 Everyone")
    await staff.press("🚨 Urgent: off")
    assert "🚨 Urgent: it passes quiet hours" in staff.last
    await staff.press("🗓 Schedule")
    await staff.press("Tomorrow")
    await staff.press("10:00 am")
    assert staff.last == "Send it to Sunny Court · 2 people at Tue 3 Mar, 10:00 am?"
    await staff.press("✅ Confirm")
    assert staff.last.startswith("🗓 Announcement #1 is scheduled for Tue 3 Mar, 10:00 am, to "
                                 "Sunny Court · 2 people.")

    await staff.tap("📢 Announcements")
    await staff.press("🗓 Scheduled and sending")
    assert ("#1 · Tue 3 Mar, 10:00 am · Sunny Court · 2 people · Community fair on Sunday"
            in staff.last)
    await staff.press("✖ Cancel #1")
    assert staff.last.startswith("✖ Announcement #1 was cancelled. 2 messages were not sent.")
    await session.commit()
    statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
    assert statuses == []  # nothing was queued: that happens when it goes out


async def test_forged_broadcast_buttons_from_a_resident_are_refused(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    other = await make_community(session, clock, "Other")
    eve = await resident(harness, 5021, None)
    for forged in (BroadcastMenuCb(action=BroadcastMenuAction.NEW),
                   BroadcastDraftCb(action=BroadcastDraftAction.CONFIRM),
                   BroadcastMenuCb(action=BroadcastMenuAction.LIST),
                   BroadcastStopCb(broadcast_id=1)):
        answer = await eve.forge(forged.pack())
        assert answer == "You can't do that here. Only staff of this community can."
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    answer = await staff.forge(ScopeCb(flow="bc", community_id=other.id or 0).pack())
    assert answer in ("This button is out of date.",
                      "You can't do that here. Only staff of this community can.")
    await staff.send("hello")
    await staff.press("👥 Everyone")
    await staff.press("🗓 Schedule")  # the hours are on the time screen now
    await staff.press("Tomorrow")
    assert await staff.forge(TimeCb(minutes=60).pack()) == \
        "That time has passed. Please choose a later one."
    await session.commit()
    assert (await session.execute(select(func.count()).select_from(Broadcast))).scalar_one() == 0


async def test_tomorrow_chosen_before_midnight_goes_out_on_the_day_the_screen_showed(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    """"Tomorrow" pressed at 23:50 means the next day even when the time and the
    confirmation come after midnight."""
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1",))
    await resident(harness, 5031, "Block 1")
    staff = await staff_member(harness, session, clock, sunny)
    clock.set(datetime(2026, 3, 2, 15, 50, tzinfo=UTC))  # 23:50 in Shanghai
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("Lift maintenance")
    await staff.press("👥 Everyone")
    await staff.press("🗓 Schedule")
    await staff.press("Tomorrow")  # Tuesday 3 March
    clock.advance(minutes=15)      # 00:05 on Tuesday: "tomorrow" is now Wednesday
    await staff.press(TEN)
    await staff.press("✅ Confirm")
    await session.commit()
    broadcast = (await session.execute(select(Broadcast))).scalar_one()
    assert broadcast.send_at.astimezone(SHANGHAI) == datetime(2026, 3, 3, 10, 0,
                                                              tzinfo=SHANGHAI)


async def test_a_forged_broadcast_hour_out_of_range_gets_a_clear_answer(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("hello")
    await staff.press("👥 Everyone")
    await staff.press("🗓 Schedule")
    for forged in FORGED_DAYS:
        assert await staff.forge(forged) == "That time has passed. Please choose a later one."
    await staff.press("Tomorrow")
    for forged in FORGED_TIMES:
        assert await staff.forge(forged) == "That time has passed. Please choose a later one."
    await session.commit()
    assert (await session.execute(select(func.count()).select_from(Broadcast))).scalar_one() == 0


async def test_a_broadcast_can_be_scheduled_a_month_ahead_at_half_past(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    await resident(harness, 5041, None)
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("Spring cleaning")
    await staff.press("👥 Everyone")
    await staff.press("🗓 Schedule")
    await staff.press("▶")
    await staff.press("▶")
    await staff.press("Thu 2 Apr")  # 31 days ahead (Monday 2 March today)
    await staff.press("10:30 am")
    assert staff.last == "Send it to Sunny Court · 2 people at Thu 2 Apr, 10:30 am?"
    await staff.press("✅ Confirm")
    await session.commit()
    broadcast = (await session.execute(select(Broadcast))).scalar_one()
    assert broadcast.send_at.astimezone(SHANGHAI) == datetime(2026, 4, 2, 10, 30,
                                                              tzinfo=SHANGHAI)


async def test_an_announcement_too_long_is_refused_and_the_step_waits(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("😀" * 2049)  # 4098 UTF-16 units
    assert staff.last == ("That is too long: at most 4096 characters, or 1024 under a photo "
                          "or document.")
    await staff.send("Short and sweet")
    assert staff.last == "Who should receive it?"


async def residents_in(session: AsyncSession, harness: Harness, clock: ManualClock,
                       community: Community, count: int, first: int = 7000) -> list[Person]:
    """`count` consented residents of `community`, straight into the database (onboarding
    them through the chat tests nothing new), each with a chat open in the emulator."""
    people = []
    for i in range(count):
        person = harness.person(first + i, f"N{i}")
        person.handle.open_chat()
        people.append(person)
        await make_user(session, clock, tg_id=first + i, name=f"N{i}", community=community,
                        locale="en")
    return people


def copies(people: list[Person], text: str) -> int:
    return sum(1 for person in people for message in person.handle.bot_messages
               if text in message.content)


async def test_cancel_stops_a_broadcast_in_progress_and_the_report_counts_what_went_out(
    harness: Harness, session: AsyncSession, clock: ManualClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Issue 16 #1: 56 recipients, cancelled part way: nobody more gets it after ✖ Cancel,
    and the report, a new message once the sender has let go, says exactly how many did."""
    sunny = await make_community(session, clock, "Sunny Court")
    people = await residents_in(session, harness, clock, sunny, 56)
    staff = await staff_member(harness, session, clock, sunny)
    # Slow and one at a time, so that the cancel lands in the middle; the sender has
    # claimed every row long before (a claim is 100 rows).
    sender = OutboxSender(bot=harness.bot, sessionmaker=sessionmaker, clock=clock,
                          limits=SendLimits(rate=20.0, private_interval=0.05, max_in_flight=1),
                          default_locale=settings.default_locale, default_tz=settings.timezone)
    await sender.start()
    harness.dp.workflow_data["outbox_notify"] = sender.kick
    try:
        await staff.tap("📢 Announcements")
        await staff.press("✏️ New announcement")
        await staff.send("Gas inspection on Friday")
        await staff.press("👥 Everyone")
        await staff.press("📤 Send now")
        assert staff.last == "Send it to Sunny Court · 57 people now?"
        await staff.press("✅ Confirm")
        progress = staff.handle.last_bot_message
        assert progress is not None

        async def some_delivered() -> bool:
            return copies(people, "Gas inspection") >= 17

        await wait_until(some_delivered, within=20)
        await staff.press("✖ Cancel sending")
        at_cancel = copies(people, "Gas inspection")

        async def reported() -> bool:
            await broadcast_progress(bot=harness.bot, sessionmaker=sessionmaker, clock=clock,
                                     settings=settings)
            return staff.last.startswith("✖ Announcement #1 was cancelled")

        await wait_until(reported, within=20)
        await wait_until(settled(sessionmaker))
        delivered = copies(people, "Gas inspection") + copies([staff], "Gas inspection") - 1
        # At most the one request in flight when Cancel was pressed went out after it.
        assert copies(people, "Gas inspection") <= at_cancel + 1 < 56
        sent = await rows(session, OutboxMessage, OutboxMessage.status == "sent")
        assert len(sent) == delivered
        report = staff.handle.last_bot_message
        assert report is not None and report.message_id > progress.message_id  # a new message
        assert staff.last == (f"✖ Announcement #1 was cancelled. {57 - delivered} messages were "
                              f"not sent.\nTo Sunny Court\nSent {delivered} · blocked the bot 0 · "
                              "failed 0 · muted or left 0")
        assert "✖ Cancel sending" not in staff.handle.bot_messages[-2].button_labels
    finally:
        await sender.stop()


async def test_a_stale_cancel_on_a_broadcast_that_went_out_says_so(
    harness: Harness, session: AsyncSession, clock: ManualClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    """Issue 16 #5: "✖ Cancel #1" pressed on an old list after it went out."""
    sunny = await make_community(session, clock, "Sunny Court")
    await residents_in(session, harness, clock, sunny, 2)
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("Lift repaired")
    await staff.press("👥 Everyone")
    await staff.press("🗓 Schedule")
    await staff.press("Tomorrow")
    await staff.press(TEN)
    await staff.press("✅ Confirm")
    await staff.tap("📢 Announcements")
    await staff.press("🗓 Scheduled and sending")
    assert "✖ Cancel #1" in staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]

    clock.set(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))  # Tuesday 10:00 in Shanghai

    async def done() -> bool:
        sender.kick()
        await broadcast_progress(bot=harness.bot, sessionmaker=sessionmaker, clock=clock,
                                 settings=settings)
        broadcast = (await rows(session, Broadcast))[0]
        return broadcast.status == BroadcastStatus.DONE

    await wait_until(done)
    await staff.press("✖ Cancel #1")
    assert staff.alerts[-1] == "Announcement #1 has already gone out: there is nothing left " \
                               "to cancel."
    [broadcast] = await rows(session, Broadcast)
    assert broadcast.status == BroadcastStatus.DONE


async def test_a_scheduled_announcement_reaches_whoever_is_in_the_audience_when_it_goes_out(
    harness: Harness, session: AsyncSession, clock: ManualClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    """Issue 16 #7: the audience is who is in it at send time: a newcomer gets it, someone
    who moved to another community does not."""
    sunny = await make_community(session, clock, "Sunny Court")
    await make_community(session, clock, "Other Court")
    leaver = await resident(harness, 5051, None)
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("Courtyard party on Tuesday")
    await staff.press("👥 Everyone")
    await staff.press("🗓 Schedule")
    await staff.press("Tomorrow")
    await staff.press(TEN)
    assert staff.last == "Send it to Sunny Court · 2 people at Tue 3 Mar, 10:00 am?"
    await staff.press("✅ Confirm")

    newcomer = await resident(harness, 5052, None)
    await leaver.tap("⚙️ Settings")
    await leaver.press("🏠 My community")
    await leaver.press("Other Court")
    last = leaver.handle.last_bot_message
    if last is not None and "✅ Yes, move me" in last.button_labels:
        await leaver.press("✅ Yes, move me")
    [moved] = await rows(session, User, User.tg_id == 5051)
    assert moved.community_id != sunny.id

    clock.set(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))  # Tuesday 10:00 in Shanghai

    async def done() -> bool:
        sender.kick()
        await broadcast_progress(bot=harness.bot, sessionmaker=sessionmaker, clock=clock,
                                 settings=settings)
        return staff.last.startswith("✅ Announcement #1 has gone out")

    await wait_until(done)
    assert "Courtyard party on Tuesday" in newcomer.texts
    assert "Courtyard party on Tuesday" not in leaver.texts
    assert staff.last.startswith("✅ Announcement #1 has gone out to 2 people.\n"
                                  "To Sunny Court\nSent 2 ·")


async def test_send_now_in_quiet_hours_says_who_will_wait_and_offers_urgent(
    harness: Harness, session: AsyncSession, clock: ManualClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    """Issue 16 #8: at 22:00 most people are in their quiet hours (21:00-08:00): the
    confirmation says how many will wait, and "urgent" reaches them all now, audited."""
    sunny = await make_community(session, clock, "Sunny Court")
    people = await residents_in(session, harness, clock, sunny, 3)
    [night_owl] = await rows(session, User, User.tg_id == people[0].id)
    await preferences.set_quiet_hours(session, user_id=night_owl.id or 0, clock=clock,
                                      start=None, end=None)
    staff = await staff_member(harness, session, clock, sunny)
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("Burst pipe: water off now")
    await staff.press("👥 Everyone")
    await staff.press("📤 Send now")
    assert staff.last == ("Send it to Sunny Court · 4 people now?\n🌙 3 of them are in their "
                          "quiet hours: they will get it when those end, by Tomorrow, 8:00 am.")
    await staff.press("🚨 Send to all now (urgent)")
    await wait_until(settled(sessionmaker))
    assert all("Burst pipe: water off now" in person.texts for person in people)
    entry = next(e for e in await rows(session, AuditEntry) if e.action == "broadcast.create")
    assert (entry.details["urgent"], entry.details["quiet_hours"],
            entry.details["quiet_choice"]) == (True, 3, "urgent")


async def test_a_double_tap_on_confirm_queues_the_announcement_once(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    """Issue 14 #1: two presses of ✅ Confirm handled at once (as polling does, several
    updates at a time) make one broadcast, one message per person."""
    sunny = await make_community(session, clock, "Sunny Court")
    await residents_in(session, harness, clock, sunny, 3)
    staff = await staff_member(harness, session, clock, sunny)
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    await staff.send("Flu jabs at the clinic")
    await staff.press("👥 Everyone")
    await staff.press("📤 Send now")
    await staff.handle.press_text("✅ Confirm")
    await staff.handle.press_text("✅ Confirm")
    updates = await harness.bot.get_updates(offset=harness.offset, timeout=0)
    assert len(updates) == 2
    harness.offset = updates[-1].update_id + 1
    await asyncio.gather(*(harness.dp.feed_update(harness.bot, u) for u in updates))
    assert len(await rows(session, Broadcast)) == 1
    assert len(await rows(session, OutboxMessage)) == 4
    assert "Announcement #1 is already on its way." in staff.alerts


async def test_staff_of_two_communities_start_with_the_shared_community_picker(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    """Issue 16 #2: the shared picker (type to search, last choice first); the admin's
    whole-district announcement is a button of its own."""
    sunny = await make_community(session, clock, "Sunny Court")
    river = await make_community(session, clock, "River Court")
    await residents_in(session, harness, clock, river, 2)
    staff = await staff_member(harness, session, clock, sunny)
    user = (await session.execute(select(User).where(User.tg_id == 5000))).scalar_one()
    await grant(session, clock, user, Role.STAFF, river)
    await staff.tap("📢 Announcements")
    assert "🏙 To the whole district" not in staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await staff.press("✏️ New announcement")
    assert "Which community? Tap one, or type part of its name to search." in staff.last
    await staff.send("river")
    assert "1 community matches “river”." in staff.last
    await staff.press("River Court")
    assert staff.last.startswith("Write the announcement.")
    await staff.send("Bins collected on Monday")
    await staff.press("👥 Everyone")
    assert staff.last == "It will reach River Court · 2 people."
    await staff.tap("📢 Announcements")
    await staff.press("✏️ New announcement")
    assert staff.handle.last_bot_message.button_labels[0] == "⭐ River Court"  # type: ignore[union-attr]

    admin = harness.person(900, "Zhou", "en")
    await admin.send("/start")
    await admin.press("✅ I agree")
    await admin.press("Choose later")
    await admin.tap("📢 Announcements")
    await admin.press("🏙 To the whole district")
    assert admin.last.startswith("Write the announcement.")
    await admin.send("District notice")
    await admin.press("👥 Everyone")
    assert admin.last.startswith("It will reach the whole district · ")
