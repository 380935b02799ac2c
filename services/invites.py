"""One-time invite links: the only way anybody gains a role."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.db import write
from models.invites import Invite
from models.outbox import OutboxKind
from models.users import Role, RoleGrant, User
from services import audit, communities, outbox
from services.access import Access
from services.clock import Clock
from services.errors import InviteUnusable, NotAllowed, NotFound
from services.outbox import N_, Notify

Keyboard = dict[str, Any]


class Buttons(Protocol):
    """The buttons under "what you can do now" (bot.keyboards.outbox.DistrictButtons)."""

    def welcome(self, role: Role, community_id: int | None) -> Keyboard:
        """Where a new teacher, staff member or admin starts."""
        ...


# What the inviter is told when the link is used, and what the new member can do now:
# one msgid per role, so each is translated whole.
USED_KEYS = {
    Role.TEACHER: N_("✅ {name} used your invite link and is now a teacher of {community}."),
    Role.STAFF: N_("✅ {name} used your invite link and is now a staff member of "
                   "{community}."),
    Role.ADMIN: N_("✅ {name} used your invite link and is now a district admin."),
}
WELCOME_KEYS = {
    Role.TEACHER: N_("What you can do now, as a teacher of {community}:\n"
                     "• 📚 Courses: say what you can teach, offer a course, take residents' "
                     "orders\n• schedule sessions and see who enrolled\n"
                     "• check people in and read their ratings"),
    Role.STAFF: N_("What you can do now, as a staff member of {community}:\n"
                   "• 📢 Announcements to residents, now or later\n"
                   "• 🛠 Manage community: grids, members, invite links for teachers, "
                   "the audit log, figures\n"
                   "• answer residents' reports, run polls, volunteer tasks and sessions"),
    Role.ADMIN: N_("What you can do now, as a district admin:\n"
                   "• 🛠 Manage community: open communities, appoint staff, see every "
                   "community's members, figures and audit log\n"
                   "• every staff tool, for any community"),
}

TOKEN_BYTES = 16  # 22 url-safe characters: fits Telegram's 64-character /start payload


def may_invite(access: Access, *, role: Role, community_id: int | None) -> bool:
    """Admins invite anyone; staff invite teachers to their own community."""
    if access.is_admin:
        return (role == Role.ADMIN) == (community_id is None)
    return role == Role.TEACHER and community_id is not None and community_id in access.staff_of


INVITABLE = (Role.TEACHER, Role.STAFF, Role.ADMIN)


def invitable_roles(access: Access, *, community_id: int | None) -> list[Role]:
    """The roles the actor may invite someone to in a community (None: the district's
    own role, admin): what the management screen offers."""
    return [role for role in INVITABLE
            if may_invite(access, role=role, community_id=community_id)]


async def create_invite(
    session: AsyncSession,
    *,
    access: Access,
    clock: Clock,
    role: Role,
    community_id: int | None,
    ttl: timedelta,
) -> Invite:
    """Make a one-time link that grants `role` in `community_id`."""
    if not may_invite(access, role=role, community_id=community_id):
        raise NotAllowed(f"may not invite {role} to {community_id}")
    async with write(session):
        if community_id is not None:
            await communities.get_community(session, community_id=community_id)
        now = clock.now()
        invite = Invite(token=secrets.token_urlsafe(TOKEN_BYTES), role=role,
                        community_id=community_id, created_by=access.user_id, created_at=now,
                        expires_at=now + ttl)
        session.add(invite)
        await session.flush()
        audit.record(session, clock=clock, actor_id=access.user_id, action="invite.create",
                     community_id=community_id, role=str(role), invite_id=invite.id)
    return invite


async def list_open_invites(
    session: AsyncSession, *, access: Access, clock: Clock, community_id: int | None
) -> list[Invite]:
    """Unused, unexpired, unrevoked invites of a community (or the district's admin ones)."""
    if community_id is None:
        access.require_admin()
    else:
        access.require_manage(community_id)
    query = select(Invite).where(
        col(Invite.community_id).is_not_distinct_from(community_id),
        col(Invite.used_at).is_(None),
        col(Invite.revoked_at).is_(None),
        col(Invite.expires_at) > clock.now(),
    ).order_by(col(Invite.created_at))
    return list((await session.execute(query)).scalars().all())


async def revoke_invite(
    session: AsyncSession, *, access: Access, clock: Clock, invite_id: int
) -> Invite:
    """Withdraw an invite before anybody uses it."""
    invite = await session.get(Invite, invite_id)
    if invite is None:
        raise NotFound(f"invite {invite_id}")
    if not (access.is_admin or may_invite(access, role=invite.role,
                                           community_id=invite.community_id)):
        raise NotAllowed("not your invite to revoke")
    if invite.used_at is not None:
        raise InviteUnusable("used")
    if invite.revoked_at is None:
        async with write(session):
            invite.revoked_at = clock.now()
            audit.record(session, clock=clock, actor_id=access.user_id, action="invite.revoke",
                         community_id=invite.community_id, invite_id=invite.id)
    return invite


async def redeem_invite(
    session: AsyncSession, *, user: User, clock: Clock, token: str,
    buttons: Buttons | None = None, notify: Notify | None = None,
) -> Invite:
    """Use an invite: grant its role, once, even if two people tap the link together.

    The invite is claimed with one conditional UPDATE, so exactly one redeemer
    wins; someone who already holds the role leaves the link unused. In the same
    commit the inviter is told, and the new member gets "what you can do now"
    (with `buttons`), through the outbox.
    """
    assert user.id is not None
    async with write(session):  # a refusal ends it having written nothing; `user` stays usable
        found = await session.execute(select(Invite).where(col(Invite.token) == token))
        invite = found.scalar_one_or_none()
        if invite is None:
            raise InviteUnusable("unknown")
        held = (await session.execute(select(col(RoleGrant.id)).where(
            col(RoleGrant.user_id) == user.id, col(RoleGrant.role) == invite.role,
            col(RoleGrant.community_id).is_not_distinct_from(invite.community_id),
        ))).first()
        if held is not None and invite.used_at is None:
            raise InviteUnusable("already_held")
        now = clock.now()
        claimed = await session.execute(
            update(Invite)
            .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None),
                   col(Invite.revoked_at).is_(None), col(Invite.expires_at) > now)
            .values(used_by=user.id, used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            # the conditional UPDATE wrote nothing: ending the turn here writes nothing
            reason = ("used" if invite.used_at else "revoked" if invite.revoked_at
                      else "expired")
            raise InviteUnusable(reason)
        session.add(RoleGrant(user_id=user.id, role=invite.role,
                              community_id=invite.community_id,
                              granted_by=invite.created_by, created_at=now))
        if user.community_id is None and invite.community_id is not None:
            user.community_id = invite.community_id
            session.add(user)
        audit.record(session, clock=clock, actor_id=invite.created_by, action="role.grant",
                     community_id=invite.community_id, role=str(invite.role), user_id=user.id,
                     invite_id=invite.id)
        await tell_about_redeemed(session, clock=clock, invite=invite, user=user,
                                  buttons=buttons, notify=notify)
    await session.refresh(invite)
    return invite


async def tell_about_redeemed(
    session: AsyncSession, *, clock: Clock, invite: Invite, user: User,
    buttons: Buttons | None, notify: Notify | None,
) -> None:
    """Queue the inviter's "your link was used" and the new member's "what you can do
    now", in the caller's transaction."""
    role = Role(invite.role)
    where = ""
    if invite.community_id is not None:
        where = (await communities.get_community(session, community_id=invite.community_id)).name
    if invite.created_by is not None and invite.created_by != user.id:
        await outbox.queue(
            session, clock=clock, user_id=invite.created_by, kind=OutboxKind.STATUS,
            key=USED_KEYS[role], params={"name": communities.shown_name(user),
                                         "community": where},
            about=user.id, dedupe_key=f"invite.used:{invite.id}", notify=notify)
    await outbox.queue(
        session, clock=clock, user_id=user.id or 0, kind=OutboxKind.STATUS,
        key=WELCOME_KEYS[role], params={"community": where},
        keyboard=buttons.welcome(role, invite.community_id) if buttons else None,
        dedupe_key=f"invite.welcome:{invite.id}", notify=notify)
