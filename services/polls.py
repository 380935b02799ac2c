"""Polls: staff ask an audience questions; residents answer with buttons until it closes.

A person has one answer per question (unique in the database), which they may
change while the poll is open; counts are therefore counts of people. Who may
answer is the poll's audience (services.broadcasts' audiences: the community,
some grids, a role), checked on every answer, not only when invitations go out.
Closing is a sweep (`close_due`): the first run after `closes_at` marks the poll
closed with a conditional UPDATE, so two runs never send the results twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Community, Grid
from models.db import begin_write, write
from models.outbox import MediaKind, OutboxKind
from models.polls import (
    OPTION_MAX,
    OPTIONS_MAX,
    OTHER_MAX,
    QUESTION_MAX,
    QUESTIONS_MAX,
    TITLE_MAX,
    Poll,
    PollAnswer,
    PollQuestion,
)
from models.users import User
from services import audit, exports, outbox
from services.access import Access
from services.broadcasts import Audience, audience_query, check_scope
from services.clock import Clock
from services.communities import zone_of
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound, refusing
from services.outbox import N_, Notify
from services.text import clean_text, utf16_len

Keyboard = Mapping[str, Any]


class Buttons(Protocol):
    """The invitation's keyboard, packed by the bot (`bot.keyboards.outbox.PollButtons`)."""

    def invite(self, poll_id: int) -> Keyboard:
        """🗳 Answer."""
        ...
MIN_OPEN = timedelta(minutes=10)
OPEN_DAYS_MAX = 60  # a poll closes at most this many days after it is published
REMIND_BEFORE = timedelta(hours=24)  # those who have not answered are reminded once: a day
# before it closes, or halfway through a poll open for less than two days



INVITE_KEY = N_("🗳 A new poll from {community}: “{title}”\nPlease answer by {closes}. It "
                "takes a minute.")
RESULTS_KEY = N_("📊 Results of the poll “{title}” · {community}. People who answered: "
                 "{count}. Thank you!")
REMINDER_KEY = N_("⏰ The poll “{title}” closes {closes} and we have not heard from you "
                  "yet. It takes a minute.")
CLOSED_KEY = N_("🔒 Your poll “{title}” · {community} has closed. People who answered: "
                "{count}.")
# The chart sent to many people is drawn once, so its few own words are in both languages.
CHART_OTHER = "其他 Other"
CHART_NO_GRID = "— "
CHART_ANSWERED = "{count} 人回答 · answered"


class PollClosed(DomainError):
    """The poll no longer takes answers."""


class AlreadyClosed(PollClosed):
    """Staff asked to close a poll that is already closed."""


class NotInAudience(NotAllowed):
    """The poll was not put to this person."""


@dataclass
class QuestionDraft:
    text: str
    options: list[str]
    multiple: bool = False
    allow_other: bool = False


def check_title(text: str) -> str:
    return clean_text(text, field="poll_title", limit=TITLE_MAX)


def check_question(text: str) -> str:
    return clean_text(text, field="poll_question", limit=QUESTION_MAX, multiline=True)


def parse_options(text: str) -> list[str]:
    """Choices typed one per line: 2 to 10, each short, no repeats."""
    options = [" ".join(line.split()) for line in text.splitlines()]
    options = [o for o in options if o]
    if len(options) < 2:
        raise InvalidInput("options", "too_few")
    if len(options) > OPTIONS_MAX:
        raise InvalidInput("options", "too_many", limit=OPTIONS_MAX)
    if any(utf16_len(o) > OPTION_MAX for o in options):
        raise InvalidInput("options", "too_long", limit=OPTION_MAX)
    if len(set(options)) != len(options):
        raise InvalidInput("options", "repeated")
    return options


def is_open(poll: Poll, now: datetime) -> bool:
    return poll.closed_at is None and poll.closes_at > now


# --- What a screen may offer, decided beside the rules that check each press -------------


@dataclass(frozen=True)
class QuestionView:
    """One question as its answerer sees it, with what they chose so far."""

    poll: Poll
    question: PollQuestion
    position: int
    total: int
    chosen: frozenset[int]
    other_text: str | None
    can_write_other: bool   # ✍️ Something else
    can_go_back: bool       # ◀ Back
    can_go_on: bool         # Next ▶ / ✅ Finish: a multiple choice, or one already answered
    is_last: bool


