"""The baseline: a bare aiogram bot that only echoes, long polling like the real one.

`python -m bench.bare_bot` with BOT_TOKEN and TELEGRAM_API_URL in the environment.
A message is echoed with one inline button; a press of it is answered and echoed as a
new message with the same button. No database, no middlewares, no i18n: what aiogram
itself costs per update, on the same emulator and the same load.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

BUTTON = "🔁 Again"
MARKUP = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=BUTTON,
                                                                     callback_data="again")]])


async def echo(message: Message) -> None:
    await message.answer(f"echo: {message.text}", reply_markup=MARKUP)


async def again(callback: CallbackQuery, bot: Bot) -> None:
    await callback.answer()
    await bot.send_message(callback.from_user.id, "echo: again", reply_markup=MARKUP)


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dp = Dispatcher()
    dp.message.register(echo, F.text)
    dp.callback_query.register(again, F.data == "again")
    try:
        await dp.start_polling(bot, handle_signals=True)
    finally:
        await bot.session.close()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
