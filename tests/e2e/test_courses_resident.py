"""End to end, the real bot process, in Chinese and in English: a resident enrols from the
📚 Courses screen in two taps, cancels (asked once: "No" keeps the seat, "Yes" frees it),
enrols again, and the reminder still arrives.

The session is put in the bot's database as staff would have scheduled it (scheduling has
its own end-to-end test); time moves with the dev-only /clock command.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from emulator import Emulator
from models.communities import Community
from models.courses import Category, Lesson
from models.db import begin_write, create_engine
from models.users import User
from tests.e2e.conftest import ADMIN_TG_ID
from tests.e2e.steps import TIMEOUT, community_with_staff, showing_log, step, stop_cleanly

pytestmark = pytest.mark.e2e

WORDS = {
    "en": {
        "agree": "✅ I agree", "first": "What would you like to do first?",
        "courses": "📚 Courses", "home": "What would you like to do",
        "enrol": "✍️ Enrol: Tai chi", "enrolled": "You are enrolled ✅",
        "cancel": "❌ Cancel my place", "question": "Cancel your place at “Tai chi”",
        "no": "No, keep my place", "yes": "Yes, cancel my place",
        "cancelled": "Your place is cancelled", "again": "✍️ Enrol",
        "reminder": "⏰ Reminder: “Tai chi”",
    },
    "zh": {
        "agree": "✅ 我同意", "first": "您想先做什么？",
        "courses": "📚 课程", "home": "您想做什么",
        "enrol": "✍️ 报名：Tai chi", "enrolled": "报名成功 ✅",
        "cancel": "❌ 取消我的报名", "question": "“Tai chi”的报名吗？",
        "no": "不，保留我的名额", "yes": "是的，取消我的报名",
        "cancelled": "已取消您的报名", "again": "✍️ 报名",
        "reminder": "⏰ 提醒：“Tai chi”",
    },
}


async def seed_session(db_url: str, *, community: str, staff_tg_id: int) -> None:
    """Tai chi in 26 hours at the garden, two seats, taught by the staff member."""
    engine = create_engine(db_url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        home = (await session.execute(select(Community).where(
            col(Community.name) == community))).scalar_one()
        staff = (await session.execute(select(User).where(
            col(User.tg_id) == staff_tg_id))).scalar_one()
        now = datetime.now(UTC)
        await begin_write(session)
        session.add(Lesson(community_id=home.id or 0, teacher_id=staff.id, title="Tai chi",
                           category=Category.SPORTS, starts_at=now + timedelta(hours=26),
                           minutes=60, venue="Garden", capacity=2,
                           checkin_token=secrets.token_urlsafe(16), created_by=staff.id,
                           created_at=now))
        await session.commit()
    await engine.dispose()


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_enrol_cancel_with_confirm_enrol_again_and_the_reminder_arrives(
    emulator: Emulator, start_bot: Callable[..., Any], bot_db_url: str, language: str
) -> None:
    words = WORDS[language]
    bot = await start_bot(DEV_CLOCK="true", SWEEP_SECONDS="1", FLOOD_RATE="100")
    async with showing_log(bot):
        await community_with_staff(emulator, community="Sunny Court", staff_id=5001)
        await seed_session(bot_db_url, community="Sunny Court", staff_tg_id=5001)

        ann = emulator.user(5002, "Ann", language_code=language)
        await step(ann, ann.send("/start"), "👋")  # the welcome and privacy notice
        await step(ann, ann.press_text(words["agree"]), "✅")  # thank you; which community?
        await step(ann, ann.press_text("Sunny Court"), words["first"])

        # Two taps from the main menu to a seat.
        await step(ann, ann.press_reply(words["courses"]), words["home"])
        enrol = next(label for label in ann.bot_messages[-1].button_labels
                     if label.startswith(words["enrol"]))
        await step(ann, ann.press_text(enrol), words["enrolled"])

        # Cancelling asks once: No keeps the seat, Yes frees it.
        await step(ann, ann.press_text(words["cancel"]), words["question"])
        await step(ann, ann.press_text(words["no"]), "🏠 Sunny Court")  # the card, back
        await step(ann, ann.press_text(words["cancel"]), words["question"])
        await step(ann, ann.press_text(words["yes"]), words["cancelled"])

        # She changes her mind: the seat is hers again, and so are the reminders.
        await step(ann, ann.press_text(words["again"]), words["enrolled"])
        admin = emulator.user(ADMIN_TG_ID, "Director", language_code="en")
        await step(admin, admin.send("/clock +3h"), "The bot's time is now")
        reminder = await ann.wait_for(words["reminder"], timeout=TIMEOUT)
        assert reminder.button_labels  # "I'm coming" / "I can't come"
        reminders = [m for m in ann.bot_messages if words["reminder"] in m.content]
        assert len(reminders) == 1
    await stop_cleanly(bot, emulator)
