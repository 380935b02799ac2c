"""Volunteers: profiles, tasks and shifts, matching pings, claims, check-in/out.

The rules, in one place:

- Anyone with a home community can volunteer: skills, usual free times, a grid.
  A paused volunteer gets no pings but keeps their shifts.
- A task is published when staff create it. Volunteers of the community whose
  skills meet the task's (any skill, if the task names none) and whose free
  times include a shift's time get a ping with a Claim button per shift. A
  shift still short 24 h before it starts calls the others
  (`ping_short_shifts`, run by a sweep).
- A claim takes one place; `Shift.taken < headcount` is enforced by a
  conditional UPDATE under a write lock, so the headcount holds under any
  number of simultaneous taps. Claiming twice changes nothing.
- Withdrawing is free until 12 h before the start; later it needs a reason.
  Either way the community's staff are told. "Can't come" on a reminder is the same.
- Reminders go out 24 h and 1 h before; check-in opens 1 h before the start
  and closes at the end; check-out closes 6 h after the end.

Hours and reports are in `services/volunteer_hours.py`.

Messages to people go through the outbox. Their buttons carry callback data,
which is the bot's business, not the domain's: callers pass a `Buttons`
(bot/keyboards/outbox.py) that draws them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Community, Grid
from models.db import write
from models.outbox import OutboxKind
from models.users import User
from models.volunteers import (
    DESCRIPTION_MAX,
    OTHER_SKILL_MAX,
    PLACE_MAX,
    REASON_MAX,
    TITLE_MAX,
    ClaimStatus,
    Shift,
    ShiftClaim,
    Skill,
    Slot,
    Volunteer,
    VolunteerTask,
)
from services import audit, outbox
from services.access import Access
from services.clock import Clock
from services.communities import staff_of
from services.communities import where as place_of
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound, NotYours
from services.outbox import N_, Notify
from services.text import clean_text as _clean_text
from services.titles import clean_titles, outbox_title, with_title

FREE_WITHDRAWAL = timedelta(hours=12)  # before the start; later needs a reason
CHECK_IN_OPENS = timedelta(hours=1)  # before the start
CHECK_OUT_CLOSES = timedelta(hours=6)  # after the end
SHORT_CALL = timedelta(hours=24)  # before the start: call the other volunteers
REMINDERS = (("24h", timedelta(hours=24)), ("1h", timedelta(hours=1)))
NEAR_METRES = 300.0
MAX_HEADCOUNT = 200
MAX_SHIFT = timedelta(hours=24)
MAX_DAYS_AHEAD = 180  # a shift starts at most this many days from now (the picker's range)
MAX_WEEKS = 26
MAX_SHIFTS = 60
PING_BUTTONS = 8  # Claim buttons in one ping; more shifts are in the 🙋 menu


# --- Outbox keys: one builder each (a dedupe key makes a message once; a group cancels) ---


def ping_key(task_id: int | None, user_id: int) -> str:
    """A task's call to one volunteer: once per task and person."""
    return f"vping:t{task_id}:u{user_id}"


def short_key(shift_id: int | None, user_id: int) -> str:
    """A short shift's second call to one volunteer: once per shift and person."""
    return f"vshort:s{shift_id}:u{user_id}"


def reminder_key(name: str, claim_id: int | None) -> str:
    """Reminder `name` ("24h", "1h") of a claim: once. A place given back cancels its
    reminders, which frees their keys (outbox.cancel), so taken again it is reminded afresh."""
    return f"vrem:{name}:c{claim_id}"


def check_out_key(claim_id: int | None) -> str:
    """The nudge to check out when the shift ends: once per claim (a place checked in to
    can no longer be given back, so its row is never claimed afresh)."""
    return f"vout:c{claim_id}"


def commend_key(community_id: int, year: int, month: int, user_id: int | None) -> str:
    """A month's thanks to one volunteer in a community: once."""
    return f"vcommend:{community_id}:{year}-{month:02d}:u{user_id}"


def task_group(task_id: int | None) -> str:
    """A task's calls not yet sent (cancelled with the task)."""
    return f"vtask:{task_id}"


def claim_group(claim_id: int | None) -> str:
    """A claim's reminders not yet sent (cancelled with the claim)."""
    return f"vclaim:{claim_id}"


# --- Errors ------------------------------------------------------------------------------


class NotAVolunteer(DomainError):
    """The user has no volunteer profile (or it is in another community)."""


class ShiftUnavailable(DomainError):
    """The shift can't be claimed: "full", "past", "cancelled" or "started"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AlreadyClaimed(DomainError):
    """The volunteer already holds a place on this shift (a double tap)."""


class NotClaimed(DomainError):
    """The user holds no live claim on this shift."""


class ReasonNeeded(DomainError):
    """Withdrawing this late needs a reason, which staff will see."""


class PlaceGivenUp(NotClaimed):
    """Staff act on a place its volunteer has given back (or lost to a cancellation)."""


class CheckInClosed(DomainError):
    """Check-in or check-out outside its window: reason "early", "late" or "not_in"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Buttons (drawn by the bot, see module docstring) --------------------------------------


