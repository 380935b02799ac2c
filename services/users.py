"""Users: first contact, language, consent, where they live, blocking."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.config import LOCALES
from models.communities import Grid
from models.db import begin_write
from models.users import User
from services import communities
from services.clock import Clock
from services.errors import InvalidInput, NotFound


async def get_by_tg_id(session: AsyncSession, *, tg_id: int) -> User | None:
    """The user with this Telegram id, if they have talked to the bot."""
    found = await session.execute(select(User).where(col(User.tg_id) == tg_id))
    return found.scalar_one_or_none()


async def upsert_from_telegram(
    session: AsyncSession,
    *,
    clock: Clock,
    tg_id: int,
    first_name: str | None,
    username: str | None,
    language: str,
) -> User:
    """Find the user, creating them on first contact and refreshing their names.

    `language` (from Telegram's language_code) becomes their language until
    they choose one: messages sent later, when they are not there to ask, need
    it. Writes only when something changed, so an ordinary update costs one read.
    Someone who writes to us after blocking the bot has evidently unblocked it.
    """
    first_name = (first_name or "")[:64] or None
    username = (username or "")[:32] or None
    user = await get_by_tg_id(session, tg_id=tg_id)
    if user is not None and not _stale(user, first_name, username):
        return user
    # Something to write: start again in a write transaction (see models.db.begin_write).
    await begin_write(session)
    user = await get_by_tg_id(session, tg_id=tg_id)
    if user is None:
        user = User(tg_id=tg_id, first_name=first_name, username=username, locale=language,
                    created_at=clock.now())
        try:
            async with session.begin_nested():
                session.add(user)
        except IntegrityError:  # the same person's second update raced us
            user = await get_by_tg_id(session, tg_id=tg_id)
            if user is None:
                raise
        await session.commit()
        return user
    user.first_name, user.username, user.blocked_at = first_name, username, None
    user.locale = user.locale or language
    await session.commit()
    return user


def _stale(user: User, first_name: str | None, username: str | None) -> bool:
    return ((user.first_name, user.username) != (first_name, username)
            or user.blocked_at is not None or not user.locale)


async def set_locale(session: AsyncSession, *, user: User, locale: str) -> User:
    """Choose the language the bot speaks to this user."""
    if locale not in LOCALES:
        raise InvalidInput("locale", "unsupported")
    await begin_write(session)
    user.locale = locale
    session.add(user)
    await session.commit()
    return user


async def accept_privacy(session: AsyncSession, *, user: User, clock: Clock) -> User:
    """Record consent to the privacy notice (once; later taps change nothing)."""
    if user.consented_at is None:
        await begin_write(session)
        user.consented_at = clock.now()
        session.add(user)
        await session.commit()
    return user


async def set_home(
    session: AsyncSession, *, user: User, community_id: int, grid_id: int | None
) -> User:
    """Set the user's community and grid; the grid must belong to the community."""
    await communities.get_community(session, community_id=community_id)
    if grid_id is not None:
        grid = await session.get(Grid, grid_id)
        if grid is None or grid.community_id != community_id:
            raise NotFound(f"grid {grid_id} in community {community_id}")
    await begin_write(session)
    user.community_id, user.grid_id = community_id, grid_id
    session.add(user)
    await session.commit()
    return user


async def set_blocked(session: AsyncSession, *, tg_id: int, clock: Clock, blocked: bool) -> None:
    """Remember that a user blocked (or unblocked) the bot, so nothing is sent to them."""
    await begin_write(session)
    user = await get_by_tg_id(session, tg_id=tg_id)
    if user is None:
        await session.commit()
        return
    user.blocked_at = clock.now() if blocked else None
    session.add(user)
    await session.commit()
