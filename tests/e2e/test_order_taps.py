"""End to end, the real bot process, in Chinese and in English: ordering a course in few
taps (issue 14). From 📚 Courses → 🙋 Order a course a resident taps a suggested menu course
and a "when suits you" preset, and the order is in; a neighbour backs it from the same
screen in one tap; another types her own topic, chooses its kind and a preset.

The menu course is put in the bot's database as staff would have approved it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from emulator import Emulator, UserHandle
from models.communities import Community
from models.courses import Category, Course, CourseOrder, CourseStatus, OrderBacking
from models.db import begin_write, create_engine
from tests.e2e.steps import community_with_staff, showing_log, step, stop_cleanly

pytestmark = pytest.mark.e2e

WORDS = {
    "en": {
        "agree": "✅ I agree", "first": "What would you like to do first?",
        "courses": "📚 Courses", "home": "What would you like to do",
        "order": "🙋 Order a course", "learn": "What would you like to learn?",
        "when": "When would suit you?", "weekends": "🏖 Weekends",
        "mornings": "🌅 Weekday mornings", "in": "Your order is in ✅",
        "backs": "1 neighbour backs this order now", "kind": "Which kind of course is it?",
        "skills": "🔧 Practical skills", "ordering": "You are ordering “Paper cutting”.",
    },
    "zh": {
        "agree": "✅ 我同意", "first": "您想先做什么？",
        "courses": "📚 课程", "home": "您想做什么",
        "order": "🙋 点一门课", "learn": "您想学什么？",
        "when": "什么时间方便？", "weekends": "🏖 周末",
        "mornings": "🌅 工作日上午", "in": "点单成功 ✅",
        "backs": "现在有 1 位邻居支持这个点单", "kind": "这是哪一类课？",
        "skills": "🔧 实用技能", "ordering": "您在点“Paper cutting”。",
    },
}


async def seed_course(db_url: str, *, community: str) -> None:
    """An approved menu course nobody has ordered yet."""
    engine = create_engine(db_url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        home = (await session.execute(select(Community).where(
            col(Community.name) == community))).scalar_one()
        await begin_write(session)
        session.add(Course(community_id=home.id or 0, title="Paper cutting",
                           description="Scissors and red paper", category=Category.ARTS,
                           minutes=60, status=CourseStatus.APPROVED,
                           created_at=datetime.now(UTC)))
        await session.commit()
    await engine.dispose()


async def counts(db_url: str) -> tuple[list[str], int]:
    engine = create_engine(db_url)
    async with AsyncSession(engine) as session:
        topics = [o.topic for o in (await session.execute(
            select(CourseOrder).order_by(col(CourseOrder.id)))).scalars()]
        backings = len((await session.execute(select(OrderBacking))).scalars().all())
    await engine.dispose()
    return topics, backings


async def joined(emulator: Emulator, tg_id: int, name: str, language: str) -> UserHandle:
    words = WORDS[language]
    person = emulator.user(tg_id, name, language_code=language)
    await step(person, person.send("/start"), "👋")
    await step(person, person.press_text(words["agree"]), "✅")
    await step(person, person.press_text("Sunny Court"), words["first"])
    return person


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_order_a_suggested_course_back_it_and_order_a_typed_topic(
    emulator: Emulator, start_bot: Callable[..., Any], bot_db_url: str, language: str
) -> None:
    words = WORDS[language]
    bot = await start_bot(FLOOD_RATE="100")
    async with showing_log(bot):
        await community_with_staff(emulator, community="Sunny Court", staff_id=5001)
        await seed_course(bot_db_url, community="Sunny Court")

        ann = await joined(emulator, 5002, "Ann", language)
        await step(ann, ann.press_reply(words["courses"]), words["home"])
        await step(ann, ann.press_text(words["order"]), words["learn"])
        await step(ann, ann.press_text("📚 Paper cutting"), words["ordering"])
        assert words["when"] in ann.bot_messages[-1].content
        await step(ann, ann.press_text(words["weekends"]), words["in"])

        bob = await joined(emulator, 5003, "Bob", language)
        await step(bob, bob.press_reply(words["courses"]), words["home"])
        await step(bob, bob.press_text(words["order"]), words["learn"])
        await step(bob, bob.press_text("👍 Paper cutting · 0"), words["backs"])

        cy = await joined(emulator, 5004, "Cy", language)
        await step(cy, cy.press_reply(words["courses"]), words["home"])
        await step(cy, cy.press_text(words["order"]), words["learn"])
        await step(cy, cy.send("Smartphone photos"), words["kind"])
        await step(cy, cy.press_text(words["skills"]), words["when"])
        await step(cy, cy.press_text(words["mornings"]), words["in"])

        assert await counts(bot_db_url) == (["Paper cutting", "Smartphone photos"], 1)
    await stop_cleanly(bot, emulator)