class Buttons(Protocol):
    """Inline keyboards for outbox messages, as dicts (callback data packed)."""

    def claim(self, shifts: Sequence[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        """A Claim button per (shift_id, label params: n, when), "✋ {n}. {when}"."""
        ...

    def reminder(self, claim_id: int, *, check_in: bool) -> dict[str, Any]:
        """Still coming / can't come (and check in, when it is open)."""
        ...

    def check_out(self, claim_id: int) -> dict[str, Any]:
        """Check out (the nudge when a shift one checked in to has ended)."""
        ...


# --- Small helpers -----------------------------------------------------------------------


def zone(community: Community) -> ZoneInfo:
    return ZoneInfo(community.timezone)


def format_span(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """A shift's time in a message's params, said when sent in the recipient's language
    ("明天（周二）下午6:00–晚上8:00" / "Tomorrow, 6:00 pm–8:00 pm")."""
    return outbox.span(starts_at, ends_at, tz)


def slot_of(moment: datetime, tz: ZoneInfo) -> Slot:
    """The free-time slot a moment falls in (weekday/weekend × morning/afternoon/evening)."""
    local = moment.astimezone(tz)
    weekend = local.weekday() >= 5
    part = 0 if local.hour < 12 else 1 if local.hour < 18 else 2
    slots = ((Slot.WEEKDAY_MORNING, Slot.WEEKDAY_AFTERNOON, Slot.WEEKDAY_EVENING),
             (Slot.WEEKEND_MORNING, Slot.WEEKEND_AFTERNOON, Slot.WEEKEND_EVENING))
    return slots[weekend][part]


def matches(volunteer: Volunteer, task: VolunteerTask, shift: Shift, tz: ZoneInfo) -> bool:
    """Whether a volunteer suits a shift: a wanted skill (if any) and a free time (if given).

    Choosing no free times means "any time".
    """
    if volunteer.paused or volunteer.community_id != task.community_id:
        return False
    if task.skills and not set(task.skills) & set(volunteer.skills):
        return False
    return not volunteer.slots or slot_of(shift.starts_at, tz) in volunteer.slots


def distance_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def clean_text(raw: str | None, *, field: str, limit: int, required: bool = True) -> str:
    """services.text.clean_text, keeping a task description's line breaks."""
    return _clean_text(raw, field=field, limit=limit, required=required,
                       multiline=field == "description")


def codes(kind: type[Skill] | type[Slot], given: Iterable[str]) -> list[str]:
    """Known skill or free-time codes, sorted, once each; NotFound for one we don't know
    (a stale or forged button)."""
    try:
        return sorted({kind(code).value for code in given})
    except ValueError as error:
        raise NotFound(f"{kind.__name__}: {error}") from error


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0))


# --- Profiles ----------------------------------------------------------------------------


# Built once, as services.paging explains.
_VOLUNTEER = select(Volunteer).where(col(Volunteer.user_id) == bindparam("user_id"))


async def get_volunteer(session: AsyncSession, *, user_id: int) -> Volunteer | None:
    found = await session.execute(_VOLUNTEER, {"user_id": user_id})
    return found.scalar_one_or_none()


async def save_profile(
    session: AsyncSession, *, user: User, clock: Clock, skills: Iterable[str],
    slots: Iterable[str], other_skill: str | None = None, grid_id: int | None = None,
) -> Volunteer:
    """Become a volunteer, or change what one offers. Lives in the user's home community."""
    assert user.id is not None
    if user.community_id is None:
        raise InvalidInput("community", "missing")
    async with write(session):
        chosen, times = codes(Skill, skills), codes(Slot, slots)
        other = clean_text(other_skill, field="other_skill", limit=OTHER_SKILL_MAX,
                           required=False) or None
        if not chosen and not other:
            raise InvalidInput("skills", "empty")
        if grid_id is not None:
            grid = await session.get(Grid, grid_id)
            if grid is None or grid.community_id != user.community_id:
                raise NotFound(f"grid {grid_id} in community {user.community_id}")
        now = clock.now()
        volunteer = await get_volunteer(session, user_id=user.id)
        if volunteer is None:
            volunteer = Volunteer(user_id=user.id, community_id=user.community_id, created_at=now,
                                  updated_at=now)
        volunteer.community_id = user.community_id
        volunteer.skills, volunteer.slots, volunteer.other_skill = chosen, times, other
        volunteer.grid_id, volunteer.updated_at = grid_id, now
        session.add(volunteer)
    return volunteer


async def set_paused(
    session: AsyncSession, *, user_id: int, clock: Clock, paused: bool
) -> Volunteer:
    """Pause (no pings) or resume; shifts already claimed stay."""
    async with write(session):
        volunteer = await get_volunteer(session, user_id=user_id)
        if volunteer is None:
            raise NotAVolunteer(str(user_id))
        volunteer.paused, volunteer.updated_at = paused, clock.now()
        session.add(volunteer)
    return volunteer


# --- Tasks and shifts (staff) ------------------------------------------------------------


@dataclass(frozen=True)
class ShiftSpec:
    """A shift as staff choose it, before it is saved."""

    starts_at: datetime
    ends_at: datetime
    headcount: int


def check_shift(spec: ShiftSpec, *, now: datetime) -> None:
    """Raise InvalidInput for a shift that can't be: reversed, empty, too long, past, or
    more than MAX_DAYS_AHEAD days ahead (the repeats of a weekly task may go further)."""
    if spec.ends_at <= spec.starts_at:
        raise InvalidInput("shift", "ends_before_start")
    if spec.ends_at - spec.starts_at > MAX_SHIFT:
        raise InvalidInput("shift", "too_long")
    if spec.starts_at <= now:
        raise InvalidInput("shift", "past")
    if spec.starts_at > now + timedelta(days=MAX_DAYS_AHEAD + 1):
        raise InvalidInput("shift", "too_far", limit=MAX_DAYS_AHEAD)
    if spec.headcount < 1:
        raise InvalidInput("headcount", "zero")
    if spec.headcount > MAX_HEADCOUNT:
        raise InvalidInput("headcount", "too_many")


async def get_task(session: AsyncSession, *, task_id: int) -> VolunteerTask:
    task = await session.get(VolunteerTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id}")
    return task


async def get_shift(session: AsyncSession, *, shift_id: int) -> tuple[Shift, VolunteerTask]:
    shift = await session.get(Shift, shift_id)
    if shift is None:
        raise NotFound(f"shift {shift_id}")
    return shift, await get_task(session, task_id=shift.task_id)


async def task_shifts(session: AsyncSession, *, task_id: int) -> list[Shift]:
    rows = await session.execute(select(Shift).where(col(Shift.task_id) == task_id)
                                 .order_by(col(Shift.starts_at), col(Shift.id)))
    return list(rows.scalars().all())


async def create_task(
    session: AsyncSession, *, access: Access, clock: Clock, buttons: Buttons,
    community_id: int, title: str, place: str, shifts: Sequence[ShiftSpec],
    description: str = "", skills: Iterable[str] = (), grid_id: int | None = None,
    latitude: float | None = None, longitude: float | None = None, weeks: int = 1,
    draft_key: str | None = None, notify: Notify | None = None,
    titles: Mapping[str, str] | None = None,
) -> VolunteerTask:
    """Staff publish a task; each shift repeats weekly `weeks` times. Pings go out at once.
    `titles`: the title in other languages ({locale: title}), for readers of those.

    `draft_key` names the draft it comes from: publishing the same draft again (a double
    tap, even two at once on several replicas) returns the task already made, pinging no
    one again.
    """
    access.require_manage(community_id)
    try:
        return await _create_task(
            session, access=access, clock=clock, buttons=buttons, community_id=community_id,
            title=title, place=place, shifts=shifts, description=description, skills=skills,
            grid_id=grid_id, latitude=latitude, longitude=longitude, weeks=weeks,
            draft_key=draft_key, notify=notify, titles=titles)
    except IntegrityError:  # the same draft published at the same moment elsewhere
        made = await _task_of_draft(session, draft_key) if draft_key else None
        if made is None:
            raise
        return made


async def _task_of_draft(session: AsyncSession, draft_key: str) -> VolunteerTask | None:
    return (await session.execute(select(VolunteerTask).where(
        col(VolunteerTask.draft_key) == draft_key))).scalar_one_or_none()


async def _create_task(
    session: AsyncSession, *, access: Access, clock: Clock, buttons: Buttons,
    community_id: int, title: str, place: str, shifts: Sequence[ShiftSpec],
    description: str, skills: Iterable[str], grid_id: int | None,
    latitude: float | None, longitude: float | None, weeks: int,
    draft_key: str | None, notify: Notify | None, titles: Mapping[str, str] | None = None,
) -> VolunteerTask:
    async with write(session):
        if draft_key is not None:
            published = await _task_of_draft(session, draft_key)
            if published is not None:
                if published.community_id != community_id:
                    raise NotAllowed(f"draft {draft_key} is another community's")
                return published
        community = await session.get(Community, community_id)
        if community is None:
            raise NotFound(f"community {community_id}")
        title = clean_text(title, field="title", limit=TITLE_MAX)
        other = clean_titles(titles, limit=TITLE_MAX)
        place = clean_text(place, field="place", limit=PLACE_MAX)
        description = clean_text(description, field="description", limit=DESCRIPTION_MAX,
                                 required=False)
        wanted = codes(Skill, skills)
        if not 1 <= weeks <= MAX_WEEKS:
            raise InvalidInput("weeks", "range")
        if not shifts:
            raise InvalidInput("shifts", "empty")
        if grid_id is not None:
            grid = await session.get(Grid, grid_id)
            if grid is None or grid.community_id != community_id:
                raise NotFound(f"grid {grid_id} in community {community_id}")
        now = clock.now()
        for spec in shifts:
            check_shift(spec, now=now)
        if len(shifts) * weeks > MAX_SHIFTS:
            raise InvalidInput("shifts", "too_many")
        task = VolunteerTask(community_id=community_id, grid_id=grid_id, title=title,
                             titles=other, description=description, skills=wanted, place=place,
                             latitude=latitude, longitude=longitude, created_by=access.user_id,
                             created_at=now, draft_key=draft_key)
        session.add(task)
        await session.flush()
        assert task.id is not None
        made = [Shift(task_id=task.id, starts_at=spec.starts_at + timedelta(weeks=week),
                      ends_at=spec.ends_at + timedelta(weeks=week), headcount=spec.headcount)
                for week in range(weeks) for spec in shifts]
        session.add_all(made)
        await session.flush()
        audit.record(session, clock=clock, actor_id=access.user_id,
                     action="volunteer.task.create", community_id=community_id, task_id=task.id,
                     shifts=len(made))
        await ping_matching(session, clock=clock, buttons=buttons, task=task,
                            community=community, shifts=made, notify=notify)
    return task


def added_ping_key(shift_id: int | None, user_id: int) -> str:
    """The call for a shift added to a published task, to one volunteer: once."""
    return f"vping:s{shift_id}:u{user_id}"


async def add_shift(
    session: AsyncSession, *, access: Access, clock: Clock, buttons: Buttons, task_id: int,
    spec: ShiftSpec, notify: Notify | None = None,
) -> Shift:
    """Staff add a shift to a published task; the volunteers it suits are called for it
    (the task's first call named only the shifts it had then)."""
    async with write(session):
        task = await get_task(session, task_id=task_id)
        access.require_manage(task.community_id)
        if task.cancelled_at is not None:
            raise ShiftUnavailable("cancelled")
        check_shift(spec, now=clock.now())
        live = [s for s in await task_shifts(session, task_id=task_id) if s.cancelled_at is None]
        if len(live) >= MAX_SHIFTS:
            raise InvalidInput("shifts", "too_many")
        shift = Shift(task_id=task_id, starts_at=spec.starts_at, ends_at=spec.ends_at,
                      headcount=spec.headcount)
        session.add(shift)
        await session.flush()
        community = await session.get(Community, task.community_id)
        assert community is not None
        tz = zone(community)
        params = await _ping_text(session, task, [shift], tz)
        rows = [outbox.Outgoing(
            user_id=v.user_id, kind=OutboxKind.PING,
            key=N_("🙋 Volunteers wanted: <b>{title}</b>\n🏘 {community}\n📍 {place}\n{shifts}\n\n"
                   "Tap a time below to take a place."),
            params=params, keyboard=buttons.claim(_claim_labels([shift], tz)),
            group=task_group(task.id),
            dedupe_key=added_ping_key(shift.id, v.user_id))
            for v in await community_volunteers(session, community_id=task.community_id)
            if matches(v, task, shift, tz)]
        await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)
        audit.record(session, clock=clock, actor_id=access.user_id,
                     action="volunteer.shift.add", community_id=task.community_id,
                     task_id=task_id, shift_id=shift.id)
    return shift


