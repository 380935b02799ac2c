"""Who may do what: roles resolved once per update and checked by every service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.users import Role, RoleGrant
from services.errors import NotAllowed


@dataclass(frozen=True)
class Access:
    """The roles of one user. Residents have no grants; admins see everything."""

    user_id: int
    is_admin: bool = False
    staff_of: frozenset[int] = field(default_factory=frozenset)
    teacher_of: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return bool(self.staff_of)

    @property
    def is_teacher(self) -> bool:
        return bool(self.teacher_of)

    def can_manage(self, community_id: int | None) -> bool:
        """Staff of that community, or a district admin."""
        return self.is_admin or (community_id is not None and community_id in self.staff_of)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise NotAllowed("district admin only")

    def require_manage(self, community_id: int | None) -> None:
        if not self.can_manage(community_id):
            raise NotAllowed(f"not staff of community {community_id}")


async def load_access(session: AsyncSession, *, user_id: int, bootstrap_admin: bool) -> Access:
    """Resolve a user's roles; `bootstrap_admin` is true for ids in ADMIN_IDS."""
    rows = (
        await session.execute(
            select(col(RoleGrant.role), col(RoleGrant.community_id)).where(
                col(RoleGrant.user_id) == user_id)
        )
    ).all()
    return access_from(user_id, rows, bootstrap_admin=bootstrap_admin)


def access_from(
    user_id: int, rows: Sequence[tuple[str, int | None]], *, bootstrap_admin: bool
) -> Access:
    """Access from (role, community_id) grant rows."""
    staff = frozenset(c for r, c in rows if r == Role.STAFF and c is not None)
    teacher = frozenset(c for r, c in rows if r == Role.TEACHER and c is not None)
    admin = bootstrap_admin or any(r == Role.ADMIN for r, _ in rows)
    return Access(user_id=user_id, is_admin=admin, staff_of=staff, teacher_of=teacher)
