"""Commands that work from anywhere: /help, /menu, /cancel, /privacy."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.filters import MenuButton
from bot.keyboards.menu import MENU
from handlers.onboarding import privacy_text, show_menu
from services.access import Access

router = Router(name=__name__)


def help_text(access: Access) -> str:
    lines = [_("<b>How to use this bot</b>"),
             _("Press the big buttons at the bottom of the screen:")]
    lines += [f"{_(item.label)}: {_(item.help)}" for item in MENU
              if item.help and item.visible(access)]
    lines += [
        "",
        _("You never need to type commands, but these work at any time:"),
        _("/menu: show the main menu"),
        _("/cancel: stop what you are doing"),
        _("/language: 中文 / English"),
        _("/privacy: what we keep about you"),
        _("/mydata: get a file with all your data"),
        _("/deleteme: erase your data"),
    ]
    return "\n".join(lines)


@router.message(Command("help"))
@router.message(MenuButton("help"))
async def on_help(message: Message, access: Access) -> None:
    """/help and the ❓ Help button."""
    await message.answer(help_text(access))


@router.message(Command("menu"))
async def on_menu(message: Message, access: Access, state: FSMContext) -> None:
    """/menu: back to the main menu, leaving any half-finished step."""
    await state.clear()
    await show_menu(message, access)


@router.message(Command("cancel"))
async def on_cancel(message: Message, access: Access, state: FSMContext) -> None:
    """/cancel: always gets you out of a half-finished conversation."""
    had_state = await state.get_state() is not None
    await state.clear()
    await show_menu(message, access, _("Cancelled.") if had_state else _("Nothing to cancel."))


@router.message(Command("privacy"))
async def on_privacy(message: Message) -> None:
    """/privacy: the notice, any time."""
    await message.answer(privacy_text())