async def community_volunteers(session: AsyncSession, *, community_id: int) -> list[Volunteer]:
    rows = await session.execute(select(Volunteer).where(
        col(Volunteer.community_id) == community_id, col(Volunteer.paused).is_(False)))
    return list(rows.scalars().all())


async def where(session: AsyncSession, task: VolunteerTask) -> str:
    """Where a task is, as every volunteer message names it: its community, and its grid
    when it has one ("Sunny Court · Block 1")."""
    return await place_of(session, community_id=task.community_id, grid_id=task.grid_id)


async def _ping_text(session: AsyncSession, task: VolunteerTask, shifts: Sequence[Shift],
                     tz: ZoneInfo) -> dict[str, Any]:
    return {"title": outbox_title(task), "place": task.place,
            "community": await where(session, task),
            "shifts": outbox.numbered(format_span(s.starts_at, s.ends_at, tz) for s in shifts)}


def _claim_labels(shifts: Sequence[Shift], tz: ZoneInfo) -> list[tuple[int, dict[str, Any]]]:
    """The ✋ buttons' label params, said by the sender in each recipient's language
    ("✋ 1. 12月5日（周六）下午3:00" / "✋ 1. Sat 5 Dec, 3:00 pm")."""
    return [(s.id or 0, {"n": n, "when": outbox.moment(s.starts_at, tz)})
            for n, s in enumerate(shifts, start=1)]


