"""The bot's routers, in the order they are tried: catch-alls last.

At start-up bot/routing.py reads each handler's filters (its callback-data class, its
states, its menu words, its command) and gives every router a router-level filter from
them, so an update is tried only against the handlers that could take it; a handler
with filters it does not understand is tried for everything, as aiogram would.
"""

from __future__ import annotations

from aiogram import Router


def routers(*, dev_clock: bool = False) -> list[Router]:
    """The routers in the order they are tried; /clock only where time travel is allowed."""
    from handlers import (
        broadcasts,
        common,
        courses,
        devclock,
        district,
        errors,
        fallback,
        gate,
        manage,
        membership,
        onboarding,
        scope,
        settings,
        voices,
        volunteers,
    )

    return [
        errors.router,
        membership.router,
        onboarding.router,
        common.router,
        *([devclock.router] if dev_clock else []),
        gate.router,
        settings.router,
        broadcasts.router,
        manage.router,
        district.router,
        volunteers.router,
        courses.router,
        voices.router,
        scope.router,
        fallback.router,
    ]
