"""Settings: language, home community, privacy, /mydata and /deleteme."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import time
from typing import Any

from aiogram import F, Router
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
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.common import (
    DeleteMeAction,
    DeleteMeCb,
    NotifyQuietCb,
    NotifyQuietSetCb,
    NotifyToggleCb,
    SettingsAction,
    SettingsCb,
)
from bot.callback_data.district import DigestCb
from bot.config import Settings
from bot.filters import MenuButton
from bot.i18n import N_
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.replies import answer_out_of_date
from bot.screens import send, show
from bot.when import say_day, say_time
from handlers.onboarding import (
    LANGUAGE_NAMES,
    ask_community,
    drop_buttons,
    home_label,
    language_keyboard,
    privacy_text,
    set_buttons,
    show_menu,
)
from models.outbox import OutboxKind
from models.users import User
from services import preferences, privacy
from services.access import Access
from services.clock import Clock

router = Router(name=__name__)


@router.message(MenuButton("settings"))
async def on_settings(message: Message, user: User, session: AsyncSession,
                      access: Access) -> None:
    """⚙️ Settings: where the person lives, and one screen of plain choices."""
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
    if access.is_staff:  # the staff's daily digest (handlers/district.py)
        builder.button(text=_("📬 Daily digest"), callback_data=DigestCb())
    builder.adjust(1)
    home = await home_label(session, user)
    where = (_("🏠 Your community: {name}").format(name=home) if home
             else _("🏠 You have not chosen your community yet."))
    await message.answer(_("⚙️ Settings") + "\n" + where, reply_markup=builder.as_markup())


def setting(action: SettingsAction) -> Any:
    return SettingsCb.filter(F.action == action)


@router.callback_query(setting(SettingsAction.LANGUAGE))
async def on_settings_language(callback: CallbackQuery) -> None:
    """🌐 Language: both languages (handlers.onboarding.on_language answers)."""
    await callback.answer()
    await send(callback, _("Choose your language:"), reply_markup=language_keyboard().as_markup())


@router.callback_query(setting(SettingsAction.NOTIFICATIONS))
async def on_settings_notifications(callback: CallbackQuery, user: User, session: AsyncSession,
                                    settings: Settings) -> None:
    """🔔 Notifications: what is muted, and the quiet hours."""
    await callback.answer()
    prefs = await preferences.get_preferences(
        session, user_id=user.id or 0, defaults=preferences.parse_quiet_hours(settings.quiet_hours))
    await send(callback, notifications_text(prefs), reply_markup=notifications_keyboard(prefs))


@router.callback_query(setting(SettingsAction.HOME))
async def on_settings_home(callback: CallbackQuery, user: User, session: AsyncSession,
                           state: FSMContext) -> None:
    """🏠 My community: the onboarding's community list again; a move is asked first."""
    await callback.answer()
    home = await home_label(session, user)
    await ask_community(callback, session, state, moving=home is not None, intro=(
        _("You live in {name} now. To move, choose your new community (type part of its "
          "name, or choose from the list):").format(name=home) if home else None))


@router.callback_query(setting(SettingsAction.PRIVACY))
async def on_settings_privacy(callback: CallbackQuery) -> None:
    """🔒 Privacy notice."""
    await callback.answer()
    await send(callback, privacy_text())


@router.callback_query(setting(SettingsAction.MY_DATA))
async def on_settings_my_data(callback: CallbackQuery, user: User,
                              session: AsyncSession) -> None:
    """📄 My data: the file."""
    await callback.answer()
    if isinstance(callback.message, Message):
        await send_my_data(callback.message, user=user, session=session)


@router.callback_query(setting(SettingsAction.DELETE_ME))
async def on_settings_delete_me(callback: CallbackQuery) -> None:
    """🗑 Delete my data: ask first."""
    await callback.answer()
    await ask_delete_me(callback)


# What can be muted, in the order shown; reminders and one's own updates cannot be.
MUTABLE = (
    (OutboxKind.COURSE_NEWS, N_("📚 Course news")),
    (OutboxKind.PING, N_("🙋 Volunteer requests")),
    (OutboxKind.ANNOUNCEMENT, N_("📢 Announcements")),
)
# Quiet-hour choices: (start hour, end hour); preset 0 means none.
QUIET_PRESETS = {1: (20, 7), 2: (21, 8), 3: (22, 7)}


