"""Polls: who may answer, changing answers, counting people, closing with the clock."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from models.communities import Community, Grid
from models.outbox import OutboxFile, OutboxMessage
from models.polls import PollAnswer
from models.users import Role, User
from scheduler.polls import polls_close
from services import polls, privacy
from services.access import Access
from services.broadcasts import Audience
from services.clock import ManualClock
from services.errors import InvalidInput, NotAllowed
from services.polls import QuestionDraft
from tests.factories import grant, make_community, make_user

QUESTIONS = [
    QuestionDraft("Where should the bench go?", ["By the gate", "Under the tree"],
                  allow_other=True),
    QuestionDraft("What else do we need?", ["Lights", "Shade", "Plants"], multiple=True),
]


async def setup(session: AsyncSession,
                clock: ManualClock) -> tuple[list[User], Community, Access]:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    grids = (await session.execute(select(Grid).order_by(col(Grid.id)))).scalars().all()
    people = []
    for i, grid in enumerate([grids[0], grids[0], grids[1], None]):
        user = await make_user(session, clock, name=f"R{i}", community=sunny)
        user.grid_id = grid.id if grid else None
        session.add(user)
        people.append(user)
    await session.commit()
    staff = await grant(session, clock, await make_user(session, clock, name="Wang",
                                                        community=sunny), Role.STAFF, sunny)
    return people, sunny, staff


async def test_answers_count_people_per_option_overall_and_per_grid(
    session: AsyncSession, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    people, sunny, staff = await setup(session, clock)
    poll = await polls.create_poll(
        session, access=staff, clock=clock, community_id=sunny.id or 0,
        title="The little square", questions=QUESTIONS, audience=Audience("all"),
        closes_at=clock.now() + timedelta(days=3), send_results=True)
    assert poll.id is not None
    await session.commit()
    invites = (await session.execute(select(OutboxMessage))).scalars().all()
    assert len(invites) == 5 and {m.key for m in invites} == {polls.INVITE_KEY}

    a, b, c, d = people
    await polls.answer(session, clock=clock, user=a, poll_id=poll.id, position=0, option=0)
    await polls.answer(session, clock=clock, user=a, poll_id=poll.id, position=0, option=1)
    await polls.answer(session, clock=clock, user=b, poll_id=poll.id, position=0, option=1)
    await polls.answer(session, clock=clock, user=c, poll_id=poll.id, position=0,
                       other_text="Near the school")
    for option, on in ((0, True), (1, True), (2, True), (2, True), (2, False)):
        # Plants on, on again (a double tap: still on), then off
        await polls.answer(session, clock=clock, user=a, poll_id=poll.id, position=1,
                           option=option, on=on)
    await polls.answer(session, clock=clock, user=d, poll_id=poll.id, position=1, option=0)
    with pytest.raises(NotAllowed):  # no "other" on the second question
        await polls.answer(session, clock=clock, user=d, poll_id=poll.id, position=1,
                           other_text="x")

    found = await polls.results(session, poll=poll)
    first, second = found.questions
    assert (first.counts, first.other, first.respondents) == ([0, 2], 1, 3)
    assert (second.counts, second.respondents) == ([2, 1, 0], 2)
    assert found.respondents == 4
    assert first.by_grid == {"Block 1": [0, 2, 0], "Block 2": [0, 0, 1]}
    assert second.by_grid == {"Block 1": [1, 1, 0, 0], None: [1, 0, 0, 0]}
    assert polls.tally(found)[0] == {"By the gate": 0, "Under the tree": 2,
                                     polls.CHART_OTHER: 1}
    assert polls.chart(found, by_grid=True).startswith(b"\x89PNG")

    book = load_workbook(io.BytesIO(await polls.export_xlsx(
        session, access=staff, clock=clock, poll_id=poll.id, words=polls.ExportWords(
            title="Bench", summary_name="Sum", answers_name="All", respondent="#",
            grid="Grid", answered="When", other="Other", respondents="Answered",
            summary_headers=("", "People", "%")))))
    assert book.sheetnames == ["Sum", "All"]
    table = [list(r) for r in book["All"].iter_rows(values_only=True)]
    assert table[0][0] == "Bench"
    assert table[1][:4] == ["#", "Grid", "When", "Where should the bench go?"]
    assert [row[3:6] for row in table[2:]] == [
        ["Under the tree", None, "Lights; Shade"], ["Under the tree", None, None],
        [None, "Near the school", None], [None, None, "Lights"]]

    # Closing: answers stop, the chart goes to the audience once, however often the sweep runs.
    clock.advance(days=3)
    with pytest.raises(polls.PollClosed):
        await polls.answer(session, clock=clock, user=b, poll_id=poll.id, position=0, option=0)
    await polls_close(sessionmaker=sessionmaker, clock=clock, notify=lambda: None,
                      keyboards=OUTBOX_KEYBOARDS)
    await polls_close(sessionmaker=sessionmaker, clock=clock, notify=lambda: None,
                      keyboards=OUTBOX_KEYBOARDS)
    await session.commit()
    results = (await session.execute(select(OutboxMessage).where(
        col(OutboxMessage.key) == polls.RESULTS_KEY))).scalars().all()
    assert len(results) == 5 and {m.media for m in results} == {"photo"}
    assert len((await session.execute(select(OutboxFile))).scalars().all()) == 1
    await session.refresh(poll)
    assert poll.closed_at == clock.now()

    await privacy.erase_user(session, user=c, clock=clock)
    found = await polls.results(session, poll=poll)
    assert found.questions[0].other == 1  # the count stays, the words are gone


async def test_only_the_audience_may_answer_and_bad_polls_are_refused(
    session: AsyncSession, clock: ManualClock
) -> None:
    people, sunny, staff = await setup(session, clock)
    grid_one = people[0].grid_id
    assert grid_one is not None
    other = await make_community(session, clock, "Other")
    outsider = await grant(session, clock, await make_user(session, clock, community=other),
                           Role.STAFF, other)
    closes = clock.now() + timedelta(days=1)
    with pytest.raises(NotAllowed):
        await polls.create_poll(session, access=outsider, clock=clock,
                                community_id=sunny.id or 0,
                                title="x", questions=QUESTIONS, audience=Audience("all"),
                                closes_at=closes)
    with pytest.raises(InvalidInput):
        await polls.create_poll(session, access=staff, clock=clock,
                                community_id=sunny.id or 0,
                                title="x", questions=QUESTIONS, audience=Audience("all"),
                                closes_at=clock.now())
    with pytest.raises(InvalidInput):
        polls.parse_options("only one")
    poll = await polls.create_poll(
        session, access=staff, clock=clock, community_id=sunny.id or 0,
        title="Block 1 only", questions=QUESTIONS[:1],
        audience=Audience("grids", (grid_one,)), closes_at=closes)
    assert poll.id is not None
    with pytest.raises(polls.NotInAudience):
        await polls.answer(session, clock=clock, user=people[2], poll_id=poll.id, position=0,
                           option=0)
    assert [p.id for p in await polls.open_for(session, clock=clock, user=people[0])] == [poll.id]
    assert await polls.open_for(session, clock=clock, user=people[2]) == []
    await polls.close_now(session, access=staff, clock=clock, poll_id=poll.id)
    with pytest.raises(polls.PollClosed):
        await polls.answer(session, clock=clock, user=people[0], poll_id=poll.id, position=0,
                           option=0)


# --- What the screens may offer (each flag beside its rule) ---------------------------------


async def test_a_question_offers_other_back_and_next_as_the_service_says(
    session: AsyncSession, clock: ManualClock
) -> None:
    people, sunny, staff = await setup(session, clock)
    poll = await polls.create_poll(
        session, access=staff, clock=clock, community_id=sunny.id or 0, title="Square",
        questions=QUESTIONS, audience=Audience("all"), closes_at=clock.now() + timedelta(days=1))
    assert poll.id is not None
    ann = people[0]
    first = await polls.question_view(session, poll=poll, user_id=ann.id or 0, position=0)
    assert first is not None
    # single choice, not answered yet: no Next (a tap moves on by itself), no Back
    assert (first.can_write_other, first.can_go_back, first.can_go_on, first.is_last) == (
        True, False, False, False)
    await polls.answer(session, clock=clock, user=ann, poll_id=poll.id, position=0, option=1)
    first = await polls.question_view(session, poll=poll, user_id=ann.id or 0, position=0)
    assert first is not None and first.can_go_on and first.chosen == {1}
    second = await polls.question_view(session, poll=poll, user_id=ann.id or 0, position=1)
    assert second is not None  # multiple choice: Next from the start; no "other" here
    assert (second.can_write_other, second.can_go_back, second.can_go_on, second.is_last) == (
        False, True, True, True)
    with pytest.raises(NotAllowed):  # the rule agrees with the missing button
        await polls.answer(session, clock=clock, user=ann, poll_id=poll.id, position=1,
                           other_text="x")
    assert await polls.question_view(session, poll=poll, user_id=ann.id or 0,
                                     position=2) is None


async def test_staff_may_close_only_an_open_poll_and_always_see_and_export_results(
    session: AsyncSession, clock: ManualClock
) -> None:
    _people, sunny, staff = await setup(session, clock)
    poll = await polls.create_poll(
        session, access=staff, clock=clock, community_id=sunny.id or 0, title="Square",
        questions=QUESTIONS, audience=Audience("all"), closes_at=clock.now() + timedelta(days=1))
    assert poll.id is not None
    view = await polls.staff_view(session, access=staff, clock=clock, poll_id=poll.id)
    assert (view.is_open, view.can_close, view.can_export, view.shows_results) == (
        True, True, True, True)
    await polls.close_now(session, access=staff, clock=clock, poll_id=poll.id)
    view = await polls.staff_view(session, access=staff, clock=clock, poll_id=poll.id)
    assert (view.is_open, view.can_close, view.can_export, view.shows_results) == (
        False, False, True, True)
    with pytest.raises(polls.PollClosed):
        await polls.close_now(session, access=staff, clock=clock, poll_id=poll.id)
    other = await make_community(session, clock, "Other")
    outsider = await grant(session, clock, await make_user(session, clock, community=other),
                           Role.STAFF, other)
    with pytest.raises(NotAllowed):
        await polls.staff_view(session, access=outsider, clock=clock, poll_id=poll.id)


async def test_an_other_answer_is_measured_as_telegram_counts_it(
    session: AsyncSession, clock: ManualClock
) -> None:
    """300 is the limit in UTF-16 units: 151 emoji are 302 of them, not 151."""
    people, sunny, staff = await setup(session, clock)
    poll = await polls.create_poll(
        session, access=staff, clock=clock, community_id=sunny.id or 0, title="Square",
        questions=QUESTIONS, audience=Audience("all"), closes_at=clock.now() + timedelta(days=1))
    assert poll.id is not None
    with pytest.raises(InvalidInput) as error:
        await polls.answer(session, clock=clock, user=people[0], poll_id=poll.id, position=0,
                           other_text="🌳" * 151)
    assert (error.value.reason, error.value.limit) == ("too_long", 300)
    saved = await polls.answer(session, clock=clock, user=people[0], poll_id=poll.id,
                               position=0, other_text="🌳" * 150)
    assert saved.other_text == "🌳" * 150


async def test_a_poll_closes_no_later_than_the_service_allows(
    session: AsyncSession, clock: ManualClock
) -> None:
    _people, sunny, staff = await setup(session, clock)
    with pytest.raises(InvalidInput) as error:
        await polls.create_poll(
            session, access=staff, clock=clock, community_id=sunny.id or 0, title="Far",
            questions=QUESTIONS, audience=Audience("all"),
            closes_at=clock.now() + timedelta(days=polls.OPEN_DAYS_MAX + 2))
    assert error.value.reason == "too_far"
    poll = await polls.create_poll(
        session, access=staff, clock=clock, community_id=sunny.id or 0, title="Far",
        questions=QUESTIONS, audience=Audience("all"),
        closes_at=clock.now() + timedelta(days=polls.OPEN_DAYS_MAX))
    assert poll.id is not None


async def test_one_person_tapping_one_choice_twenty_times_at_once_gets_one_answer(
    session: AsyncSession, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    people, sunny, staff = await setup(session, clock)
    poll = await polls.create_poll(
        session, access=staff, clock=clock, community_id=sunny.id or 0,
        title="The little square", questions=QUESTIONS, audience=Audience("all"),
        closes_at=clock.now() + timedelta(days=3), send_results=False)
    await session.commit()
    tapper = people[0]

    async def tap(position: int, option: int) -> None:
        async with sessionmaker() as own:
            await polls.answer(own, clock=clock, user=tapper, poll_id=poll.id or 0,
                               position=position, option=option)

    # Single choice: the same tap twenty times; multiple choice: the same "tick it" tap
    # twenty times (a button says whether it ticks or unticks).
    outcomes = await asyncio.gather(*(tap(0, 1) for _ in range(20)),
                                    *(tap(1, 2) for _ in range(20)), return_exceptions=True)
    assert [o for o in outcomes if o is not None] == []
    rows = (await session.execute(select(PollAnswer).where(
        col(PollAnswer.user_id) == tapper.id).order_by(col(PollAnswer.question_id))
        .execution_options(populate_existing=True))).scalars().all()
    assert [row.choices for row in rows] == [[1], [2]]  # twenty ticks are one tick
