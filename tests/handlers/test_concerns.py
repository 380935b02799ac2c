"""Concerns and ideas through the chat: report with a photo, triage, updates, rating, refusals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bot.callback_data.voices import (
    OwnReportAction,
    OwnReportCb,
    RateCb,
    ReportGridCb,
    TriageAction,
    TriageCb,
    TriageStatusCb,
)
from emulator import ChatMessage
from handlers.voices import concern_staff
from handlers.voices import concerns as concerns_handlers
from models.audit import AuditEntry
from models.communities import Community
from models.users import Role, User
from models.voices import ANSWER_MAX, DESCRIPTION_MAX, Report, ReportCategory, ReportStatus
from scheduler.outbox import OutboxSender
from services.clock import ManualClock
from tests.factories import grant, make_community
from tests.handlers.conftest import (
    ADMIN_TG_ID,
    Harness,
    Person,
    member,
    onboard,
    rows,
    user_of,
)
from tests.handlers.fitting import assert_accepted, english, texts
from tests.handlers.test_broadcasts import resident, sender
from tests.scheduler.conftest import settled, wait_until

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
__all__ = ["sender"]  # the outbox sender fixture, shared with the announcement tests


async def staff_member(harness: Harness, session: AsyncSession, clock: ManualClock,
                       community: Community, tg_id: int = 5000) -> Person:
    staff = await resident(harness, tg_id, None)
    user = (await session.execute(select(User).where(col(User.tg_id) == tg_id))).scalar_one()
    await session.commit()  # end the read: the grant is a write transaction of its own
    await grant(session, clock, user, Role.STAFF, community)
    await staff.send("/menu")  # the keyboard follows the new role
    return staff


async def report_problem(person: Person, text: str) -> None:
    await person.tap("💬 My voice")
    await person.press("📝 Report a problem")
    await person.press("🔧 Facilities and repairs")
    await person.send(text)


async def test_report_with_photo_triaged_answered_and_rated(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    ann = await resident(harness, 5001, "Block 1")
    staff = await staff_member(harness, session, clock, sunny)
    assert "💬 My voice" in ann.menu

    await report_problem(ann, "   ")
    assert ann.last == "Please write a few words about it."
    await ann.send("x" * 1001)
    assert ann.last == "That is too long: at most 1000 characters. Please send it again."
    await ann.send("The light on the stairs of building 3 is broken")
    assert ann.last.startswith("📷 A photo helps.")
    await ann.handle.send_document(b"%PDF-1.4", "light.pdf", "application/pdf")
    await harness.settle()
    assert ann.last.startswith("That was sent as a file, not as a photo.")
    await ann.handle.send_photo(caption=None)
    await harness.settle()
    assert ann.last.startswith("📍 Are you where it is?")
    await ann.handle.send_location(31.23, 121.47)
    await harness.settle()
    assert ann.last == "Which part of the community is it in?"
    await ann.press("🏠 Block 1")
    assert "📷 with a photo" in ann.last and "📍 with your location" in ann.last
    await ann.press("✅ Send")
    assert ann.last.startswith("✅ Thank you! Your report #1 has gone to the community staff.")

    await wait_until(settled(sessionmaker))
    assert staff.last.startswith("📥 New report #1 · Sunny Court · Block 1:")
    await staff.press("🗂 Open the report")
    assert staff.last.startswith("#1 · 🔧 Facilities and repairs · 📥 Received\n"
                                 "🏘 Sunny Court · Block 1\nFrom: R5001")
    shown = staff.handle.last_bot_message
    assert shown is not None and shown.photo is not None  # staff see the photo…
    assert "From: R5001" in staff.last and "📍 The place is on the map above." in staff.last
    [pin] = [m for m in staff.handle.bot_messages if m.location]  # a map pin, not numbers
    assert pin.location == {"latitude": 31.23, "longitude": 121.47}
    await staff.press("👤 Give it to…")
    await staff.press("👤 R5000")
    assert staff.last == "Report #1 is now handled by R5000."
    await staff.tap("💬 My voice")
    await staff.press("🗂 Reports to handle")
    await staff.press("📥 #1 The light on the stairs of bu…")
    await staff.press("🔧 Being worked on")
    await wait_until(settled(sessionmaker))
    assert ann.last.startswith("🔧 Your report #1 is being worked on now.\n"
                               "🏘 Sunny Court · Block 1\n“The light")
    await staff.press("✅ Resolved")
    await staff.send("A new bulb was fitted on Tuesday.")
    assert staff.last == "Saved. The resident has been told."  # the card redrawn above
    await wait_until(settled(sessionmaker))
    assert ann.last.startswith("✅ Your report #1 has been resolved.\n🏘 Sunny Court · Block 1\n")
    assert "A new bulb was fitted on Tuesday." in ann.last
    await ann.press("4 ⭐")
    assert ann.last == "Thank you! You gave ⭐⭐⭐⭐."

    await ann.tap("💬 My voice")
    await ann.press("📋 My reports")
    await ann.press("✅ #1 The light on the stairs of bu…")
    assert "Status: ✅ Resolved" in ann.last and "Your rating: ⭐⭐⭐⭐" in ann.last

    await session.commit()
    report = (await session.execute(select(Report))).scalar_one()
    assert (report.status, report.rating, report.photo_file_id is not None) == (
        ReportStatus.RESOLVED, 4, True)
    actions = (await session.execute(select(col(AuditEntry.action)).where(
        col(AuditEntry.action).startswith("report.")))).scalars().all()
    assert actions == ["report.assign", "report.status", "report.status"]


async def test_forged_and_foreign_buttons_change_nothing(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5011, None)
    bob = await resident(harness, 5012, None)
    await report_problem(ann, "Broken bench")
    await ann.press("Skip ▶")
    await ann.send("Skip ▶")
    await ann.press("✅ Send")
    # Another resident can neither triage, withdraw nor rate Ann's report.
    for data in (TriageStatusCb(report_id=1, status=ReportStatus.IN_PROGRESS).pack(),
                 TriageCb(action=TriageAction.VIEW, report_id=1).pack()):
        assert await bob.forge(data) == \
            "You can't do that here. Only staff of this community can."
    for data in (OwnReportCb(action=OwnReportAction.WITHDRAW, report_id=1).pack(),
                 OwnReportCb(action=OwnReportAction.WITHDRAW_YES, report_id=1).pack(),
                 RateCb(report_id=1, stars=5).pack(),
                 OwnReportCb(action=OwnReportAction.VIEW, report_id=1).pack()):
        assert await bob.forge(data) == "This button is not for you."
    # Staff of another community can't touch it either.
    await session.commit()  # end the test's read before it writes
    other = await make_community(session, clock, "Other")
    outsider = await staff_member(harness, session, clock, other, tg_id=5019)
    assert await outsider.forge(TriageStatusCb(report_id=1,
                                               status=ReportStatus.DECLINED).pack()) == \
        "You can't do that here. Only staff of this community can."
    # Ann withdraws while it is still "received"; afterwards staff can't move it.
    await ann.tap("💬 My voice")
    await ann.press("📋 My reports")
    await ann.press("📥 #1 Broken bench")
    await ann.press("↩️ Withdraw it")
    await ann.press("Yes, withdraw it")  # asked once
    assert ann.alerts[-1] == "Withdrawn."
    await session.commit()
    report = (await session.execute(select(Report))).scalar_one()
    assert report.status == ReportStatus.WITHDRAWN
    assert sunny.id is not None


async def test_neighbours_back_an_idea_without_seeing_who_wrote_it(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5021, None)
    bob = await resident(harness, 5022, None)
    await ann.tap("💬 My voice")
    await ann.press("💡 Share an idea")
    await ann.send("An e-bike charging point by gate 2")  # an idea: its words, then ✅ Send
    await ann.press("✅ Send")
    await bob.tap("💬 My voice")
    await bob.press("👍 Neighbours' ideas")
    await bob.press("👍 0 · An e-bike charging point by g…")
    assert "R5021" not in bob.last
    await bob.press("👍 Me too")
    assert "👍 1 neighbour backs it." in bob.last
    await bob.press("↩️ Take back my 👍")
    assert "👍 0 neighbours back it." in bob.last


async def test_a_grid_that_does_not_exist_is_refused_and_the_draft_kept(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    await make_community(session, clock, "Sunny Court", grids=("Block 1",))
    ann = await resident(harness, 5031, "Block 1")
    await report_problem(ann, "Broken bench")
    await ann.press("Skip ▶")
    await ann.send("Skip ▶")
    assert ann.last == "Which part of the community is it in?"
    assert await ann.forge(ReportGridCb(grid_id=999).pack()) == \
        "This button is out of date."
    await ann.press("🏠 Block 1")
    await ann.press("✅ Send")
    assert ann.last.startswith("✅ Thank you! Your report #1 has gone to the community staff.")


async def test_a_long_answer_on_a_photo_report_still_shows_in_full(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    """The caption was the description plus the answer, only the first capped: an answer
    of the allowed length made every later view of a photo report fail."""
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5051, None)
    staff = await staff_member(harness, session, clock, sunny)
    await report_problem(ann, "The light on the stairs is broken")
    await ann.handle.send_photo(caption=None)
    await harness.settle()
    await ann.send("Skip ▶")
    await ann.press("✅ Send")
    await wait_until(settled(sessionmaker))
    await staff.press("🗂 Open the report")
    await staff.press("✅ Resolved")
    answer = "A new bulb was fitted. " * 43  # 989 characters, under the 1000 allowed
    await staff.send(answer)
    assert "Saved. The resident has been told." in staff.texts
    shown = [m for m in staff.handle.bot_messages if m.photo is not None][-1]
    after = [m for m in staff.handle.bot_messages[staff.handle.bot_messages.index(shown):]
             if m.content != "Saved. The resident has been told."]
    seen = " ".join(m.content for m in after).replace("…", " ").split()
    assert seen.count("bulb") == 43  # nothing lost, no word cut
    assert "✍️ Write an answer" in after[-1].button_labels  # buttons below it all


async def test_views_of_old_long_emoji_rows_are_fitted_not_refused(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    """Rows from before the limits were counted in UTF-16 (1000 emoji = 2000 units each):
    the resident's view of their report used to be "message is too long"."""
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5061, None)
    user = (await session.execute(select(User).where(col(User.tg_id) == 5061))).scalar_one()
    await session.commit()  # end the read: the old row is written on its own
    report = Report(community_id=sunny.id or 0, author_id=user.id or 0,
                    category=ReportCategory.OTHER, description="🏚" * 1000,
                    answer="🔧" * 1000, decline_reason="🚫" * 1000,
                    status=ReportStatus.DECLINED, created_at=clock.now(),
                    updated_at=clock.now())
    session.add(report)
    await session.commit()
    await ann.tap("💬 My voice")
    await ann.press("📋 My reports")
    before = len(ann.texts)
    await ann.press(f"🚫 #{report.id} " + "🏚" * 14 + "…")
    shown = "".join(ann.texts[before:])
    assert shown.count("🏚") == 1000 and shown.count("🔧") == 1000 and shown.count("🚫") >= 1000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(description=texts(DESCRIPTION_MAX), answer=st.one_of(st.none(), texts(ANSWER_MAX)),
       reason=st.one_of(st.none(), texts(ANSWER_MAX)), name=texts(64), grid=texts(64),
       status=st.sampled_from(list(ReportStatus)), backers=st.integers(0, 10**6))
