"""Communities and grids: creating them, finding them by part of a Chinese name."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.users import Role
from services import communities
from services.access import Access
from services.clock import ManualClock
from services.errors import AlreadyExists, InvalidInput, NotAllowed
from tests.factories import admin_access, grant, make_community, make_user


async def test_admin_creates_communities_and_names_are_unique(
    session: AsyncSession, clock: ManualClock
) -> None:
    admin = admin_access(await make_user(session, clock))
    created = await communities.create_community(session, access=admin, clock=clock,
                                                 name="  阳光   社区 ", timezone="Asia/Shanghai")
    assert created.name == "阳光 社区"
    with pytest.raises(AlreadyExists):
        await communities.create_community(session, access=admin, clock=clock,
                                           name="阳光 社区", timezone="Asia/Shanghai")
    for bad, reason in (("   ", "empty"), ("长" * 65, "too_long")):
        with pytest.raises(InvalidInput) as error:
            await communities.create_community(session, access=admin, clock=clock, name=bad,
                                               timezone="Asia/Shanghai")
        assert error.value.reason == reason
    with pytest.raises(NotAllowed):
        await communities.create_community(session, access=Access(user_id=admin.user_id),
                                           clock=clock, name="X", timezone="Asia/Shanghai")
    assert await communities.count_communities(session) == 1


async def test_search_matches_part_of_a_chinese_name_and_pages(
    session: AsyncSession, clock: ManualClock
) -> None:
    for name in ("阳光花园社区", "幸福里社区", "阳光新村", "梅园社区", "50%_Court"):
        await make_community(session, clock, name)
    found = await communities.list_communities(session, query="阳光")
    assert {c.name for c in found.items} == {"阳光花园社区", "阳光新村"}
    assert [c.name for c in (await communities.list_communities(session, query="%_")).items] \
        == ["50%_Court"]
    first = await communities.list_communities(session, per_page=2)
    last = await communities.list_communities(session, per_page=2, page=99)
    assert (first.pages, first.page, last.page, len(last.items)) == (3, 0, 2, 1)


async def test_staff_add_grids_only_to_their_own_community(
    session: AsyncSession, clock: ManualClock
) -> None:
    mine = await make_community(session, clock, "Mine")
    other = await make_community(session, clock, "Other")
    staff = await grant(session, clock, await make_user(session, clock), Role.STAFF, mine)
    await communities.create_grid(session, access=staff, clock=clock, community_id=mine.id or 0,
                                  name="1号楼")
    with pytest.raises(AlreadyExists):
        await communities.create_grid(session, access=staff, clock=clock,
                                      community_id=mine.id or 0, name="1号楼")
    with pytest.raises(NotAllowed):
        await communities.create_grid(session, access=staff, clock=clock,
                                      community_id=other.id or 0, name="2号楼")
    assert [g.name for g in await communities.list_grids(session,
                                                         community_id=mine.id or 0)] == ["1号楼"]


async def test_what_the_manage_screen_lists_and_whether_it_offers_a_new_community(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny")
    await make_community(session, clock, "Other")
    admin = admin_access(await make_user(session, clock))
    staff = await grant(session, clock, await make_user(session, clock), Role.STAFF, sunny)
    everything = await communities.manageable(session, access=admin)
    assert everything.can_create and len(everything.communities) == 2
    own = await communities.manageable(session, access=staff)
    assert not own.can_create and [c.id for c in own.communities] == [sunny.id]
    with pytest.raises(NotAllowed):
        await communities.manageable(session, access=Access(user_id=staff.user_id + 100))
