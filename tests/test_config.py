"""A bad setting stops start-up with one line naming it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from bot.config import Settings, describe_error
from models.db import ROOT


@pytest.mark.parametrize(
    ("name", "value"),
    [("ADMIN_IDS", "12,abc"), ("TIMEZONE", "Mars/Base"), ("BOT_TOKEN", "not-a-token"),
     ("DATABASE_URL", "mysql://x"), ("LOG_LEVEL", "LOUD"), ("EMULATOR_PORT", "99999"),
     ("QUIET_HOURS", "9pm-8am")],
)
def test_bad_values_name_the_setting(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert describe_error(error.value).startswith(f"Configuration error: {name}: ")


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 2;3")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@localhost/db")
    monkeypatch.setenv("BOT_TOKEN", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.admin_ids == {1, 2, 3}
    assert settings.database_url == "postgresql+asyncpg://u:p@localhost/db"
    assert settings.bot_token is None


def test_the_process_exits_with_one_clear_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"], env={"TIMEZONE": "Nowhere/Land", "PATH": ""},
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: TIMEZONE: unknown time zone (use a name such as Asia/Shanghai)"
    ]


WEBHOOK = {"BOT_TOKEN": "123:abc", "WEBHOOK_URL": "https://bot.example.org/tg/hook"}


@pytest.mark.parametrize(
    ("env", "line"),
    [({**WEBHOOK}, "WEBHOOK_SECRET: required when WEBHOOK_URL is set"),
     ({**WEBHOOK, "WEBHOOK_SECRET": "has spaces"}, "WEBHOOK_SECRET: must be 1 to 256 of"),
     ({**WEBHOOK, "WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET: must be 1 to 256 of"),
     ({**WEBHOOK, "WEBHOOK_SECRET": "ok", "WEBHOOK_PORT": "0"}, "WEBHOOK_PORT: "),
     ({"BOT_TOKEN": "123:abc", "WEBHOOK_URL": "bot.example.org"}, "WEBHOOK_URL: must be a URL"),
     ({"WEBHOOK_URL": "https://bot.example.org/h", "WEBHOOK_SECRET": "ok"},
      "WEBHOOK_URL: needs a BOT_TOKEN"),
     ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: ")],
)
def test_webhook_settings_are_checked(
    env: dict[str, str], line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert describe_error(error.value).startswith(f"Configuration error: {line}")


def test_the_webhook_path_is_the_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**WEBHOOK, "WEBHOOK_SECRET": "A-z_09"}.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.webhook_path == "/tg/hook"
    assert (settings.webhook_host, settings.webhook_port) == ("0.0.0.0", 8080)
