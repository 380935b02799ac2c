"""Catch-alls, registered last: unknown text, stale or forged buttons, label buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards.menu import main_menu
from bot.keyboards.pager import NOOP
from bot.replies import answer_out_of_date
from handlers.voices.concerns import ReportStates, offer
from models.users import User
from services.access import Access

router = Router(name=__name__)


@router.callback_query(F.data == NOOP)
async def on_noop(callback: CallbackQuery) -> None:
    """A button that only shows a label, such as a page number."""
    await callback.answer()


@router.callback_query()
async def on_stale_button(callback: CallbackQuery) -> None:
    """A button nobody handles: old, from a removed feature, or forged."""
    await answer_out_of_date(callback, use_menu=True)


@router.message(F.text.startswith("/"))
async def on_unknown_command(message: Message, access: Access) -> None:
    """A command we do not know."""
    await message.answer(_("I don't know that command. Press a button below, "
                           "or send /help."), reply_markup=main_menu(access))


@router.message()
async def on_unknown(message: Message, access: Access, session: AsyncSession,
                     state: FSMContext, user: User | None = None) -> None:
    """Anything said outside a conversation reaches someone: words, a photo, a voice note
    or a place are offered as a report to the community's staff (or the courses the words
    name); anything else, or from someone with no community yet, a nudge to the menu."""
    if user is not None and await state.get_state() in (None, ReportStates.offered.state) \
            and await offer(message, user, session, state):
        return
    await message.answer(_("Sorry, I didn't understand that. Please press one of the "
                           "buttons below, or send /help."), reply_markup=main_menu(access))
