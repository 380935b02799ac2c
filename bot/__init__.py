"""The bot: entry point (`python -m bot`), settings, dispatcher, middlewares, emulator.

Before anything imports aiogram, its ~440 Telegram types are set to be built on
first use instead of all at import (about 100 MB less memory): see
`bot/aiogram_costs.py`.
"""

from bot.aiogram_costs import defer_type_builds

defer_type_builds()
