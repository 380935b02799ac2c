"""The layers hold by lint, not goodwill: nested ruff configs ban the imports that would
break them, and the emulator stands alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).parent / "ruff"

BANNED = [
    ("services", "from aiogram.types import Message"),
    ("services", "from bot.config import Settings"),
    ("services", "from handlers.courses import texts"),
    ("services", "from scheduler.jobs import run_sweeps"),
    ("models", "import aiogram"),
    ("models", "from bot.i18n import N_"),
    ("scheduler", "from handlers.courses.texts import session_text"),
    ("emulator", "from aiogram import Bot"),
    ("emulator", "from services import users"),
    ("emulator", "import bot.config"),
]


def lint(package: str, source: str) -> subprocess.CompletedProcess[str]:
    """ruff on `source` as if it were a module of `package` (its nested config applies)."""
    return subprocess.run(
        [str(RUFF), "check", "--select", "TID251", "--output-format", "concise",
         "--stdin-filename", f"{package}/probe.py", "-"],
        input=source + "\n", capture_output=True, text=True, cwd=ROOT, check=False)


@pytest.mark.parametrize(("package", "source"), BANNED)
def test_a_banned_import_fails_lint(package: str, source: str) -> None:
    result = lint(package, source)
    assert result.returncode == 1 and "TID251" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(("package", "source"), [
    ("services", "from models.users import User"),
    ("scheduler", "from bot.keyboards.outbox import OutboxKeyboards"),
    ("handlers", "from services import users"),
])
def test_an_allowed_import_passes_lint(package: str, source: str) -> None:
    result = lint(package, source)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_emulator_leaves_aiogram_unloaded() -> None:
    code = ("import sys, emulator, emulator.console, emulator.control; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'aiogram', 'bot', 'handlers', 'services', 'models', 'scheduler'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"