async def question_view(session: AsyncSession, *, poll: Poll, user_id: int,
                        position: int) -> QuestionView | None:
    """Question `position` of a poll for this person; None past the last (finished)."""
    assert poll.id is not None
    questions = await questions_of(session, poll_id=poll.id)
    if not 0 <= position < len(questions):
        return None
    question = questions[position]
    mine = (await answers_of(session, poll_id=poll.id, user_id=user_id)).get(question.id or 0)
    return QuestionView(
        poll=poll, question=question, position=position, total=len(questions),
        chosen=frozenset(mine.choices if mine else ()),
        other_text=mine.other_text if mine else None,
        can_write_other=question.allow_other, can_go_back=position > 0,
        can_go_on=question.multiple or mine is not None,
        is_last=position == len(questions) - 1)


@dataclass(frozen=True)
class StaffPollView:
    """What staff see of a poll and may do with it now."""

    poll: Poll
    results: Results
    is_open: bool
    can_close: bool
    can_export: bool
    can_extend: bool
    shows_results: bool


async def staff_view(session: AsyncSession, *, access: Access, clock: Clock,
                     poll_id: int) -> StaffPollView:
    """A poll for the staff who manage its community (else NotAllowed)."""
    poll = await get_for_staff(session, access=access, poll_id=poll_id)
    found = await results(session, poll=poll)
    still_open = is_open(poll, clock.now())
    # Results and the answers file are for staff at any time, open or closed; only an
    # open poll can be closed early.
    return StaffPollView(poll=poll, results=found, is_open=still_open, can_close=still_open,
                         can_export=True, shows_results=True, can_extend=still_open)


async def create_poll(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int, title: str,
    questions: Sequence[QuestionDraft], audience: Audience, closes_at: datetime,
    send_results: bool = False, buttons: Buttons | None = None,
    notify: Notify | None = None,
) -> Poll:
    """Create a poll and invite its audience (one outbox message each)."""
    check_scope(access, community_id)
    title = check_title(title)
    if not 1 <= len(questions) <= QUESTIONS_MAX:
        raise InvalidInput("questions", "count")
    for question in questions:
        check_question(question.text)
        parse_options("\n".join(question.options))
    now = clock.now()
    if closes_at < now + MIN_OPEN:
        raise InvalidInput("closes_at", "past")
    if closes_at > now + timedelta(days=OPEN_DAYS_MAX + 1):
        raise InvalidInput("closes_at", "too_far", limit=OPEN_DAYS_MAX)
    async with write(session):
        return await _create_poll(
            session, access=access, clock=clock, community_id=community_id, title=title,
            questions=questions, audience=audience, closes_at=closes_at,
            send_results=send_results, buttons=buttons, notify=notify)


async def _create_poll(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int, title: str,
    questions: Sequence[QuestionDraft], audience: Audience, closes_at: datetime,
    send_results: bool, buttons: Buttons | None, notify: Notify | None,
) -> Poll:
    now = clock.now()
    community = await session.get(Community, community_id)
    if community is None:
        raise NotFound(f"community {community_id}")
    recipients = list((await session.execute(audience_query(community_id, audience))).scalars())
    if not recipients:
        raise InvalidInput("audience", "empty")
    poll = Poll(community_id=community_id, title=title, audience=audience.to_json(),
                created_by=access.user_id, send_results=send_results, closes_at=closes_at,
                created_at=now)
    session.add(poll)
    await session.flush()
    assert poll.id is not None
    for position, question in enumerate(questions):
        session.add(PollQuestion(poll_id=poll.id, position=position,
                                 text=check_question(question.text),
                                 options=list(question.options), multiple=question.multiple,
                                 allow_other=question.allow_other))
    closes = outbox.moment(closes_at, community.timezone)
    await outbox.queue_many(session, clock=clock, notify=notify, rows=(
        outbox.Outgoing(user_id=uid, kind=OutboxKind.ANNOUNCEMENT, key=INVITE_KEY,
                        params={"title": title, "closes": closes,
                                "community": community.name},
                        keyboard=buttons.invite(poll.id) if buttons else None,
                        group=f"poll:{poll.id}",
                        dedupe_key=f"poll:{poll.id}:invite:{uid}")
        for uid in recipients))
    audit.record(session, clock=clock, actor_id=access.user_id, action="poll.create",
                 community_id=community_id, poll_id=poll.id, audience=audience.to_json(),
                 recipients=len(recipients), closes_at=closes_at.isoformat())
    return poll


