"""Nothing beyond onboarding and the privacy commands until the user has agreed."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.onboarding import show_privacy
from models.users import User

router = Router(name=__name__)


def needs_consent(user: User | None) -> bool:
    return user is not None and user.consented_at is None


@router.message(lambda _m, user=None: needs_consent(user))
async def on_message_before_consent(message: Message, state: FSMContext) -> None:
    """Any other message before consent brings the privacy notice back."""
    await message.answer(_("First, please read and accept the privacy notice."))
    await show_privacy(message, state)


@router.callback_query(lambda _c, user=None: needs_consent(user))
async def on_button_before_consent(callback: CallbackQuery) -> None:
    """Any other button before consent."""
    await callback.answer(_("First, please accept the privacy notice (send /start)."),
                          show_alert=True)
