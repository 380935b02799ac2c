"""Volunteer rules without Telegram: matching, headcount, deadlines, check-in, hours."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bot.i18n import load_i18n
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.audit import AuditEntry
from models.communities import Community
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.users import Role, User
from models.volunteers import ClaimStatus, HoursEntry, Shift, ShiftClaim, Skill, Slot, Volunteer
from scheduler.outbox import render, say
from services import communities, outbox, privacy
from services import volunteer_hours as hours
from services import volunteers as vol
from services.access import Access
from services.clock import ManualClock
from services.errors import AlreadyExists, InvalidInput, NotAllowed
from services.outbox import Claimed
from tests.factories import grant, make_community, make_user

BUTTONS = OUTBOX_KEYBOARDS.volunteers

# Tuesday 3 March 2026, 18:00–20:00 in Shanghai (the clock starts Monday 09:00 there).
TUE_18 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


async def volunteer(
    session: AsyncSession, clock: ManualClock, community: Community, name: str,
    skills: tuple[str, ...] = (Skill.PATROL,), slots: tuple[str, ...] = (Slot.WEEKDAY_EVENING,),
) -> User:
    user = await make_user(session, clock, name=name, community=community)
    await vol.save_profile(session, user=user, clock=clock, skills=skills, slots=slots)
    return user


async def staff(session: AsyncSession, clock: ManualClock, community: Community) -> Access:
    user = await make_user(session, clock, name="Staff", community=community)
    return await grant(session, clock, user, Role.STAFF, community)


async def patrol(
    session: AsyncSession, clock: ManualClock, access: Access, community: Community, *,
    headcount: int = 2, start: datetime = TUE_18, weeks: int = 1,
) -> list[Shift]:
    task = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS,
        community_id=community.id or 0, title="Evening patrol", place="North gate",
        skills=[Skill.PATROL], latitude=31.2304, longitude=121.4737, weeks=weeks,
        shifts=[vol.ShiftSpec(start, start + timedelta(hours=2), headcount)])
    return await vol.task_shifts(session, task_id=task.id or 0)


async def outbox_rows(session: AsyncSession, **where: object) -> list[OutboxMessage]:
    await session.commit()
    query = select(OutboxMessage).order_by(col(OutboxMessage.id))
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list((await session.execute(query)).scalars().all())


async def test_a_task_pings_only_volunteers_whose_skills_and_times_match(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    other = await make_community(session, clock, name="Other Court")
    access = await staff(session, clock, home)
    match = await volunteer(session, clock, home, "Match")
    any_time = await volunteer(session, clock, home, "AnyTime", slots=())
    await volunteer(session, clock, home, "Tutor", skills=(Skill.TUTORING,))
    await volunteer(session, clock, home, "Mornings", slots=(Slot.WEEKDAY_MORNING,))
    paused = await volunteer(session, clock, home, "Paused")
    await vol.set_paused(session, user_id=paused.id or 0, clock=clock, paused=True)
    await volunteer(session, clock, other, "Elsewhere")

    shifts = await patrol(session, clock, access, home, weeks=3)

    assert [s.starts_at for s in shifts] == [TUE_18 + timedelta(weeks=w) for w in range(3)]
    pings = await outbox_rows(session, kind=OutboxKind.PING)
    assert sorted(p.user_id for p in pings) == sorted([match.id, any_time.id])
    ping = pings[0]
    # said when sent, in the recipient's language and the community's time
    assert say(ping.params["shifts"], locale="en", now=None).splitlines()[0] == \
        "1. Tue 3 Mar, 6:00 pm–8:00 pm"
    assert say(ping.params["shifts"], locale="zh", now=TUE_18).splitlines()[0] == \
        "1. 今天下午6:00–下午8:00"
    buttons = [b["callback_data"] for row in ping.keyboard["inline_keyboard"] for b in row]
    assert buttons == [f"vk:{s.id}" for s in shifts]


async def test_bad_shifts_and_forged_staff_are_refused(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    other = await make_community(session, clock, name="Other Court")
    access = await staff(session, clock, home)
    reversed_shift = vol.ShiftSpec(TUE_18, TUE_18 - timedelta(hours=1), 2)
    nobody = vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=1), 0)
    past = vol.ShiftSpec(clock.now() - timedelta(hours=1), clock.now(), 2)
    for spec, reason in ((reversed_shift, "ends_before_start"), (nobody, "zero"),
                         (past, "past")):
        with pytest.raises(InvalidInput) as caught:
            await vol.create_task(session, access=access, clock=clock, buttons=BUTTONS,
                                  community_id=home.id or 0, title="T", place="P",
                                  shifts=[spec])
        assert caught.value.reason == reason
    with pytest.raises(NotAllowed):
        await vol.create_task(session, access=access, clock=clock, buttons=BUTTONS,
                              community_id=other.id or 0, title="T", place="P",
                              shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=1), 1)])


async def test_headcount_double_taps_and_closed_shifts(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    other = await make_community(session, clock, name="Other Court")
    access = await staff(session, clock, home)
    a, b, c = [await volunteer(session, clock, home, n) for n in ("A", "B", "C")]
    outsider = await volunteer(session, clock, other, "Outsider")
    resident = await make_user(session, clock, name="Resident", community=home)
    (shift,) = await patrol(session, clock, access, home, headcount=2)
    sid = shift.id or 0

    await vol.claim_shift(session, user=a, clock=clock, buttons=BUTTONS, shift_id=sid)
    with pytest.raises(vol.AlreadyClaimed):
        await vol.claim_shift(session, user=a, clock=clock, buttons=BUTTONS, shift_id=sid)
    await vol.claim_shift(session, user=b, clock=clock, buttons=BUTTONS, shift_id=sid)
    with pytest.raises(vol.ShiftUnavailable, match="full"):
        await vol.claim_shift(session, user=c, clock=clock, buttons=BUTTONS, shift_id=sid)
    with pytest.raises(NotAllowed):
        await vol.claim_shift(session, user=outsider, clock=clock, buttons=BUTTONS,
                              shift_id=sid)
    with pytest.raises(vol.NotAVolunteer):
        await vol.claim_shift(session, user=resident, clock=clock, buttons=BUTTONS,
                              shift_id=sid)
    await session.refresh(shift)
    assert (shift.taken, shift.headcount) == (2, 2)

    # Reminders: the day before and an hour before, each with its buttons.
    reminders = await outbox_rows(session, kind=OutboxKind.REMINDER, user_id=a.id)
    assert [r.not_before for r in reminders] == [TUE_18 - timedelta(hours=24),
                                                 TUE_18 - timedelta(hours=1)]
    labels = [b["text"] for row in reminders[1].keyboard["inline_keyboard"] for b in row]
    assert labels == ["👍 Still coming", "🙅 Can't come", "✅ Check in"]

    (later,) = await patrol(session, clock, access, home, start=TUE_18 + timedelta(days=1))
    await vol.cancel_task(session, access=access, clock=clock, task_id=later.task_id)
    with pytest.raises(vol.ShiftUnavailable, match="cancelled"):
        await vol.claim_shift(session, user=c, clock=clock, buttons=BUTTONS,
                              shift_id=later.id or 0)
    clock.set(TUE_18 + timedelta(minutes=1))
    with pytest.raises(vol.ShiftUnavailable, match="past"):
        await vol.claim_shift(session, user=c, clock=clock, buttons=BUTTONS, shift_id=sid)
    with pytest.raises(vol.ShiftUnavailable, match="started"):
        await vol.withdraw(session, user=a, clock=clock, claim_id=1)


async def test_withdrawing_is_free_until_12_hours_before_then_needs_a_reason(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    access = await staff(session, clock, home)
    a, b = await volunteer(session, clock, home, "A"), await volunteer(session, clock, home, "B")
    (shift,) = await patrol(session, clock, access, home, headcount=1)
    claim = await vol.claim_shift(session, user=a, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    clock.set(TUE_18 - timedelta(hours=13))
    await vol.withdraw(session, user=a, clock=clock, claim_id=claim.id or 0)
    assert [r.status for r in await outbox_rows(session, kind=OutboxKind.REMINDER)] == [
        OutboxStatus.CANCELLED, OutboxStatus.CANCELLED]
    (early,) = await outbox_rows(session, kind=OutboxKind.STATUS)  # staff told, no reason
    assert early.user_id == access.user_id and (early.key or "").startswith("ℹ️ {name} gave")

    # The place is free again; B takes it, and later gives it back with a reason.
    claim_b = await vol.claim_shift(session, user=b, clock=clock, buttons=BUTTONS,
                                    shift_id=shift.id or 0)
    with pytest.raises(NotAllowed):
        await vol.withdraw(session, user=a, clock=clock, claim_id=claim_b.id or 0)
    clock.set(TUE_18 - timedelta(hours=11))
    with pytest.raises(vol.ReasonNeeded):
        await vol.withdraw(session, user=b, clock=clock, claim_id=claim_b.id or 0)
    await vol.withdraw(session, user=b, clock=clock, claim_id=claim_b.id or 0, reason="Flu")
    (_early, told) = await outbox_rows(session, kind=OutboxKind.STATUS)
    assert told.user_id == access.user_id and told.params["reason"] == "Flu"
    assert told.params["taken"] == 0
    await session.refresh(shift)
    assert shift.taken == 0
    # Back again after withdrawing: the same row, claimed afresh, with new reminders.
    again = await vol.claim_shift(session, user=a, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    assert again.id == claim.id and again.status == ClaimStatus.CLAIMED


async def test_check_in_out_and_hours_confirmed_and_corrected(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    other = await make_community(session, clock, name="Other Court")
    access = await staff(session, clock, home)
    other_staff = await staff(session, clock, other)
    a = await volunteer(session, clock, home, "A")
    b = await volunteer(session, clock, home, "B")
    (shift,) = await patrol(session, clock, access, home)
    claim = await vol.claim_shift(session, user=a, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    claim_b = await vol.claim_shift(session, user=b, clock=clock, buttons=BUTTONS,
                                    shift_id=shift.id or 0)
    cid = claim.id or 0

    clock.set(TUE_18 - timedelta(hours=2))
    with pytest.raises(vol.CheckInClosed, match="early"):
        await vol.check_in(session, user=a, clock=clock, claim_id=cid)
    with pytest.raises(NotAllowed):
        await vol.check_in(session, user=b, clock=clock, claim_id=cid)
    with pytest.raises(vol.CheckInClosed, match="not_in"):
        await vol.check_out(session, user=a, clock=clock, claim_id=cid)
    clock.set(TUE_18 + timedelta(minutes=10))
    await vol.check_in(session, user=a, clock=clock, claim_id=cid)
    assert await vol.note_location(session, user=a, claim_id=cid, latitude=31.2310,
                                   longitude=121.4740) is True
    assert await vol.note_location(session, user=a, claim_id=cid, latitude=31.30,
                                   longitude=121.50) is False
    clock.set(TUE_18 + timedelta(hours=3))  # forgot to check out until later: clipped at 20:00
    checked = await vol.check_out(session, user=a, clock=clock, claim_id=cid)
    assert hours.proposed_minutes(checked, shift) == 110

    with pytest.raises(NotAllowed):
        await hours.correct_hours(session, access=other_staff, clock=clock, claim_id=cid,
                                  minutes=60, reason="no")
    with pytest.raises(NotAllowed):
        await hours.confirm_hours(session, access=Access(user_id=a.id or 0), clock=clock,
                                  claim_id=cid)
    first = await hours.confirm_hours(session, access=access, clock=clock, claim_id=cid)
    assert (first.minutes, first.delta) == (110, 110)
    with pytest.raises(AlreadyExists):
        await hours.confirm_hours(session, access=access, clock=clock, claim_id=cid)
    with pytest.raises(InvalidInput):
        await hours.correct_hours(session, access=access, clock=clock, claim_id=cid,
                                  minutes=120, reason=" ")
    fixed = await hours.correct_hours(session, access=access, clock=clock, claim_id=cid,
                                      minutes=120, reason="came early to set up")
    assert (fixed.minutes, fixed.delta, fixed.recorded_by) == (120, 10, access.user_id)
    # B never checked in: confirming attendance gives the shift's length.
    await hours.confirm_hours(session, access=access, clock=clock, claim_id=claim_b.id or 0)

    assert [e.minutes for e in await hours.ledger(session, claim_id=cid)] == [110, 120]
    total = await hours.totals(session, user_id=a.id or 0, clock=clock, tz=vol.zone(home))
    assert (total.month, total.year, total.total) == (120, 120, 120)
    clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    total = await hours.totals(session, user_id=a.id or 0, clock=clock, tz=vol.zone(home))
    assert (total.month, total.year, total.total) == (0, 120, 120)

    start, end = hours.month_bounds(2026, 3, vol.zone(home))
    (grid,) = await hours.hours_by_grid(session, access=access, community_id=home.id or 0,
                                        start=start, end=end)
    assert [(u.first_name, m) for u, m in grid.people] == [("A", 120), ("B", 120)]
    await hours.commend(session, access=access, clock=clock, community_id=home.id or 0,
                        user_ids=[a.id or 0], year=2026, month=3)
    *_hours_told, thanks = await outbox_rows(session, kind=OutboxKind.STATUS, user_id=a.id)
    assert [row.params["hours"] for row in _hours_told] == ["1.8", "2"]  # confirmed, corrected
    assert thanks.params["hours"] == outbox.hours(120) and thanks.params["month"] == \
        outbox.month(2026, 3)
    # Said as a neighbour would say it, not "In 2026-03 you gave 2 hours … commends you".
    for locale, words in (("en", "In March 2026 you gave 2 hours to"),
                          ("zh", "2026年3月，您为")):
        text, _ = render(claimed(thanks, locale), load_i18n(), "zh")
        assert words in text, text
        assert "2026-03" not in text and "commends" not in text
    actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert {"volunteer.hours.confirm", "volunteer.hours.correct", "volunteer.commend",
            "volunteer.task.create"} <= set(actions)
    assert len((await session.execute(select(HoursEntry))).scalars().all()) == 3


async def test_a_short_shift_calls_the_other_volunteers_once_24_hours_before(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    access = await staff(session, clock, home)
    match = await volunteer(session, clock, home, "Match")
    tutor = await volunteer(session, clock, home, "Tutor", skills=(Skill.TUTORING,))
    (shift,) = await patrol(session, clock, access, home, headcount=3)
    await vol.claim_shift(session, user=match, clock=clock, buttons=BUTTONS,
                          shift_id=shift.id or 0)
    assert await vol.ping_short_shifts(session, clock=clock, buttons=BUTTONS) == 0
    clock.set(TUE_18 - timedelta(hours=23))
    assert await vol.ping_short_shifts(session, clock=clock, buttons=BUTTONS) == 1
    assert await vol.ping_short_shifts(session, clock=clock, buttons=BUTTONS) == 0
    pings = await outbox_rows(session, kind=OutboxKind.PING)
    assert [(p.user_id, p.dedupe_key) for p in pings] == [
        (match.id, f"vping:t{shift.task_id}:u{match.id}"),
        (tutor.id, f"vshort:s{shift.id}:u{tutor.id}")]
    assert pings[1].params["missing"] == 2


async def test_a_hundred_people_tap_claim_at_once_for_five_places(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with sessionmaker() as session:
        home = await make_community(session, clock)
        access = await staff(session, clock, home)
        people = [await volunteer(session, clock, home, f"V{i}") for i in range(100)]
        (shift,) = await patrol(session, clock, access, home, headcount=5)

    async def tap(user: User) -> str:
        async with sessionmaker() as own:  # each tap is its own update, its own session
            try:
                await vol.claim_shift(own, user=user, clock=clock, buttons=BUTTONS,
                                      shift_id=shift.id or 0)
            except vol.ShiftUnavailable as error:
                return error.reason
            return "ok"

    outcomes = await asyncio.gather(*(tap(p) for p in people))
    assert outcomes.count("ok") == 5 and outcomes.count("full") == 95
    async with sessionmaker() as session:
        fresh = await session.get(Shift, shift.id)
        assert fresh is not None and fresh.taken == 5
        claims = await vol.roster(session, access=access, shift_id=shift.id or 0)
        assert len(claims[2]) == 5


async def test_deleteme_gives_back_places_ahead_and_keeps_the_hours_anonymous(
    session: AsyncSession, clock: ManualClock
) -> None:
    clock.set(TUE_18 - timedelta(days=8))
    home = await make_community(session, clock)
    access = await staff(session, clock, home)
    a = await volunteer(session, clock, home, "A")
    past, ahead = await patrol(session, clock, access, home, headcount=1,
                               start=TUE_18 - timedelta(days=7), weeks=2)
    done = await vol.claim_shift(session, user=a, clock=clock, buttons=BUTTONS,
                                 shift_id=past.id or 0)
    kept = await vol.claim_shift(session, user=a, clock=clock, buttons=BUTTONS,
                                 shift_id=ahead.id or 0)
    clock.set(TUE_18 - timedelta(days=3))  # the first shift is over, the second ahead

    await privacy.erase_user(session, user=a, clock=clock)

    claims = {c.id: c for c in (await session.execute(
        select(ShiftClaim).execution_options(populate_existing=True))).scalars()}
    assert claims[done.id].status == ClaimStatus.CLAIMED  # what happened stays, anonymous
    assert (claims[kept.id].status, claims[kept.id].withdrawn_at) == (
        ClaimStatus.WITHDRAWN, clock.now())
    await session.refresh(ahead)
    assert ahead.taken == 0
    reminders = await outbox_rows(session, kind=OutboxKind.REMINDER, group_key=f"vclaim:{kept.id}")
    assert reminders and {r.status for r in reminders} == {OutboxStatus.CANCELLED}
    profile = (await session.execute(select(Volunteer))).scalar_one()
    assert profile.paused and profile.other_skill is None
    b = await volunteer(session, clock, home, "B")  # the place is free for someone else
    await vol.claim_shift(session, user=b, clock=clock, buttons=BUTTONS,
                          shift_id=ahead.id or 0)


# --- What a screen may offer: each flag follows the rule it mirrors -------------------------


async def test_a_place_offers_check_in_only_in_its_window(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    access = await staff(session, clock, home)
    ann = await volunteer(session, clock, home, "Ann")
    (shift,) = await patrol(session, clock, access, home)
    claim = await vol.claim_shift(session, user=ann, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    cid = claim.id or 0
    view = await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)
    assert not view.can_check_in and view.check_in_opens == TUE_18 - timedelta(hours=1)
    with pytest.raises(vol.CheckInClosed):
        await vol.check_in(session, user=ann, clock=clock, claim_id=cid)
    clock.set(TUE_18 - timedelta(minutes=59))
    assert (await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)).can_check_in
    clock.set(TUE_18 + timedelta(hours=2, minutes=1))
    assert not (await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)).can_check_in


async def test_a_place_offers_withdrawal_until_the_start_with_a_reason_in_the_last_12_hours(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    access = await staff(session, clock, home)
    ann = await volunteer(session, clock, home, "Ann")
    (shift,) = await patrol(session, clock, access, home)
    claim = await vol.claim_shift(session, user=ann, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    cid = claim.id or 0
    early = await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)
    assert (early.can_withdraw, early.needs_reason) == (True, False)
    clock.set(TUE_18 - timedelta(hours=11))
    late = await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)
    assert (late.can_withdraw, late.needs_reason) == (True, True)
    with pytest.raises(vol.ReasonNeeded):
        await vol.withdraw(session, user=ann, clock=clock, claim_id=cid)
    clock.set(TUE_18)
    started = await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)
    assert (started.can_withdraw, started.needs_reason) == (False, False)
    with pytest.raises(vol.ShiftUnavailable):
        await vol.withdraw(session, user=ann, clock=clock, claim_id=cid, reason="Flu")


async def test_a_place_offers_check_out_after_check_in_until_6_hours_after_the_end(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    access = await staff(session, clock, home)
    ann = await volunteer(session, clock, home, "Ann")
    (shift,) = await patrol(session, clock, access, home)
    claim = await vol.claim_shift(session, user=ann, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    cid = claim.id or 0
    clock.set(TUE_18)
    assert not (await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)).can_check_out
    await vol.check_in(session, user=ann, clock=clock, claim_id=cid)
    view = await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)
    assert (view.can_check_out, view.can_check_in, view.can_withdraw) == (True, False, False)
    clock.set(TUE_18 + timedelta(hours=8, minutes=1))
    assert not (await vol.my_claim(session, user=ann, clock=clock, claim_id=cid)).can_check_out
    with pytest.raises(vol.CheckInClosed):
        await vol.check_out(session, user=ann, clock=clock, claim_id=cid)


async def test_an_open_shift_offers_claim_unless_held_already(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    access = await staff(session, clock, home)
    ann = await volunteer(session, clock, home, "Ann")
    bob = await volunteer(session, clock, home, "Bob")
    (shift,) = await patrol(session, clock, access, home)
    (view,) = await vol.open_shifts(session, user_id=ann.id or 0, clock=clock)
    assert (view.can_claim, view.left) == (True, 2)
    await vol.claim_shift(session, user=ann, clock=clock, buttons=BUTTONS, shift_id=shift.id or 0)
    (held,) = await vol.open_shifts(session, user_id=ann.id or 0, clock=clock)
    assert (held.can_claim, held.left) == (False, 1)
    with pytest.raises(vol.AlreadyClaimed):
        await vol.claim_shift(session, user=ann, clock=clock, buttons=BUTTONS,
                              shift_id=shift.id or 0)
    (for_bob,) = await vol.open_shifts(session, user_id=bob.id or 0, clock=clock)
    assert for_bob.can_claim
    # The rule itself, for a shift that is full, started or of another community.
    task = for_bob.task
    assert not vol.shift_view(shift, task, now=TUE_18, volunteer=None, holds=False).can_claim
    with pytest.raises(vol.NotAVolunteer):
        await vol.open_shifts(session, user_id=access.user_id, clock=clock)


async def test_a_task_offers_edit_and_cancel_until_cancelled(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    other = await make_community(session, clock, name="Other Court")
    access = await staff(session, clock, home)
    (shift,) = await patrol(session, clock, access, home)
    view = await vol.task_view(session, access=access, task_id=shift.task_id,
                               community_id=home.id or 0)
    assert (view.can_edit, view.can_cancel, len(view.shifts)) == (True, True, 1)
    with pytest.raises(NotAllowed):
        await vol.task_view(session, access=access, task_id=shift.task_id,
                            community_id=other.id or 0)
    await vol.cancel_task(session, access=access, clock=clock, task_id=shift.task_id)
    gone = await vol.task_view(session, access=access, task_id=shift.task_id,
                               community_id=home.id or 0)
    assert (gone.can_edit, gone.can_cancel) == (False, False)
    with pytest.raises(vol.ShiftUnavailable):
        await vol.edit_task(session, access=access, clock=clock, task_id=shift.task_id,
                            title="New")


async def test_a_roster_offers_places_before_the_start_and_hours_after(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock)
    access = await staff(session, clock, home)
    ann = await volunteer(session, clock, home, "Ann")
    (shift,) = await patrol(session, clock, access, home, headcount=1)
    claim = await vol.claim_shift(session, user=ann, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    sid = shift.id or 0
    before = await hours.roster_view(session, access=access, clock=clock, shift_id=sid)
    assert (before.can_add_place, before.can_remove_place, before.can_cancel) == (
        True, False, True)  # one place, taken: one fewer would leave Ann out
    (line,) = before.people
    assert (line.can_confirm, line.can_mark_absent, line.can_correct) == (False, False, False)
    with pytest.raises(InvalidInput):
        await vol.set_headcount(session, access=access, clock=clock, shift_id=sid, headcount=0)
    await vol.set_headcount(session, access=access, clock=clock, shift_id=sid, headcount=2)
    assert (await hours.roster_view(session, access=access, clock=clock,
                                    shift_id=sid)).can_remove_place
    clock.set(TUE_18 + timedelta(hours=3))
    after = await hours.roster_view(session, access=access, clock=clock, shift_id=sid)
    assert (after.can_add_place, after.can_remove_place, after.can_cancel) == (
        False, False, False)
    (line,) = after.people
    assert (line.can_confirm, line.can_mark_absent, line.can_correct, line.proposed) == (
        True, True, True, 120)
    await hours.confirm_hours(session, access=access, clock=clock, claim_id=claim.id or 0)
    (line,) = (await hours.roster_view(session, access=access, clock=clock, shift_id=sid)).people
    assert (line.can_confirm, line.can_mark_absent, line.confirmed) == (False, False, 120)
    with pytest.raises(AlreadyExists):
        await hours.mark_absent(session, access=access, clock=clock, claim_id=claim.id or 0)


def claimed(row: OutboxMessage, locale: str) -> Claimed:
    """An outbox row as the sender claims it, for a recipient speaking `locale`."""
    return Claimed(id=row.id or 0, user_id=row.user_id, chat_id=1, locale=locale, kind=row.kind,
                   text=row.text, key=row.key, params=row.params, keyboard=None, media=None,
                   file_id=None, blob_id=None, priority=0, urgent=False, attempts=0)


async def test_every_message_about_a_task_names_its_community_and_grid(
    session: AsyncSession, clock: ManualClock
) -> None:
    home = await make_community(session, clock, grids=("Block 1",))
    access = await staff(session, clock, home)
    match = await volunteer(session, clock, home, "Match")
    grid = (await communities.list_grids(session, community_id=home.id or 0))[0]
    task = await vol.create_task(
        session, access=access, clock=clock, buttons=BUTTONS, community_id=home.id or 0,
        title="Evening patrol", place="North gate", skills=[Skill.PATROL], grid_id=grid.id,
        shifts=[vol.ShiftSpec(TUE_18, TUE_18 + timedelta(hours=2), 2)])
    (shift,) = await vol.task_shifts(session, task_id=task.id or 0)
    claim = await vol.claim_shift(session, user=match, clock=clock, buttons=BUTTONS,
                                  shift_id=shift.id or 0)
    await vol.withdraw(session, user=match, clock=clock, claim_id=claim.id or 0)
    await vol.claim_shift(session, user=match, clock=clock, buttons=BUTTONS,
                          shift_id=shift.id or 0)
    await vol.cancel_task(session, access=access, clock=clock, task_id=task.id or 0)
    sent = await outbox_rows(session)
    assert {row.kind for row in sent} >= {OutboxKind.PING, OutboxKind.REMINDER,
                                          OutboxKind.STATUS}
    for row in sent:
        assert "{community}" in (row.key or ""), row.key
        assert row.params["community"] == "Sunny Court · Block 1"
