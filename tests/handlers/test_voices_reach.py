"""Anything a resident says reaches someone (issue 14): a photo, a voice note, a location or
words sent outside any conversation become a report in two taps, or, where the words name a
course or ask to enrol, the matching courses; staff play the voice and see the place on a map;
withdrawing asks once; a poor rating reaches staff at once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from models.communities import Community
from models.courses import Category, Course, CourseStatus
from models.db import write
from models.users import Role
from models.voices import Report, ReportCategory, ReportNote, ReportStatus
from scheduler.outbox import OutboxSender
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, Person, member, onboard, rows
from tests.handlers.test_broadcasts import sender
from tests.scheduler.conftest import settled, wait_until

__all__ = ["sender"]

OFFER_EN = "Send this to your community staff as a report? Choose what it is about:"
OFFER_ZH = "要把这个作为反映发给社区工作人员吗？请选择是关于什么的："


async def staff_and_resident(harness: Harness, session: AsyncSession, clock: ManualClock,
                             language: str = "en") -> tuple[Person, Person]:
    sunny = await make_community(session, clock, "Sunny Court")
    staff, _ = await member(harness, session, clock, sunny, 5000, "Wang", Role.STAFF)
    ann, _ = await member(harness, session, clock, sunny, 5001, "Ann", language=language)
    return staff, ann


async def test_a_photo_with_a_caption_sent_cold_becomes_a_report_in_two_taps(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    staff, ann = await staff_and_resident(harness, session, clock)
    await ann.handle.send_photo(caption="The stair light in building 3 is broken")
    await harness.settle()
    assert ann.last == OFFER_EN
    assert "🔧 Facilities and repairs" in ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await ann.press("🔧 Facilities and repairs")
    assert "📷 with a photo" in ann.last and "building 3" in ann.last
    await ann.press("✅ Send")
    assert ann.last.startswith("✅ Thank you! Your report #1 has gone to the community staff.")
    [report] = await rows(session, Report)
    assert report.category == ReportCategory.FACILITIES
    assert report.description == "The stair light in building 3 is broken"
    assert report.photo_file_id is not None
    await wait_until(settled(sessionmaker))
    assert staff.last.startswith("📥 New report #1 · Sunny Court")
    await staff.press("🗂 Open the report")
    shown = staff.handle.last_bot_message
    assert shown is not None and shown.photo == report.photo_file_id


async def test_words_sent_cold_in_chinese_are_offered_as_a_report(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    _, ann = await staff_and_resident(harness, session, clock, language="zh")
    await ann.send("楼道灯坏了")
    assert ann.last == OFFER_ZH
    await ann.press("🔧 设施维修")
    assert "楼道灯坏了" in ann.last
    await ann.press("✅ 提交")
    [report] = await rows(session, Report)
    assert report.description == "楼道灯坏了" and report.category == ReportCategory.FACILITIES


async def test_a_voice_note_sent_cold_becomes_a_report_staff_can_play(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    staff, ann = await staff_and_resident(harness, session, clock)
    said = await ann.handle.send_voice()
    await harness.settle()
    assert ann.last == OFFER_EN
    await ann.press("🧹 Environment and cleanliness")
    assert "🎤 with a voice message" in ann.last
    await ann.press("✅ Send")
    [report] = await rows(session, Report)
    assert report.voice_file_id == said.voice and report.description == ""
    await wait_until(settled(sessionmaker))
    assert staff.last.startswith("📥 New report #1 · Sunny Court")
    assert "🎤" in staff.last  # no words: the summary says what there is
    await staff.press("🗂 Open the report")
    card = staff.handle.last_bot_message
    assert card is not None and card.voice == said.voice  # staff play it in the chat
    assert "From: Ann" in card.content
    await staff.press("🔧 Being worked on")  # the card (a voice with a caption) redrawn
    assert staff.handle.last_bot_message.voice == said.voice  # type: ignore[union-attr]


async def test_a_voice_note_is_taken_in_the_wizard_in_place_of_a_photo(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    _, ann = await staff_and_resident(harness, session, clock)
    await ann.tap("💬 My voice")
    await ann.press("📝 Report a problem")
    await ann.press("🔧 Facilities and repairs")
    await ann.send("The lift in building 2 makes a noise")
    assert ann.last.startswith("📷 A photo helps.")
    said = await ann.handle.send_voice()
    await harness.settle()
    assert ann.last.startswith("📍 Are you where it is?")
    await ann.tap("Skip ▶")
    await ann.press("✅ Send")
    [report] = await rows(session, Report)
    assert report.voice_file_id == said.voice


async def test_a_location_sent_cold_reaches_staff_as_a_map_pin(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    staff, ann = await staff_and_resident(harness, session, clock)
    await ann.handle.send_location(31.23, 121.47)
    await harness.settle()
    assert ann.last == OFFER_EN
    await ann.press("🚨 Safety")
    assert "📍 with your location" in ann.last
    await ann.press("✅ Send")
    await wait_until(settled(sessionmaker))
    await staff.press("🗂 Open the report")
    pins = [m for m in staff.handle.bot_messages if m.location]
    assert [(p.location or {}).get("latitude") for p in pins] == [31.23]
    assert "31.23000" not in "\n".join(staff.texts)  # a pin, not raw numbers


async def test_words_naming_a_course_offer_the_course(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    _, ann = await staff_and_resident(harness, session, clock, language="zh")
    [sunny] = await rows(session, Community)
    async with write(session):
        for title in ("太极拳入门", "智能手机课"):
            session.add(Course(community_id=sunny.id or 0, title=title,
                               category=Category.SPORTS, status=CourseStatus.APPROVED,
                               created_at=clock.now()))
    await ann.send("我想报名太极拳入门")
    assert ann.last.startswith("这些课程也许正是您要找的")
    labels = ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "📚 太极拳入门" in labels and "📚 智能手机课" not in labels
    assert "📝 作为反映发给社区" in labels
    await ann.press("📚 太极拳入门")
    assert "太极拳入门" in ann.last and "🙋 点这门课" in \
        ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await ann.send("我要报名")  # no course named: the enrol word alone lists them all
    labels = ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "📚 太极拳入门" in labels and "📚 智能手机课" in labels


async def test_withdrawing_a_report_asks_once(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    _, ann = await staff_and_resident(harness, session, clock)
    await ann.send("Bins on the corner overflow")
    await ann.press("🧹 Environment and cleanliness")
    await ann.press("✅ Send")
    await ann.tap("💬 My voice")
    await ann.press("📋 My reports")
    await ann.press("📥 #1 Bins on the corner overflow")
    await ann.press("↩️ Withdraw it")
    assert ann.last.startswith("Withdraw your report #1?")
    assert ann.handle.last_bot_message.button_labels == [  # type: ignore[union-attr]
        "Yes, withdraw it", "No, keep my report"]
    await ann.press("No, keep my report")
    assert (await rows(session, Report))[0].status == ReportStatus.RECEIVED
    assert "↩️ Withdraw it" in ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await ann.press("↩️ Withdraw it")
    await ann.press("Yes, withdraw it")
    assert (await rows(session, Report))[0].status == ReportStatus.WITHDRAWN
    assert "Withdrawn" in ann.last


async def test_a_poor_rating_reaches_staff_at_once(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    staff, ann = await staff_and_resident(harness, session, clock)
    await ann.send("The gate lock is broken")
    await ann.press("🚨 Safety")
    await ann.press("✅ Send")
    await wait_until(settled(sessionmaker))
    await staff.press("🗂 Open the report")
    await staff.press("✅ Resolved")
    await staff.send("The lock was replaced.")
    await wait_until(settled(sessionmaker))
    await ann.press("2 ⭐")
    await wait_until(settled(sessionmaker))
    assert staff.last.startswith("⚠️ Report #1 · Sunny Court was rated ⭐⭐")
    assert "🗂 Open the report" in staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert [r.rating for r in await rows(session, Report, col(Report.id) == 1)] == [2]


async def sent_cold(ann: Person, words: str, category: str = "🚨 Safety") -> None:
    await ann.send(words)
    await ann.press(category)
    await ann.press("✅ Send")


async def test_the_resident_replies_within_the_report_in_words_or_by_voice(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    staff, ann = await staff_and_resident(harness, session, clock)
    await sent_cold(ann, "The gate lock is broken")
    await wait_until(settled(sessionmaker))
    await staff.press("🗂 Open the report")
    await staff.press("✍️ Write an answer")
    await staff.send("Which gate is it?")
    await wait_until(settled(sessionmaker))
    assert ann.last.startswith("💬 Staff answered your report #1")
    await ann.press("💬 Reply")
    assert ann.last.startswith("💬 Write your reply to report #1")
    await ann.send("The north gate, by the bins")
    assert ann.last.startswith("✅ Your reply has gone to the staff")
    await wait_until(settled(sessionmaker))
    assert staff.last.startswith("💬 The resident replied on report #1 · Sunny Court")
    assert "The north gate, by the bins" in staff.last
    await staff.press("🗂 Open the report")
    assert "Which gate is it?" in staff.last and "The north gate, by the bins" in staff.last
    assert staff.last.index("Which gate") < staff.last.index("The north gate")

    await ann.tap("💬 My voice")
    await ann.press("📋 My reports")
    await ann.press("📥 #1 The gate lock is broken")
    assert "The north gate, by the bins" in ann.last  # the thread, as the resident sees it
    await ann.press("💬 Reply")
    said = await ann.handle.send_voice()
    await harness.settle()
    assert ann.last.startswith("✅ Your reply has gone to the staff")
    await wait_until(settled(sessionmaker))
    assert "🎤" in staff.last
    await staff.press("🗂 Open the report")
    assert said.voice in [m.voice for m in staff.handle.bot_messages]  # staff play it


async def test_a_poor_rating_lets_the_resident_reopen_within_seven_days(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    staff, ann = await staff_and_resident(harness, session, clock)
    for words in ("The gate lock is broken", "The lift is noisy"):
        await sent_cold(ann, words)
    await wait_until(settled(sessionmaker))
    for rid in (1, 2):
        await staff.forge(f"rs:{rid}:resolved")
        await staff.send("Fixed.")
    await wait_until(settled(sessionmaker))
    resolved = [m for m in ann.handle.bot_messages if "has been resolved" in m.content]
    await ann.forge("rr:1:2", resolved[0].message_id)
    assert ann.last.startswith("Thank you! You gave ⭐⭐.")
    assert "🔁 Reopen it" in ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    await ann.press("🔁 Reopen it")
    assert (await rows(session, Report, col(Report.id) == 1))[0].status == \
        ReportStatus.IN_PROGRESS
    await wait_until(settled(sessionmaker))
    assert staff.last.startswith("🔁 Report #1 · Sunny Court was reopened by the resident")
    # A report rated 2 ⭐ more than seven days after it was resolved stays closed.
    await ann.forge("rr:2:1", resolved[1].message_id)
    clock.advance(days=8)
    await ann.press("🔁 Reopen it")
    assert ann.alerts[-1].startswith("It is too late to reopen this report")
    assert (await rows(session, Report, col(Report.id) == 2))[0].status == \
        ReportStatus.RESOLVED


async def test_a_good_rating_offers_no_reopening_but_staff_can_reopen(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    staff, ann = await staff_and_resident(harness, session, clock)
    await sent_cold(ann, "The gate lock is broken")
    await wait_until(settled(sessionmaker))
    await staff.press("🗂 Open the report")
    await staff.press("✅ Resolved")
    await staff.send("The lock was replaced.")
    await wait_until(settled(sessionmaker))
    await ann.press("5 ⭐")
    assert "🔁 Reopen it" not in ann.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert await ann.forge("ro:o:1") == "This report can no longer be reopened."
    await staff.press("🔁 Reopen")
    assert (await rows(session, Report))[0].status == ReportStatus.IN_PROGRESS
    await wait_until(settled(sessionmaker))
    assert ann.last.startswith("🔁 Your report #1 has been reopened")


def buttons(person: Person) -> list[str]:
    return person.handle.last_bot_message.button_labels  # type: ignore[union-attr]


async def test_every_step_of_the_report_wizard_has_back_and_cancel(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    await make_community(session, clock, "Sunny Court", grids=("Block 1", "Block 2"))
    ann = harness.person(5001, "Ann")
    await onboard(ann, "Sunny Court", "Block 1")
    await ann.tap("💬 My voice")
    await ann.press("📝 Report a problem")
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(ann))
    await ann.press("◀ Back")
    assert ann.last.startswith("💬 My voice")
    await ann.press("📝 Report a problem")
    await ann.press("🔧 Facilities and repairs")
    assert ann.last.startswith("Describe the problem") and "/cancel" not in ann.last
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(ann))
    await ann.press("◀ Back")
    assert ann.last.startswith("What is it about?")
    await ann.press("🔧 Facilities and repairs")
    await ann.send("The lift is noisy")
    assert {"Skip ▶", "◀ Back", "✖ Cancel"} <= set(buttons(ann))
    await ann.press("◀ Back")
    assert ann.last.startswith("Describe the problem")
    await ann.send("The lift in building 2 is noisy")
    await ann.press("Skip ▶")
    assert ann.last.startswith("📍 Are you where it is?")
    assert ann.handle.reply_keyboard == [["📍 Share my location"], ["Skip ▶"],
                                         ["◀ Back", "✖ Cancel"]]
    await ann.tap("◀ Back")
    assert ann.last.startswith("📷 A photo helps.")
    await ann.press("Skip ▶")
    await ann.tap("Skip ▶")
    assert ann.last == "Which part of the community is it in?"
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(ann))
    await ann.press("◀ Back")
    assert ann.last.startswith("📍 Are you where it is?")
    await ann.tap("Skip ▶")
    await ann.press("Block 2")
    assert ann.last.startswith("Please check your report:")
    assert {"✅ Send", "◀ Back", "✖ Discard"} <= set(buttons(ann))
    await ann.press("◀ Back")
    assert ann.last == "Which part of the community is it in?"
    await ann.press("✖ Cancel")
    assert ann.last == "Discarded. Nothing was sent."
    assert await rows(session, Report) == []
    # A step's ✖ Cancel on the location step (a reply keyboard) ends it too.
    await ann.tap("💬 My voice")
    await ann.press("💡 Share an idea")
    assert {"◀ Back", "✖ Cancel"} <= set(buttons(ann))
    await ann.send("A bench by the pond")
    await ann.press("📷 Add a photo, a voice message or my location")
    await ann.press("Skip ▶")
    await ann.tap("✖ Cancel")
    assert ann.last == "Discarded. Nothing was sent."
    assert "💬 My voice" in ann.menu  # the main menu is back
    assert await rows(session, Report) == []
    await ann.send("◀ Back")  # a button of a keyboard left over from a step: not a report
    assert ann.last.startswith("Sorry, I didn't understand that.")


async def test_back_from_the_check_of_something_said_cold_asks_its_category_again(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    _, ann = await staff_and_resident(harness, session, clock)
    await ann.send("The lift is noisy")
    await ann.press("🔧 Facilities and repairs")
    await ann.press("◀ Back")
    assert ann.last == OFFER_EN
    await ann.press("🚨 Safety")
    await ann.press("✅ Send")
    [report] = await rows(session, Report)
    assert report.category == ReportCategory.SAFETY and report.description == "The lift is noisy"


async def test_staff_cancel_an_answer_with_a_button(
    harness: Harness, session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession], sender: OutboxSender,
) -> None:
    staff, ann = await staff_and_resident(harness, session, clock)
    await sent_cold(ann, "The gate lock is broken")
    await wait_until(settled(sessionmaker))
    await staff.press("🗂 Open the report")
    await staff.press("✅ Resolved")
    assert "/cancel" not in staff.last and buttons(staff) == ["✖ Cancel"]
    await staff.press("✖ Cancel")
    assert staff.last == "Cancelled. Nothing was changed."
    assert (await rows(session, Report))[0].status == ReportStatus.RECEIVED
    assert await rows(session, ReportNote) == []


async def test_a_photo_sent_at_the_category_step_is_the_report_in_four_taps_from_the_menu(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    _, ann = await staff_and_resident(harness, session, clock)
    taps = 0
    await ann.tap("💬 My voice")
    taps += 1
    await ann.press("📝 Report a problem")
    taps += 1
    assert "photo" in ann.last  # the step says a photo, a voice or words may come first
    await ann.handle.send_photo(caption="Broken swing in the playground")
    await harness.settle()
    assert ann.last.startswith("I have kept it. Now, what is it about?")
    await ann.press("🔧 Facilities and repairs")
    taps += 1
    assert ann.last.startswith("Please check your report:") and "📷 with a photo" in ann.last
    await ann.press("✅ Send")
    taps += 1
    assert taps == 4  # was 7 and typing
    [report] = await rows(session, Report)
    assert report.photo_file_id and report.description == "Broken swing in the playground"
