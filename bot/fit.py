"""Fitting a message built from people's words into what Telegram accepts.

Telegram refuses a text over 4096 and a caption over 1024 UTF-16 units, counted
after the HTML is parsed (tags cost nothing, `&amp;` costs one). A view made of
a resident's description, staff's answer and a decline reason can pass either,
whatever each part's own limit, and old rows may predate the limits.

The design: nothing is lost and nothing is refused. `fit` cuts the text into
pieces that each fit their limit, the first into `limit` (a caption's 1024 or a
text's 4096) and the rest into texts of 4096. A piece ends at the last line
break if one is in its second half, else at the last space if one is in its last
tenth (a word stays whole), else at a character boundary (never inside a tag, an
entity like `&amp;` or an emoji's surrogate pair); a tag still open at
the cut is closed and opened again in the next piece, so each parses on its own.
A piece that goes on in the next ends with "…", so the reader knows more follows.

`send_fitted` shows the pieces: the first in place of the pressed message (or as
the photo's caption), the rest as follow-up messages, and the buttons on the last
piece, below everything they act on.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, InputFile, Message

from bot.screens import send, show

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
GOES_ON = "…"

# A tag, an entity, or one character (Python's characters are code points, so an
# emoji is one token and is never split into halves of a surrogate pair).
_TOKEN = re.compile(r"<[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")


def visible_len(text: str) -> int:
    """Telegram's measure of an HTML text: UTF-16 units of what is shown."""
    units = 0
    for token in _TOKEN.findall(text):
        if token.startswith("<") and token.endswith(">") and len(token) > 1:
            continue
        shown = html.unescape(token) if token.startswith("&") else token
        units += len(shown.encode("utf-16-le")) // 2
    return units


@dataclass
class _Piece:
    tokens: list[str]
    units: int
    last_break: int  # index in tokens just after the last "\n", or -1
    last_space: int  # index in tokens just after the last " ", or -1


def fit(text: str, limit: int = TEXT_LIMIT, *, rest_limit: int = TEXT_LIMIT) -> list[str]:
    """`text` (HTML) as pieces Telegram accepts: the first within `limit` (1024 for a
    caption), the others within `rest_limit`. One piece when it already fits."""
    if visible_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    open_tags: list[str] = []        # opening tags in force where the next piece starts
    tokens = _TOKEN.findall(text)
    budget = limit
    start = 0
    while start < len(tokens):
        prefix = list(open_tags)
        piece = _Piece(tokens=[], units=0, last_break=-1, last_space=-1)
        stack = list(open_tags)
        index = start
        room = budget - len(GOES_ON)
        cut_at: int | None = None
        stack_at_break: list[str] = list(stack)
        stack_at_space: list[str] = list(stack)
        while index < len(tokens):
            token = tokens[index]
            tag = _TAG.fullmatch(token)
            cost = 0 if tag else visible_len(token)
            if piece.units + cost > room:
                cut_at = index
                break
            piece.tokens.append(token)
            piece.units += cost
            if tag:
                if tag.group(1):
                    if stack:
                        stack.pop()
                else:
                    stack.append(token)
            if token == "\n":
                piece.last_break = len(piece.tokens)
                stack_at_break = list(stack)
            elif token == " ":
                piece.last_space = len(piece.tokens)
                stack_at_space = list(stack)
            index += 1
        if cut_at is None:  # the rest fits: the last piece
            pieces.append("".join(prefix + piece.tokens))
            break
        if piece.last_break > len(piece.tokens) // 2:
            taken = piece.tokens[:piece.last_break - 1]  # drop the line break itself
            cut_at = start + piece.last_break
            stack = stack_at_break
        elif piece.last_space > len(piece.tokens) * 9 // 10:  # keep the last word whole
            taken = piece.tokens[:piece.last_space - 1]
            cut_at = start + piece.last_space
            stack = stack_at_space
        else:
            taken = piece.tokens
        if not taken and cut_at == start:  # a token wider than the room (cannot be)
            taken, cut_at = [tokens[start]], start + 1
        pieces.append("".join(prefix + taken).rstrip() + GOES_ON + _closing(stack))
        open_tags = stack
        start = cut_at
        budget = rest_limit
    return pieces


def _closing(stack: list[str]) -> str:
    """Closing tags for the opening tags in `stack`, innermost first."""
    names = [match.group(2) for match in map(_TAG.fullmatch, reversed(stack)) if match]
    return "".join(f"</{name}>" for name in names)


async def send_fitted(event: CallbackQuery | Message, text: str, *,
                      reply_markup: InlineKeyboardMarkup | None = None,
                      photo: str | InputFile | None = None, voice: str | None = None,
                      new: bool = True) -> None:
    """Show a view built from people's words, fitted (see the module docstring): in
    place of the pressed message unless `new`, or as a photo (a file id or a file) or a
    voice note (a file id, played in the chat) with the first piece as its caption."""
    if photo is not None or voice is not None:
        pieces = fit(text, CAPTION_LIMIT)
        bot = event.bot
        assert bot is not None
        chat_id = (event.chat.id if isinstance(event, Message)
                   else event.message.chat.id if event.message else event.from_user.id)
        markup = reply_markup if len(pieces) == 1 else None
        if photo is not None:
            await bot.send_photo(chat_id, photo, caption=pieces[0], reply_markup=markup)
        else:
            assert voice is not None
            await bot.send_voice(chat_id, voice, caption=pieces[0], reply_markup=markup)
        rest = pieces[1:]
    else:
        pieces = fit(text)
        first_markup = reply_markup if len(pieces) == 1 else None
        if new:
            await send(event, pieces[0], reply_markup=first_markup)
        else:
            await show(event, pieces[0], reply_markup=first_markup)
        rest = pieces[1:]
    for number, piece in enumerate(rest, start=1):
        await send(event, piece, reply_markup=reply_markup if number == len(rest) else None)