async def get_poll(session: AsyncSession, *, poll_id: int) -> Poll:
    poll = await session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"poll {poll_id}")
    return poll


async def questions_of(session: AsyncSession, *, poll_id: int) -> list[PollQuestion]:
    found = await session.execute(select(PollQuestion).where(
        col(PollQuestion.poll_id) == poll_id).order_by(col(PollQuestion.position)))
    return list(found.scalars())


async def in_audience(session: AsyncSession, *, poll: Poll, user_id: int) -> bool:
    query = audience_query(poll.community_id, Audience.from_json(poll.audience))
    found = await session.execute(select(col(User.id)).where(
        col(User.id) == user_id, col(User.id).in_(query)))
    return found.first() is not None


async def poll_for_answering(session: AsyncSession, *, clock: Clock, user_id: int,
                             poll_id: int) -> Poll:
    """A poll this person may answer now, or the reason they can't."""
    poll = await get_poll(session, poll_id=poll_id)
    if not await in_audience(session, poll=poll, user_id=user_id):
        raise NotInAudience(f"poll {poll_id} is not for user {user_id}")
    if not is_open(poll, clock.now()):
        raise PollClosed(f"poll {poll_id}")
    return poll


# Built once (see services.paging).
_OPEN_IN = select(Poll).where(
    col(Poll.community_id) == bindparam("community_id"), col(Poll.closed_at).is_(None),
    col(Poll.closes_at) > bindparam("now")).order_by(col(Poll.closes_at))


async def open_for(session: AsyncSession, *, clock: Clock, user: User) -> list[Poll]:
    """Open polls put to this person, soonest closing first."""
    if user.community_id is None or user.id is None:
        return []
    found = await session.execute(_OPEN_IN, {"community_id": user.community_id,
                                              "now": clock.now()})
    return [poll for poll in found.scalars()
            if await in_audience(session, poll=poll, user_id=user.id)]


async def answers_of(session: AsyncSession, *, poll_id: int,
                     user_id: int) -> dict[int, PollAnswer]:
    """This person's answers to a poll, by question id."""
    found = await session.execute(select(PollAnswer).where(
        col(PollAnswer.poll_id) == poll_id, col(PollAnswer.user_id) == user_id))
    return {answer.question_id: answer for answer in found.scalars()}


async def answer(
    session: AsyncSession, *, clock: Clock, user: User, poll_id: int, position: int,
    option: int | None = None, other_text: str | None = None, on: bool = True,
) -> PollAnswer:
    """Record a choice (single: replaces; multiple: ticks it, or with on=False unticks
    it, so the same tap twice changes nothing more) or the "other" text."""
    assert user.id is not None
    if other_text is not None:
        other_text = clean_text(other_text, field="other", limit=OTHER_MAX, multiline=True)
    await begin_write(session)
    async with refusing(session):
        await poll_for_answering(session, clock=clock, user_id=user.id, poll_id=poll_id)
        question = (await session.execute(select(PollQuestion).where(
            col(PollQuestion.poll_id) == poll_id,
            col(PollQuestion.position) == position))).scalar_one_or_none()
        if question is None or question.id is None:
            raise NotFound(f"question {position} of poll {poll_id}")
        if option is not None and not 0 <= option < len(question.options):
            raise NotFound(f"option {option}")
        if other_text is not None and not question.allow_other:
            raise NotAllowed("no 'other' on this question")
        if option is None and other_text is None:
            raise InvalidInput("answer", "empty")
    # The row exists before it is locked, so the same person's taps at once wait for each
    # other (FOR UPDATE on a row not yet there locks nothing; two inserts would collide).
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)(PollAnswer)
    await session.execute(insert.values(
        poll_id=poll_id, question_id=question.id, user_id=user.id, choices=[],
        answered_at=clock.now()).on_conflict_do_nothing(index_elements=["question_id", "user_id"]))
    row = (await session.execute(select(PollAnswer).where(
        col(PollAnswer.question_id) == question.id, col(PollAnswer.user_id) == user.id)
        .with_for_update().execution_options(populate_existing=True))).scalar_one()
    choices = list(row.choices)
    if option is not None and question.multiple:
        choices = sorted(set(choices) | {option} if on else set(choices) - {option})
    elif option is not None:
        choices, row.other_text = [option], None
    elif not question.multiple:  # "other" instead of a listed choice
        choices = []
    if other_text is not None:
        row.other_text = other_text
    row.choices = choices  # a new list, so the JSON column is seen as changed
    row.grid_id = user.grid_id
    row.answered_at = clock.now()
    session.add(row)
    await session.commit()
    return row


