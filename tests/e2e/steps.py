"""What the end-to-end tests do as people: one step and its answer, at a time."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from emulator import Emulator, UserHandle
from tests.e2e.conftest import ADMIN_TG_ID, BotProcess

TIMEOUT = 20.0
INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=(inv_[\w-]+)")


async def step(user: UserHandle, action: Any, expect: str) -> str:
    """Do something as the user and wait for the bot's answer containing `expect`."""
    await action
    return (await user.wait_for(expect, timeout=TIMEOUT)).content


async def alert(user: UserHandle, text: str) -> None:
    """Wait for a button's answer (a pop-up, not a message)."""
    for _ in range(int(TIMEOUT * 20)):
        if any(a.text == text for a in user.callback_answers):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no alert {text!r}: {[a.text for a in user.callback_answers]}")


async def join(user: UserHandle, community: str) -> None:
    """A resident onboards into `community` (which has no grids)."""
    await step(user, user.send("/start"), "Privacy notice")
    await step(user, user.press_text("✅ I agree"), "Which community")
    # "All set", then the short what-to-do-first message: wait for the last of them.
    await step(user, user.press_text(community), "What would you like to do first?")


async def community_with_staff(
    emulator: Emulator, *, community: str, staff_id: int, staff_name: str = "Wang"
) -> UserHandle:
    """The district admin opens `community` and invites a staff member, who joins."""
    admin = emulator.user(ADMIN_TG_ID, "Director", language_code="en")
    await step(admin, admin.send("/start"), "Privacy notice")
    await step(admin, admin.press_text("✅ I agree"), "No communities have been set up yet")
    await step(admin, admin.press_reply("🛠 Manage community"), "There are no communities")
    await step(admin, admin.press_text("➕ New community"), "new community's name")
    await step(admin, admin.send(community), "Community created")
    invite = await step(admin, admin.press_text("🧑‍💼 Invite a staff member"), "Invite link")
    match = INVITE_LINK.search(invite)
    assert match is not None, invite
    staff = emulator.user(staff_id, staff_name, language_code="en")
    await step(staff, staff.send(f"/start {match.group(1)}"), "Privacy notice")
    await step(staff, staff.press_text("✅ I agree"), "You are now a staff member")
    return staff


@contextlib.asynccontextmanager
async def showing_log(bot: BotProcess) -> AsyncIterator[None]:
    """If the steps inside fail, print the bot's log into the test report."""
    try:
        yield
    except BaseException:
        print(bot.output)
        raise


async def stop_cleanly(bot: BotProcess, emulator: Emulator) -> None:
    """The bot stops with exit status 0, every request it made was valid, and every
    button press got its answer."""
    assert await bot.stop() == 0
    assert [str(v) for v in emulator.violations] == []
    assert emulator.unanswered_callback_queries() == []
