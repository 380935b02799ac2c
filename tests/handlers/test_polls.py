"""Polls through the chat: staff publish, residents answer, chart and Excel, refusals."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from bot.callback_data.voices import PollOpenCb, PollPickCb, PollStaffAction, PollStaffCb
from bot.keyboards.dates import DayCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.when import say_day
from handlers.voices import poll_staff
from handlers.voices import polls as poll_answering
from models.polls import (
    OPTION_MAX,
    OPTIONS_MAX,
    OTHER_MAX,
    QUESTION_MAX,
    QUESTIONS_MAX,
    TITLE_MAX,
    Poll,
    PollQuestion,
)
from models.users import Role
from scheduler.jobs import run_sweeps
from scheduler.outbox import OutboxSender
from services import polls
from services.clock import ManualClock
from tests.factories import grant, make_community
from tests.handlers.conftest import ADMIN_TG_ID, Harness, Person, onboard, rows, user_of
from tests.handlers.fitting import assert_accepted, english, texts
from tests.handlers.test_broadcasts import resident, sender
from tests.handlers.test_concerns import double_tap, staff_member
from tests.scheduler.conftest import settled, wait_until

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
__all__ = ["sender"]


def in_days(person: Person, days: int) -> str:
    """The day picker's label for the day `days` from today (in the community's zone,
    tests.factories.make_community's)."""
    today = person.harness.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    return say_day(today + timedelta(days=days), today=today, locale="en")


async def compose(staff: Person, *, grids: list[str] | None = None, share: bool = True) -> None:
    await staff.tap("💬 My voice")
    await staff.press("📊 Run polls")
    await staff.press("➕ New poll")
    await staff.send("The little square")
    await staff.send("Where should the new bench go?")
    await staff.send("only one")
    assert staff.last == "Please give at least 2 choices, one per line."
    await staff.send("By the gate\nUnder the tree")
    await staff.press("✍️ “Something else”: off")
    assert "✍️ “Something else”: on" in staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await staff.press("➕ Add a question")
    await staff.send("What else is missing?")
    await staff.send("Lights\nShade\nPlants")
    await staff.press("🔘 One answer only")
    await staff.press("Next ▶")
    if grids:
        await staff.press("🏘 Choose grids")
        for grid in grids:
            await staff.press("▫️ " + grid)
        await staff.press("Done")
    else:
        await staff.press("👥 Everyone")
    await staff.press(in_days(staff, 3))  # the shared day picker: it closes that evening
    assert "It will go to" in staff.last
    if share:
        await staff.press("📊 Send everyone the chart at the end: no")  # now yes
    await staff.press("✅ Publish")
    assert staff.last.startswith("✅ Poll #1 is out.")


