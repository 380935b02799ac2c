"""One way to put a screen in front of a person: edit the message whose button they
pressed when that can be done, send a new one when it cannot.

A pressed message cannot be edited when it is too old for the client to show
(`InaccessibleMessage`), when it is a photo or a file (its text is a caption), or when
the new screen has a reply keyboard (only new messages can carry one). An edit that
would change nothing (a double tap) is not sent at all: the pressed message's words,
formatting and buttons are compared with the new ones first; one Telegram still finds
unchanged ("message is not modified") is no error and costs no second message.

    await show(callback, text, reply_markup=builder.as_markup())   # edit, else send
    await show(message, text, reply_markup=main_menu(access))      # a typed reply: send
    await show(callback, text, new=True)                           # keep the old one
    await drop_buttons(callback)                                   # a finished step
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.text_decorations import html_decoration

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply

# Bad requests that mean "send it anew instead" (Telegram's own words).
CANNOT_EDIT = ("message can't be edited", "message to edit not found",
               "there is no text in the message to edit", "message is too old")


async def show(event: CallbackQuery | Message, text: str, *, reply_markup: Markup | None = None,
               new: bool = False, **options: Any) -> Message | None:
    """Show `text` (with `reply_markup`) in the chat of `event`: in place of the pressed
    message where possible, else as a new message. Returns the message shown, or None
    when an unchanged screen was left as it was."""
    if isinstance(event, Message):
        return await event.answer(text, reply_markup=reply_markup, **options)
    pressed = event.message
    editable = (isinstance(pressed, Message) and pressed.text is not None and not new
                and not isinstance(reply_markup, ReplyKeyboardMarkup | ReplyKeyboardRemove
                                   | ForceReply))
    if editable:
        assert isinstance(pressed, Message)
        inline = reply_markup if isinstance(reply_markup, InlineKeyboardMarkup) else None
        if not options and event.id not in _EDITED and unchanged(pressed, text, inline):
            return None
        try:
            edited = await pressed.edit_text(text, reply_markup=inline, **options)
            _edited(event)
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return None
            if not any(words in error.message for words in CANNOT_EDIT):
                raise
        else:
            return edited if isinstance(edited, Message) else None
    if event.bot is None:
        return None
    chat_id = pressed.chat.id if pressed is not None else event.from_user.id
    return await event.bot.send_message(chat_id, text, reply_markup=reply_markup, **options)


# Presses whose message their own handling has edited: `callback.message` is then what
# it was before, so it cannot tell whether a further edit changes anything.
_EDITED: OrderedDict[str, None] = OrderedDict()


def _edited(callback: CallbackQuery) -> None:
    _EDITED[callback.id] = None
    if len(_EDITED) > 1024:
        _EDITED.popitem(last=False)


def unchanged(pressed: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Whether editing `pressed` to `text` (HTML) and `markup` would change nothing.

    The pressed message's text and entities are written back as HTML the way aiogram
    writes them; the same string means Telegram would read the same words and
    formatting. Anything written differently (another tag, other escaping) compares
    unequal, and is edited as before.
    """
    if pressed.text is None or _buttons(pressed.reply_markup) != _buttons(markup):
        return False
    return html_decoration.unparse(pressed.text, pressed.entities) == text


def _buttons(markup: object) -> object:
    if not isinstance(markup, InlineKeyboardMarkup) or not markup.inline_keyboard:
        return None
    return markup.model_dump(exclude_none=True, exclude_defaults=True)


async def send(event: CallbackQuery | Message, text: str, *, reply_markup: Markup | None = None,
               **options: Any) -> Message | None:
    """A new message in the chat of `event`, leaving the pressed one as it is."""
    return await show(event, text, reply_markup=reply_markup, new=True, **options)


async def set_buttons(callback: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Change only the buttons of the pressed message, its words staying; a message too
    old to edit, or already so, is left as it is (its buttons are re-checked when pressed
    anyway)."""
    pressed = callback.message
    if not isinstance(pressed, Message) or (
            callback.id not in _EDITED and _buttons(markup) == _buttons(pressed.reply_markup)):
        return
    try:
        await pressed.edit_reply_markup(reply_markup=markup)
        _edited(callback)
    except TelegramBadRequest as error:
        if "message is not modified" not in error.message and not any(
                words in error.message for words in CANNOT_EDIT):
            raise


async def drop_buttons(callback: CallbackQuery) -> None:
    """Take the buttons off the pressed message: its question has been answered."""
    await set_buttons(callback, None)
