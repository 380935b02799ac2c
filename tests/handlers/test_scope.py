"""The community picker: an admin of thirty communities finds one by typing part of its
name; names sort as people count; a forged community is refused; the last choice comes
first next time; someone who serves one community is never asked."""

from __future__ import annotations

import pytest
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards.communities import ScopeCb
from handlers.scope import ask_community, chosen
from models.users import Role
from services.access import Access
from services.clock import ManualClock
from services.scope import Serving, natural_key
from tests.factories import make_community
from tests.handlers.conftest import ADMIN_TG_ID, Harness, in_front, member, onboard

FLOW = "tt"


@pytest.fixture
def flow(harness: Harness) -> Router:
    """A staff tool that needs a community, as every real one does."""
    router = Router(name="a staff tool")

    @router.message(Command("tool"))
    async def start(message: Message, state: FSMContext, access: Access,
                    session: AsyncSession) -> None:
        community_id = await ask_community(message, state=state, access=access,
                                           session=session, flow=FLOW, serving=Serving.STAFF)
        if community_id is not None:
            await message.answer(f"working on {community_id}")

    @router.callback_query(ScopeCb.filter(F.flow == FLOW))
    async def picked(callback: CallbackQuery, callback_data: ScopeCb, state: FSMContext,
                     access: Access) -> None:
        community_id = await chosen(callback_data, access=access, state=state,
                                    serving=Serving.STAFF)
        await callback.answer()
        await callback.message.answer(f"working on {community_id}")  # type: ignore[union-attr]

    in_front(harness, router)
    return router


def test_names_sort_as_people_count() -> None:
    names = ["社区10", "社区2", "社区1", "Sunny 11", "sunny 3"]
    assert sorted(names, key=natural_key) == ["sunny 3", "Sunny 11", "社区1", "社区2", "社区10"]


async def test_an_admin_of_thirty_communities_picks_one_by_search(
    harness: Harness, session: AsyncSession, clock: ManualClock, flow: Router
) -> None:
    made = {n: await make_community(session, clock, f"幸福社区{n}") for n in range(1, 31)}
    await session.commit()
    admin = harness.person(ADMIN_TG_ID, "Zhou", "en")
    await onboard(admin)  # no home community
    await admin.send("/tool")
    assert "You serve 30 communities." in admin.last
    labels = admin.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert labels[:3] == ["幸福社区1", "幸福社区2", "幸福社区3"]  # 2 before 10
    assert "1/4" in labels  # eight a page
    await admin.press("▶")
    assert admin.handle.last_bot_message.button_labels[0] == "幸福社区9"  # type: ignore[union-attr]
    await admin.send("2")
    assert "12 communities match “2”." in admin.last
    await admin.send("社区27")
    assert "1 community matches “社区27”." in admin.last
    await admin.press("幸福社区27")
    assert admin.last == f"working on {made[27].id}"
    await admin.send("/tool")  # next time, the last choice comes first
    labels = admin.handle.last_bot_message.button_labels  # type: ignore[union-attr]
    assert labels[0] == "⭐ 幸福社区27"


async def test_staff_of_one_community_is_not_asked_and_a_forged_choice_is_refused(
    harness: Harness, session: AsyncSession, clock: ManualClock, flow: Router
) -> None:
    home = await make_community(session, clock, "Sunny Court")
    other = await make_community(session, clock, "Rainy Court")
    staff, _ = await member(harness, session, clock, home, 7001, "Liu", Role.STAFF)
    await staff.send("/tool")
    assert staff.last == f"working on {home.id}"
    forged = ScopeCb(flow=FLOW, community_id=other.id or 0).pack()
    assert await staff.forge(forged) == \
        "You can't do that here. Only staff of this community can."
    assert staff.last == f"working on {home.id}"