# --- Results --------------------------------------------------------------------------


@dataclass
class QuestionResult:
    question: PollQuestion
    counts: list[int]
    other: int = 0
    respondents: int = 0
    # grid name (None: no grid) → counts per option, then "other" last
    by_grid: dict[str | None, list[int]] = field(default_factory=dict)


@dataclass
class Results:
    poll: Poll
    questions: list[QuestionResult]
    respondents: int


async def results(session: AsyncSession, *, poll: Poll) -> Results:
    """Counts per option (people, not taps), overall and per grid."""
    assert poll.id is not None
    questions = await questions_of(session, poll_id=poll.id)
    rows = (await session.execute(
        select(PollAnswer, Grid.name).outerjoin(Grid, col(Grid.id) == col(PollAnswer.grid_id))
        .where(col(PollAnswer.poll_id) == poll.id))).all()
    by_question: dict[int, list[tuple[PollAnswer, str | None]]] = defaultdict(list)
    people: set[int] = set()
    for row, grid in rows:
        # An erased "other" text is "" (still an answer); a multiple choice untoggled to
        # nothing is no answer at all.
        if row.choices or row.other_text is not None:
            by_question[row.question_id].append((row, grid))
            people.add(row.user_id)
    found: list[QuestionResult] = []
    for question in questions:
        n = len(question.options)
        result = QuestionResult(question=question, counts=[0] * n)
        for row, where in by_question.get(question.id or 0, []):
            per_grid = result.by_grid.setdefault(where, [0] * (n + 1))
            result.respondents += 1
            for choice in row.choices:
                if 0 <= choice < n:
                    result.counts[choice] += 1
                    per_grid[choice] += 1
            if row.other_text is not None:
                result.other += 1
                per_grid[n] += 1
        found.append(result)
    return Results(poll=poll, questions=found, respondents=len(people))


def chart(found: Results, *, other: str = CHART_OTHER, no_grid: str = CHART_NO_GRID,
          by_grid: bool = False, footer: str = CHART_ANSWERED) -> bytes:
    """The results as a bar chart PNG: one panel per question, grids as grouped bars."""
    from services import charts  # matplotlib loads on the first chart, not at start-up

    sections = []
    for result in found.questions:
        labels = list(result.question.options)
        with_other = result.question.allow_other
        if with_other:
            labels.append(other)
        if by_grid and result.by_grid:
            series = {name or no_grid: counts if with_other else counts[:-1]
                      for name, counts in sorted(result.by_grid.items(),
                                                 key=lambda item: item[0] or "")}
        else:
            series = {"": result.counts + ([result.other] if with_other else [])}
        sections.append(charts.Section(title=result.question.text, labels=labels,
                                       series=series))
    return charts.bar_chart(found.poll.title, sections,
                            footer=footer.format(count=found.respondents))


# --- Staff ----------------------------------------------------------------------------


async def get_for_staff(session: AsyncSession, *, access: Access, poll_id: int) -> Poll:
    poll = await get_poll(session, poll_id=poll_id)
    access.require_manage(poll.community_id)
    return poll


