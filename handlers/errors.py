"""Errors: a rule that said no gets its words from bot/replies.py; anything else is
logged with the update id and the person gets a kind apology (the last line)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.i18n import load_i18n, locale_for
from bot.replies import reply_for
from services.errors import DomainError

router = Router(name=__name__)
log = logging.getLogger(__name__)


@router.errors(ExceptionTypeFilter(DomainError))
async def on_refusal(event: ErrorEvent) -> bool:
    """A rule said no (a full shift, a forged button, a text too long): say which, in
    an alert for a button, as a message for a text. Runs inside the middlewares
    (bot/middlewares/refusals.py), in the person's language."""
    assert isinstance(event.exception, DomainError)
    text = reply_for(event.exception)
    update = event.update
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message:
        await update.message.answer(text)
    return True


@router.errors()
async def on_error(
    event: ErrorEvent, settings: Settings, event_from_user: TgUser | None = None
) -> bool:
    """Never show a traceback: log it, apologise, and keep the bot running."""
    error = event.exception
    update = event.update
    if isinstance(error, TelegramBadRequest) and "message is not modified" in error.message:
        # A double tap re-drew the same screen; nothing went wrong.
        return True
    if isinstance(error, TelegramForbiddenError):
        log.info("update %s: user blocked the bot (%s)", update.update_id, error.message)
        return True
    log.exception("update %s failed", update.update_id, exc_info=error)
    # This runs outside the middlewares, so the language comes from Telegram's hint.
    i18n = load_i18n(settings.default_locale)
    locale = locale_for(event_from_user.language_code if event_from_user else None,
                        settings.default_locale)
    with i18n.context(), i18n.use_locale(locale):
        if isinstance(error, OperationalError | TimeoutError | ConnectionError):
            # The database stayed locked or unreachable past the wait (models/db.py,
            # bot/middlewares/db.py): nothing was saved, and trying again will work.
            text = _("Sorry, the bot is very busy just now and could not save that. "
                     "Nothing was changed: please try again in a minute.")
        else:
            text = _("Sorry, something went wrong on our side. Please try again, "
                     "or send /menu.")
    try:
        if update.callback_query:
            try:
                await update.callback_query.answer(text, show_alert=True)
            except TelegramBadRequest:  # answered before it failed: say it in the chat
                if isinstance(update.callback_query.message, Message):
                    await update.callback_query.message.answer(text)
        elif update.message:
            await update.message.answer(text)
    except Exception:  # the apology itself failed (network, blocked); the log has it all
        log.warning("update %s: could not tell the user about the error", update.update_id)
    return True
