"""Concerns and ideas: a resident reports, staff triage and answer, the resident is told.

The workflow (see models/voices.py) is enforced here: which status may follow
which, who may move a report (staff of its community), who may withdraw or rate
it (its author). Every status change queues a STATUS message to the author in
the same commit, and every staff action is audited. Services never show a
resident's name: handlers decide what staff may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Community, Grid
from models.courses import Course, CourseStatus
from models.db import write
from models.outbox import OutboxKind
from models.users import User
from models.voices import (
    ANSWER_MAX,
    DESCRIPTION_MAX,
    Report,
    ReportBacking,
    ReportCategory,
    ReportNote,
    ReportStatus,
)
from services import audit, communities, outbox
from services.access import Access
from services.clock import Clock
from services.communities import staff_of
from services.errors import DomainError, InvalidInput, NotFound, NotYours
from services.outbox import N_, Notify
from services.text import clean_text, cut

# Keyboards for the outbox are built by the bot (services never import aiogram):
# `rate(report_id)` gives the 1–5 buttons, `open(report_id)` staff's "open it" button.
Keyboard = Mapping[str, Any]



OPEN = (ReportStatus.RECEIVED, ReportStatus.IN_PROGRESS)
FINAL = (ReportStatus.RESOLVED, ReportStatus.DECLINED, ReportStatus.WITHDRAWN)
# What staff may move a report to, from where it is.
NEXT: dict[ReportStatus, tuple[ReportStatus, ...]] = {
    ReportStatus.RECEIVED: (ReportStatus.IN_PROGRESS, ReportStatus.RESOLVED,
                            ReportStatus.DECLINED),
    ReportStatus.IN_PROGRESS: (ReportStatus.RESOLVED, ReportStatus.DECLINED),
    # Reopened by staff: worked on again.
    ReportStatus.RESOLVED: (ReportStatus.IN_PROGRESS,),
    ReportStatus.DECLINED: (ReportStatus.IN_PROGRESS,),
}
REOPEN_DAYS = 7  # the author may reopen a resolved report they rated poorly this long

# What the resident is told, in their own language when it is sent.
STATUS_KEYS: dict[ReportStatus, str] = {
    ReportStatus.IN_PROGRESS: N_("🔧 Your report #{id} is being worked on now.\n🏘 {community}\n"
                                 "«{summary}»"),
    ReportStatus.RESOLVED: N_("✅ Your report #{id} has been resolved.\n🏘 {community}\n"
                              "«{summary}»\n{answer}\n\nAre you satisfied? Choose 1 (not at all) "
                              "to 5 (very):"),
    ReportStatus.DECLINED: N_("🚫 Your report #{id} could not be taken up.\n🏘 {community}\n"
                              "«{summary}»\nReason: {reason}"),
}
ANSWER_KEY = N_("💬 Staff answered your report #{id}:\n🏘 {community}\n«{summary}»\n{answer}")
REOPENED_KEY = N_("🔁 Your report #{id} has been reopened and is being worked on again.\n"
                  "🏘 {community}\n«{summary}»")
REPLY_KEY = N_("💬 The resident replied on report #{id} · {community}:\n«{summary}»\n{reply}")
REOPENED_STAFF_KEY = N_("🔁 Report #{id} · {community} was reopened by the resident:\n"
                        "«{summary}»")
NEW_REPORT_KEY = N_("📥 New report #{id} · {community}:\n«{summary}»")
POOR_RATING_KEY = N_("⚠️ Report #{id} · {community} was rated {stars} by the resident:\n"
                     "«{summary}»")
POOR = 2  # a rating at or below this reaches staff at once
ASSIGNED_KEY = N_("🗂 Report #{id} · {community} was given to you to handle:\n«{summary}»")


class ReportClosed(DomainError):
    """The report's status no longer allows this (withdrawn, resolved…)."""

    def __init__(self, status: ReportStatus) -> None:
        super().__init__(f"report is {status}")
        self.status = status


class StepClosed(ReportClosed):
    """Staff pressed a step the report has moved past (another staff member, or the
    resident withdrawing, was first)."""


class NotReopenable(DomainError):
    """The author pressed 🔁 Reopen on a report that does not allow it (not resolved, or
    not rated 1–2 ⭐)."""


