"""/mydata gives a person everything about them; /deleteme leaves only anonymous rows."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.users import Role, RoleGrant, User
from services import privacy, users
from services.clock import ManualClock
from tests.factories import grant, make_community, make_user


async def test_export_holds_the_user_and_every_row_about_them(
    session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    ann = await make_user(session, clock, name="Ann", community=community)
    await grant(session, clock, ann, Role.TEACHER, community)
    other = await make_user(session, clock, name="Bob")
    await grant(session, clock, other, Role.TEACHER, community)

    data = json.loads(privacy.export_as_json(await privacy.export_user_data(session, user=ann)))
    assert data["user"]["first_name"] == "Ann"
    assert [row["user_id"] for row in data["role_grants"]] == [ann.id]


async def test_erase_keeps_an_anonymous_row_and_nothing_personal(
    session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    ann = await make_user(session, clock, tg_id=777, name="Ann", community=community)
    await grant(session, clock, ann, Role.STAFF, community)
    await privacy.erase_user(session, user=ann, clock=clock)

    row = (await session.execute(select(User).where(User.id == ann.id))).scalar_one()
    assert (row.tg_id, row.first_name, row.username, row.consented_at) == (None, None, None, None)
    assert row.deleted_at == clock.now()
    assert row.community_id == community.id  # anonymous counts per community stay true
    assert (await session.execute(select(RoleGrant))).first() is None
    assert await users.get_by_tg_id(session, tg_id=777) is None
