"""Onboarding: /start, language, privacy consent, community and grid, then the main menu.

```mermaid
stateDiagram-v2
    [*] --> Privacy: /start (new user; an invite link waits in the FSM data)
    Privacy --> Privacy: 🌐 language button
    Privacy --> Community: ✅ I agree (a waiting invite is redeemed here)
    Privacy --> Menu: ✅ I agree (the invite gave a community, or there are none yet)
    [*] --> Community: /start (agreed, no community yet) / ⚙️ Settings → 🏠 My community
    Community --> Community: typed text = search / ◀ ▶ pages
    Community --> Grid: community chosen (it has grids)
    Community --> Menu: community chosen (no grids) / Choose later
    Grid --> Menu: grid chosen / "Not sure"
    Community --> Move: from ⚙️ Settings, a community chosen (no grids)
    Grid --> Move: from ⚙️ Settings, a grid chosen
    Move --> Menu: ✅ Yes, move me
    Move --> [*]: ✖ No, stay
    [*] --> Menu: /start (already set up; an invite link is redeemed at once)
    Menu --> [*]
```
An invite link that cannot be used is said in the greeting with bot/replies.py's
words (`reply_for`), and onboarding goes on. A button of a step that is over (an
old privacy notice, an old community list) is out of date and changes nothing:
moving to another community happens only from ⚙️ Settings, and asks first.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart, or_f
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.common import (
    HomeCommunityCb,
    HomeGridCb,
    HomeLaterCb,
    HomeMoveCb,
    HomePageCb,
    LanguageCb,
    PrivacyAction,
    PrivacyCb,
)
from bot.callback_data.courses import CourseAction, CourseCb
from bot.callback_data.voices import VoiceAction, VoiceCb
from bot.callback_data.volunteers import VolMenuAction, VolMenuCb
from bot.config import Settings
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.menu import main_menu
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.keyboards.pager import add_pager
from bot.middlewares.private import FROM_GROUP
from bot.replies import answer_out_of_date, out_of_date, reply_for
from bot.screens import drop_buttons as drop_buttons
from bot.screens import send, show
from bot.screens import set_buttons as set_buttons
from handlers.courses.sessions import CHECK_IN_PREFIX, check_in_by_link
from models.users import User
from services import communities, invites, users
from services.access import Access, load_access
from services.clock import Clock
from services.errors import DomainError, InviteUnusable

router = Router(name=__name__)

INVITE_PREFIX = "inv_"
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


class Onboarding(StatesGroup):
    privacy = State()
    community = State()
    grid = State()
    move = State()  # from ⚙️ Settings: move from one community to another? (asked first)


def privacy_text() -> str:
    return _(
        "<b>Privacy notice</b>\n\n"
        "To serve you, this bot keeps: your Telegram id and name, your language, your "
        "community and grid, and what you do here: course orders and places, volunteer "
        "shifts and hours, your reports with the photos, voice messages and locations you "
        "send with them, and your answers to polls."
    ) + "\n\n" + _(
        "Who sees what:\n"
        "• Your community's staff (and the district's administrators) see your name with "
        "your orders, places, volunteering and reports, to organise courses and services.\n"
        "• A teacher sees the names on the roster of their own sessions.\n"
        "• Your answers to polls are shown to staff only as totals, never with your name.\n"
        "• Nothing is shared with anyone outside this bot."
    ) + "\n\n" + _(
        "You can get all of it with /mydata and erase it with /deleteme at any time."
    ) + "\n\n" + _(
        "Erasing removes at once your name, your Telegram account and everything you wrote, "
        "also from messages already sent about you. What stays names no one: counts (how "
        "many people ordered, enrolled, volunteered or answered) and the staff's audit "
        "lines (what was done, by number), kept as long as the community keeps its records."
    )


def language_keyboard() -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        builder.button(text=name, callback_data=LanguageCb(code=code))
    return builder


async def show_privacy(event: CallbackQuery | Message, state: FSMContext) -> None:
    """Ask for consent, offering the other language right there."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ I agree"), callback_data=PrivacyCb(action=PrivacyAction.ACCEPT))
    builder.attach(language_keyboard())
    builder.adjust(1, 2)
    await state.set_state(Onboarding.privacy)
    await send(event, _("Welcome to the community living room! 👋") + "\n\n" + privacy_text(),
               reply_markup=builder.as_markup())