async def ping_matching(
    session: AsyncSession, *, clock: Clock, buttons: Buttons, task: VolunteerTask,
    community: Community, shifts: Sequence[Shift], notify: Notify | None = None,
) -> int:
    """Ping each matching volunteer once per task, with Claim buttons for the shifts they suit."""
    tz = zone(community)
    rows = []
    for volunteer in await community_volunteers(session, community_id=task.community_id):
        suited = [s for s in shifts if matches(volunteer, task, s, tz)][:PING_BUTTONS]
        if not suited:
            continue
        rows.append(outbox.Outgoing(
            user_id=volunteer.user_id, kind=OutboxKind.PING,
            key=N_("🙋 Volunteers wanted: <b>{title}</b>\n🏘 {community}\n📍 {place}\n{shifts}\n\n"
                   "Tap a time below to take a place."),
            params=await _ping_text(session, task, suited, tz),
            keyboard=buttons.claim(_claim_labels(suited, tz)),
            group=task_group(task.id), dedupe_key=ping_key(task.id, volunteer.user_id)))
    return await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)


async def ping_short_shifts(
    session: AsyncSession, *, clock: Clock, buttons: Buttons, notify: Notify | None = None
) -> int:
    """Shifts still short 24 h before the start: call the volunteers not pinged before,
    never one who holds a place on it or gave theirs back.

    Each shift is called once: `short_ping_at` is set by a conditional UPDATE,
    so two sweeps (or two processes) never both send. Returns shifts called.
    """
    now = clock.now()
    due = (await session.execute(
        select(Shift, VolunteerTask).join(VolunteerTask, col(VolunteerTask.id) == Shift.task_id)
        .where(col(Shift.short_ping_at).is_(None), col(Shift.cancelled_at).is_(None),
               col(VolunteerTask.cancelled_at).is_(None), col(Shift.starts_at) > now,
               col(Shift.starts_at) <= now + SHORT_CALL,
               col(Shift.taken) < col(Shift.headcount))
    )).all()
    await session.commit()
    called = 0
    for shift, task in due:
        async with write(session):
            won = await session.execute(
                update(Shift).where(col(Shift.id) == shift.id, col(Shift.short_ping_at).is_(None))
                .values(short_ping_at=now).execution_options(synchronize_session=False))
            if _rowcount(won) != 1:
                continue
            community = await session.get(Community, task.community_id)
            assert community is not None
            tz = zone(community)
            # Whoever holds a place, or gave it back ("can't come"), is not asked again.
            answered = set((await session.execute(select(col(ShiftClaim.user_id)).where(
                col(ShiftClaim.shift_id) == shift.id))).scalars().all())
            short_text = await _ping_text(session, task, [shift], tz)
            rows = [outbox.Outgoing(
                user_id=v.user_id, kind=OutboxKind.PING,
                key=N_("🙋 Still short of volunteers: <b>{title}</b>\n🏘 {community}\n📍 {place}\n"
                       "{shifts}\n"
                       "{missing} more people are needed. Can you help?"),
                params={**short_text, "missing": shift.headcount - shift.taken},
                keyboard=buttons.claim(_claim_labels([shift], tz)), group=task_group(task.id),
                dedupe_key=short_key(shift.id, v.user_id))
                for v in await community_volunteers(session, community_id=task.community_id)
                if v.user_id not in answered and not matches(v, task, shift, tz)]
            await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)
        called += 1
    return called



async def _tell(
    session: AsyncSession, *, clock: Clock, user_ids: Iterable[int], key: str,
    params: Mapping[str, Any], notify: Notify | None, about: int | None = None,
) -> int:
    rows = [outbox.Outgoing(user_id=uid, kind=OutboxKind.STATUS, key=key, params=params,
                            about=about) for uid in user_ids]
    return await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)


async def _live_claims(session: AsyncSession, shift_ids: Sequence[int]) -> list[ShiftClaim]:
    if not shift_ids:
        return []
    rows = await session.execute(select(ShiftClaim).where(
        col(ShiftClaim.shift_id).in_(shift_ids), col(ShiftClaim.status) == ClaimStatus.CLAIMED))
    return list(rows.scalars().all())


async def edit_task(
    session: AsyncSession, *, access: Access, clock: Clock, task_id: int,
    title: str | None = None, place: str | None = None, description: str | None = None,
    notify: Notify | None = None,
) -> VolunteerTask:
    """Staff change a task's words; the people signed up for its coming shifts are told."""
    async with write(session):
        task = await get_task(session, task_id=task_id)
        access.require_manage(task.community_id)
        if task.cancelled_at is not None:
            raise ShiftUnavailable("cancelled")
        changed: dict[str, str] = {}
        if title is not None:
            changed["title"] = task.title = clean_text(title, field="title", limit=TITLE_MAX)
        if place is not None:
            changed["place"] = task.place = clean_text(place, field="place", limit=PLACE_MAX)
        if description is not None:
            changed["description"] = task.description = clean_text(
                description, field="description", limit=DESCRIPTION_MAX, required=False)
        session.add(task)
        upcoming = [s.id or 0 for s in await task_shifts(session, task_id=task_id)
                    if s.cancelled_at is None and s.ends_at > clock.now()]
        people = {c.user_id for c in await _live_claims(session, upcoming)}
        await _tell(session, clock=clock, user_ids=people, notify=notify,
                    key=N_("ℹ️ A task you signed up for has changed:\n<b>{title}</b>\n"
                           "🏘 {community}\n📍 {place}\n{description}"),
                    params={"title": outbox_title(task), "place": task.place,
                            "community": await where(session, task),
                            "description": task.description})
        audit.record(session, clock=clock, actor_id=access.user_id, action="volunteer.task.edit",
                     community_id=task.community_id, task_id=task_id, fields=sorted(changed))
    return task


