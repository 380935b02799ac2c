"""Local Telegram Bot API emulator: the real aiogram bot talks to it instead of Telegram.

emu = Emulator()
await emu.start()
bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
user = emu.user(1001, first_name="Li")
await user.send("/start")
reply = await user.wait_for("Welcome")
"""

from .flood import FloodLimits, SendStats
from .server import DEFAULT_TOKEN, DEFAULT_USERNAME, Emulator
from .state import CallbackAnswer, CallbackQueryRecord, RequestRecord, Violation
from .users import ButtonNotFound, ChatMessage, EmulatorError, UserHandle, WaitTimeout

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USERNAME",
    "ButtonNotFound",
    "CallbackAnswer",
    "CallbackQueryRecord",
    "ChatMessage",
    "Emulator",
    "EmulatorError",
    "FloodLimits",
    "RequestRecord",
    "SendStats",
    "UserHandle",
    "Violation",
    "WaitTimeout",
]