async def test_staff_publish_residents_answer_staff_see_chart_and_excel(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    ann = await resident(harness, 5001, "Block 1")
    bob = await resident(harness, 5002, "Block 2", "zh")
    staff = await staff_member(harness, session, clock, sunny)
    await compose(staff)
    await wait_until(settled(sessionmaker))
    # Whom it is from, named (issue 16): the community, in each reader's language.
    assert ann.last.startswith("🗳 A new poll from Sunny Court: “The little square”")
    assert bob.last.startswith("🗳 Sunny Court发来新问卷：“The little square”")

    await ann.press("🗳 Answer")
    assert "Question 1 of 2" in ann.last
    await ann.press("By the gate")  # one answer: moves on by itself
    assert "Question 2 of 2" in ann.last
    await ann.press("⬜ Lights")
    await ann.press("⬜ Shade")
    await ann.press("✅ Shade")  # changed her mind
    await ann.press("✅ Finish")
    assert ann.last.startswith("✅ Thank you! Your answers are saved.")
    await ann.press("✏️ Change my answers")
    await ann.press("✍️ Something else (write it)")
    await ann.send("By the school")
    assert "Question 2 of 2" in ann.last

    await bob.press("🗳 去回答")
    await bob.press("Under the tree")
    await bob.press("⬜ Lights")

    await staff.tap("💬 My voice")
    await staff.press("📊 Run polls")
    await staff.press("🟢 The little square")
    assert "2 people answered" in staff.last
    await staff.press("📊 Chart")
    chart = staff.handle.last_bot_message
    assert chart is not None and chart.photo is not None
    png = harness.emulator.state.files[chart.photo].data
    assert png.startswith(b"\x89PNG")
    assert "By the gate: 0" in chart.content and "Under the tree: 1" in chart.content
    assert "Something else: 1" in chart.content and "Lights: 2" in chart.content
    await staff.press("📥 Excel")
    document = staff.handle.last_bot_message
    assert document is not None and document.document is not None
    book = load_workbook(io.BytesIO(harness.emulator.state.files[document.document].data))
    assert book.sheetnames == ["Summary", "Answers"]
    sheet = book["Answers"]
    assert sheet["A1"].value == "Poll “The little square” · Sunny Court"
    assert all(c.font.bold for c in sheet[2]) and sheet.freeze_panes == "A3"
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[1][:3] == ["No.", "Grid", "Answered at"]
    assert [r[:2] for r in rows[2:]] == [[1, "Block 1"], [2, "Block 2"]]  # in time order
    assert rows[2][2] < rows[3][2]
    assert [r[3:6] for r in rows[2:]] == [[None, "By the school", "Lights"],
                                          ["Under the tree", None, "Lights"]]
    summary = [list(r) for r in book["Summary"].iter_rows(min_row=2, values_only=True)]
    assert summary[0] == [None, "People", "Share"]
    assert summary[1] == ["People who answered", 2, None]
    assert ["    Lights", 2, 1] in summary and ["    Something else", 1, 0.5] in summary

    await session.commit()
    poll = (await session.execute(select(Poll))).scalar_one()
    tally = polls.tally(await polls.results(session, poll=poll))
    assert tally[1] == {"Lights": 2, "Shade": 0, "Plants": 0}

    # Closed: answering is refused and nothing changes.
    await staff.press("🔒 Close it now")
    await staff.press("Yes, close it now")  # asked once
    await bob.press("⬜ Shade")
    assert bob.alerts[-1] == "这个问卷已经截止了，谢谢您的关心！"
    assert polls.tally(await polls.results(session, poll=poll))[1]["Shade"] == 0


async def test_polls_refuse_forged_buttons_and_people_outside_the_audience(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    ann = await resident(harness, 5011, "Block 1")
    bob = await resident(harness, 5012, "Block 2")
    staff = await staff_member(harness, session, clock, sunny)
    await compose(staff, grids=["Block 1"])
    assert await bob.forge(PollOpenCb(poll_id=1).pack()) == \
        "This poll is not for you."
    assert await bob.forge(PollPickCb(poll_id=1, position=0, option=0).pack()) == \
        "This poll is not for you."
    assert await ann.forge(PollPickCb(poll_id=1, position=0, option=7).pack()) == \
        "This button is out of date."
    for action in (PollStaffAction.CHART, PollStaffAction.EXCEL, PollStaffAction.CLOSE):
        assert await ann.forge(PollStaffCb(action=action, poll_id=1).pack()) == \
            "You can't do that here. Only staff of this community can."
    await session.commit()  # end the test's read before it writes
    other = await make_community(session, clock, "Other")
    outsider = await staff_member(harness, session, clock, other, tg_id=5019)
    assert await outsider.forge(PollStaffCb(action=PollStaffAction.CHART, poll_id=1).pack()) == \
        "You can't do that here. Only staff of this community can."
    await session.commit()
    poll = (await session.execute(select(Poll))).scalar_one()
    assert poll.closed_at is None
    assert polls.tally(await polls.results(session, poll=poll))[0]["By the gate"] == 0


async def test_a_forged_view_poll_is_refused_in_words(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    ann = await resident(harness, 5041, "Block 1")
    staff = await staff_member(harness, session, clock, sunny)
    await compose(staff)
    assert await ann.forge(PollStaffCb(action=PollStaffAction.VIEW, poll_id=1).pack()) == \
        "You can't do that here. Only staff of this community can."
    assert "The little square" not in ann.last


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=texts(TITLE_MAX), question=texts(QUESTION_MAX),
       options=st.lists(texts(OPTION_MAX), min_size=2, max_size=OPTIONS_MAX),
       other=st.one_of(st.none(), texts(OTHER_MAX)), questions=st.integers(1, QUESTIONS_MAX),
       count=st.integers(0, 10**6))
def test_every_poll_view_fits_whatever_was_written(
    title: str, question: str, options: list[str], other: str | None, questions: int,
    count: int,
) -> None:
    """The question an answerer sees, staff's counts (as text and as the chart's caption)
    and the preview before publishing, from maximal and emoji-heavy words."""
    poll = Poll(id=10**9, community_id=1, title=title, closes_at=EPOCH, created_at=EPOCH)
    asked = [PollQuestion(id=n, poll_id=10**9, position=n, text=question, options=options,
                          multiple=n % 2 == 1, allow_other=True) for n in range(questions)]
    view = polls.QuestionView(poll=poll, question=asked[0], position=0, total=questions,
                              chosen=frozenset({0}), other_text=other, can_write_other=True,
                              can_go_back=False, can_go_on=True, is_last=questions == 1)
    found = polls.Results(poll=poll, respondents=count, questions=[
        polls.QuestionResult(question=q, counts=[count] * len(options), other=count)
        for q in asked])
    draft = poll_staff.PollDraft(community_id=1, title=title, questions=[
        polls.QuestionDraft(text=question, options=options, allow_other=True)] * questions,
        audience={"kind": "all", "ids": []}, closes_at=EPOCH)
    with english():
        assert_accepted(poll_answering.question_text(view))
        assert_accepted(poll_staff.counts_text(found))
        assert_accepted(poll_staff.counts_text(found), caption=True)
        assert_accepted(poll_staff.preview_text(draft, count=count, closes="Sat 5 Dec, 8:00 pm"))


async def test_the_closing_day_is_the_one_shown_and_as_far_as_the_service_allows(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    """The day picker's days are absolute: picked at 23:50, published after midnight, the
    poll closes on the evening shown. A day past what the service allows is refused."""
    sunny = await make_community(session, clock, "Sunny Court")
    staff = await staff_member(harness, session, clock, sunny)
    zone = ZoneInfo("Asia/Shanghai")
    local = clock.now().astimezone(zone)
    clock.advance(seconds=(local.replace(hour=23, minute=45, second=0) - local).total_seconds()
                  % 86400)
    await staff.tap("💬 My voice")
    await staff.press("📊 Run polls")
    await staff.press("➕ New poll")
    await staff.send("Bench")
    await staff.send("Where?")
    await staff.send("Gate\nTree")
    await staff.press("Next ▶")
    await staff.press("👥 Everyone")
    picked_on = clock.now().astimezone(zone).date()
    too_far = picked_on + timedelta(days=polls.OPEN_DAYS_MAX + 1)
    assert await staff.forge(DayCb(day=too_far.toordinal()).pack()) == \
        "This button is out of date."
    await staff.press(in_days(staff, 2))
    clock.advance(minutes=30)  # past midnight
    assert clock.now().astimezone(zone).date() > picked_on
    await staff.press("✅ Publish")
    await session.commit()
    poll = (await session.execute(select(Poll))).scalar_one()
    assert poll.closes_at.astimezone(zone).replace(tzinfo=None) == datetime.combine(
        picked_on + timedelta(days=2), datetime.min.time()).replace(hour=20)


async def test_a_double_tapped_choice_is_ticked_once_not_ticked_and_unticked(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5061, None)
    staff = await staff_member(harness, session, clock, sunny)
    await compose(staff)
    await wait_until(settled(sessionmaker))
    await ann.press("🗳 Answer")
    await ann.press("By the gate")
    await double_tap(ann, "⬜ Lights")  # both presses say "tick it"
    assert "✅ Lights" in ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await double_tap(ann, "✅ Lights")  # both say "untick it"
    assert "⬜ Lights" in ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await double_tap(ann, "⬜ Shade")
    await session.commit()
    poll = (await session.execute(select(Poll))).scalar_one()
    assert polls.tally(await polls.results(session, poll=poll))[1] == {
        "Lights": 0, "Shade": 1, "Plants": 0}


async def test_staff_of_two_communities_run_a_poll_for_the_second_with_its_grids(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    shady = await make_community(session, clock, "Shady Lane", grids=("East", "West"))
    liu, mei = harness.person(5071, "Liu"), harness.person(5072, "Mei")
    await onboard(liu, "Sunny Court", "Block 1")
    await onboard(mei, "Shady Lane", "East")
    for community in (sunny, shady):
        await grant(session, clock, await user_of(session, liu), Role.STAFF, community)
    await liu.send("/menu")
    await liu.tap("💬 My voice")
    await liu.press("📊 Run polls")
    assert "You serve 2 communities." in liu.last
    await liu.press("Shady Lane")
    await liu.press("➕ New poll")
    await liu.send("The pond")
    await liu.send("Fish or ducks?")
    await liu.send("Fish\nDucks")
    await liu.press("Next ▶")
    await liu.press("🏘 Choose grids")
    labels = liu.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "▫️ East" in labels and "▫️ West" in labels and "▫️ Block 1" not in labels
    await liu.press("▫️ East")
    await liu.press("Done")
    await liu.press(in_days(liu, 3))
    await liu.press("✅ Publish")
    polls_made = await rows(session, Poll)
    assert [p.community_id for p in polls_made] == [shady.id]
    await wait_until(settled(sessionmaker))
    assert mei.last.startswith("🗳 A new poll from Shady Lane: “The pond”")


async def test_an_admin_with_no_home_community_runs_polls_anywhere(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    await make_community(session, clock, "Sunny Court")
    await make_community(session, clock, "Shady Lane")
    admin = harness.person(ADMIN_TG_ID, "Zhou", "en")
    await onboard(admin)
    await admin.tap("💬 My voice")
    await admin.press("📊 Run polls")
    await admin.press("Shady Lane")
    assert admin.last == "📊 Polls (🟢 open, 🔒 closed):"
    await admin.press("➕ New poll")
    assert admin.alerts[-1] != "You can't do that here. Only staff of this community can."


async def test_one_reminder_before_the_deadline_and_the_chart_to_those_who_answered(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5081, None)
    bob = await resident(harness, 5082, None, "zh")
    staff = await staff_member(harness, session, clock, sunny)
    await compose(staff, share=False)  # "send everyone the chart at the end": no
    await wait_until(settled(sessionmaker))
    await ann.press("🗳 Answer")
    await ann.press("By the gate")
    await ann.press("⬜ Lights")
    await ann.press("✅ Finish")
    invited = len(bob.texts)

    async def sweep() -> None:
        await run_sweeps(sessionmaker=sessionmaker, clock=clock, notify=sender.kick,
                         keyboards=OUTBOX_KEYBOARDS)
        await wait_until(settled(sessionmaker))

    (poll,) = await rows(session, Poll)
    clock.advance(seconds=(poll.closes_at - clock.now()).total_seconds() - 25 * 3600)
    await sweep()
    assert len(bob.texts) == invited  # more than a day to go: no reminder yet
    clock.advance(minutes=90)  # 20:30: it closes tomorrow at 20:00 (and no quiet hours yet)
    await sweep()
    await sweep()  # safe to run twice: still one reminder
    reminders = [t for t in bob.texts[invited:] if t.startswith("⏰")]
    assert len(reminders) == 1 and "The little square" in reminders[0]
    assert "明天" in reminders[0]  # said in Bob's language, the day as people say it
    assert not [t for t in ann.texts if t.startswith("⏰")]  # she has answered
    await bob.press("🗳 去回答")  # the reminder's button opens the poll
    assert "Question 1 of 2" in bob.last or "第 1" in bob.last

    clock.advance(days=1)  # closed half an hour ago
    await sweep()
    await sweep()
    chart = ann.handle.last_bot_message
    assert chart is not None and chart.photo is not None
    assert ann.last.startswith(
        "📊 Results of the poll “The little square” · Sunny Court. People who answered: 1.")
    assert not [t for t in bob.texts if t.startswith("📊")]  # he did not answer


async def test_the_poll_workbook_in_chinese_has_a_summary_and_answers_in_time_order(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    """Issue 16: a title row, a bold frozen header, a summary with totals and shares, sheet
    and column names in the reader's language, rows in the order people answered."""
    home = await make_community(session, clock, "幸福社区", grids=("第一网格", "第二网格"))
    staff = harness.person(5000, "刘", "zh")
    await onboard(staff, "幸福社区", "第一网格")
    access = await grant(session, clock, await user_of(session, staff), Role.STAFF, home)
    first = harness.person(2001, "A", "zh")
    second = harness.person(2002, "B", "zh")
    await onboard(first, "幸福社区", "第一网格")
    await onboard(second, "幸福社区", "第二网格")
    poll = await polls.create_poll(
        session, access=access, clock=clock, community_id=home.id or 0, title="小广场",
        questions=[polls.QuestionDraft("长椅放哪里？", ["门口", "树下"], allow_other=True)],
        audience=polls.Audience("all"), closes_at=clock.now() + timedelta(days=3))
    await session.commit()
    # The one who joined later answers first.
    for person, option in ((second, 1), (first, 0)):
        clock.advance(minutes=10)
        await polls.answer(session, clock=clock, user=await user_of(session, person),
                           poll_id=poll.id or 0, position=0, option=option)
    await session.commit()

    await staff.send("/menu")
    await staff.tap("💬 我要说")
    await staff.press("📊 发起问卷")
    await staff.press("🟢 小广场")
    await staff.press("📥 Excel 表格")
    document = staff.handle.last_bot_message
    assert document is not None and document.document is not None
    book = load_workbook(io.BytesIO(harness.emulator.state.files[document.document].data))
    assert book.sheetnames == ["汇总", "回答"]
    sheet = book["回答"]
    assert sheet["A1"].value == "问卷“小广场” · 幸福社区" and sheet["A1"].font.bold
    assert [c.value for c in sheet[2]] == ["序号", "网格", "回答时间", "长椅放哪里？",
                                          "长椅放哪里？ · 其他"]
    assert all(c.font.bold for c in sheet[2]) and sheet.freeze_panes == "A3"
    body = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert [(r[0], r[1], r[3]) for r in body] == [(1, "第二网格", "树下"), (2, "第一网格", "门口")]
    assert body[0][2] < body[1][2]
    assert sheet.column_dimensions["D"].width >= 2 * len("长椅放哪里？")
    summary = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    assert summary[0][0] == "问卷“小广场” · 幸福社区"
    assert summary[1] == [None, "人数", "占比"]
    assert summary[2:] == [["回答人数", 2, None], ["1. 长椅放哪里？", 2, 1],
                           ["    门口", 1, 0.5], ["    树下", 1, 0.5], ["    其他", 0, 0]]
