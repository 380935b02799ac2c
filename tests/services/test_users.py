"""Who is behind an update: the first contact in one INSERT, a race with their own
second update, and a list's page read without counting when it can be."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, false
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.users import Role, RoleGrant, User
from services import communities, users
from services.clock import ManualClock
from tests.factories import grant, make_community, make_user


async def test_a_first_contact_is_created_with_no_roles_but_the_bootstrap_admins(
    session: AsyncSession, clock: ManualClock,
) -> None:
    ann, access = await users.identify(session, clock=clock, tg_id=7001, first_name="Ann",
                                       username=None, language="en", bootstrap_admin=False)
    assert (ann.tg_id, ann.first_name, ann.locale) == (7001, "Ann", "en")
    assert access.user_id == ann.id and not access.is_admin and not access.is_staff
    bob, access = await users.identify(session, clock=clock, tg_id=7002, first_name="Bob",
                                       username="bob", language="zh", bootstrap_admin=True)
    assert access.is_admin and bob.username == "bob"
    again, _ = await users.identify(session, clock=clock, tg_id=7001, first_name="Ann",
                                    username=None, language="en", bootstrap_admin=False)
    assert again.id == ann.id


async def test_a_first_contact_that_lost_a_race_reads_the_row_and_its_roles(
    session: AsyncSession, clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Their other update inserted them (and a role came) between this one's read and its
    INSERT: the INSERT does nothing, and the row and its grants are read as before."""
    home = await make_community(session, clock)
    ann = await make_user(session, clock, tg_id=7003, name="Ann")
    home_id, ann_id = home.id, ann.id
    await grant(session, clock, ann, Role.STAFF, home)
    blind = (select(User, col(RoleGrant.role), col(RoleGrant.community_id))
             .outerjoin(RoleGrant, col(RoleGrant.user_id) == col(User.id))
             .where(col(User.tg_id) == bindparam("tg_id"), false()))
    monkeypatch.setattr(users, "_USER_AND_GRANTS", blind)  # the read that saw no one
    found, access = await users.identify(session, clock=clock, tg_id=7003, first_name="Ann",
                                         username=None, language="en", bootstrap_admin=False)
    assert found.id == ann_id and access.staff_of == {home_id}
    await session.commit()
    assert len((await session.execute(select(User).where(User.tg_id == 7003))).all()) == 1


async def test_pages_are_the_same_with_or_without_a_count(
    session: AsyncSession, clock: ManualClock,
) -> None:
    for n in range(5):
        await make_community(session, clock, f"Court {n}")
    cases = {(0, 2): (0, 3, ["Court 0", "Court 1"]), (1, 2): (1, 3, ["Court 2", "Court 3"]),
             (2, 2): (2, 3, ["Court 4"]), (9, 2): (2, 3, ["Court 4"]),
             (0, 6): (0, 1, [f"Court {n}" for n in range(5)]), (1, 5): (0, 1, [
                 f"Court {n}" for n in range(5)]), (-1, 5): (0, 1, [
                     f"Court {n}" for n in range(5)])}
    for (page, per_page), (shown, pages, names) in cases.items():
        found = await communities.list_communities(session, page=page, per_page=per_page)
        assert (found.page, found.pages, [c.name for c in found.items]) \
            == (shown, pages, names), (page, per_page)
    empty = await communities.list_communities(session, query="nowhere", page=3)
    assert (empty.page, empty.pages, empty.items) == (0, 1, [])
