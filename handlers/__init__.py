"""The bot's routers, in the order they are tried: catch-alls last."""

from __future__ import annotations

from aiogram import Router


def routers() -> list[Router]:
    """Fresh routers in order (imported here so each dispatcher gets its own)."""
    from handlers import common, errors, fallback, gate, manage, membership, onboarding, settings

    return [
        errors.router,
        membership.router,
        onboarding.router,
        common.router,
        gate.router,
        settings.router,
        manage.router,
        fallback.router,
    ]
