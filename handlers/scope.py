"""Choosing the community a staff or teacher tool acts for.

A flow that needs a community calls `ask_community`: for someone who serves one
community it returns that one at once; otherwise it shows the picker and the
flow goes on in its own `ScopeCb.filter(F.flow == CODE)` handler, which calls
`chosen()` (it re-checks the press and remembers the choice for next time).

```mermaid
stateDiagram-v2
    [*] --> picking: ask_community (serves 2 or more)
    [*] --> flow: ask_community (serves one)
    picking --> picking: ◀ ▶ a page / text typed: search
    picking --> flow: a community pressed (re-checked, remembered)
```
"""

from __future__ import annotations

import html
from dataclasses import replace

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards.communities import ScopeCb, ScopePageCb, scope_keyboard
from bot.replies import answer_out_of_date
from bot.screens import show
from services import scope
from services.access import Access
from services.scope import Serving

router = Router(name=__name__)
DESTINY = "scope"  # the choices remembered per flow, kept apart from conversations' data


class Scope(StatesGroup):
    picking = State()


async def remembered(state: FSMContext, flow: str) -> int | None:
    """The community this person chose for `flow` last time."""
    data = await state.storage.get_data(replace(state.key, destiny=DESTINY))
    value = data.get(flow)
    return int(value) if isinstance(value, int) else None


async def chosen(callback_data: ScopeCb, *, access: Access, state: FSMContext,
                 serving: Serving) -> int:
    """The community pressed, re-checked (NotAllowed if forged) and remembered."""
    scope.require_serving(access, callback_data.community_id, serving)
    key = replace(state.key, destiny=DESTINY)
    data = await state.storage.get_data(key)
    data[callback_data.flow] = callback_data.community_id
    await state.storage.set_data(key, data)
    if await state.get_state() == Scope.picking.state:
        await state.set_state(None)
    return callback_data.community_id


async def ask_community(event: Message | CallbackQuery, *, state: FSMContext, access: Access,
                        session: AsyncSession, flow: str, serving: Serving,
                        intro: str = "") -> int | None:
    """The community to act for: returned at once when the person serves only one;
    otherwise the picker is shown and None returned."""
    only = await scope.only_one(session, access=access, serving=serving)
    if only is not None:
        return only
    await state.set_state(Scope.picking)
    await state.update_data(scope_flow=flow, scope_serving=serving.value, scope_intro=intro,
                            scope_query="")
    await _draw(event, state=state, access=access, session=session, page=0)
    return None


async def _draw(event: Message | CallbackQuery, *, state: FSMContext, access: Access,
                session: AsyncSession, page: int) -> None:
    data = await state.get_data()
    flow = str(data["scope_flow"])
    first = await remembered(state, flow)
    found = await scope.pick_page(session, access=access, serving=Serving(data["scope_serving"]),
                                  query=str(data.get("scope_query", "")), page=page, first=first)
    lines = [str(data.get("scope_intro") or "")] if data.get("scope_intro") else []
    if found.query:
        lines.append(ngettext("{n} community matches “{query}”.",
                              "{n} communities match “{query}”.", found.total).format(
            n=found.total, query=html.escape(found.query)))
    else:
        lines.append(ngettext("You serve {n} community.", "You serve {n} communities.",
                              found.total).format(n=found.total))
    lines.append(_("Which community? Tap one, or type part of its name to search."))
    await show(event, "\n".join(lines),
               reply_markup=scope_keyboard(found, flow=flow, remembered=first).as_markup())


@router.callback_query(ScopePageCb.filter())
async def on_page(callback: CallbackQuery, callback_data: ScopePageCb, state: FSMContext,
                  access: Access, session: AsyncSession) -> None:
    """◀ ▶: another page of the same search."""
    data = await state.get_data()
    if await state.get_state() != Scope.picking.state or data.get("scope_flow") != \
            callback_data.flow:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await _draw(callback, state=state, access=access, session=session, page=callback_data.page)


@router.message(StateFilter(Scope.picking))
async def on_search(message: Message, state: FSMContext, access: Access,
                    session: AsyncSession) -> None:
    """Text typed while choosing: the communities whose name contains it."""
    if not message.text or message.text.startswith("/"):
        await message.answer(_("Type part of a community's name, or tap one above."))
        return
    await state.update_data(scope_query=message.text[:64])
    await _draw(message, state=state, access=access, session=session, page=0)
