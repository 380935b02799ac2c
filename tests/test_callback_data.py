"""Every button's data fits Telegram's 64 bytes with the largest values it can carry."""

from __future__ import annotations

import inspect
import typing
from enum import Enum

import pytest
from aiogram.filters.callback_data import CallbackData

import bot.callback_data as package
from bot.callback_data import broadcasts, common, courses, district, voices, volunteers
from bot.keyboards import communities as picker
from bot.keyboards import dates

BIG_ID = 10**12  # far above any row id (a trillion) or Telegram id (about 10**10) today


def classes() -> list[type[CallbackData]]:
    found: dict[str, type[CallbackData]] = {}
    for module in (package, broadcasts, common, courses, district, voices, volunteers, dates,
                   picker):
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, CallbackData) and value is not CallbackData:
                found[value.__qualname__ + value.__module__] = value
    return list(found.values())


def largest(kind: type[CallbackData]) -> CallbackData:
    values: dict[str, object] = {}
    hints = typing.get_type_hints(kind)
    for name in kind.model_fields:
        hint = hints[name]
        if isinstance(hint, type) and issubclass(hint, Enum):
            values[name] = max(hint, key=lambda member: len(str(member.value)))
        elif hint is int:
            values[name] = -BIG_ID if name.startswith("delta") else BIG_ID
        elif hint is str:
            values[name] = "x" * 8  # short codes only (a kind, a skill code)
        elif hint is bool:
            values[name] = True
    return kind(**values)


@pytest.mark.parametrize("kind", classes(), ids=lambda kind: kind.__name__)
def test_the_largest_button_data_fits_64_bytes(kind: type[CallbackData]) -> None:
    packed = largest(kind).pack()
    assert len(packed.encode()) <= 64, packed


def test_no_two_purposes_share_a_prefix() -> None:
    """Two classes with one prefix would each parse the other's buttons."""
    prefixes = [kind.__prefix__ for kind in classes()]  # type: ignore[attr-defined]
    assert sorted(p for p in set(prefixes) if prefixes.count(p) > 1) == []
