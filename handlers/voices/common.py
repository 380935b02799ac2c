"""What the voices modules share beyond bot/screens.py (re-exported from there)."""

from __future__ import annotations

from bot.screens import drop_buttons as drop_buttons