class TooLateToReopen(NotReopenable):
    """…or resolved more than REOPEN_DAYS ago."""


class AlreadySent(DomainError):
    """A second ✅ Send of a draft that has already become report `report_id`."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"draft already sent as report {report.id}")
        self.report_id = report.id or 0
        self.idea = report.category == ReportCategory.IDEA


class NoCommunity(DomainError):
    """The resident has not chosen a community yet."""


class Buttons(Protocol):
    """Outbox keyboards, packed by the bot (handlers.voices.concerns.OUTBOX_BUTTONS)."""

    def rate(self, report_id: int) -> Keyboard: ...

    def open(self, report_id: int) -> Keyboard: ...

    def reply(self, report_id: int) -> Keyboard: ...


# --- What a screen may offer, decided beside the rules that check each press -------------

WITHDRAWABLE = ReportStatus.RECEIVED   # the author may take it back while nobody started
RATEABLE = ReportStatus.RESOLVED       # the author may say how satisfied they are


def answerable(report: Report) -> bool:
    """Staff may write (or rewrite) the public answer of anything but a withdrawn report."""
    return report.status != ReportStatus.WITHDRAWN


def may_move(report: Report, status: ReportStatus) -> bool:
    """Whether staff may move the report to `status` from where it is."""
    return status in NEXT.get(report.status, ())


def repliable(report: Report) -> bool:
    """The author may reply in the thread of anything but a withdrawn report."""
    return report.status != ReportStatus.WITHDRAWN


def reopenable(report: Report, now: datetime) -> bool:
    """The author may reopen a resolved report they rated 1–2 ⭐, within REOPEN_DAYS."""
    return (report.status == ReportStatus.RESOLVED and report.rating is not None
            and report.rating <= POOR and report.closed_at is not None
            and now - report.closed_at <= timedelta(days=REOPEN_DAYS))


@dataclass(frozen=True)
class OwnView:
    """The author's view of their report."""

    report: Report
    can_withdraw: bool
    can_rate: bool
    can_reply: bool = False
    can_reopen: bool = False


def own_view(report: Report, now: datetime | None = None) -> OwnView:
    return OwnView(report=report, can_withdraw=report.status == WITHDRAWABLE,
                   can_rate=report.status == RATEABLE, can_reply=repliable(report),
                   can_reopen=now is not None and reopenable(report, now))


@dataclass(frozen=True)
class IdeaView:
    """A resident's view of an idea of their community (never who wrote it)."""

    idea: Report
    is_own: bool
    can_back: bool
    can_unback: bool


async def idea_view(session: AsyncSession, *, user: User, idea: Report) -> IdeaView:
    if idea.author_id == user.id:
        return IdeaView(idea=idea, is_own=True, can_back=False, can_unback=False)
    backing = idea.status in OPEN
    backed = backing and await has_backed(session, user_id=user.id or 0,
                                          report_id=idea.id or 0)
    return IdeaView(idea=idea, is_own=False, can_back=backing and not backed,
                    can_unback=backed)


@dataclass(frozen=True)
class StaffView:
    """What staff may do with a report now."""

    report: Report
    can_assign: bool
    can_take: bool       # 🔧 being worked on
    can_resolve: bool
    can_decline: bool
    can_answer: bool


def staff_view(report: Report) -> StaffView:
    return StaffView(report=report, can_assign=report.status in OPEN,
                     can_take=may_move(report, ReportStatus.IN_PROGRESS),
                     can_resolve=may_move(report, ReportStatus.RESOLVED),
                     can_decline=may_move(report, ReportStatus.DECLINED),
                     can_answer=answerable(report))


def summary(report: Report, limit: int = 60) -> str:
    """The description on one line, cut to `limit` UTF-16 units (as Telegram counts); a
    report without words (a photo, a voice note or a place sent alone) says what it has."""
    words = " ".join(report.description.split())
    if not words:
        words = " ".join(mark for mark, there in (
            ("📷", report.photo_file_id), ("🎤", report.voice_file_id),
            ("📍", report.latitude is not None)) if there)
    return cut(words, limit)


