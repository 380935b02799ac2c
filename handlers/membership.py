"""Noticing when a user blocks or unblocks the bot: only their private chat counts.

Being removed from a group (or removing the bot from one) says nothing about whether
the person still wants our messages; the dispatcher keeps groups out, and so does this.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from services import users
from services.clock import Clock

router = Router(name=__name__)
router.my_chat_member.filter(F.chat.type == ChatType.PRIVATE)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def on_blocked(event: ChatMemberUpdated, session: AsyncSession, clock: Clock) -> None:
    """The user blocked the bot: stop sending them anything."""
    await users.set_blocked(session, tg_id=event.from_user.id, clock=clock, blocked=True)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER))
async def on_unblocked(event: ChatMemberUpdated, session: AsyncSession, clock: Clock) -> None:
    """The user unblocked the bot."""
    await users.set_blocked(session, tg_id=event.from_user.id, clock=clock, blocked=False)
