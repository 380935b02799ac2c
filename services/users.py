"""Users: first contact, language, consent, where they live, blocking."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Grid
from models.db import begin_write
from models.users import LOCALES, RoleGrant, User
from services import communities
from services.access import Access, access_from, load_access
from services.clock import Clock
from services.errors import InvalidInput, NotFound


async def get_by_tg_id(session: AsyncSession, *, tg_id: int) -> User | None:
    """The user with this Telegram id, if they have talked to the bot."""
    found = await session.execute(select(User).where(col(User.tg_id) == tg_id))
    return found.scalar_one_or_none()


# Built once: SQLAlchemy caches the compiled SQL, not the Python objects around it,
# and putting them together again took ~80 µs of CPU per update (timeit).
_USER_AND_GRANTS = (
    select(User, col(RoleGrant.role), col(RoleGrant.community_id))
    .outerjoin(RoleGrant, col(RoleGrant.user_id) == col(User.id))
    .where(col(User.tg_id) == bindparam("tg_id"))
)


async def identify(
    session: AsyncSession,
    *,
    clock: Clock,
    tg_id: int,
    first_name: str | None,
    username: str | None,
    language: str,
    bootstrap_admin: bool,
) -> tuple[User, Access]:
    """The user behind an update and their roles: one query when nothing changed.

    Runs for every update, so the common case (a known user, same names) reads
    the user and their grants together; anything new is written as
    upsert_from_telegram writes it.
    """
    first_name, username = _telegram_names(first_name, username)
    rows = (await session.execute(_USER_AND_GRANTS, {"tg_id": tg_id})).all()
    if rows and not _stale(rows[0][0], first_name, username):
        user = rows[0][0]
        assert user.id is not None
        grants = [(role, community) for _user, role, community in rows if role is not None]
        return user, access_from(user.id, grants, bootstrap_admin=bootstrap_admin)
    if not rows:  # a first contact: one INSERT, and no grants can exist yet
        created = await _insert_new(session, clock=clock, tg_id=tg_id, first_name=first_name,
                                    username=username, language=language)
        if created is not None:
            assert created.id is not None
            return created, access_from(created.id, [], bootstrap_admin=bootstrap_admin)
    user = await _write_from_telegram(session, clock=clock, tg_id=tg_id, first_name=first_name,
                                      username=username, language=language)
    assert user.id is not None
    return user, await load_access(session, user_id=user.id, bootstrap_admin=bootstrap_admin)


def _newcomer(insert: Any) -> Any:
    """A new user, or nothing if they exist: INSERT … ON CONFLICT DO NOTHING RETURNING, in
    the dialect of `insert` (built once, as `_USER_AND_GRANTS`)."""
    return (insert(User).values(
        tg_id=bindparam("new_tg_id"), first_name=bindparam("new_first_name"),
        username=bindparam("new_username"), locale=bindparam("new_locale"),
        created_at=bindparam("new_created_at"))
        .on_conflict_do_nothing(index_elements=["tg_id"]).returning(User))


_NEWCOMER = {"sqlite": _newcomer(sqlite_insert), "postgresql": _newcomer(pg_insert)}


async def _insert_new(
    session: AsyncSession, *, clock: Clock, tg_id: int, first_name: str | None,
    username: str | None, language: str,
) -> User | None:
    """Create the user in one statement (INSERT … ON CONFLICT DO NOTHING RETURNING) and
    commit; None if they exist after all (their second update raced this one): the
    caller then reads and refreshes them as before."""
    await begin_write(session)
    insert = _NEWCOMER["sqlite" if session.get_bind().dialect.name == "sqlite" else "postgresql"]
    created = (await session.execute(insert, {
        "new_tg_id": tg_id, "new_first_name": first_name, "new_username": username,
        "new_locale": language, "new_created_at": clock.now()})).scalar_one_or_none()
    if created is None:
        await session.rollback()
        return None
    await session.commit()
    return created


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
    first_name, username = _telegram_names(first_name, username)
    user = await get_by_tg_id(session, tg_id=tg_id)
    if user is not None and not _stale(user, first_name, username):
        return user
    return await _write_from_telegram(session, clock=clock, tg_id=tg_id, first_name=first_name,
                                      username=username, language=language)


def _telegram_names(first_name: str | None, username: str | None) -> tuple[str | None, str | None]:
    """Telegram's names cut to what the users table holds; empty ones become None."""
    return (first_name or "")[:64] or None, (username or "")[:32] or None


async def _write_from_telegram(
    session: AsyncSession,
    *,
    clock: Clock,
    tg_id: int,
    first_name: str | None,
    username: str | None,
    language: str,
) -> User:
    """Create the user or refresh their names, in a write transaction (names already cut).

    Reads the user again inside it (see models.db.begin_write): another update
    from the same person may have written in between."""
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