def check_description(text: str, *, required: bool = True) -> str:
    """The report's words; they may be left out when a photo, a voice note or a place says
    it instead (`required=False`)."""
    return clean_text(text, field="description", limit=DESCRIPTION_MAX, multiline=True,
                      required=required)


# Words that ask to take part in a course rather than report something.
ENROL_WORDS = ("报名", "参加", "上课", "enrol", "enroll", "sign up", "sign me up", "join the")
TITLE_MIN = 2  # a title shorter than this matches too much to be meant


async def courses_meant(session: AsyncSession, *, community_id: int, words: str,
                        limit: int = 8) -> list[Course]:
    """The community's courses that `words` plainly mean: those whose title they contain;
    if none is named but they ask to enrol (报名, sign up…), the whole menu (up to `limit`)."""
    said = " ".join(words.casefold().split())
    if not said:
        return []
    found = await session.execute(select(Course).where(
        col(Course.community_id) == community_id,
        col(Course.status) == CourseStatus.APPROVED).order_by(col(Course.title)).limit(500))
    menu = list(found.scalars())
    named = [course for course in menu
             if len(course.title.strip()) >= TITLE_MIN
             and " ".join(course.title.casefold().split()) in said]
    if named:
        return named[:limit]
    if any(word in said for word in ENROL_WORDS):
        return menu[:limit]
    return []


async def community_name(session: AsyncSession, community_id: int) -> str:
    community = await session.get(Community, community_id)
    return community.name if community else ""


async def where(session: AsyncSession, report: Report) -> str:
    """Where a report is, as every message and card about it names it: its community, and
    its grid when the resident chose one ("幸福社区 · 第二网格")."""
    return await communities.where(session, community_id=report.community_id,
                                   grid_id=report.grid_id)


def check_answer(text: str, field: str = "answer") -> str:
    return clean_text(text, field=field, limit=ANSWER_MAX, multiline=True)



async def create_report(
    session: AsyncSession, *, clock: Clock, user: User, category: ReportCategory,
    description: str, grid_id: int | None = None, photo_file_id: str | None = None,
    latitude: float | None = None, longitude: float | None = None,
    buttons: Buttons | None = None, notify: Notify | None = None,
    draft_key: str | None = None, voice_file_id: str | None = None,
) -> Report:
    """Record a resident's concern or idea and tell their community's staff.

    `draft_key` names the draft it comes from: sending the same draft again (a double
    tap, two replicas handling the same press) raises AlreadySent and changes nothing.
    """
    text = check_description(description, required=not (
        photo_file_id or voice_file_id or latitude is not None))
    category = ReportCategory(category)
    if user.community_id is None or user.id is None:
        raise NoCommunity("choose a community first")
    author_id = user.id  # read now: a rollback below expires the row
    try:
        return await _create_report(
            session, clock=clock, user=user, category=category, text=text, grid_id=grid_id,
            photo_file_id=photo_file_id, latitude=latitude, longitude=longitude,
            buttons=buttons, notify=notify, draft_key=draft_key, voice_file_id=voice_file_id)
    except IntegrityError:
        # The same draft inserted at the same moment elsewhere (PostgreSQL: no writer
        # lock orders the two); the unique key kept one.
        await session.rollback()
        sent = await sent_from(session, user_id=author_id, draft_key=draft_key)
        if sent is None:
            raise
        raise AlreadySent(sent) from None


async def sent_from(session: AsyncSession, *, user_id: int,
                    draft_key: str | None) -> Report | None:
    """The author's report sent from draft `draft_key`, if it has been."""
    if not draft_key:
        return None
    return (await session.execute(select(Report).where(
        col(Report.draft_key) == draft_key, col(Report.author_id) == user_id))
    ).scalar_one_or_none()


