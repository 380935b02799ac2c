"""A faulty world: updates aiogram cannot read, a locked database, Telegram's 5xx, odd ids."""

from __future__ import annotations

import pytest

from bot.factory import LeanSession
from tests.handlers.conftest import Harness
from tests.handlers.test_common import onboarded


async def test_an_unreadable_update_is_skipped_and_everyone_is_answered_again(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ann = await onboarded(harness)
    bad = harness.emulator.state.push_update(
        "message", {"message_id": "not a number", "date": "soon", "chat": {"id": ann.id}})
    assert bad is not None
    answered = len(ann.texts)
    await ann.send("/help")  # polled in the same batch as the bad one, after it
    assert len(ann.texts) == answered + 1
    await ann.send("/help")
    assert len(ann.texts) == answered + 2
    session = harness.bot.session
    assert isinstance(session, LeanSession) and session.unreadable_updates == 1
    assert f"update {bad.update_id} cannot be read" in caplog.text
    assert harness.emulator.state.updates == []  # the offset moved past it
