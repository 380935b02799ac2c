"""A teacher offering a course can step back or give up at every step, by a button:
no step of the wizard needs a typed /cancel (issue 14, "every step of every wizard")."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.courses import Course
from models.users import Role
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import Harness, member, rows

WORDS = {
    "zh": {"courses": "📚 课程", "offer": "➕ 开一门课", "arts": "🎨 文化艺术", "back": "◀ 返回",
           "cancel": "✖ 取消", "skip": "⏭ 跳过", "category": "哪一类", "title": "课程叫什么",
           "other": "🌐 英文标题", "describe": "介绍一下", "cancelled": "已取消"},
    "en": {"courses": "📚 Courses", "offer": "➕ Offer a course", "arts": "🎨 Arts",
           "back": "◀ Back", "cancel": "✖ Cancel", "skip": "⏭ Skip",
           "category": "Which category", "title": "What is the course called",
           "other": "🌐 Title in Chinese", "describe": "Describe it",
           "cancelled": "Cancelled"},
}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_every_step_of_offering_a_course_has_back_and_cancel(
    harness: Harness, session: AsyncSession, clock: ManualClock, language: str,
) -> None:
    w = WORDS[language]
    home = await make_community(session, clock, "Sunny Court")
    teacher, _t = await member(harness, session, clock, home, 3002, "Teacher", Role.TEACHER,
                               language=language)
    await teacher.tap(w["courses"])
    await teacher.press(w["offer"])
    assert w["category"] in teacher.last
    await teacher.press(w["arts"])
    assert w["title"] in teacher.last
    labels = teacher.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert w["back"] in labels and w["cancel"] in labels
    await teacher.press(w["back"])  # back to the categories
    assert w["category"] in teacher.last
    await teacher.press(w["arts"])
    await teacher.send("Paper cutting")
    assert teacher.last.startswith(w["other"])
    labels = teacher.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert {w["skip"], w["back"], w["cancel"]} <= set(labels)
    await teacher.press(w["back"])  # back to the title: asked again
    assert w["title"] in teacher.last
    await teacher.send("Paper cutting for beginners")
    await teacher.press(w["skip"])
    assert w["describe"] in teacher.last
    labels = teacher.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert w["back"] in labels and w["cancel"] in labels
    await teacher.press(w["back"])  # back to the other-language title
    assert teacher.last.startswith(w["other"])
    await teacher.press(w["skip"])
    await teacher.press(w["cancel"])
    assert w["cancelled"] in teacher.last
    await teacher.send("Scissors and red paper.")  # the draft is gone: nothing is offered
    assert await rows(session, Course) == []


async def test_cancel_on_the_categories_drops_the_offer_and_old_steps_are_out_of_date(
    harness: Harness, session: AsyncSession, clock: ManualClock,
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    teacher, _t = await member(harness, session, clock, home, 3002, "Teacher", Role.TEACHER)
    await teacher.tap("📚 Courses")
    await teacher.press("➕ Offer a course")
    labels = teacher.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "✖ Cancel" in labels
    await teacher.press("✖ Cancel")
    assert "Cancelled" in teacher.last
    await teacher.send("Paper cutting")
    assert await rows(session, Course) == []