async def _create_report(
    session: AsyncSession, *, clock: Clock, user: User, category: ReportCategory,
    text: str, grid_id: int | None, photo_file_id: str | None, latitude: float | None,
    longitude: float | None, buttons: Buttons | None, notify: Notify | None,
    draft_key: str | None, voice_file_id: str | None = None,
) -> Report:
    assert user.id is not None and user.community_id is not None
    community_id = user.community_id
    async with write(session):
        sent = await sent_from(session, user_id=user.id, draft_key=draft_key)
        if sent is not None:
            raise AlreadySent(sent)
        if grid_id is not None:
            grid = await session.get(Grid, grid_id)
            if grid is None or grid.community_id != community_id:
                raise InvalidInput("grid", "other_community")
        now = clock.now()
        report = Report(community_id=community_id, grid_id=grid_id, author_id=user.id,
                        category=category, description=text, photo_file_id=photo_file_id,
                        voice_file_id=voice_file_id, latitude=latitude, longitude=longitude,
                        created_at=now, updated_at=now, draft_key=draft_key or None)
        session.add(report)
        await session.flush()
        assert report.id is not None
        staff = [uid for uid in await staff_of(session, community_id=community_id)
                 if uid != user.id]
        place = await where(session, report)
        await outbox.queue_many(session, clock=clock, notify=notify, rows=(
            outbox.Outgoing(user_id=uid, kind=OutboxKind.STATUS, key=NEW_REPORT_KEY,
                            params={"id": report.id, "summary": summary(report),
                                    "community": place},
                            keyboard=buttons.open(report.id) if buttons else None,
                            dedupe_key=f"report:{report.id}:new:{uid}", about=user.id)
            for uid in staff))
    return report