async def set_task_title(
    session: AsyncSession, *, access: Access, clock: Clock, task_id: int, locale: str,
    title: str | None,
) -> VolunteerTask:
    """Staff set (or, with None or a blank, remove) the task's title in `locale`, shown to
    readers of that language."""
    async with write(session):
        task = await get_task(session, task_id=task_id)
        access.require_manage(task.community_id)
        task.titles = with_title(task.titles, locale, title, limit=TITLE_MAX)
        session.add(task)
        audit.record(session, clock=clock, actor_id=access.user_id,
                     action="volunteer.task.title", community_id=task.community_id,
                     task_id=task_id, locale=locale)
    return task


async def set_headcount(
    session: AsyncSession, *, access: Access, clock: Clock, shift_id: int, headcount: int
) -> Shift:
    """Staff change how many people a shift needs; never below those already signed up."""
    async with write(session):
        shift = await _lock_shift(session, shift_id)
        if shift is None:
            raise NotFound(f"shift {shift_id}")
        task = await get_task(session, task_id=shift.task_id)
        access.require_manage(task.community_id)
        if headcount < 1:
            raise InvalidInput("headcount", "zero")
        if headcount > MAX_HEADCOUNT:
            raise InvalidInput("headcount", "too_many")
        if headcount < shift.taken:
            raise InvalidInput("headcount", "below_taken")
        shift.headcount = headcount
        session.add(shift)
        audit.record(session, clock=clock, actor_id=access.user_id,
                     action="volunteer.shift.headcount", community_id=task.community_id,
                     shift_id=shift_id, headcount=headcount)
    return shift


async def cancel_task(
    session: AsyncSession, *, access: Access, clock: Clock, task_id: int,
    shift_id: int | None = None, notify: Notify | None = None,
) -> VolunteerTask:
    """Staff cancel a whole task, or one shift of it; the people signed up are told."""
    async with write(session):
        task = await get_task(session, task_id=task_id)
        access.require_manage(task.community_id)
        if task.cancelled_at is not None:
            raise ShiftUnavailable("cancelled")
        now = clock.now()
        shifts = [s for s in await task_shifts(session, task_id=task_id)
                  if s.cancelled_at is None and s.ends_at > now
                  and (shift_id is None or s.id == shift_id)]
        if shift_id is not None and not shifts:
            raise NotFound(f"shift {shift_id} of task {task_id}")
        community = await session.get(Community, task.community_id)
        assert community is not None
        tz = zone(community)
        by_shift = {s.id: s for s in shifts}
        for claim in await _live_claims(session, [s.id or 0 for s in shifts]):
            shift = by_shift[claim.shift_id]
            claim.status, claim.withdrawn_at = ClaimStatus.CANCELLED, now
            session.add(claim)
            await outbox.cancel(session, group=claim_group(claim.id))
            await _tell(session, clock=clock, user_ids=[claim.user_id], notify=notify,
                        key=N_("❌ Cancelled by the organisers: <b>{title}</b> ({community}) "
                               "{when}. Thank you for signing up."),
                        params={"title": outbox_title(task),
                                "community": await where(session, task),
                                "when": format_span(shift.starts_at, shift.ends_at, tz)})
        for shift in shifts:
            shift.cancelled_at, shift.taken = now, 0
            session.add(shift)
        if shift_id is None:
            task.cancelled_at = now
            session.add(task)
            await outbox.cancel(session, group=task_group(task.id))  # calls not yet sent
        audit.record(session, clock=clock, actor_id=access.user_id,
                     action="volunteer.task.cancel" if shift_id is None
                     else "volunteer.shift.cancel",
                     community_id=task.community_id, task_id=task_id, shift_id=shift_id)
    return task


# --- Claims (volunteers) -----------------------------------------------------------------


