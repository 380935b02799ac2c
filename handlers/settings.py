"""Settings: language, home community, privacy, /mydata and /deleteme."""

from __future__ import annotations

from datetime import time

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import (
    DeleteMeAction,
    DeleteMeCb,
    NotifyAction,
    NotifyCb,
    SettingsAction,
    SettingsCb,
)
from bot.config import Settings
from bot.filters import MenuButton
from bot.i18n import N_
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.replies import answer_out_of_date
from handlers.onboarding import ask_community, language_keyboard, privacy_text, show_menu
from models.outbox import OutboxKind
from models.users import User
from services import preferences, privacy
from services.access import Access
from services.clock import Clock

router = Router(name=__name__)


@router.message(MenuButton("settings"))
async def on_settings(message: Message) -> None:
    """⚙️ Settings: one screen of plain choices."""
    builder = InlineKeyboardBuilder()
    for action, label in (
        (SettingsAction.LANGUAGE, _("🌐 Language")),
        (SettingsAction.NOTIFICATIONS, _("🔔 Notifications")),
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
    state: FSMContext, settings: Settings,
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
        case SettingsAction.NOTIFICATIONS:
            prefs = await preferences.get_preferences(
                session, user_id=user.id or 0,
                defaults=preferences.parse_quiet_hours(settings.quiet_hours))
            await message.answer(notifications_text(prefs),
                                 reply_markup=notifications_keyboard(prefs))
        case SettingsAction.HOME:
            await ask_community(message, session, state)
        case SettingsAction.PRIVACY:
            await message.answer(privacy_text())
        case SettingsAction.MY_DATA:
            await send_my_data(message, user=user, session=session)
        case SettingsAction.DELETE_ME:
            await ask_delete_me(message)


# What can be muted, in the order shown; reminders and one's own updates cannot be.
MUTABLE = (
    (OutboxKind.COURSE_NEWS, N_("📚 Course news")),
    (OutboxKind.PING, N_("🙋 Volunteer requests")),
    (OutboxKind.ANNOUNCEMENT, N_("📢 Announcements")),
)
# Quiet-hour choices: (start hour, end hour); preset 0 means none.
QUIET_PRESETS = {1: (20, 7), 2: (21, 8), 3: (22, 7)}


def quiet_label(prefs: preferences.Preferences) -> str:
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return _("none")
    return f"{prefs.quiet_start:%H:%M}–{prefs.quiet_end:%H:%M}"


def notifications_text(prefs: preferences.Preferences) -> str:
    return _("🔔 <b>Notifications</b>\nPress a line to turn it on or off. Reminders of what "
             "you signed up for always come, and so do urgent safety notices.\n"
             "🌙 Quiet hours: {quiet}. Messages that are not urgent wait until they end."
             ).format(quiet=quiet_label(prefs))


def notifications_keyboard(prefs: preferences.Preferences) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind, label in MUTABLE:
        state = _("off") if kind in prefs.muted else _("on")
        builder.button(text=f"{_(label)}: {state}",
                       callback_data=NotifyCb(action=NotifyAction.TOGGLE, kind=kind))
    builder.button(text=_("🌙 Quiet hours: {hours}").format(hours=quiet_label(prefs)),
                   callback_data=NotifyCb(action=NotifyAction.QUIET))
    builder.adjust(1)
    return builder.as_markup()


@router.callback_query(NotifyCb.filter())
async def on_notify_choice(
    callback: CallbackQuery, callback_data: NotifyCb, user: User, session: AsyncSession,
    clock: Clock, settings: Settings,
) -> None:
    """A notification setting: mute or unmute a kind, or pick quiet hours."""
    if not isinstance(callback.message, Message) or user.id is None:
        await callback.answer()
        return
    defaults = preferences.parse_quiet_hours(settings.quiet_hours)
    prefs = await preferences.get_preferences(session, user_id=user.id, defaults=defaults)
    if callback_data.action == NotifyAction.QUIET:
        builder = InlineKeyboardBuilder()
        for preset, (start, end) in QUIET_PRESETS.items():
            builder.button(text=f"{start:02d}:00–{end:02d}:00", callback_data=NotifyCb(
                action=NotifyAction.QUIET_SET, preset=preset))
        builder.button(text=_("No quiet hours"),
                       callback_data=NotifyCb(action=NotifyAction.QUIET_SET, preset=0))
        builder.adjust(1)
        await callback.answer()
        await callback.message.edit_reply_markup(reply_markup=builder.as_markup())
        return
    if callback_data.action == NotifyAction.TOGGLE:
        kinds = {str(kind) for kind, _label in MUTABLE}
        if callback_data.kind not in kinds:
            await answer_out_of_date(callback)
            return
        kind = OutboxKind(callback_data.kind)
        prefs = await preferences.set_muted(session, user_id=user.id, clock=clock, kind=kind,
                                            muted=kind not in prefs.muted, defaults=defaults)
    elif callback_data.preset == 0:
        prefs = await preferences.set_quiet_hours(session, user_id=user.id, clock=clock,
                                                  start=None, end=None)
    elif callback_data.preset in QUIET_PRESETS:
        start, end = QUIET_PRESETS[callback_data.preset]
        prefs = await preferences.set_quiet_hours(session, user_id=user.id, clock=clock,
                                                  start=time(start), end=time(end))
    else:
        await answer_out_of_date(callback)
        return
    await callback.answer(_("Saved ✅"))
    await callback.message.edit_text(notifications_text(prefs),
                                     reply_markup=notifications_keyboard(prefs))


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
        _("Erase your data? Your name, Telegram id, roles and choices will be deleted, and "
          "your places in upcoming course sessions and volunteer shifts given up. "
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

