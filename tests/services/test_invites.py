"""Invite links: who may make them, and that each works exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.audit import AuditEntry
from models.users import Role, RoleGrant
from services import invites
from services.access import Access, load_access
from services.clock import ManualClock
from services.errors import InviteUnusable, NotAllowed
from tests.factories import admin_access, grant, make_community, make_user

WEEK = timedelta(days=7)


async def test_admin_invites_staff_and_the_link_works_once(
    session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    admin = admin_access(await make_user(session, clock, name="Admin"))
    invite = await invites.create_invite(session, access=admin, clock=clock, role=Role.STAFF,
                                         community_id=community.id, ttl=WEEK)
    first = await make_user(session, clock, name="Wang")
    used = await invites.redeem_invite(session, user=first, clock=clock, token=invite.token)
    assert used.used_by == first.id
    assert first.id is not None
    access = await load_access(session, user_id=first.id, bootstrap_admin=False)
    assert access.staff_of == {community.id}
    assert first.community_id == community.id

    second = await make_user(session, clock, name="Li")
    with pytest.raises(InviteUnusable) as refused:
        await invites.redeem_invite(session, user=second, clock=clock, token=invite.token)
    assert refused.value.reason == "used"
    assert second.id is not None
    assert not (await load_access(session, user_id=second.id, bootstrap_admin=False)).is_staff
    actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert actions == ["invite.create", "role.grant"]


async def test_staff_may_invite_only_teachers_of_their_own_community(
    session: AsyncSession, clock: ManualClock
) -> None:
    mine = await make_community(session, clock, "Mine")
    other = await make_community(session, clock, "Other")
    staff = await grant(session, clock, await make_user(session, clock), Role.STAFF, mine)
    await invites.create_invite(session, access=staff, clock=clock, role=Role.TEACHER,
                                community_id=mine.id, ttl=WEEK)
    for role, community_id in ((Role.STAFF, mine.id), (Role.TEACHER, other.id),
                               (Role.ADMIN, None)):
        with pytest.raises(NotAllowed):
            await invites.create_invite(session, access=staff, clock=clock, role=role,
                                        community_id=community_id, ttl=WEEK)
    resident = Access(user_id=staff.user_id + 1)
    with pytest.raises(NotAllowed):
        await invites.create_invite(session, access=resident, clock=clock, role=Role.TEACHER,
                                    community_id=mine.id, ttl=WEEK)


async def test_expired_revoked_and_unknown_links_are_refused(
    session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    admin = admin_access(await make_user(session, clock))
    expiring = await invites.create_invite(session, access=admin, clock=clock,
                                           role=Role.TEACHER, community_id=community.id,
                                           ttl=timedelta(hours=1))
    revoked = await invites.create_invite(session, access=admin, clock=clock, role=Role.TEACHER,
                                          community_id=community.id, ttl=WEEK)
    await invites.revoke_invite(session, access=admin, clock=clock, invite_id=revoked.id or 0)
    user = await make_user(session, clock)
    clock.advance(hours=1, seconds=1)
    for token, reason in ((expiring.token, "expired"), (revoked.token, "revoked"),
                          ("nope", "unknown")):
        with pytest.raises(InviteUnusable) as refused:
            await invites.redeem_invite(session, user=user, clock=clock, token=token)
        assert refused.value.reason == reason
    assert (await session.execute(select(RoleGrant))).first() is None


async def test_someone_who_holds_the_role_leaves_the_link_unused(
    session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    admin = admin_access(await make_user(session, clock))
    teacher = await make_user(session, clock)
    await grant(session, clock, teacher, Role.TEACHER, community)
    invite = await invites.create_invite(session, access=admin, clock=clock, role=Role.TEACHER,
                                         community_id=community.id, ttl=WEEK)
    with pytest.raises(InviteUnusable) as refused:
        await invites.redeem_invite(session, user=teacher, clock=clock, token=invite.token)
    assert refused.value.reason == "already_held"
    newcomer = await make_user(session, clock)
    assert (await invites.redeem_invite(session, user=newcomer, clock=clock,
                                        token=invite.token)).used_by == newcomer.id


async def test_two_people_tapping_one_link_at_once_get_one_role(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with sessionmaker() as session:
        community = await make_community(session, clock)
        admin = admin_access(await make_user(session, clock))
        invite = await invites.create_invite(session, access=admin, clock=clock,
                                             role=Role.STAFF, community_id=community.id,
                                             ttl=WEEK)
        people = [await make_user(session, clock) for _ in range(8)]

    async def tap(index: int) -> bool:
        async with sessionmaker() as session:
            try:
                await invites.redeem_invite(session, user=people[index], clock=clock,
                                            token=invite.token)
            except InviteUnusable:
                return False
            return True

    results = await asyncio.gather(*(tap(i) for i in range(len(people))))
    assert sum(results) == 1
    async with sessionmaker() as session:
        grants = (await session.execute(select(RoleGrant))).scalars().all()
    assert len(grants) == 1


async def test_open_invites_list_and_scope(session: AsyncSession, clock: ManualClock) -> None:
    mine = await make_community(session, clock, "Mine")
    other = await make_community(session, clock, "Other")
    admin = admin_access(await make_user(session, clock))
    staff = await grant(session, clock, await make_user(session, clock), Role.STAFF, mine)
    made = await invites.create_invite(session, access=staff, clock=clock, role=Role.TEACHER,
                                       community_id=mine.id, ttl=WEEK)
    assert [i.id for i in await invites.list_open_invites(
        session, access=staff, clock=clock, community_id=mine.id)] == [made.id]
    with pytest.raises(NotAllowed):
        await invites.list_open_invites(session, access=staff, clock=clock,
                                        community_id=other.id)
    assert await invites.list_open_invites(session, access=admin, clock=clock,
                                           community_id=None) == []
    clock.advance(WEEK)
    assert await invites.list_open_invites(session, access=staff, clock=clock,
                                           community_id=mine.id) == []


async def test_the_roles_a_screen_offers_to_invite(session: AsyncSession, clock: ManualClock
                                                   ) -> None:
    sunny = await make_community(session, clock, "Sunny")
    other = await make_community(session, clock, "Other")
    admin = admin_access(await make_user(session, clock, name="Admin"))
    staff = await grant(session, clock, await make_user(session, clock), Role.STAFF, sunny)
    resident = Access(user_id=staff.user_id + 100)
    assert invites.invitable_roles(admin, community_id=sunny.id) == [Role.TEACHER, Role.STAFF]
    assert invites.invitable_roles(admin, community_id=None) == [Role.ADMIN]
    assert invites.invitable_roles(staff, community_id=sunny.id) == [Role.TEACHER]
    assert invites.invitable_roles(staff, community_id=other.id) == []
    assert invites.invitable_roles(staff, community_id=None) == []
    assert invites.invitable_roles(resident, community_id=sunny.id) == []