async def _lock(session: AsyncSession, report_id: int) -> Report:
    """The report, locked for change (PostgreSQL; SQLite's BEGIN IMMEDIATE already is)."""
    report = (await session.execute(
        select(Report).where(col(Report.id) == report_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if report is None:
        raise NotFound(f"report {report_id}")
    return report


async def _own_report(session: AsyncSession, *, user_id: int, report_id: int,
                      status: ReportStatus) -> Report:
    """The author's report in `status`, locked (call it inside `write`)."""
    report = await _lock(session, report_id)
    if report.author_id != user_id:
        raise NotYours("not the author")
    if report.status != status:
        raise ReportClosed(report.status)
    return report


async def withdraw(session: AsyncSession, *, clock: Clock, user_id: int,
                   report_id: int) -> Report:
    """The author takes back a report nobody has started on."""
    async with write(session):
        report = await _own_report(session, user_id=user_id, report_id=report_id,
                                   status=WITHDRAWABLE)
        report.status = ReportStatus.WITHDRAWN
        report.updated_at = report.closed_at = clock.now()
        session.add(report)
    return report


async def rate(session: AsyncSession, *, clock: Clock, user_id: int, report_id: int,
               stars: int, buttons: Buttons | None = None,
               notify: Notify | None = None) -> Report:
    """The author says how satisfied they are with a resolved report (1–5); a poor rating
    (1–2) reaches the community's staff at once, with the report to open."""
    if not 1 <= stars <= 5:
        raise InvalidInput("stars", "range")
    async with write(session):
        report = await _own_report(session, user_id=user_id, report_id=report_id,
                                   status=RATEABLE)
        first = report.rating is None
        report.rating = stars
        report.rated_at = report.updated_at = clock.now()
        session.add(report)
        if stars <= POOR and first:
            place = await where(session, report)
            staff = [uid for uid in await staff_of(session, community_id=report.community_id)
                     if uid != user_id]
            await outbox.queue_many(session, clock=clock, notify=notify, rows=(
                outbox.Outgoing(user_id=uid, kind=OutboxKind.STATUS, key=POOR_RATING_KEY,
                                params={"id": report_id, "summary": summary(report),
                                        "community": place, "stars": "⭐" * stars},
                                keyboard=buttons.open(report_id) if buttons else None,
                                dedupe_key=f"report:{report_id}:poor:"
                                           f"{report.updated_at.timestamp():.0f}:{uid}",
                                about=user_id)
                for uid in staff))
    return report


async def _idea_for_backing(session: AsyncSession, user: User, report_id: int) -> Report:
    report = await _lock(session, report_id)
    if report.category != ReportCategory.IDEA or report.community_id != user.community_id:
        raise NotYours("not an idea of the user's community")
    if report.author_id == user.id:
        raise NotYours("own idea")
    if report.status not in OPEN:
        raise ReportClosed(report.status)
    return report


async def back(session: AsyncSession, *, clock: Clock, user: User, report_id: int,
               on: bool = True) -> Report:
    """A neighbour backs an idea ("me too"), or takes their backing back; idempotent."""
    assert user.id is not None
    async with write(session):
        report = await _idea_for_backing(session, user, report_id)
        existing = (await session.execute(select(ReportBacking).where(
            col(ReportBacking.report_id) == report_id,
            col(ReportBacking.user_id) == user.id))).scalar_one_or_none()
        if on and existing is None:
            session.add(ReportBacking(report_id=report_id, user_id=user.id,
                                      created_at=clock.now()))
            report.backers += 1
        elif not on and existing is not None:
            await session.delete(existing)
            report.backers = max(0, report.backers - 1)
        session.add(report)
    return report


async def has_backed(session: AsyncSession, *, user_id: int, report_id: int) -> bool:
    found = await session.execute(select(col(ReportBacking.id)).where(
        col(ReportBacking.report_id) == report_id, col(ReportBacking.user_id) == user_id))
    return found.first() is not None


async def own_reports(session: AsyncSession, *, user_id: int, limit: int = 20) -> list[Report]:
    """A resident's reports, newest first."""
    found = await session.execute(select(Report).where(col(Report.author_id) == user_id)
                                  .order_by(col(Report.id).desc()).limit(limit))
    return list(found.scalars())


async def get_own(session: AsyncSession, *, user_id: int, report_id: int) -> Report:
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound(f"report {report_id}")
    if report.author_id != user_id:
        raise NotYours("not the author")
    return report


async def community_ideas(session: AsyncSession, *, user: User, limit: int = 20) -> list[Report]:
    """Open ideas of the resident's community, most backed first."""
    if user.community_id is None:
        raise NoCommunity("choose a community first")
    found = await session.execute(
        select(Report).where(col(Report.community_id) == user.community_id,
                             col(Report.category) == ReportCategory.IDEA,
                             col(Report.status).in_(OPEN))
        .order_by(col(Report.backers).desc(), col(Report.id)).limit(limit))
    return list(found.scalars())


async def get_idea(session: AsyncSession, *, user: User, report_id: int) -> Report:
    """An idea of the resident's own community (others' concerns are not for them)."""
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound(f"report {report_id}")
    if report.category != ReportCategory.IDEA or report.community_id != user.community_id:
        raise NotYours("not an idea of the user's community")
    return report


async def _tell_staff(session: AsyncSession, *, clock: Clock, report: Report, key: str,
                      params: dict[str, Any], dedupe: str, buttons: Buttons | None,
                      notify: Notify | None) -> None:
    """Tell whoever handles the report (else every staff member of its community)."""
    staff = await staff_of(session, community_id=report.community_id)
    people = ([report.assignee_id] if report.assignee_id in staff else
              [uid for uid in staff if uid != report.author_id])
    rid = report.id or 0
    place = await where(session, report)
    await outbox.queue_many(session, clock=clock, notify=notify, rows=(
        outbox.Outgoing(user_id=uid, kind=OutboxKind.STATUS, key=key,
                        params={"id": rid, "summary": summary(report), "community": place,
                                **params},
                        keyboard=buttons.open(rid) if buttons else None,
                        dedupe_key=f"{dedupe}:{uid}", about=report.author_id)
        for uid in people if uid is not None))


async def reply(
    session: AsyncSession, *, clock: Clock, user_id: int, report_id: int, text: str = "",
    voice_file_id: str | None = None, buttons: Buttons | None = None,
    notify: Notify | None = None,
) -> ReportNote:
    """The author replies in the report's thread, in words or by a voice note; whoever
    handles it (else its community's staff) is told."""
    text = clean_text(text, field="reply", limit=ANSWER_MAX, multiline=True,
                      required=voice_file_id is None)
    async with write(session):
        report = await _lock(session, report_id)
        if report.author_id != user_id:
            raise NotYours("not the author")
        if not repliable(report):
            raise ReportClosed(report.status)
        now = clock.now()
        note = ReportNote(report_id=report_id, author_id=user_id, text=text,
                          voice_file_id=voice_file_id, created_at=now)
        session.add(note)
        report.updated_at = now
        session.add(report)
        await session.flush()
        await _tell_staff(session, clock=clock, report=report, key=REPLY_KEY,
                          params={"reply": text or "🎤"}, dedupe=f"report:{report_id}:reply:"
                          f"{note.id}", buttons=buttons, notify=notify)
    return note


async def reopen_own(
    session: AsyncSession, *, clock: Clock, user_id: int, report_id: int,
    buttons: Buttons | None = None, notify: Notify | None = None,
) -> Report:
    """The author reopens a resolved report they rated 1–2 ⭐, within REOPEN_DAYS of its
    resolution; it is worked on again, and whoever handles it is told."""
    async with write(session):
        report = await _lock(session, report_id)
        if report.author_id != user_id:
            raise NotYours("not the author")
        now = clock.now()
        if not reopenable(report, now):
            if report.status == ReportStatus.RESOLVED and report.rating is not None \
                    and report.rating <= POOR:
                raise TooLateToReopen(f"resolved more than {REOPEN_DAYS} days ago")
            raise NotReopenable(f"report is {report.status}, rated {report.rating}")
        report.status = ReportStatus.IN_PROGRESS
        report.closed_at = report.rating = report.rated_at = None
        report.updated_at = now
        session.add(report)
        await _tell_staff(session, clock=clock, report=report, key=REOPENED_STAFF_KEY,
                          params={}, dedupe=f"report:{report_id}:reopened:{now.timestamp():.0f}",
                          buttons=buttons, notify=notify)
    return report


# --- Staff ----------------------------------------------------------------------------


async def get_for_staff(session: AsyncSession, *, access: Access, report_id: int) -> Report:
    """A report the actor may triage: staff of its community, or a district admin."""
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound(f"report {report_id}")
    access.require_manage(report.community_id)
    return report


async def triage_list(
    session: AsyncSession, *, access: Access, community_id: int, ideas: bool = False,
    limit: int = 30,
) -> list[Report]:
    """Open reports of a community: oldest first, or (ideas) most backed first."""
    access.require_manage(community_id)
    query = select(Report).where(col(Report.community_id) == community_id,
                                 col(Report.status).in_(OPEN))
    if ideas:
        query = query.where(col(Report.category) == ReportCategory.IDEA).order_by(
            col(Report.backers).desc(), col(Report.id))
    else:
        query = query.order_by(col(Report.id))
    return list((await session.execute(query.limit(limit))).scalars())


async def staff_choices(session: AsyncSession, *, access: Access,
                        community_id: int) -> list[User]:
    """The staff of a community, to assign a report to."""
    access.require_manage(community_id)
    ids = await staff_of(session, community_id=community_id)
    if not ids:
        return []
    found = await session.execute(select(User).where(col(User.id).in_(ids))
                                  .order_by(col(User.id)))
    return list(found.scalars())


async def assign(
    session: AsyncSession, *, access: Access, clock: Clock, report_id: int, assignee_id: int,
    buttons: Buttons | None = None, notify: Notify | None = None,
) -> Report:
    """Give a report to a staff member of its community (who is told, unless it is oneself)."""
    async with write(session):
        report = await _lock(session, report_id)
        access.require_manage(report.community_id)
        if report.status not in OPEN:
            raise StepClosed(report.status)
        if assignee_id not in await staff_of(session, community_id=report.community_id):
            raise InvalidInput("assignee", "not_staff")
        report.assignee_id = assignee_id
        report.updated_at = clock.now()
        session.add(report)
        if assignee_id != access.user_id:
            await outbox.queue(session, clock=clock, user_id=assignee_id,
                               kind=OutboxKind.STATUS, key=ASSIGNED_KEY,
                               params={"id": report_id, "summary": summary(report),
                                       "community": await where(session, report)},
                               keyboard=buttons.open(report_id) if buttons else None,
                               about=report.author_id, notify=notify)
        audit.record(session, clock=clock, actor_id=access.user_id, action="report.assign",
                     community_id=report.community_id, report_id=report_id,
                     assignee_id=assignee_id)
    return report


async def set_status(
    session: AsyncSession, *, access: Access, clock: Clock, report_id: int,
    status: ReportStatus, text: str | None = None, buttons: Buttons | None = None,
    notify: Notify | None = None,
) -> Report:
    """Move a report on; the author is told. Declining needs a reason; resolving may
    carry the public answer (and asks the author to rate)."""
    status = ReportStatus(status)
    if status == ReportStatus.DECLINED:
        text = check_answer(text or "", "decline_reason")
    elif text is not None:
        text = check_answer(text)
    async with write(session):
        report = await _lock(session, report_id)
        access.require_manage(report.community_id)
        if not may_move(report, status):
            raise StepClosed(report.status)
        previous = report.status
        now = clock.now()
        reopened = previous in FINAL
        report.status = status
        report.updated_at = now
        if reopened:  # worked on again: rated again when resolved again
            report.closed_at = report.rating = report.rated_at = report.decline_reason = None
        if status == ReportStatus.DECLINED:
            report.decline_reason = text
        elif text:
            report.answer = text
        if text:
            session.add(ReportNote(report_id=report_id, author_id=access.user_id, text=text,
                                   created_at=now))
        if status in FINAL:
            report.closed_at = now
        if report.assignee_id is None:
            report.assignee_id = access.user_id  # whoever moved it is handling it
        session.add(report)
        params: dict[str, Any] = {"id": report_id, "summary": summary(report),
                                  "answer": report.answer or "", "reason": text or "",
                                  "community": await where(session, report)}
        keyboard = buttons.rate(report_id) if buttons and status == ReportStatus.RESOLVED else None
        if buttons and status == ReportStatus.DECLINED:
            keyboard = buttons.reply(report_id)
        # Moves repeat once a report is reopened: the moment tells them apart.
        await outbox.queue(session, clock=clock, user_id=report.author_id, kind=OutboxKind.STATUS,
                           key=REOPENED_KEY if reopened else STATUS_KEYS[status], params=params,
                           keyboard=keyboard,
                           dedupe_key=f"report:{report_id}:{status}:{now.timestamp():.0f}",
                           notify=notify)
        audit.record(session, clock=clock, actor_id=access.user_id, action="report.status",
                     community_id=report.community_id, report_id=report_id,
                     previous=str(previous), status=str(status))
    return report


async def answer(
    session: AsyncSession, *, access: Access, clock: Clock, report_id: int, text: str,
    notify: Notify | None = None, buttons: Buttons | None = None,
) -> Report:
    """Write another public answer (the report's thread keeps the earlier ones); the
    author gets it."""
    text = check_answer(text)
    async with write(session):
        report = await _lock(session, report_id)
        access.require_manage(report.community_id)
        if not answerable(report):
            raise StepClosed(report.status)
        report.answer = text
        report.updated_at = clock.now()
        session.add(report)
        session.add(ReportNote(report_id=report_id, author_id=access.user_id, text=text,
                               created_at=report.updated_at))
        await outbox.queue(session, clock=clock, user_id=report.author_id,
                           kind=OutboxKind.STATUS, key=ANSWER_KEY,
                           params={"id": report_id, "summary": summary(report), "answer": text,
                                   "community": await where(session, report)},
                           keyboard=buttons.reply(report_id) if buttons else None,
                           notify=notify)
        audit.record(session, clock=clock, actor_id=access.user_id, action="report.answer",
                     community_id=report.community_id, report_id=report_id)
    return report


# --- Privacy --------------------------------------------------------------------------


async def thread(session: AsyncSession, *, report_id: int) -> list[ReportNote]:
    """Staff's answers on a report, oldest first."""
    found = await session.execute(select(ReportNote).where(
        col(ReportNote.report_id) == report_id).order_by(col(ReportNote.id)))
    return list(found.scalars())


async def erase_reports(session: AsyncSession, user_id: int, _now: datetime) -> None:
    """/deleteme: blank what the person wrote or said (their voice notes), the photo and
    where, and staff's answers to them (which may name them); the rows stay for counts."""
    own = select(col(Report.id)).where(col(Report.author_id) == user_id)
    await session.execute(
        update(ReportNote).where(col(ReportNote.report_id).in_(own))
        .values(text="", voice_file_id=None)
        .execution_options(synchronize_session=False))
    await session.execute(
        update(Report).where(col(Report.author_id) == user_id)
        .values(description="", photo_file_id=None, voice_file_id=None, latitude=None,
                longitude=None, answer=None, decline_reason=None)
        .execution_options(synchronize_session=False))

