"""Loads the user behind an update, their roles, and their language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18nMiddleware

from bot.config import Settings
from bot.i18n import locale_for
from services import users
from services.clock import Clock


class UserMiddleware(BaseMiddleware):
    """Puts `user` (our row) and `access` (their roles) into the handler's data."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        session = data["session"]
        settings: Settings = data["settings"]
        clock: Clock = data["clock"]
        data["user"], data["access"] = await users.identify(
            session, clock=clock, tg_id=tg_user.id, first_name=tg_user.first_name,
            username=tg_user.username,
            language=locale_for(tg_user.language_code, settings.default_locale),
            bootstrap_admin=tg_user.id in settings.admin_ids,
        )
        # The read transaction stays open for the handler's reads (ending it here cost a
        # COMMIT, a pool check-in and a BEGIN per update, each a thread hop on SQLite:
        # issue 18); a handler that writes begins its own (begin_write ends this one).
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """The user's chosen language, else Telegram's language_code, else the default."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("user")
        if user is not None and user.locale:
            return str(user.locale)
        tg_user: TgUser | None = data.get("event_from_user")
        return locale_for(tg_user.language_code if tg_user else None, self.i18n.default_locale)
