"""The few answers every feature gives to a button it cannot honour."""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _


def out_of_date() -> str:
    """A button whose thing has moved on (or never existed: a forged one)."""
    return _("This button is out of date.")


def out_of_date_use_menu() -> str:
    """The same, pointing at the main menu."""
    return _("This button is out of date. Please use the menu below.")


def not_allowed() -> str:
    """A button pressed by someone without the role for it."""
    return _("You can't do that here. Only staff of this community can.")


async def answer_out_of_date(callback: CallbackQuery, *, use_menu: bool = False) -> None:
    """Tell the presser, in an alert, that the button no longer applies (and, with
    `use_menu`, to use the main menu instead)."""
    await callback.answer(out_of_date_use_menu() if use_menu else out_of_date(), show_alert=True)


async def answer_not_allowed(callback: CallbackQuery) -> None:
    await callback.answer(not_allowed(), show_alert=True)