async def list_for_staff(session: AsyncSession, *, access: Access, community_id: int,
                         limit: int = 10) -> list[Poll]:
    """A community's latest polls, newest first."""
    access.require_manage(community_id)
    found = await session.execute(select(Poll).where(col(Poll.community_id) == community_id)
                                  .order_by(col(Poll.id).desc()).limit(limit))
    return list(found.scalars())


async def close_now(session: AsyncSession, *, access: Access, clock: Clock,
                    poll_id: int) -> Poll:
    """Stop taking answers now; the closing sweep sends any results as for a timed close."""
    async with write(session):
        poll = await get_for_staff(session, access=access, poll_id=poll_id)
        if not is_open(poll, clock.now()):
            raise AlreadyClosed(f"poll {poll_id}")
        poll.closes_at = clock.now()
        session.add(poll)
        audit.record(session, clock=clock, actor_id=access.user_id, action="poll.close_now",
                     community_id=poll.community_id, poll_id=poll_id)
    return poll


async def extend(session: AsyncSession, *, access: Access, clock: Clock, poll_id: int,
                 closes_at: datetime) -> Poll:
    """Keep an open poll open longer: until `closes_at`, later than it closes now and at
    most OPEN_DAYS_MAX days from now."""
    now = clock.now()
    async with write(session):
        poll = await get_for_staff(session, access=access, poll_id=poll_id)
        if not is_open(poll, now):
            raise AlreadyClosed(f"poll {poll_id}")
        if closes_at <= poll.closes_at:
            raise InvalidInput("closes_at", "not_later")
        if closes_at > now + timedelta(days=OPEN_DAYS_MAX + 1):
            raise InvalidInput("closes_at", "too_far", limit=OPEN_DAYS_MAX)
        previous = poll.closes_at
        poll.closes_at = closes_at
        session.add(poll)
        audit.record(session, clock=clock, actor_id=access.user_id, action="poll.extend",
                     community_id=poll.community_id, poll_id=poll_id,
                     previous=previous.isoformat(), closes_at=closes_at.isoformat())
    return poll


@dataclass(frozen=True)
class ExportWords:
    """The reader's words for the answers workbook (services speak no language)."""

    title: str                    # the title row: "Poll “…” · 幸福社区"
    summary_name: str             # the summary sheet's name
    answers_name: str             # the answers sheet's name
    respondent: str               # the column of numbers (people are not named)
    grid: str
    answered: str                 # when they last answered
    other: str                    # "Something else"
    respondents: str              # people who answered (the summary's first line)
    summary_headers: tuple[str, str, str]   # what, people, share


async def export_xlsx(
    session: AsyncSession, *, access: Access, clock: Clock, poll_id: int, words: ExportWords,
) -> bytes:
    """Every answer as a spreadsheet row per person, in the order they answered (numbered,
    not named: polls are anonymous to keep them honest), after a summary of each option's
    people and share of those who answered the question (services/exports.py)."""
    poll = await get_for_staff(session, access=access, poll_id=poll_id)
    questions = await questions_of(session, poll_id=poll_id)
    rows = (await session.execute(
        select(PollAnswer, Grid.name).outerjoin(Grid, col(Grid.id) == col(PollAnswer.grid_id))
        .where(col(PollAnswer.poll_id) == poll_id)
        .order_by(col(PollAnswer.user_id)))).all()
    zone = await zone_of(session, poll.community_id)
    people: dict[int, dict[int, PollAnswer]] = defaultdict(dict)
    grids: dict[int, str] = {}
    latest: dict[int, datetime] = {}
    for row, grid_name in rows:
        people[row.user_id][row.question_id] = row
        grids[row.user_id] = grid_name or ""
        latest[row.user_id] = max(latest.get(row.user_id, row.answered_at), row.answered_at)
    heading = [words.respondent, words.grid, words.answered]
    for question in questions:
        heading.append(question.text)
        if question.allow_other:
            heading.append(f"{question.text} · {words.other}")
    in_order = sorted(people.items(), key=lambda item: (latest[item[0]], item[0]))
    table: list[list[exports.Cell]] = []
    for number, (user_id, answers) in enumerate(in_order, start=1):
        line: list[exports.Cell] = [number, grids[user_id], exports.local(latest[user_id], zone)]
        for question in questions:
            given = answers.get(question.id or 0)
            chosen = [question.options[c] for c in (given.choices if given else [])
                      if 0 <= c < len(question.options)]
            line.append("; ".join(chosen))
            if question.allow_other:
                line.append(given.other_text if given and given.other_text else "")
        table.append(line)
    found = await results(session, poll=poll)
    lines: list[tuple[str, float | int | None, float | None]] = [
        (words.respondents, found.respondents, None)]
    for position, result in enumerate(found.questions, start=1):
        lines.append((f"{position}. {result.question.text}", result.respondents,
                      exports.share(result.respondents, found.respondents)))
        lines += [(f"    {option}", n, exports.share(n, result.respondents))
                  for option, n in zip(result.question.options, result.counts, strict=True)]
        if result.question.allow_other:
            lines.append((f"    {words.other}", result.other,
                          exports.share(result.other, result.respondents)))
    book = exports.Workbook(title=words.title)
    book.summary(words.summary_name, lines, headers=words.summary_headers)
    book.sheet(words.answers_name, heading, table, order=2)
    data = book.save()
    async with write(session):
        audit.record(session, clock=clock, actor_id=access.user_id, action="poll.export",
                     community_id=poll.community_id, poll_id=poll_id)
    return data


