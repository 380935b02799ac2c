"""The bot works in private chats only: nothing from a group or channel reaches a handler.

Everything the bot answers is about the person (their data file, their orders, their
staff tools), so it must never land where others read. In a group, supergroup or
channel the bot says once, when it is added or first addressed (a command, a mention,
a reply to it), that it works in private chat, with a link there; otherwise it is
silent. It remembers per chat that it said so in the FSM storage, which replicas share.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import Chat, Message, TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import locale_for

log = logging.getLogger(__name__)

# The /start payload of the link the bot leaves in a group: onboarding greets it as a plain
# /start (it is not an invite).
FROM_GROUP = "group"
_TOLD = "told_private"


class PrivateChatMiddleware(BaseMiddleware):
    """Lets through only updates from a person (not a bot) in their private chat with us."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        tg_user: TgUser | None = data.get("event_from_user")
        if chat is not None and chat.type == ChatType.PRIVATE and (
                tg_user is None or not tg_user.is_bot):
            return await handler(event, data)
        if not isinstance(event, Update):
            return None
        bot: Bot = data["bot"]
        with self.i18n.context(), self.i18n.use_locale(
                locale_for(tg_user.language_code if tg_user else None,
                           self.i18n.default_locale)):
            await self._answer_elsewhere(event, bot=bot, chat=chat, data=data)
        return None

    async def _answer_elsewhere(
        self, update: Update, *, bot: Bot, chat: Chat | None, data: dict[str, Any]
    ) -> None:
        """A callback gets a short alert (Telegram waits for one); a chat is told once."""
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(
                    _("I only work in a private chat with you. Please open the bot."),
                    show_alert=True)
                return
            if chat is None or chat.type == ChatType.PRIVATE:
                return  # a bot account in a private chat, or an update with no chat at all
            if not await _addressed(update, bot):
                return
            storage: BaseStorage | None = data.get("fsm_storage")
            key = StorageKey(bot_id=bot.id, chat_id=chat.id, user_id=chat.id,
                             destiny="private_only")
            if storage is not None and await storage.get_value(key, _TOLD):
                return
            if storage is not None:
                await storage.update_data(key, {_TOLD: True})
            me = await bot.me()
            link = f"https://t.me/{me.username}?start={FROM_GROUP}"
            await bot.send_message(
                chat.id,
                _("I work only in a private chat, so that what you tell me stays between "
                  "us. Write to me here: {link}").format(link=link),
                disable_web_page_preview=True)
        except TelegramAPIError as error:  # cannot write there; nothing else to do
            log.info("update %s from chat %s: could not answer (%s)",
                     update.update_id, chat.id if chat else None, error)


async def _addressed(update: Update, bot: Bot) -> bool:
    """The bot was just added to the chat, or a message there is meant for it."""
    added = update.my_chat_member
    if added is not None:
        return added.new_chat_member.status in (ChatMemberStatus.MEMBER,
                                                ChatMemberStatus.ADMINISTRATOR)
    message: Message | None = update.message or update.channel_post
    if message is None:
        return False
    text = message.text or message.caption or ""
    if text.startswith("/"):
        return True
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
        return True
    me = await bot.me()
    return bool(me.username) and f"@{me.username}".lower() in text.lower()
