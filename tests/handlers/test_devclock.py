"""/clock moves the bot's time where time travel is allowed, and only there."""

from __future__ import annotations

import pytest

from bot.config import Settings
from scheduler import jobs
from services.clock import ManualClock
from tests.handlers.conftest import ADMIN_TG_ID, Harness


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """A bot with a real token has no /clock unless DEV_CLOCK says so."""
    dev_clock = getattr(request, "param", True)
    return Settings(_env_file=None, admin_ids=frozenset({ADMIN_TG_ID}),  # type: ignore[call-arg]
                    bot_token="123:real-looking-token", dev_clock=dev_clock or None)


async def test_clock_jumps_forward_and_runs_the_sweeps(
    harness: Harness, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    swept: list[object] = []

    async def sweep(**kwargs: object) -> None:
        swept.append(kwargs["clock"])

    monkeypatch.setattr(jobs, "SWEEPS", [sweep])
    ann = harness.person(4001, "Ann", "en")
    await ann.send("/start")
    await ann.press("✅ I agree")
    before = clock.now()
    await ann.send("/clock +1d")
    assert (clock.now() - before).days == 1
    assert ann.last.startswith("🕰 The bot's time is now 2026-03-03")
    assert swept == [clock]
    await ann.send("/clock yesterday")
    assert ann.last == "Use /clock +30m, /clock +2h or /clock +1d."


@pytest.mark.parametrize("settings", [False], indirect=True)
async def test_without_dev_clock_there_is_no_such_command(harness: Harness) -> None:
    ann = harness.person(4002, "Ann", "en")
    await ann.send("/start")
    await ann.press("✅ I agree")
    await ann.send("/clock +1d")
    assert ann.last.startswith("I don't know that command.")
