"""Admins and staff: communities, grids, invite links, and forged buttons refused."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.common import (
    ManageCommunityCb,
    ManageInviteCb,
    ManageListCb,
    ManageNewCommunityCb,
    ManageNewGridCb,
)
from models.audit import AuditEntry
from models.communities import Community, Grid
from models.invites import Invite
from models.users import Role
from services.clock import ManualClock
from tests.factories import make_community
from tests.handlers.conftest import ADMIN_TG_ID, Harness, onboard

LINK = re.compile(r"https://t\.me/(\w+)\?start=(inv_[\w-]+)")


async def count(session: AsyncSession, model: type) -> int:
    await session.commit()  # a fresh snapshot: the bot wrote through other connections
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_admin_creates_a_community_with_grids_and_a_staff_invite_works_once(
    harness: Harness, session: AsyncSession
) -> None:
    admin = harness.person(ADMIN_TG_ID, "Director", "en")
    await onboard(admin)
    assert "🛠 Manage community" in admin.menu

    await admin.tap("🛠 Manage community")
    assert admin.last == "There are no communities yet."
    await admin.press("➕ New community")
    await admin.send("  Sunny   Court ")
    assert admin.last.startswith("Community created ✅")
    assert "<b>" not in admin.last and "Sunny Court" in admin.last
    await admin.press("➕ Add grids")
    await admin.send("Block 1\nBlock 2\n\nBlock 1")
    assert admin.last.startswith("Added: Block 1、Block 2\nNot added:\nBlock 1: already exists")
    assert await count(session, Grid) == 2

    await admin.press("🧑‍💼 Invite a staff member")
    match = LINK.search(admin.last)
    assert match and match.group(1) == harness.emulator.username
    assert "staff member · Sunny Court" in admin.last

    wang = harness.person(2001, "Wang", "zh")
    await wang.send(f"/start {match.group(2)}")
    assert "隐私说明" in wang.last  # consent first, the link waits
    await wang.press("✅ 我同意")
    assert "🎉 您现在是Sunny Court的社区工作人员。" in wang.texts[-1]
    assert "🛠 社区管理" in wang.menu

    li = harness.person(2002, "Li", "en")
    await onboard(li, "Sunny Court")
    await li.send(f"/start {match.group(2)}")
    assert li.texts[-1].startswith("This invite link has already been used.")
    assert "🛠 Manage community" not in li.menu
    await session.commit()
    actions = (await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert [a for (a,) in actions] == ["community.create", "grid.create", "grid.create",
                                       "invite.create", "role.grant"]


async def test_staff_see_only_their_community_and_can_invite_only_teachers(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    mine = await make_community(session, clock, "Mine")
    other = await make_community(session, clock, "Other")
    admin = harness.person(ADMIN_TG_ID, "Director", "en")
    await onboard(admin)
    await admin.tap("🛠 Manage community")
    await admin.press("Mine")
    await admin.press("🧑‍💼 Invite a staff member")
    token = LINK.search(admin.last).group(2)  # type: ignore[union-attr]

    staff = harness.person(2003, "Zhao", "en")
    await staff.send(f"/start {token}")
    await staff.press("✅ I agree")  # the invite made Mine their community: no question
    await staff.tap("🛠 Manage community")
    message = staff.handle.last_bot_message
    assert message is not None and message.button_labels == ["Mine"]
    await staff.press("Mine")
    labels = staff.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert "🧑‍💼 Invite a staff member" not in labels
    await staff.press("👩‍🏫 Invite a teacher")
    assert "teacher · Mine" in staff.last

    # Forged buttons: another community, a staff invite, a new community.
    for forged in (
        ManageCommunityCb(community_id=other.id or 0),
        ManageInviteCb(community_id=mine.id or 0, role=Role.STAFF),
        ManageInviteCb(community_id=other.id or 0, role=Role.TEACHER),
        ManageNewCommunityCb(),
        ManageInviteCb(community_id=0, role=Role.ADMIN),
    ):
        answer = await staff.forge(forged.pack())
        assert answer == "You can't do that here. Only staff of this community can."
    assert await count(session, Invite) == 2  # the admin's and the staff member's
    assert await count(session, Community) == 2


async def test_a_resident_pressing_forged_admin_buttons_changes_nothing(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock, "Mine")
    eve = harness.person(2004, "Eve", "en")
    await onboard(eve, "Mine")
    await eve.send("🛠 Manage community")
    assert eve.last.startswith("This is for community staff.")
    for forged in (
        ManageListCb(),
        ManageNewGridCb(community_id=community.id or 0),
        ManageInviteCb(community_id=community.id or 0, role=Role.STAFF),
    ):
        assert await eve.forge(forged.pack()) == \
            "You can't do that here. Only staff of this community can."
    assert await count(session, Invite) == 0
    assert await count(session, Grid) == 0


async def test_admin_revokes_an_invite_and_the_link_stops_working(
    harness: Harness, session: AsyncSession, clock: ManualClock
) -> None:
    await make_community(session, clock, "Mine")
    admin = harness.person(ADMIN_TG_ID, "Director", "en")
    await onboard(admin)
    await admin.tap("🛠 Manage community")
    await admin.press("Mine")
    await admin.press("👩‍🏫 Invite a teacher")
    token = LINK.search(admin.last).group(2)  # type: ignore[union-attr]
    await admin.press("🔗 Open invites")
    assert admin.last.startswith("Open invites:\n1. teacher, until ")
    await admin.press("Revoke 1")
    assert admin.last == "No open invites."

    teacher = harness.person(2005, "Sun", "en")
    await onboard(teacher, "Mine")
    await teacher.send(f"/start {token}")
    assert teacher.texts[-1].startswith("This invite link was withdrawn.")


async def test_cancel_leaves_a_half_finished_step(harness: Harness, session: AsyncSession) -> None:
    admin = harness.person(ADMIN_TG_ID, "Director", "en")
    await onboard(admin)
    await admin.tap("🛠 Manage community")
    await admin.press("➕ New community")
    await admin.send("/cancel")
    assert admin.last == "Cancelled."
    await admin.send("Sunny Court")
    assert admin.last.startswith("Sorry, I didn't understand that.")
    assert await count(session, Community) == 0
    await admin.send("/cancel")
    assert admin.last == "Nothing to cancel."


async def test_a_refused_name_gets_the_error_routers_words_and_the_step_waits(
    harness: Harness, session: AsyncSession
) -> None:
    admin = harness.person(ADMIN_TG_ID, "Director", "en")
    await onboard(admin)
    await admin.tap("🛠 Manage community")
    await admin.press("➕ New community")
    await admin.send("x" * 65)
    assert admin.last == "The name is too long (at most 64 characters)."
    await admin.send("   ")
    assert admin.last == "The name is empty."
    await admin.send("Sunny Court")
    assert admin.last.startswith("Community created ✅")
    await admin.press("➕ Add grids")
    await admin.send("Block 1\n" + "y" * 65)
    assert "Not added:\n" + "y" * 64 + ": The name is too long (at most 64 characters)." \
        in admin.last
    assert await count(session, Community) == 1
    assert await count(session, Grid) == 1
