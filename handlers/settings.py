"""Settings: language, home community, privacy, /mydata and /deleteme."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import DeleteMeAction, DeleteMeCb, SettingsAction, SettingsCb
from bot.filters import MenuButton
from handlers.onboarding import ask_community, language_keyboard, privacy_text, show_menu
from models.users import User
from services import privacy
from services.access import Access
from services.clock import Clock

router = Router(name=__name__)


@router.message(MenuButton("settings"))
async def on_settings(message: Message) -> None:
    """⚙️ Settings: one screen of plain choices."""
    builder = InlineKeyboardBuilder()
    for action, label in (
        (SettingsAction.LANGUAGE, _("🌐 Language")),
        (SettingsAction.HOME, _("🏠 My community")),
        (SettingsAction.PRIVACY, _("🔒 Privacy notice")),
        (SettingsAction.MY_DATA, _("📄 My data")),
        (SettingsAction.DELETE_ME, _("🗑 Delete my data")),
    ):
        builder.button(text=label, callback_data=SettingsCb(action=action))
    builder.adjust(1)
    await message.answer(_("⚙️ Settings"), reply_markup=builder.as_markup())


@router.callback_query(SettingsCb.filter())
async def on_settings_choice(
    callback: CallbackQuery, callback_data: SettingsCb, user: User, session: AsyncSession,
    state: FSMContext,
) -> None:
    """A settings button."""
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    message = callback.message
    match callback_data.action:
        case SettingsAction.LANGUAGE:
            await message.answer(_("Choose your language:"),
                                 reply_markup=language_keyboard().as_markup())
        case SettingsAction.HOME:
            await ask_community(message, session, state)
        case SettingsAction.PRIVACY:
            await message.answer(privacy_text())
        case SettingsAction.MY_DATA:
            await send_my_data(message, user=user, session=session)
        case SettingsAction.DELETE_ME:
            await ask_delete_me(message)


async def send_my_data(message: Message, *, user: User, session: AsyncSession) -> None:
    """Everything stored about the user, as a JSON file."""
    data = await privacy.export_user_data(session, user=user)
    await message.answer_document(
        BufferedInputFile(privacy.export_as_json(data), filename="my-data.json"),
        caption=_("Here is everything this bot keeps about you."),
    )


async def ask_delete_me(message: Message) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, erase my data"),
                   callback_data=DeleteMeCb(action=DeleteMeAction.CONFIRM))
    builder.button(text=_("No, keep it"), callback_data=DeleteMeCb(action=DeleteMeAction.KEEP))
    builder.adjust(1)
    await message.answer(
        _("Erase your data? Your name, Telegram id, roles and choices will be deleted. "
          "Only anonymous counts stay. This cannot be undone."),
        reply_markup=builder.as_markup(),
    )


@router.message(Command("mydata"))
async def on_my_data(message: Message, user: User, session: AsyncSession) -> None:
    """/mydata: send the user their data."""
    await send_my_data(message, user=user, session=session)


@router.message(Command("deleteme"))
async def on_delete_me(message: Message) -> None:
    """/deleteme: ask for confirmation first."""
    await ask_delete_me(message)


@router.callback_query(DeleteMeCb.filter())
async def on_delete_me_answer(
    callback: CallbackQuery, callback_data: DeleteMeCb, user: User, access: Access,
    session: AsyncSession, state: FSMContext, clock: Clock,
) -> None:
    """The answer to "Erase your data?"."""
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await callback.message.edit_reply_markup(reply_markup=None)
    if callback_data.action == DeleteMeAction.KEEP:
        await show_menu(callback.message, access, _("Nothing was deleted."))
        return
    await privacy.erase_user(session, user=user, clock=clock)
    await state.clear()
    await callback.message.answer(
        _("Your data has been erased. Goodbye! If you ever want to come back, send /start."),
        reply_markup=ReplyKeyboardRemove(),
    )