async def close_due(session: AsyncSession, *, clock: Clock, notify: Notify | None = None,
                    limit: int = 20) -> list[int]:
    """Close polls whose time has passed; send the chart to the audience when asked (else
    to those who answered), and to the author always. Safe to run twice or late: each poll
    is closed once."""
    now = clock.now()
    due = [int(i or 0) for i in (await session.execute(select(col(Poll.id)).where(
        col(Poll.closed_at).is_(None), col(Poll.closes_at) <= now)
        .order_by(col(Poll.closes_at)).limit(limit))).scalars()]
    await session.commit()
    closed: list[int] = []
    for poll_id in due:
        async with write(session):
            if await _close_one(session, clock=clock, poll_id=poll_id, now=now, notify=notify):
                closed.append(poll_id)
    return closed


def reminder_due_at(poll: Poll) -> datetime:
    """When those who have not answered are reminded: a day before the poll closes, or
    halfway through a shorter poll (never right after the invitation)."""
    return max(poll.closes_at - REMIND_BEFORE,
               poll.created_at + (poll.closes_at - poll.created_at) / 2)


async def remind_due(session: AsyncSession, *, clock: Clock, buttons: Buttons | None = None,
                     notify: Notify | None = None, limit: int = 20) -> list[int]:
    """Remind, once, everyone a poll was put to who has not answered it yet. Safe to run
    twice, late, or on several replicas at once: each poll is claimed by one run."""
    now = clock.now()
    candidates = (await session.execute(select(Poll).where(
        col(Poll.closed_at).is_(None), col(Poll.reminded_at).is_(None),
        col(Poll.closes_at) > now, col(Poll.closes_at) <= now + REMIND_BEFORE)
        .order_by(col(Poll.closes_at)))).scalars().all()
    due = [p.id or 0 for p in candidates if reminder_due_at(p) <= now][:limit]
    await session.commit()
    reminded: list[int] = []
    for poll_id in due:
        async with write(session):
            if await _remind_one(session, clock=clock, poll_id=poll_id, now=now,
                                 buttons=buttons, notify=notify):
                reminded.append(poll_id)
    return reminded


