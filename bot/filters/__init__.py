"""Filters shared by the handlers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message

from bot.i18n import translations_of
from bot.keyboards.menu import menu_item


class MenuButton(Filter):
    """Matches a main-menu button's text in any language."""

    def __init__(self, key: str) -> None:
        self.texts = translations_of(menu_item(key).label)

    async def __call__(self, message: Message) -> bool:
        return message.text in self.texts