def quiet_label(prefs: preferences.Preferences) -> str | None:
    """21:00–08:00 said as people say it (下午9:00–上午8:00 / 9:00 pm–8:00 am), or None."""
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return None
    return f"{say_time(prefs.quiet_start)}–{say_time(prefs.quiet_end)}"


def notifications_text(prefs: preferences.Preferences) -> str:
    quiet = quiet_label(prefs)
    return _("🔔 <b>Notifications</b>\nPress a line to turn it on or off. Reminders of what "
             "you signed up for always come, and so do urgent safety notices.") + "\n" + (
        _("🌙 Quiet hours: {quiet}. Messages that are not urgent wait until they end."
          ).format(quiet=quiet) if quiet else
        _("🌙 No quiet hours: messages come at any time of day or night."))


def notifications_keyboard(prefs: preferences.Preferences) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind, label in MUTABLE:
        state = _("off") if kind in prefs.muted else _("on")
        builder.button(text=f"{_(label)}: {state}", callback_data=NotifyToggleCb(kind=kind))
    builder.button(text=_("🌙 Quiet hours: {hours}").format(
        hours=quiet_label(prefs) or _("none")), callback_data=NotifyQuietCb())
    builder.adjust(1)
    return builder.as_markup()


@router.callback_query(NotifyQuietCb.filter())
async def on_quiet(callback: CallbackQuery) -> None:
    """🌙 Quiet hours: the choices."""
    builder = InlineKeyboardBuilder()
    for preset, (start, end) in QUIET_PRESETS.items():
        builder.button(text=f"{say_time(time(start))}–{say_time(time(end))}",
                       callback_data=NotifyQuietSetCb(preset=preset))
    builder.button(text=_("No quiet hours"), callback_data=NotifyQuietSetCb(preset=0))
    builder.adjust(1)
    await callback.answer()
    await set_buttons(callback, builder.as_markup())


@router.callback_query(NotifyToggleCb.filter())
async def on_toggle(callback: CallbackQuery, callback_data: NotifyToggleCb, user: User,
                    session: AsyncSession, clock: Clock, settings: Settings) -> None:
    """A kind of news on or off."""
    kinds = {str(kind) for kind, _label in MUTABLE}
    if callback_data.kind not in kinds or user.id is None:
        await answer_out_of_date(callback)
        return
    defaults = preferences.parse_quiet_hours(settings.quiet_hours)
    prefs = await preferences.get_preferences(session, user_id=user.id, defaults=defaults)
    kind = OutboxKind(callback_data.kind)
    prefs = await preferences.set_muted(session, user_id=user.id, clock=clock, kind=kind,
                                        muted=kind not in prefs.muted, defaults=defaults)
    await saved(callback, prefs)


@router.callback_query(NotifyQuietSetCb.filter())
async def on_quiet_set(callback: CallbackQuery, callback_data: NotifyQuietSetCb, user: User,
                       session: AsyncSession, clock: Clock) -> None:
    """Quiet hours chosen (or none)."""
    if user.id is None or (callback_data.preset and callback_data.preset not in QUIET_PRESETS):
        await answer_out_of_date(callback)
        return
    start, end = QUIET_PRESETS.get(callback_data.preset, (None, None))
    prefs = await preferences.set_quiet_hours(
        session, user_id=user.id, clock=clock, start=None if start is None else time(start),
        end=None if end is None else time(end))
    await saved(callback, prefs)


async def saved(callback: CallbackQuery, prefs: preferences.Preferences) -> None:
    await callback.answer(_("Saved ✅"))
    await show(callback, notifications_text(prefs), reply_markup=notifications_keyboard(prefs))


