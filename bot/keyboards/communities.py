"""The community picker's buttons: one per community (⭐ the one chosen last time), a
◀ n/m ▶ pager; typing part of a name searches (handlers/scope.py)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.pager import add_pager
from services.scope import ScopePage
from services.text import cut

NAME_UNITS = 40  # a community's name on its button


class ScopeCb(CallbackData, prefix="sc"):
    """A community chosen for `flow` (each flow's own short code)."""

    flow: str
    community_id: int


class ScopePageCb(CallbackData, prefix="sp"):
    """Another page of the picker for `flow` (the search stays as typed)."""

    flow: str
    page: int


def scope_keyboard(page: ScopePage, *, flow: str, remembered: int | None) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for community in page.items:
        star = "⭐ " if community.id == remembered else ""
        builder.button(text=star + cut(community.name, NAME_UNITS),
                       callback_data=ScopeCb(flow=flow, community_id=community.id or 0))
    builder.adjust(1)
    add_pager(builder, page=page.page, pages=page.pages,
              make=lambda n: ScopePageCb(flow=flow, page=n))
    return builder