async def show_menu(event: CallbackQuery | Message, access: Access,
                    text: str | None = None) -> None:
    """Send the main menu keyboard with a short line (a reply keyboard: always anew)."""
    await send(event, text or _("Main menu. Choose below 👇"), reply_markup=main_menu(access))


def what_now_keyboard() -> InlineKeyboardMarkup:
    """The three things most people come for, once their community is chosen."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📖 Course menu"), callback_data=CourseCb(action=CourseAction.MENU))
    builder.button(text=_("📝 Report a problem"),
                   callback_data=VoiceCb(action=VoiceAction.REPORT))
    builder.button(text=_("🙋 Volunteer"), callback_data=VolMenuCb(action=VolMenuAction.HOME))
    builder.adjust(1)
    return builder.as_markup()


async def show_done(event: CallbackQuery | Message, access: Access) -> None:
    """The community is chosen: the main menu, and one short message with what to do now."""
    await show_menu(event, access, _("All set! 🎉"))
    await send(event, _("What would you like to do first?"), reply_markup=what_now_keyboard())


async def offer_home(event: CallbackQuery | Message, session: AsyncSession,
                     state: FSMContext) -> None:
    """Someone with no community pressed what needs one (📖 Course menu, 📝 Report a
    problem…): the community list, right there, instead of a way to Settings."""
    if isinstance(event, CallbackQuery):
        await event.answer()
    await ask_community(event, session, state, moving=False, intro=_(
        "First, choose your community. Type part of its name, or choose from the list:"))


async def home_label(session: AsyncSession, user: User) -> str | None:
    """Where the person lives, as the screens say it ("Sunny Court · Block 1"), or None."""
    if user.community_id is None:
        return None
    where = html.escape((await communities.get_community(
        session, community_id=user.community_id)).name)
    if user.grid_id is not None:
        where += " · " + html.escape((await communities.get_grid(
            session, grid_id=user.grid_id)).name)
    return where


async def ask_community(
    event: CallbackQuery | Message, session: AsyncSession, state: FSMContext, *, page: int = 0,
    query: str | None = None, edit: bool = False, intro: str | None = None,
    moving: bool | None = None, found: communities.Page | None = None,
) -> None:
    """List communities (filtered by what the user typed), a page at a time. `moving`:
    from ⚙️ Settings, for someone who has a community (a choice is confirmed first);
    None keeps what the list was opened for. `found`: the page, if already read."""
    if moving is None:
        moving = bool((await state.get_data()).get("home_moving"))
    await state.set_state(Onboarding.community)
    await state.update_data(home_moving=moving)
    if found is None:
        found = await communities.list_communities(session, query=query, page=page)
    if query and not found.items:
        found = await communities.list_communities(session, page=0)
        text = _("No community name contains “{query}”. Try another word, "
                 "or choose from the list:").format(query=html.escape(query))
        query = None  # the pager then walks the whole list
    elif query:
        text = _("Communities matching “{query}”:").format(query=html.escape(query))
    else:
        text = intro or _("Which community do you live in?\n"
                          "Type part of its name, or choose from the list:")
    await state.update_data(home_query=query)
    builder = InlineKeyboardBuilder()
    for community in found.items:
        builder.button(text=community.name, callback_data=HomeCommunityCb(
            community_id=community.id or 0))
    builder.adjust(1)
    add_pager(builder, page=found.page, pages=found.pages, make=lambda p: HomePageCb(page=p))
    builder.row(InlineKeyboardButton(text=_("✖ No change") if moving else _("Choose later"),
                                     callback_data=HomeLaterCb().pack()))
    await show(event, text, reply_markup=builder.as_markup(), new=not edit)


async def continue_onboarding(
    event: CallbackQuery | Message, *, user: User, access: Access, session: AsyncSession,
    state: FSMContext,
    greeting: str | None = None,
) -> None:
    """Take the user to the next step they still need: consent, community, or the menu."""
    if user.consented_at is None:
        await show_privacy(event, state)
        return
    # the first page of the list tells whether there are any (no COUNT first: issue 18)
    found = await communities.list_communities(session) if user.community_id is None else None
    if found is not None and found.items:
        await ask_community(event, session, state, found=found, intro=greeting and (
            greeting + "\n\n" + _("Which community do you live in?\n"
                                  "Type part of its name, or choose from the list:")))
        return
    await state.clear()
    if user.community_id is None:
        greeting = (greeting or "") + ("\n\n" if greeting else "") + _(
            "No communities have been set up yet. You will be able to choose yours later "
            "in ⚙️ Settings.")
    await show_menu(event, access, greeting)


def role_granted_text(role: str, community: str | None) -> str:
    names = {"teacher": _("teacher"), "staff": _("staff member"), "admin": _("district admin")}
    if community:
        return _("🎉 You are now a {role} of {community}.").format(
            role=names.get(role, role), community=html.escape(community))
    return _("🎉 You are now a {role}.").format(role=names.get(role, role))


async def redeem(
    *, token: str, user: User, session: AsyncSession, clock: Clock,
    access: Access, settings: Settings, notify: Callable[[], None] | None = None,
) -> tuple[str, Access]:
    """Use an invite token; returns what to tell the user and their new roles. A link
    that cannot be used is said in the greeting (bot/replies.py's words), and
    onboarding goes on."""
    try:
        invite = await invites.redeem_invite(session, user=user, clock=clock, token=token,
                                             buttons=OUTBOX_KEYBOARDS.district, notify=notify)
    except InviteUnusable as error:
        return reply_for(error), access
    community = None
    if invite.community_id is not None:
        community = (await communities.get_community(
            session, community_id=invite.community_id)).name
    assert user.id is not None
    new_access = await load_access(session, user_id=user.id,
                                   bootstrap_admin=user.tg_id in settings.admin_ids)
    await session.commit()
    return role_granted_text(invite.role, community), new_access


@router.message(CommandStart())
async def on_start(
    message: Message, command: CommandObject, user: User, access: Access,
    session: AsyncSession, state: FSMContext, clock: Clock, settings: Settings,
    outbox_notify: Callable[[], None] | None = None,
) -> None:
    """/start, with or without a deep-link payload."""
    payload = (command.args or "").strip()
    await state.clear()
    greeting = None
    if payload.startswith(INVITE_PREFIX):
        token = payload.removeprefix(INVITE_PREFIX)
        if user.consented_at is None:
            await state.update_data(invite_token=token)
        else:
            greeting, access = await redeem(token=token, user=user, session=session,
                                            clock=clock, access=access,
                                            settings=settings, notify=outbox_notify)
    elif payload.startswith(CHECK_IN_PREFIX):
        if user.consented_at is not None:  # else: consent first, then scan again
            await check_in_by_link(message, token=payload.removeprefix(CHECK_IN_PREFIX),
                                   user=user, access=access, session=session, clock=clock,
                                   outbox_notify=outbox_notify)
            return
    elif payload and payload != FROM_GROUP:  # the link the bot leaves in a group: a plain /start
        greeting = _("That link is not one I know. Here is the main menu.")
    if user.consented_at is None:
        await show_privacy(message, state)  # keeps a pending invite token in the state data
        return
    await continue_onboarding(message, user=user, access=access, session=session, state=state,
                              greeting=greeting or _("Welcome back! 👋"))


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.ACCEPT))
async def on_accept(
    callback: CallbackQuery, user: User, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock, settings: Settings,
    outbox_notify: Callable[[], None] | None = None,
) -> None:
    """✅ I agree: record consent, use a pending invite, go on to the community. Pressed
    again on an old notice mid-way it is out of date (onboarding stays where it is);
    once all is done it shows the main menu."""
    if user.consented_at is not None:
        if await state.get_state() in (Onboarding.community, Onboarding.grid,
                                       Onboarding.move):
            await answer_out_of_date(callback)  # mid-way: stay on the step they are on
        else:  # all done (or the same tap delivered twice): where they are
            await callback.answer()
            await show_menu(callback, access, _("You have already agreed. Here is the main "
                                                "menu."))
        return
    await callback.answer()
    await users.accept_privacy(session, user=user, clock=clock)
    await drop_buttons(callback)
    token = (await state.get_data()).get("invite_token")
    greeting = _("Thank you! ✅")
    if token:
        text, access = await redeem(token=token, user=user, session=session,
                                    clock=clock, access=access, settings=settings,
                                    notify=outbox_notify)
        greeting += "\n" + text
    await state.clear()
    await continue_onboarding(callback, user=user, access=access, session=session,
                              state=state, greeting=greeting)




@router.callback_query(LanguageCb.filter())
async def on_language(
    callback: CallbackQuery, callback_data: LanguageCb, user: User, access: Access,
    session: AsyncSession, state: FSMContext, i18n: I18n,
) -> None:
    """A language button, during onboarding or from settings."""
    if callback_data.code not in LANGUAGE_NAMES:
        await callback.answer(out_of_date())
        return
    await users.set_locale(session, user=user, locale=callback_data.code)
    with i18n.use_locale(callback_data.code):
        await callback.answer(_("Language: English"))
        if await state.get_state() == Onboarding.privacy:
            data = await state.get_data()
            if isinstance(callback.message, Message):
                await callback.message.delete()
            await show_privacy(callback, state)
            await state.update_data(data)
        else:
            await drop_buttons(callback)
            await show_menu(callback, access, _("Language: English"))


@router.message(Command("language"))
async def on_language_command(message: Message) -> None:
    """/language: offer both languages."""
    await message.answer(_("Choose your language:"),
                         reply_markup=language_keyboard().as_markup())


@router.callback_query(Onboarding.community, HomePageCb.filter())
async def on_community_page(
    callback: CallbackQuery, callback_data: HomePageCb, session: AsyncSession,
    state: FSMContext,
) -> None:
    """◀ ▶ through the list of communities."""
    await callback.answer()
    query = (await state.get_data()).get("home_query")
    await ask_community(callback, session, state, page=callback_data.page,
                        query=query, edit=True)


@router.message(Onboarding.community, F.text, ~F.text.startswith("/"))
async def on_community_search(message: Message, session: AsyncSession,
                              state: FSMContext) -> None:
    """Typed text while choosing a community is a search."""
    query = (message.text or "").strip()[:64]
    await ask_community(message, session, state, query=query or None)


@router.callback_query(Onboarding.community, HomeLaterCb.filter())
async def on_choose_later(callback: CallbackQuery, access: Access, state: FSMContext) -> None:
    """Skip choosing a community for now; ⚙️ Settings offers it again. From Settings:
    no change."""
    await callback.answer()
    moving = bool((await state.get_data()).get("home_moving"))
    await state.clear()
    await drop_buttons(callback)
    if moving:
        await show(callback, _("Nothing changed."))
        return
    await show_menu(callback, access, _("You can choose your community later in ⚙️ Settings."))


@router.callback_query(Onboarding.move, HomeLaterCb.filter())
async def on_stay(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ No, stay: nothing changes."""
    await callback.answer()
    await state.clear()
    await show(callback, _("Nothing changed."))


@router.callback_query(Onboarding.community, HomeCommunityCb.filter())
async def on_community_chosen(
    callback: CallbackQuery, callback_data: HomeCommunityCb, user: User, access: Access,
    session: AsyncSession, state: FSMContext,
) -> None:
    """A community was chosen: ask for the grid, or finish (from Settings: confirm the
    move) if it has none."""
    try:
        community = await communities.get_community(session,
                                                    community_id=callback_data.community_id)
    except DomainError:
        await callback.answer(_("That community no longer exists. Please choose again."),
                              show_alert=True)
        return
    await callback.answer()
    grids = await communities.list_grids(session, community_id=community.id or 0)
    if not grids:
        if (await state.get_data()).get("home_moving"):
            await ask_move(callback, session, state, user, community_id=community.id or 0,
                           grid_id=0)
            return
        await users.set_home(session, user=user, community_id=community.id or 0, grid_id=None)
        await show(callback, _("Your community: {name}").format(
            name=html.escape(community.name)))
        await state.clear()
        await show_done(callback, access)
        return
    builder = InlineKeyboardBuilder()
    for grid in grids:
        builder.button(text=grid.name, callback_data=HomeGridCb(
            community_id=community.id or 0, grid_id=grid.id or 0))
    builder.button(text=_("Not sure"), callback_data=HomeGridCb(
        community_id=community.id or 0, grid_id=0))
    builder.adjust(2)
    await state.set_state(Onboarding.grid)
    await state.update_data(home_community=community.id)
    await show(callback, _("{name}: which grid (block) do you live in?").format(
        name=html.escape(community.name)), reply_markup=builder.as_markup())


@router.callback_query(Onboarding.grid, HomeGridCb.filter())
async def on_grid_chosen(
    callback: CallbackQuery, callback_data: HomeGridCb, user: User, access: Access,
    session: AsyncSession, state: FSMContext,
) -> None:
    """The grid was chosen (or "not sure"): save the home and show the menu (from
    Settings: confirm the move first)."""
    data = await state.get_data()
    if data.get("home_community") != callback_data.community_id:  # another list's grid
        await answer_out_of_date(callback)
        return
    if data.get("home_moving"):
        await callback.answer()
        await ask_move(callback, session, state, user, community_id=callback_data.community_id,
                       grid_id=callback_data.grid_id)
        return
    try:
        await users.set_home(session, user=user, community_id=callback_data.community_id,
                             grid_id=callback_data.grid_id or None)
    except DomainError:
        await callback.answer(_("That choice is no longer available. Please choose again."),
                              show_alert=True)
        return
    await callback.answer()
    await show(callback, _("Your community: {name}").format(name=await home_label(session,
                                                                                  user)))
    await state.clear()
    await show_done(callback, access)


async def ask_move(callback: CallbackQuery, session: AsyncSession, state: FSMContext,
                   user: User, *, community_id: int, grid_id: int) -> None:
    """From ⚙️ Settings: move from here to there? Asked before anything changes."""
    there = html.escape((await communities.get_community(
        session, community_id=community_id)).name)
    if grid_id:
        there += " · " + html.escape((await communities.get_grid(session, grid_id=grid_id)).name)
    await state.set_state(Onboarding.move)
    await state.update_data(home_target=[community_id, grid_id])
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Yes, move me"), callback_data=HomeMoveCb(
        community_id=community_id, grid_id=grid_id))
    builder.button(text=_("✖ No, stay"), callback_data=HomeLaterCb())
    builder.adjust(2)
    await show(callback, _("Move from {here} to {there}?").format(
        here=await home_label(session, user), there=there), reply_markup=builder.as_markup())


