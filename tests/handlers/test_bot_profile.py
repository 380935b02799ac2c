"""Before pressing START a person sees what the bot is, in their own language."""

from __future__ import annotations

from bot.config import Settings
from bot.factory import set_commands
from tests.handlers.conftest import Harness


async def test_description_and_commands_are_set_in_each_language(
    harness: Harness, settings: Settings
) -> None:
    await set_commands(harness.bot, settings)
    zh = await harness.bot.get_my_description()  # the default language (zh)
    en = await harness.bot.get_my_description(language_code="en")
    assert "社区" in zh.description and "community" in en.description
    short_en = await harness.bot.get_my_short_description(language_code="en")
    assert short_en.short_description.startswith("Courses, volunteering")
    assert len(en.description) <= 512 and len(short_en.short_description) <= 120
    commands = await harness.bot.get_my_commands(language_code="en")
    assert [c.command for c in commands][:2] == ["menu", "help"]