def test_every_report_view_fits_whatever_was_written(
    description: str, answer: str | None, reason: str | None, name: str, grid: str,
    status: ReportStatus, backers: int,
) -> None:
    """Staff's view (as text and as a photo's caption), the author's and a neighbour's,
    built from maximal and emoji-heavy words, are all accepted, and nothing is lost."""
    report = Report(id=10**9, community_id=1, author_id=1, category=ReportCategory.CARE,
                    description=description, answer=answer, decline_reason=reason,
                    status=status, backers=backers, latitude=-89.123456, longitude=179.5,
                    created_at=EPOCH, updated_at=EPOCH)
    with english():
        staff_view = concern_staff.details_text(report, author=name, grid=grid, assignee=name)
        assert_accepted(staff_view)
        assert_accepted(staff_view, caption=True)
        assert_accepted(concerns_handlers.own_report_text(report))
        assert_accepted(concerns_handlers.idea_text(report))


def button_data(person: Person, label: str) -> str:
    """The callback data of the newest button labelled `label`."""
    for message in reversed(person.handle.bot_messages):
        for row in (message.raw.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("text") == label:
                    return str(button["callback_data"])
    raise AssertionError(f"no button {label!r}")


async def double_tap(person: Person, label: str) -> None:
    """Two presses of the same button that reach the bot together, as a double tap on a
    slow line does: both updates are handled at once, like polling's tasks or two
    replicas."""
    harness = person.harness
    harness.clock.advance(seconds=1)
    await person.handle.press_text(label)
    await person.handle.press_text(label)
    updates = await harness.bot.get_updates(offset=harness.offset, timeout=0)
    harness.offset = updates[-1].update_id + 1
    await asyncio.gather(*(harness.dp.feed_update(harness.bot, u) for u in updates))
    await harness.settle()


async def test_a_double_tapped_send_files_one_report_and_tells_staff_once(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5041, None)
    staff = await staff_member(harness, session, clock, sunny)
    await report_problem(ann, "The lift in building 2 is stuck")
    await ann.press("Skip ▶")
    await ann.send("Skip ▶")
    send_data = button_data(ann, "✅ Send")
    await double_tap(ann, "✅ Send")
    assert ann.last.startswith("✅ Thank you! Your report #1 has gone to the community staff.")
    # Each tap answered once, one of them "already sent"; in either order, as the two are
    # handled at once (on PostgreSQL the filing tap may answer last).
    assert sorted(ann.alerts[-2:]) == ["", "Your report #1 has already been sent."]
    # A third press, on the button of the message now long answered, files nothing either.
    await ann.forge(send_data)
    assert ann.alerts[-1] == "Your report #1 has already been sent."
    assert len(await rows(session, Report)) == 1
    await wait_until(settled(sessionmaker))
    assert sum(t.startswith("📥 New report #") for t in staff.texts) == 1


async def test_a_double_tapped_idea_is_shared_once(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5042, None)
    await ann.tap("💬 My voice")
    await ann.press("💡 Share an idea")
    await ann.send("Benches by the pond")  # an idea: its words, then ✅ Send
    await double_tap(ann, "✅ Send")
    assert [r.category for r in await rows(session, Report)] == [ReportCategory.IDEA]
    assert sorted(ann.alerts[-2:]) == ["", "Your idea #1 has already been sent."]


async def test_an_admin_with_no_home_community_triages_any_community_from_the_picker(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    await make_community(session, clock, "Sunny Court")
    shady = await make_community(session, clock, "Shady Lane")
    bo, _ = await member(harness, session, clock, shady, 5051, "Bo")
    await report_problem(bo, "The swings are broken")
    await bo.press("Skip ▶")
    await bo.send("Skip ▶")
    await bo.press("✅ Send")
    admin = harness.person(ADMIN_TG_ID, "Zhou", "en")
    await onboard(admin)  # no home community
    await admin.tap("💬 My voice")
    await admin.press("🗂 Reports to handle")
    assert "You serve 2 communities." in admin.last
    await admin.press("Shady Lane")
    assert admin.last == "🏘 Shady Lane\n🗂 Open reports, oldest first:"
    await admin.press("📥 #1 The swings are broken")
    assert "From: Bo" in admin.last
    await admin.press("🔧 Being worked on")
    assert [r.status for r in await rows(session, Report)] == [ReportStatus.IN_PROGRESS]
    await admin.tap("💬 My voice")  # the choice is remembered, first with a ⭐
    await admin.press("🗂 Reports to handle")
    assert admin.handle.last_bot_message.button_labels[0] == "⭐ Shady Lane"  # type: ignore[union-attr]


async def test_staff_of_two_communities_choose_which_reports_to_handle(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    shady = await make_community(session, clock, "Shady Lane")
    liu, _ = await member(harness, session, clock, sunny, 5052, "Liu", Role.STAFF)
    await session.commit()
    await grant(session, clock, await user_of(session, liu), Role.STAFF, shady)
    await liu.tap("💬 My voice")
    labels = liu.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert labels.count("🗂 Reports to handle") == 1 and labels.count("📊 Run polls") == 1
    await liu.press("🗂 Reports to handle")
    assert "You serve 2 communities." in liu.last
    await liu.press("Shady Lane")
    assert liu.last == "🏘 Shady Lane\nNo open reports. 🎉"


async def test_words_typed_before_the_category_are_kept_for_the_report(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5091, None)
    await ann.tap("💬 My voice")
    await ann.press("📝 Report a problem")
    await ann.send("The lamp by gate 2 is broken")  # before choosing what it is about
    assert ann.last.startswith("I have kept your words.")
    await ann.press("🔧 Facilities and repairs")
    assert ann.last.startswith("📷 A photo helps.")  # the words are not asked for again
    await ann.press("Skip ▶")
    await ann.send("Skip ▶")
    assert "The lamp by gate 2 is broken" in ann.last
    await ann.press("✅ Send")
    assert [r.description for r in await rows(session, Report)] == [
        "The lamp by gate 2 is broken"]


def message(person: Person, message_id: int) -> ChatMessage:
    """The bot's message `message_id` as it is now."""
    return next(m for m in person.handle.bot_messages if m.message_id == message_id)


async def test_one_card_per_report_edited_in_place_as_staff_move_it_on(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5095, None)
    staff = await staff_member(harness, session, clock, sunny)
    await report_problem(ann, "The bin lid is missing")
    await ann.press("Skip ▶")
    await ann.send("Skip ▶")
    await ann.press("✅ Send")
    await staff.tap("💬 My voice")
    await staff.press("🗂 Reports to handle")
    await staff.press("📥 #1 The bin lid is missing")
    card = staff.handle.last_bot_message
    assert card is not None
    cards = len(staff.texts)
    await staff.press("🔧 Being worked on")
    assert len(staff.texts) == cards  # no second card
    card = message(staff, card.message_id)
    assert card.edited and "🔧" in card.content.splitlines()[0]
    await staff.press("✅ Resolved")
    await staff.send("A new lid is on.")
    assert staff.last == "Saved. The resident has been told."
    assert sum(t.startswith("#1 ·") for t in staff.texts) == 1  # still the one card…
    card = message(staff, card.message_id)
    assert "A new lid is on." in card.content  # …up to date
    assert "✅ Resolved" in card.content.splitlines()[0]


async def test_the_card_keeps_the_thread_of_answers_not_only_the_last(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await resident(harness, 5096, None)
    staff = await staff_member(harness, session, clock, sunny)
    await report_problem(ann, "Water in the basement")
    await ann.press("Skip ▶")
    await ann.send("Skip ▶")
    await ann.press("✅ Send")
    await staff.tap("💬 My voice")
    await staff.press("🗂 Reports to handle")
    await staff.press("📥 #1 Water in the basement")
    card_id = staff.handle.last_bot_message.message_id  # type: ignore[union-attr]
    await staff.press("✍️ Write an answer")
    await staff.send("A plumber comes on Monday.")
    await staff.press("✍️ Write an answer")
    await staff.send("Monday's plumber found the leak; a part is ordered.")
    card = message(staff, card_id).content
    assert "A plumber comes on Monday." in card  # the first answer is kept…
    assert "a part is ordered." in card  # …with the one after it, in order
    assert card.index("A plumber comes") < card.index("a part is ordered")
    assert "R5000" in card.split("A plumber comes")[0].splitlines()[-1]  # who wrote it


async def test_in_chinese_the_resident_and_staff_are_told_which_community_and_grid(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    """Issue 16: every update and card names its community (and grid where chosen)."""
    home = await make_community(session, clock, "幸福社区", grids=("第二网格",))
    wang, liu = harness.person(5061, "王", "zh"), harness.person(5062, "刘", "zh")
    for person in (wang, liu):
        await onboard(person, "幸福社区", "第二网格")
    await grant(session, clock, await user_of(session, liu), Role.STAFF, home)
    await liu.send("/menu")
    await wang.tap("💬 我要说")
    await wang.press("📝 反映问题")
    await wang.press("🔧 设施维修")
    await wang.send("楼道灯坏了")
    await wang.press("跳过 ▶")
    await wang.send("跳过 ▶")
    await wang.press("🏠 第二网格")
    await wang.press("✅ 提交")
    await wait_until(settled(sessionmaker))
    assert liu.last.startswith("📥 新的反映 #1 · 幸福社区 · 第二网格")
    await liu.tap("💬 我要说")
    await liu.press("🗂 处理居民反映")
    assert liu.last == "🏘 幸福社区\n🗂 待处理的反映，早的在前："
    await liu.press("📥 #1 楼道灯坏了")
    assert liu.last.startswith("#1 · 🔧 设施维修 · 📥 已收到\n🏘 幸福社区 · 第二网格\n")
    await liu.press("🔧 正在处理")
    await wait_until(settled(sessionmaker))
    assert wang.last == "🔧 您的反映 #1 正在处理中。\n🏘 幸福社区 · 第二网格\n“楼道灯坏了”"
    await liu.press("✍️ 写回复")
    await liu.send("明天来修")
    await wait_until(settled(sessionmaker))
    assert wang.last.startswith("💬 工作人员回复了您的反映 #1：\n🏘 幸福社区 · 第二网格\n"
                                "“楼道灯坏了”\n明天来修")