@router.callback_query(Onboarding.move, HomeMoveCb.filter())
async def on_move(callback: CallbackQuery, callback_data: HomeMoveCb, user: User,
                  access: Access, session: AsyncSession, state: FSMContext) -> None:
    """✅ Yes, move me: the person's community (and grid) change."""
    target = [callback_data.community_id, callback_data.grid_id]
    if (await state.get_data()).get("home_target") != target:
        await answer_out_of_date(callback)
        return
    try:
        await users.set_home(session, user=user, community_id=callback_data.community_id,
                             grid_id=callback_data.grid_id or None)
    except DomainError:
        await callback.answer(_("That choice is no longer available. Please choose again."),
                              show_alert=True)
        return
    await callback.answer()
    await show(callback, _("Your community: {name}").format(name=await home_label(session,
                                                                                  user)))
    await state.clear()
    await show_menu(callback, access, _("All set! 🎉"))  # they know the bot: no tour


@router.callback_query(or_f(HomePageCb.filter(), HomeCommunityCb.filter(), HomeGridCb.filter(),
                            HomeLaterCb.filter(), HomeMoveCb.filter()))
async def on_old_home_button(callback: CallbackQuery) -> None:
    """A button of a community list that is over (the person chose, or moved on): it
    changes nothing; moving happens in ⚙️ Settings."""
    await answer_out_of_date(callback)