async def _lock_shift(session: AsyncSession, shift_id: int) -> Shift | None:
    """The shift row, locked for this transaction on PostgreSQL (SQLite: BEGIN IMMEDIATE)."""
    return (await session.execute(
        select(Shift).where(col(Shift.id) == shift_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()


async def claim_shift(
    session: AsyncSession, *, user: User, clock: Clock, buttons: Buttons, shift_id: int,
    notify: Notify | None = None,
) -> ShiftClaim:
    """Take a place on a shift (one tap). Reminders are queued in the same commit."""
    assert user.id is not None
    async with write(session):
        shift = await _lock_shift(session, shift_id)
        if shift is None:
            raise NotFound(f"shift {shift_id}")
        task = await get_task(session, task_id=shift.task_id)
        volunteer = await get_volunteer(session, user_id=user.id)
        if volunteer is None:
            raise NotAVolunteer(str(user.id))
        if volunteer.community_id != task.community_id:
            raise NotYours(f"task {task.id} is another community's")
        now = clock.now()
        if shift.cancelled_at is not None or task.cancelled_at is not None:
            raise ShiftUnavailable("cancelled")
        if shift.starts_at <= now:
            raise ShiftUnavailable("past")
        claim = (await session.execute(select(ShiftClaim).where(
            col(ShiftClaim.shift_id) == shift_id, col(ShiftClaim.user_id) == user.id)
            .execution_options(populate_existing=True))).scalar_one_or_none()
        if claim is not None and claim.status == ClaimStatus.CLAIMED:
            raise AlreadyClaimed(str(claim.id))
        # The lock already serialises claims; the condition keeps the rule in the
        # statement itself, so no code path can overfill a shift.
        taken = await session.execute(
            update(Shift).where(col(Shift.id) == shift_id,
                                col(Shift.taken) < col(Shift.headcount))
            .values(taken=col(Shift.taken) + 1).execution_options(synchronize_session=False))
        if _rowcount(taken) != 1:
            raise ShiftUnavailable("full")
        if claim is None:
            claim = ShiftClaim(shift_id=shift_id, user_id=user.id, claimed_at=now)
        else:  # back after withdrawing: a fresh start on the same row
            claim.status, claim.claimed_at, claim.withdrawn_at, claim.reason = (
                ClaimStatus.CLAIMED, now, None, None)
        session.add(claim)
        await session.flush()
        await _queue_reminders(session, clock=clock, buttons=buttons, claim=claim, shift=shift,
                               task=task, notify=notify)
    await session.refresh(shift)
    return claim


def reminders_ahead(shift: Shift, now: datetime) -> tuple[str, ...]:
    """The reminders ("24h", "1h") a place taken now will still get."""
    return tuple(name for name, before in REMINDERS if shift.starts_at - before > now)


async def _queue_reminders(
    session: AsyncSession, *, clock: Clock, buttons: Buttons, claim: ShiftClaim, shift: Shift,
    task: VolunteerTask, notify: Notify | None,
) -> None:
    community = await session.get(Community, task.community_id)
    assert community is not None and claim.id is not None
    now = clock.now()
    for name, before in REMINDERS:
        at = shift.starts_at - before
        if at <= now:
            continue
        await outbox.queue(
            session, clock=clock, user_id=claim.user_id, kind=OutboxKind.REMINDER,
            key=N_("⏰ Reminder: <b>{title}</b>\n🏘 {community}\n🕒 {when}\n📍 {place}\n"
                   "Are you still coming?"),
            params={"title": outbox_title(task), "place": task.place,
                    "community": await where(session, task),
                    "when": format_span(shift.starts_at, shift.ends_at, zone(community))},
            keyboard=buttons.reminder(claim.id, check_in=before <= CHECK_IN_OPENS),
            not_before=at, group=claim_group(claim.id),
            dedupe_key=reminder_key(name, claim.id), notify=notify)


async def get_claim(
    session: AsyncSession, *, user: User, claim_id: int
) -> tuple[ShiftClaim, Shift, VolunteerTask]:
    """The user's own claim, with its shift and task; NotAllowed for someone else's."""
    claim = await session.get(ShiftClaim, claim_id)
    if claim is None:
        raise NotFound(f"claim {claim_id}")
    if claim.user_id != user.id:
        raise NotYours(f"claim {claim_id} is not theirs")
    shift, task = await get_shift(session, shift_id=claim.shift_id)
    return claim, shift, task


async def withdraw(
    session: AsyncSession, *, user: User, clock: Clock, claim_id: int,
    reason: str | None = None, notify: Notify | None = None,
) -> ShiftClaim:
    """Give a place back; staff are told. Free until 12 h before; later a reason is needed."""
    async with write(session):
        claim, shift, task = await get_claim(session, user=user, claim_id=claim_id)
        shift = await _lock_shift(session, shift.id or 0) or shift
        now = clock.now()
        if claim.status != ClaimStatus.CLAIMED:
            raise NotClaimed(str(claim_id))
        if shift.starts_at <= now:
            raise ShiftUnavailable("started")
        late = now > shift.starts_at - FREE_WITHDRAWAL
        text = clean_text(reason, field="reason", limit=REASON_MAX, required=False)
        if late and not text:
            raise ReasonNeeded(str(claim_id))
        claim.status, claim.withdrawn_at, claim.reason = ClaimStatus.WITHDRAWN, now, text or None
        session.add(claim)
        await session.execute(
            update(Shift).where(col(Shift.id) == shift.id, col(Shift.taken) > 0)
            .values(taken=col(Shift.taken) - 1).execution_options(synchronize_session=False))
        await outbox.cancel(session, group=claim_group(claim.id))
        # A call to cover this shift still waiting (quiet hours) is not for them any more.
        await outbox.cancel(session, dedupe_key=short_key(shift.id, claim.user_id))
        community = await session.get(Community, task.community_id)
        assert community is not None
        key = (N_("⚠️ {name} can't come to <b>{title}</b> ({community}) {when}.\n"
                  "Reason: {reason}\nPlaces taken now: {taken} of {headcount}.") if late else
               N_("ℹ️ {name} gave back their place on <b>{title}</b> ({community}) {when}.\n"
                  "Places taken now: {taken} of {headcount}."))
        await _tell(session, clock=clock,
                    user_ids=await staff_of(session, community_id=task.community_id),
                    notify=notify, key=key,
                    params={"name": user.first_name or "?", "title": outbox_title(task),
                            "community": await where(session, task),
                            "when": format_span(shift.starts_at, shift.ends_at, zone(community)),
                            "reason": text, "taken": max(shift.taken - 1, 0),
                            "headcount": shift.headcount}, about=user.id)
    await session.refresh(shift)
    return claim


def withdrawal_needs_reason(shift: Shift, now: datetime) -> bool:
    """Whether giving this place back now needs a reason (less than 12 h to go)."""
    return now > shift.starts_at - FREE_WITHDRAWAL


async def check_in(
    session: AsyncSession, *, user: User, clock: Clock, claim_id: int,
    buttons: Buttons | None = None, notify: Notify | None = None,
) -> tuple[ShiftClaim, VolunteerTask]:
    """Check in at the shift: from 1 h before the start until its end. Twice is once.

    With `buttons`, a nudge to check out is queued for the shift's end (dropped if they
    check out before)."""
    async with write(session):
        claim, shift, task = await get_claim(session, user=user, claim_id=claim_id)
        if claim.status != ClaimStatus.CLAIMED:
            raise NotClaimed(str(claim_id))
        now = clock.now()
        if now < shift.starts_at - CHECK_IN_OPENS:
            raise CheckInClosed("early")
        if now > shift.ends_at:
            raise CheckInClosed("late")
        if claim.checked_in_at is None:
            claim.checked_in_at = now
            session.add(claim)
            if buttons is not None and claim.checked_out_at is None:
                await outbox.queue(
                    session, clock=clock, user_id=claim.user_id, kind=OutboxKind.REMINDER,
                    key=N_("🏁 <b>{title}</b> ({community}) has ended. Thank you! Press Check "
                           "out so the organisers can confirm your hours."),
                    params={"title": outbox_title(task), "community": await where(session, task)},
                    keyboard=buttons.check_out(claim_id),
                    not_before=shift.ends_at, group=claim_group(claim.id),
                    dedupe_key=check_out_key(claim.id), notify=notify)
    return claim, task


async def note_location(
    session: AsyncSession, *, user: User, claim_id: int, latitude: float, longitude: float
) -> bool | None:
    """Record only whether a checked-in volunteer is near the place; the point is not kept.

    None when the task has no place on the map.
    """
    async with write(session):
        claim, _shift, task = await get_claim(session, user=user, claim_id=claim_id)
        if claim.checked_in_at is None:
            raise CheckInClosed("not_in")
        if task.latitude is None or task.longitude is None:
            return None
        near = distance_metres(latitude, longitude, task.latitude, task.longitude) <= NEAR_METRES
        claim.near_place = near
        session.add(claim)
    return near


async def check_out(
    session: AsyncSession, *, user: User, clock: Clock, claim_id: int
) -> ShiftClaim:
    """Check out after checking in; until 6 h after the end. Twice is once."""
    async with write(session):
        claim, shift, _task = await get_claim(session, user=user, claim_id=claim_id)
        if claim.status != ClaimStatus.CLAIMED:
            raise NotClaimed(str(claim_id))
        if claim.checked_in_at is None:
            raise CheckInClosed("not_in")
        now = clock.now()
        if now > shift.ends_at + CHECK_OUT_CLOSES:
            raise CheckInClosed("late")
        if claim.checked_out_at is None:
            claim.checked_out_at = max(now, claim.checked_in_at)
            session.add(claim)
            await outbox.cancel(session, dedupe_key=check_out_key(claim.id))
    return claim


# --- What a screen may offer (the handlers draw these flags, never re-decide them) ------


@dataclass(frozen=True)
class ClaimView:
    """One of the volunteer's places, and what they may do with it now."""

    claim: ShiftClaim
    shift: Shift
    task: VolunteerTask
    can_check_in: bool    # a live place, not yet in, from 1 h before the start to the end
    can_withdraw: bool    # a live place, not yet in, the shift not started
    needs_reason: bool    # withdrawing now needs a reason (less than 12 h to go)
    can_check_out: bool   # checked in, not yet out, until 6 h after the end
    check_in_opens: datetime
    reminders: tuple[str, ...] = ()  # those still to come ("24h", "1h"), for a live place


def claim_view(claim: ShiftClaim, shift: Shift, task: VolunteerTask, *,
               now: datetime) -> ClaimView:
    """The rules of check_in, withdraw and check_out, asked of one place at `now`."""
    live = claim.status == ClaimStatus.CLAIMED and shift.cancelled_at is None
    not_in = live and claim.checked_in_at is None
    opens = shift.starts_at - CHECK_IN_OPENS
    return ClaimView(
        claim=claim, shift=shift, task=task,
        can_check_in=not_in and opens <= now <= shift.ends_at,
        can_withdraw=not_in and now < shift.starts_at,
        needs_reason=not_in and now < shift.starts_at and withdrawal_needs_reason(shift, now),
        can_check_out=(live and claim.checked_in_at is not None and claim.checked_out_at is None
                       and now <= shift.ends_at + CHECK_OUT_CLOSES),
        check_in_opens=opens, reminders=reminders_ahead(shift, now) if live else ())


def check_withdraw(view: ClaimView) -> None:
    """Raise what `withdraw` would for a place that can't be given back now (asked before
    asking "give it back?", so a stale 🙅 is answered at once)."""
    if view.claim.status != ClaimStatus.CLAIMED or view.shift.cancelled_at is not None:
        raise NotClaimed(str(view.claim.id))
    if not view.can_withdraw:
        raise ShiftUnavailable("started")


async def my_claim(session: AsyncSession, *, user: User, clock: Clock,
                   claim_id: int) -> ClaimView:
    """The user's own place (NotYours for someone else's) and what it offers now."""
    claim, shift, task = await get_claim(session, user=user, claim_id=claim_id)
    return claim_view(claim, shift, task, now=clock.now())


@dataclass(frozen=True)
class ShiftView:
    """A shift a volunteer might take, and whether they may take it now."""

    shift: Shift
    task: VolunteerTask
    left: int             # places still free
    can_claim: bool       # coming, not cancelled, room left, theirs to take, not already held


def shift_view(shift: Shift, task: VolunteerTask, *, now: datetime,
               volunteer: Volunteer | None, holds: bool) -> ShiftView:
    """The rules of claim_shift, asked of one shift at `now` for `volunteer`."""
    left = max(0, shift.headcount - shift.taken)
    open_ = (shift.cancelled_at is None and task.cancelled_at is None
             and shift.starts_at > now and left > 0)
    mine = volunteer is not None and volunteer.community_id == task.community_id
    return ShiftView(shift=shift, task=task, left=left, can_claim=open_ and mine and not holds)


@dataclass(frozen=True)
class CallShift:
    """A shift on a call (a ping, the list of open shifts) as it stands for one volunteer."""

    shift_id: int
    can_claim: bool           # still theirs to take (see shift_view)
    claim_id: int | None      # their live place on it, if they hold one


async def call_shifts(session: AsyncSession, *, user_id: int, clock: Clock,
                      shift_ids: Sequence[int]) -> dict[int, CallShift]:
    """The shifts a call offered, as they stand now for the volunteer: which are still
    theirs to take, which they hold (the others are full, past or cancelled)."""
    if not shift_ids:
        return {}
    volunteer, now = await get_volunteer(session, user_id=user_id), clock.now()
    found = (await session.execute(
        select(Shift, VolunteerTask).join(VolunteerTask, col(VolunteerTask.id) == Shift.task_id)
        .where(col(Shift.id).in_(shift_ids)))).all()
    held: dict[int, int | None] = {
        shift_id: claim_id for shift_id, claim_id in (await session.execute(
            select(col(ShiftClaim.shift_id), col(ShiftClaim.id)).where(
                col(ShiftClaim.user_id) == user_id, col(ShiftClaim.status) == ClaimStatus.CLAIMED,
                col(ShiftClaim.shift_id).in_(shift_ids)))).all()}
    return {shift.id or 0: CallShift(
        shift_id=shift.id or 0, claim_id=held.get(shift.id or 0),
        can_claim=shift_view(shift, task, now=now, volunteer=volunteer,
                             holds=shift.id in held).can_claim)
        for shift, task in found}


@dataclass(frozen=True)
class TaskView:
    """A task on staff's screen, and what they may change."""

    task: VolunteerTask
    shifts: list[Shift]   # its shifts not cancelled, soonest first
    can_edit: bool        # not cancelled
    can_cancel: bool      # not cancelled
    can_add_shift: bool   # not cancelled, fewer than MAX_SHIFTS shifts


async def task_view(session: AsyncSession, *, access: Access, task_id: int,
                    community_id: int) -> TaskView:
    """Staff: a task of `community_id` (NotAllowed for another's) and what it offers."""
    task = await get_task(session, task_id=task_id)
    if task.community_id != community_id:
        raise NotAllowed(f"task {task_id} not in {community_id}")
    access.require_manage(task.community_id)
    shifts = [s for s in await task_shifts(session, task_id=task_id) if s.cancelled_at is None]
    live = task.cancelled_at is None
    return TaskView(task=task, shifts=shifts, can_edit=live, can_cancel=live,
                    can_add_shift=live and len(shifts) < MAX_SHIFTS)


@dataclass(frozen=True)
class MyShift:
    claim: ShiftClaim
    shift: Shift
    task: VolunteerTask


async def my_shifts(session: AsyncSession, *, user_id: int, clock: Clock) -> list[MyShift]:
    """The user's live claims on shifts that have not ended long ago, soonest first."""
    since = clock.now() - CHECK_OUT_CLOSES
    rows = (await session.execute(
        select(ShiftClaim, Shift, VolunteerTask)
        .join(Shift, col(Shift.id) == ShiftClaim.shift_id)
        .join(VolunteerTask, col(VolunteerTask.id) == Shift.task_id)
        .where(col(ShiftClaim.user_id) == user_id, col(ShiftClaim.status) == ClaimStatus.CLAIMED,
               col(Shift.ends_at) > since)
        .order_by(col(Shift.starts_at)))).all()
    return [MyShift(claim=c, shift=s, task=t) for c, s, t in rows]


async def open_shifts(
    session: AsyncSession, *, user_id: int, clock: Clock, limit: int = 8
) -> list[ShiftView]:
    """Coming shifts of the volunteer's community that still have room, soonest first."""
    volunteer = await get_volunteer(session, user_id=user_id)
    if volunteer is None:
        raise NotAVolunteer(str(user_id))
    community_id, now = volunteer.community_id, clock.now()
    rows = (await session.execute(
        select(Shift, VolunteerTask).join(VolunteerTask, col(VolunteerTask.id) == Shift.task_id)
        .where(col(VolunteerTask.community_id) == community_id,
               col(VolunteerTask.cancelled_at).is_(None), col(Shift.cancelled_at).is_(None),
               col(Shift.starts_at) > clock.now(), col(Shift.taken) < col(Shift.headcount))
        .order_by(col(Shift.starts_at)).limit(limit))).all()
    held = set((await session.execute(select(col(ShiftClaim.shift_id)).where(
        col(ShiftClaim.user_id) == user_id, col(ShiftClaim.status) == ClaimStatus.CLAIMED,
        col(ShiftClaim.shift_id).in_([s.id for s, _t in rows])))).scalars().all())
    return [shift_view(s, t, now=now, volunteer=volunteer, holds=s.id in held) for s, t in rows]


@dataclass(frozen=True)
class TaskFill:
    task: VolunteerTask
    shifts: list[Shift]

    @property
    def taken(self) -> int:
        return sum(s.taken for s in self.shifts)

    @property
    def headcount(self) -> int:
        return sum(s.headcount for s in self.shifts)


async def list_tasks(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int
) -> list[TaskFill]:
    """Staff: the community's tasks with coming shifts, and how full they are."""
    access.require_manage(community_id)
    rows = (await session.execute(
        select(Shift, VolunteerTask).join(VolunteerTask, col(VolunteerTask.id) == Shift.task_id)
        .where(col(VolunteerTask.community_id) == community_id,
               col(VolunteerTask.cancelled_at).is_(None), col(Shift.cancelled_at).is_(None),
               col(Shift.ends_at) > clock.now() - timedelta(days=7))
        .order_by(col(Shift.starts_at), col(Shift.id)))).all()
    fills: dict[int, TaskFill] = {}
    for shift, task in rows:
        fills.setdefault(task.id or 0, TaskFill(task=task, shifts=[])).shifts.append(shift)
    return list(fills.values())


async def roster(
    session: AsyncSession, *, access: Access, shift_id: int
) -> tuple[Shift, VolunteerTask, list[tuple[ShiftClaim, User]]]:
    """Staff: who is signed up for a shift (and who came)."""
    shift, task = await get_shift(session, shift_id=shift_id)
    access.require_manage(task.community_id)
    rows = (await session.execute(
        select(ShiftClaim, User).join(User, col(User.id) == ShiftClaim.user_id)
        .where(col(ShiftClaim.shift_id) == shift_id,
               col(ShiftClaim.status) == ClaimStatus.CLAIMED)
        .order_by(col(ShiftClaim.claimed_at)))).all()
    return shift, task, [(c, u) for c, u in rows]


# --- Privacy ---------------------------------------------------------------------------


async def erase_volunteer(session: AsyncSession, user_id: int, now: datetime) -> None:
    """/deleteme: blank what the person wrote (their other skill, withdrawal reasons),
    stop matching them to tasks, and give back their places on shifts still ahead;
    the claims and the hours stay, anonymous, for the counts. Runs in erase_user's
    write transaction."""
    await session.execute(update(Volunteer).where(col(Volunteer.user_id) == user_id)
                          .values(other_skill=None, paused=True, updated_at=now)
                          .execution_options(synchronize_session=False))
    await session.execute(update(ShiftClaim).where(col(ShiftClaim.user_id) == user_id)
                          .values(reason=None).execution_options(synchronize_session=False))
    ahead = (await session.execute(
        select(ShiftClaim, Shift).join(Shift, col(Shift.id) == col(ShiftClaim.shift_id))
        .where(col(ShiftClaim.user_id) == user_id, col(ShiftClaim.status) == ClaimStatus.CLAIMED,
               col(Shift.starts_at) > now, col(Shift.cancelled_at).is_(None))
        .order_by(col(Shift.id)).with_for_update(of=Shift))).all()
    for claim, shift in ahead:
        claim.status, claim.withdrawn_at = ClaimStatus.WITHDRAWN, now
        session.add(claim)
        await session.execute(
            update(Shift).where(col(Shift.id) == shift.id, col(Shift.taken) > 0)
            .values(taken=col(Shift.taken) - 1).execution_options(synchronize_session=False))
        await outbox.cancel(session, group=claim_group(claim.id))

