"""The bot's routers, in the order they are tried: catch-alls last."""

from __future__ import annotations

from aiogram import Router


def routers(*, dev_clock: bool = False) -> list[Router]:
    """The routers in the order they are tried; /clock only where time travel is allowed."""
    from handlers import (
        broadcasts,
        common,
        concern_staff,
        concerns,
        course_orders,
        course_schedule,
        course_sessions,
        courses,
        devclock,
        errors,
        fallback,
        gate,
        manage,
        membership,
        onboarding,
        poll_staff,
        polls,
        settings,
        volunteer_staff,
        volunteer_tasks,
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
        volunteers.router,
        volunteer_tasks.router,
        volunteer_staff.router,
        courses.router,
        course_orders.router,
        course_schedule.router,
        course_sessions.router,
        concerns.router,
        concern_staff.router,
        polls.router,
        poll_staff.router,
        fallback.router,
    ]