async def _remind_one(session: AsyncSession, *, clock: Clock, poll_id: int, now: datetime,
                      buttons: Buttons | None, notify: Notify | None) -> bool:
    """Claim one poll's reminder and queue it (inside `write`); False when another run was
    first or the poll closed meanwhile."""
    claimed = await session.execute(
        update(Poll).where(col(Poll.id) == poll_id, col(Poll.reminded_at).is_(None),
                           col(Poll.closed_at).is_(None))
        .values(reminded_at=now).execution_options(synchronize_session=False))
    if cast(CursorResult[Any], claimed).rowcount != 1:
        return False
    poll = (await session.execute(select(Poll).where(col(Poll.id) == poll_id)
                                  .execution_options(populate_existing=True))).scalar_one()
    audience = list((await session.execute(audience_query(
        poll.community_id, Audience.from_json(poll.audience)))).scalars())
    answered = set((await session.execute(select(col(PollAnswer.user_id)).where(
        col(PollAnswer.poll_id) == poll_id).distinct())).scalars())
    waiting = [uid for uid in audience if uid not in answered]
    community = await session.get(Community, poll.community_id)
    closes = outbox.moment(poll.closes_at, community.timezone if community else "UTC")
    await outbox.queue_many(session, clock=clock, notify=notify, rows=(
        outbox.Outgoing(user_id=uid, kind=OutboxKind.ANNOUNCEMENT, key=REMINDER_KEY,
                        params={"title": poll.title, "closes": closes},
                        keyboard=buttons.invite(poll_id) if buttons else None,
                        group=f"poll:{poll_id}", dedupe_key=f"poll:{poll_id}:remind:{uid}")
        for uid in waiting))
    audit.record(session, clock=clock, actor_id=None, action="poll.reminded",
                 community_id=poll.community_id, poll_id=poll_id, sent_to=len(waiting))
    return True


async def _close_one(session: AsyncSession, *, clock: Clock, poll_id: int, now: datetime,
                     notify: Notify | None) -> bool:
    """Close one due poll and queue its chart (inside `write`); False when another run
    closed it first."""
    claimed = await session.execute(
        update(Poll).where(col(Poll.id) == poll_id, col(Poll.closed_at).is_(None))
        .values(closed_at=now).execution_options(synchronize_session=False))
    if cast(CursorResult[Any], claimed).rowcount != 1:
        return False
    poll = (await session.execute(select(Poll).where(col(Poll.id) == poll_id)
                                  .execution_options(populate_existing=True))).scalar_one()
    found = await results(session, poll=poll)
    blob_id = await outbox.add_file(session, clock=clock, filename=f"poll-{poll_id}.png",
                                    data=chart(found))
    community = await session.get(Community, poll.community_id)
    params = {"title": poll.title, "count": found.respondents,
              "community": community.name if community else ""}
    rows: list[outbox.Outgoing] = []
    audience: list[int] = []
    if poll.send_results:
        audience = list((await session.execute(audience_query(
            poll.community_id, Audience.from_json(poll.audience)))).scalars())
    else:  # those who answered always see what came of it
        audience = list((await session.execute(select(col(PollAnswer.user_id)).where(
            col(PollAnswer.poll_id) == poll_id).distinct().order_by(
            col(PollAnswer.user_id)))).scalars())
    if audience:
        rows += [outbox.Outgoing(
            user_id=uid, kind=OutboxKind.ANNOUNCEMENT, key=RESULTS_KEY, params=params,
            media=MediaKind.PHOTO, blob_id=blob_id, group=f"poll:{poll_id}",
            dedupe_key=f"poll:{poll_id}:results:{uid}") for uid in audience]
    if poll.created_by is not None and poll.created_by not in audience:
        rows.append(outbox.Outgoing(
            user_id=poll.created_by, kind=OutboxKind.STATUS, key=CLOSED_KEY, params=params,
            media=MediaKind.PHOTO, blob_id=blob_id,
            dedupe_key=f"poll:{poll_id}:closed:{poll.created_by}"))
    await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)
    audit.record(session, clock=clock, actor_id=None, action="poll.closed",
                 community_id=poll.community_id, poll_id=poll_id,
                 respondents=found.respondents, sent_to=len(audience))
    return True


def tally(found: Results) -> list[dict[str, int]]:
    """The counts as plain dicts per question (option text → people), "other" included."""
    out = []
    for result in found.questions:
        counts = Counter(dict(zip(result.question.options, result.counts, strict=True)))
        if result.question.allow_other:
            counts[CHART_OTHER] = result.other
        out.append(dict(counts))
    return out


# --- Privacy --------------------------------------------------------------------------


async def erase_answers(session: AsyncSession, user_id: int, _now: datetime) -> None:
    """/deleteme: blank "other" texts (the choices stay, anonymous, for the counts)."""
    await session.execute(
        update(PollAnswer).where(col(PollAnswer.user_id) == user_id,
                                 col(PollAnswer.other_text).is_not(None))
        .values(other_text="").execution_options(synchronize_session=False))

