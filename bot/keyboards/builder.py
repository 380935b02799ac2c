"""aiogram's inline keyboard builder, without its deep copies.

aiogram's `KeyboardBuilder.export()` deep-copies every button, and `add()` (so every
`button()`), `adjust()` and `as_markup()` call it: a keyboard of n buttons built one
button at a time copies O(n²) pydantic models. A profile of the bot under a crowd
put 5 % of its event loop in those copies (BENCHMARKS.md). aiogram's buttons are
frozen models, so sharing them between the builder and what it exports is safe:
copying the rows is enough for the builder and its output to stay independent.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder as _AiogramInlineKeyboardBuilder

from services.text import cut

# A button's words on a phone: longer labels are cut here, once, at a character boundary
# with "…", so no screen slices a title (`title[:60]` can split what a reader reads).
LABEL_LIMIT = 64


class InlineKeyboardBuilder(_AiogramInlineKeyboardBuilder):
    """aiogram's InlineKeyboardBuilder; `export()` copies the rows, not the buttons, and
    `button()` fits its text to LABEL_LIMIT UTF-16 units."""

    def button(self, *, text: str, **kwargs: Any) -> InlineKeyboardBuilder:
        super().button(text=cut(text, LABEL_LIMIT), **kwargs)
        return self

    def export(self) -> list[list[InlineKeyboardButton]]:
        return [list(row) for row in self._markup]
