"""bot.keyboards.builder: aiogram's inline keyboard builder, same keyboards, no deep copies."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder as AiogramBuilder  # noqa: TID251

from bot.keyboards.builder import InlineKeyboardBuilder


def _build(builder: AiogramBuilder) -> AiogramBuilder:
    for n in range(7):
        builder.button(text=f"b{n}", callback_data=f"c{n}")
    builder.adjust(2, 3)
    builder.row(InlineKeyboardButton(text="◀", callback_data="prev"),
                InlineKeyboardButton(text="▶", callback_data="next"))
    extra = type(builder)()
    extra.button(text="back", callback_data="back")
    builder.attach(extra)
    builder.add(InlineKeyboardButton(text="last", callback_data="last"))
    return builder


def test_builds_the_same_keyboards_as_aiogram() -> None:
    ours, theirs = _build(InlineKeyboardBuilder()), _build(AiogramBuilder())

    assert ours.as_markup() == theirs.as_markup()
    assert [len(row) for row in ours.export()] == [2, 3, 2, 2, 2]


def test_what_it_exports_is_independent_of_the_builder() -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text="one", callback_data="1")
    exported = builder.export()
    exported[0].append(InlineKeyboardButton(text="two", callback_data="2"))
    exported.append([])

    assert builder.export() == [[InlineKeyboardButton(text="one", callback_data="1")]]
    copy = builder.copy()
    copy.button(text="three", callback_data="3")
    assert len(list(builder.buttons)) == 1
    assert len(list(copy.buttons)) == 2


def test_a_long_label_is_cut_at_a_character_boundary_with_an_ellipsis() -> None:
    from services.text import utf16_len
    builder = InlineKeyboardBuilder()
    title = "太极" * 40 + "🧘"
    builder.button(text=title, callback_data="c")
    builder.button(text="short", callback_data="d")
    builder.adjust(1)
    (long,), (short,) = builder.export()
    assert long.text.endswith("…") and utf16_len(long.text) <= 64
    assert title.startswith(long.text[:-1])
    assert short.text == "short"