def _kept_lines() -> dict[str, Callable[[int], str]]:
    """Each part of an export as a line of the summary, counted as people count."""
    return {
        "your_roles": lambda n: ngettext("{n} role (staff, teacher…)", "{n} roles (staff, "
                                         "teacher…)", n),
        "your_notification_settings": lambda n: _("your notification settings"),
        "subjects_you_teach": lambda n: ngettext("{n} subject you teach",
                                                 "{n} subjects you teach", n),
        "your_places_in_course_sessions": lambda n: ngettext(
            "{n} place in a course session (enrolled, waiting or past)",
            "{n} places in course sessions (enrolled, waiting or past)", n),
        "courses_you_ordered": lambda n: ngettext("{n} course you ordered",
                                                  "{n} courses you ordered", n),
        "course_orders_you_backed": lambda n: ngettext(
            "{n} neighbour's order you backed", "{n} neighbours' orders you backed", n),
        "courses_you_teach_or_reviewed": lambda n: ngettext(
            "{n} course you teach or reviewed", "{n} courses you teach or reviewed", n),
        "course_sessions_you_teach_or_scheduled": lambda n: ngettext(
            "{n} session you teach or scheduled", "{n} sessions you teach or scheduled", n),
        "your_volunteer_profile": lambda n: _("your volunteer profile (skills, free times)"),
        "volunteer_shifts_you_took": lambda n: ngettext(
            "{n} volunteer shift you took", "{n} volunteer shifts you took", n),
        "your_volunteer_hours": lambda n: ngettext(
            "{n} record of volunteer hours", "{n} records of volunteer hours", n),
        "volunteer_tasks_you_published": lambda n: ngettext(
            "{n} volunteer task you published", "{n} volunteer tasks you published", n),
        "reports": lambda n: ngettext("{n} report (yours, or given to you)",
                                      "{n} reports (yours, or given to you)", n),
        "reports_you_backed": lambda n: ngettext("{n} report you backed",
                                                 "{n} reports you backed", n),
        "notes_you_wrote_on_reports": lambda n: ngettext(
            "{n} note you wrote on a report", "{n} notes you wrote on reports", n),
        "your_poll_answers": lambda n: ngettext("{n} poll answer", "{n} poll answers", n),
        "polls_you_ran": lambda n: ngettext("{n} poll you ran", "{n} polls you ran", n),
        "announcements_you_sent": lambda n: ngettext(
            "{n} announcement you sent", "{n} announcements you sent", n),
        "invites_you_made_or_used": lambda n: ngettext(
            "{n} invitation you made or used", "{n} invitations you made or used", n),
        "what_you_did_as_staff": lambda n: ngettext(
            "{n} line of the staff log about what you did",
            "{n} lines of the staff log about what you did", n),
        "walk_ins_you_let_in_at_a_session": lambda n: ngettext(
            "{n} walk-in you let into a session", "{n} walk-ins you let into sessions", n),
        "messages_the_bot_sent_you": lambda n: ngettext(
            "{n} message the bot sent you (kept without its text)",
            "{n} messages the bot sent you (kept without their text)", n),
        "your_daily_digest_time": lambda n: _("the time of your daily digest (staff)"),
    }


async def my_data_text(session: AsyncSession, user: User, data: dict[str, Any]) -> str:
    """/mydata in words: who they are to the bot, then what it keeps, part by part."""
    home = await home_label(session, user)
    lines = [
        _("📄 <b>What this bot keeps about you</b>"),
        _("Name: {name}").format(name=html.escape(user.first_name or "—")),
        _("Language: {language}").format(language=LANGUAGE_NAMES.get(user.locale or "", "—")),
        (_("Community: {name}").format(name=home) if home
         else _("Community: not chosen yet")),
        _("With the bot since: {day}").format(day=say_day(user.created_at.date())),
        "",
    ]
    kept = _kept_lines()
    counts = privacy.counted(data)
    lines += ["• " + kept[section](n).format(n=n) for section, n in counts.items()]
    if not counts:
        lines.append(_("Nothing else yet."))
    lines += ["", _("The file below holds all of it. /deleteme erases it.")]
    return "\n".join(lines)


async def send_my_data(message: Message, *, user: User, session: AsyncSession) -> None:
    """Everything stored about the user: said in their language, then as a JSON file."""
    data = await privacy.export_user_data(session, user=user)
    await message.answer(await my_data_text(session, user, data))
    await message.answer_document(
        BufferedInputFile(privacy.export_as_json(data), filename="my-data.json"),
        caption=_("Here is everything this bot keeps about you."),
    )


async def ask_delete_me(event: CallbackQuery | Message) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, erase my data"),
                   callback_data=DeleteMeCb(action=DeleteMeAction.CONFIRM))
    builder.button(text=_("No, keep my data"),
                   callback_data=DeleteMeCb(action=DeleteMeAction.KEEP))
    builder.adjust(1)
    await send(
        event, _("Erase your data? Your name, Telegram id, roles and choices will be deleted, and "
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
    await drop_buttons(callback)
    if callback_data.action == DeleteMeAction.KEEP:
        await show_menu(callback, access, _("Nothing was deleted."))
        return
    await privacy.erase_user(session, user=user, clock=clock)
    await state.clear()
    await send(callback, _("Your data has been erased. Goodbye! If you ever want to come back, "
                           "send /start."), reply_markup=ReplyKeyboardRemove())

