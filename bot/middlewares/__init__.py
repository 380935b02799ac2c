"""Middlewares, in the order the dispatcher runs them."""

from bot.middlewares.db import DbSessionMiddleware
from bot.middlewares.flood import FloodMiddleware
from bot.middlewares.refusals import RefusalMiddleware
from bot.middlewares.user import LocaleMiddleware, UserMiddleware

__all__ = [
    "DbSessionMiddleware",
    "FloodMiddleware",
    "LocaleMiddleware",
    "RefusalMiddleware",
    "UserMiddleware",
]
