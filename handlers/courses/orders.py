"""Ordering a course ("you order"), backing neighbours' orders, and teachers taking them.

```mermaid
stateDiagram-v2
    [*] --> Topic: 🙋 Order a course
    [*] --> Days: 🙋 Order this course (from the menu)
    Topic --> Category: topic typed
    Category --> Days: a category
    Days --> Days: tap weekdays
    Days --> Time: ✅ Done / any day
    Time --> Expected: morning / afternoon / evening / any
    Expected --> Saved: about how many people
    Expected --> Similar: a similar open order exists
    Similar --> Backed: 👍 me too instead
    Similar --> Saved: ➕ order mine anyway
    Saved --> [*]
```
Backing is one tap (👍 Me too) on an order; a teacher's ✋ I'll teach it takes it
(only one teacher can); scheduling continues in handlers/courses/sessions.py.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import OrderAction, OrderCb
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.keyboards.pager import add_pager
from bot.replies import answer_out_of_date, out_of_date_use_menu
from handlers.courses.texts import (
    CATEGORY_LABELS,
    TIME_LABELS,
    WEEKDAYS,
    home_button,
    home_markup,
    order_text,
)
from models.courses import TITLE_MAX, Category, CourseOrder, OrderStatus, TimeOfDay
from models.users import User
from services import course_orders, courses
from services.access import Access
from services.clock import Clock
from services.courses import AlreadyBacked, OrderClosed, SimilarOrder
from services.errors import InvalidInput, NotAllowed, NotFound
from services.outbox import Notify

router = Router(name=__name__)

EXPECTED_CHOICES = (3, 5, 10, 20, 50)
TIMES = tuple(TimeOfDay)


class OrderFlow(StatesGroup):
    topic = State()
    category = State()
    days = State()
    time = State()
    expected = State()


def closed_text(status: str) -> str:
    return {
        OrderStatus.TAKEN: _("A teacher has already taken this order."),
        OrderStatus.SCHEDULED: _("This order already has a session. Look in 🗓 Sessions "
                                 "coming up."),
        OrderStatus.WITHDRAWN: _("This order was withdrawn."),
    }.get(OrderStatus(status), out_of_date_use_menu())


async def order_screen(
    order: CourseOrder, *, user: User, access: Access, session: AsyncSession
) -> tuple[str, InlineKeyboardBuilder]:
    """An order with the buttons this person may use on it."""
    builder = InlineKeyboardBuilder()
    oid = order.id or 0
    alive = order.status in (OrderStatus.OPEN, OrderStatus.TAKEN)
    if order.user_id == user.id:
        if alive:
            builder.button(text=_("🗑 Withdraw my order"),
                           callback_data=OrderCb(action=OrderAction.WITHDRAW, id=oid))
    elif alive and order.community_id == user.community_id:
        if await course_orders.has_backed(session, order_id=oid, user_id=user.id or 0):
            builder.button(text=_("↩️ Take back my “me too”"),
                           callback_data=OrderCb(action=OrderAction.UNBACK, id=oid))
        else:
            builder.button(text=_("👍 Me too!"),
                           callback_data=OrderCb(action=OrderAction.BACK, id=oid))
    if order.status == OrderStatus.OPEN and order.community_id in access.teacher_of:
        builder.button(text=_("✋ I'll teach it"),
                       callback_data=OrderCb(action=OrderAction.TAKE, id=oid))
    if order.status == OrderStatus.TAKEN and (
            order.taken_by == access.user_id or access.can_manage(order.community_id)):
        builder.button(text=_("🗓 Schedule a session"),
                       callback_data=OrderCb(action=OrderAction.SCHEDULE, id=oid))
        builder.button(text=_("↩️ Give the order back"),
                       callback_data=OrderCb(action=OrderAction.RELEASE, id=oid))
    if order.status == OrderStatus.OPEN and access.can_manage(order.community_id):
        builder.button(text=_("🧑‍🏫 Give it to a teacher"),
                       callback_data=OrderCb(action=OrderAction.SCHEDULE, id=oid))
    builder.row(home_button())
    builder.adjust(1)
    text = order_text(order)
    if order.status == OrderStatus.TAKEN:
        text += "\n" + _("A teacher has taken it ✋")
    return text, builder


# --- Ordering --------------------------------------------------------------------------


@router.callback_query(OrderCb.filter(F.action == OrderAction.NEW))
async def on_new(callback: CallbackQuery, callback_data: OrderCb, user: User,
                 session: AsyncSession, state: FSMContext) -> None:
    """🙋 Order a course: from the menu (course id) or a topic of one's own."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # the community list, right there
        await offer_home(callback, session, state)
        return
    await state.clear()
    if callback_data.id:
        try:
            course = await courses.get_course(session, course_id=callback_data.id)
        except NotFound:
            course = None
        if course is None or course.community_id != user.community_id:
            await callback.answer(_("This course is no longer on the menu."), show_alert=True)
            return
        await state.update_data(course_id=course.id, topic=course.title,
                                category=course.category, days=0)
        await callback.answer()
        if isinstance(callback.message, Message):
            await ask_days(callback.message, 0, intro=_("You are ordering “{title}”.").format(
                title=html.escape(course.title)))
        return
    await callback.answer()
    await state.set_state(OrderFlow.topic)
    if isinstance(callback.message, Message):
        await callback.message.answer(_("What would you like to learn? Type the topic in a "
                                        "few words, for example “手机拍照” (or /cancel)."))


@router.message(OrderFlow.topic, F.text, ~F.text.startswith("/"))
async def on_topic(message: Message, state: FSMContext) -> None:
    """The topic, typed; then the category."""
    try:
        topic = courses.clean_text(message.text or "", field="topic", limit=TITLE_MAX)
    except InvalidInput as error:
        await message.answer(_("That is too long: at most {limit} characters. Please send it "
                               "again.").format(limit=TITLE_MAX) if error.reason == "too_long"
                             else _("That is empty. Please send it again."))
        return
    await state.update_data(topic=topic, days=0)
    await state.set_state(OrderFlow.category)
    builder = InlineKeyboardBuilder()
    for category, label in CATEGORY_LABELS.items():
        builder.button(text=_(label), callback_data=OrderCb(action=OrderAction.CATEGORY,
                                                            cat=category))
    builder.adjust(2)
    await message.answer(_("Which kind of course is it?"), reply_markup=builder.as_markup())


@router.callback_query(OrderFlow.category, OrderCb.filter(F.action == OrderAction.CATEGORY))
async def on_category(callback: CallbackQuery, callback_data: OrderCb,
                      state: FSMContext) -> None:
    """The category; then the days."""
    try:
        category = Category(callback_data.cat)
    except ValueError:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.update_data(category=category)
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask_days(callback.message, 0)
    await state.set_state(OrderFlow.days)


def days_keyboard(days: int) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Any day is fine"),
                   callback_data=OrderCb(action=OrderAction.DAY, value=0))
    for bit, name in enumerate(WEEKDAYS):
        mark = "✅ " if days & (1 << bit) else ""
        builder.button(text=mark + _(name),
                       callback_data=OrderCb(action=OrderAction.DAY, value=1 << bit))
    builder.button(text=_("✅ Done"), callback_data=OrderCb(action=OrderAction.DAYS_DONE))
    builder.adjust(1, 4, 3, 1)
    return builder


async def ask_days(message: Message, days: int, intro: str = "", edit: bool = False) -> None:
    text = (intro + "\n\n" if intro else "") + _("Which days suit you? Tap the days, then "
                                                 "✅ Done.")
    if edit:
        await message.edit_text(text, reply_markup=days_keyboard(days).as_markup())
    else:
        await message.answer(text, reply_markup=days_keyboard(days).as_markup())


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.DAY, OrderAction.DAYS_DONE})))
async def on_day(callback: CallbackQuery, callback_data: OrderCb, state: FSMContext) -> None:
    """A weekday tapped on or off; "any day" and Done move on to the time of day."""
    data = await state.get_data()
    if "category" not in data or await state.get_state() not in (None, OrderFlow.days.state):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.set_state(OrderFlow.days)
    if not isinstance(callback.message, Message):
        return
    days = int(data.get("days") or 0)
    if callback_data.action == OrderAction.DAY and callback_data.value:
        days ^= callback_data.value & 0b111_1111
        await state.update_data(days=days)
        await ask_days(callback.message, days, edit=True)
        return
    if callback_data.action == OrderAction.DAY:
        await state.update_data(days=0)
    await state.set_state(OrderFlow.time)
    builder = InlineKeyboardBuilder()
    for index, time in enumerate(TIMES):
        builder.button(text=_(TIME_LABELS[time]),
                       callback_data=OrderCb(action=OrderAction.TIME, value=index))
    builder.adjust(2)
    await callback.message.edit_text(_("What time of day suits you?"),
                                     reply_markup=builder.as_markup())


@router.callback_query(OrderFlow.time, OrderCb.filter(F.action == OrderAction.TIME))
async def on_time(callback: CallbackQuery, callback_data: OrderCb, state: FSMContext) -> None:
    """The time of day; then how many people."""
    if not 0 <= callback_data.value < len(TIMES):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.update_data(time=TIMES[callback_data.value])
    await state.set_state(OrderFlow.expected)
    builder = InlineKeyboardBuilder()
    for value in EXPECTED_CHOICES:
        builder.button(text=_("about {n}").format(n=value),
                       callback_data=OrderCb(action=OrderAction.EXPECTED, value=value))
    builder.adjust(3)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("How many people do you think would come?"),
                                         reply_markup=builder.as_markup())


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.EXPECTED, OrderAction.FORCE})))
async def on_expected(
    callback: CallbackQuery, callback_data: OrderCb, user: User, session: AsyncSession,
    state: FSMContext, clock: Clock,
) -> None:
    """How many people; the order is saved, unless a similar one exists to back instead."""
    data = await state.get_data()
    if await state.get_state() != OrderFlow.expected.state or "category" not in data:
        await answer_out_of_date(callback, use_menu=True)
        return
    expected = callback_data.value if callback_data.action == OrderAction.EXPECTED \
        else int(data.get("expected") or 1)
    await state.update_data(expected=expected)
    try:
        order = await course_orders.create_order(
            session, user=user, clock=clock, category=Category(data["category"]),
            topic=data.get("topic"), course_id=data.get("course_id"),
            days=int(data.get("days") or 0), time_of_day=TimeOfDay(data.get("time") or "any"),
            expected=expected, force=callback_data.action == OrderAction.FORCE)
    except SimilarOrder as similar:
        await callback.answer()
        other = await course_orders.get_order(session, order_id=similar.order_id)
        if not isinstance(callback.message, Message):
            return
        if similar.own:
            await state.clear()
            await callback.message.edit_text(_("You have already ordered this:") + "\n\n"
                                             + order_text(other))
            return
        builder = InlineKeyboardBuilder()
        builder.button(text=_("👍 Yes, me too on that one"),
                       callback_data=OrderCb(action=OrderAction.BACK, id=similar.order_id))
        builder.button(text=_("➕ No, make my own order"),
                       callback_data=OrderCb(action=OrderAction.FORCE))
        builder.adjust(1)
        await callback.message.edit_text(
            _("A neighbour has already ordered something like this:") + "\n\n"
            + order_text(other) + "\n\n" + _("Would you like to back it instead?"),
            reply_markup=builder.as_markup())
        return
    except (InvalidInput, NotFound, ValueError):
        await state.clear()
        await answer_out_of_date(callback, use_menu=True)
        return
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Your order is in ✅ Neighbours can back it with “👍 Me too”; when enough do, "
              "staff and teachers are told.") + "\n\n" + order_text(order),
            reply_markup=home_markup())


# --- Lists, backing, withdrawing -------------------------------------------------------


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.LIST, OrderAction.TEACH})))
async def on_list(callback: CallbackQuery, callback_data: OrderCb, user: User,
                  access: Access, session: AsyncSession, state: FSMContext) -> None:
    """👥 Neighbours' orders (to back), or ✋ orders a teacher can take, a page at a time."""
    teach = callback_data.action == OrderAction.TEACH
    if teach and not access.is_teacher:
        await callback.answer(_("Only teachers can do this."), show_alert=True)
        return
    if not teach and user.community_id is None:
        from handlers.onboarding import offer_home  # the community list, right there
        await offer_home(callback, session, state)
        return
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if teach:
        found = await course_orders.orders_for_teacher(session, access=access,
                                                       page=callback_data.value)
    else:
        found = await course_orders.community_orders(
            session, community_id=user.community_id or 0, page=callback_data.value,
            statuses=(OrderStatus.OPEN, OrderStatus.TAKEN))
    builder = InlineKeyboardBuilder()
    for order in found.items:
        builder.button(text=_("{topic} · 👍 {n}").format(topic=order.topic, n=order.backers),
                       callback_data=OrderCb(action=OrderAction.VIEW, id=order.id or 0))
    builder.adjust(1)
    add_pager(builder, page=found.page, pages=found.pages, make=lambda p: OrderCb(
        action=callback_data.action, value=p))
    builder.row(InlineKeyboardButton(text=_("🙋 Order a course"),
                                     callback_data=OrderCb(action=OrderAction.NEW).pack()))
    builder.row(home_button())
    if teach:
        text = _("Open orders you can teach. Tap one to see it:") if found.items else _(
            "No open orders in your categories right now.")
    else:
        text = _("What neighbours have ordered. Tap one to back it:") if found.items else _(
            "No open orders yet. Be the first!")
    await callback.message.edit_text(text, reply_markup=builder.as_markup())


async def _visible(order_id: int, user: User, access: Access,
                   session: AsyncSession) -> CourseOrder | None:
    """The order, if this person may see it: their community's, or they work there."""
    try:
        order = await course_orders.get_order(session, order_id=order_id)
    except NotFound:
        return None
    if order.community_id == user.community_id or order.user_id == user.id or \
            order.community_id in access.teacher_of or access.can_manage(order.community_id):
        return order
    return None


@router.callback_query(OrderCb.filter(F.action == OrderAction.VIEW))
async def on_view(callback: CallbackQuery, callback_data: OrderCb, user: User,
                  access: Access, session: AsyncSession) -> None:
    """One order, with the buttons this person may use."""
    order = await _visible(callback_data.id, user, access, session)
    if order is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        text, builder = await order_screen(order, user=user, access=access, session=session)
        await callback.message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.BACK, OrderAction.UNBACK,
                                                    OrderAction.WITHDRAW})))
async def on_back(
    callback: CallbackQuery, callback_data: OrderCb, user: User, access: Access,
    session: AsyncSession, state: FSMContext, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """👍 Me too, taking it back, or withdrawing one's own order."""
    await state.clear()
    try:
        match callback_data.action:
            case OrderAction.BACK:
                order = await course_orders.back_order(
                    session, user=user, clock=clock, order_id=callback_data.id,
                    buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
                note = _("Thank you! {n} neighbours back this order now. 👍").format(
                    n=order.backers)
            case OrderAction.UNBACK:
                order = await course_orders.unback_order(session, user=user,
                                                         order_id=callback_data.id)
                note = _("Your “me too” is taken back.")
            case _:
                order = await course_orders.withdraw_order(
                    session, user=user, clock=clock, order_id=callback_data.id,
                    notify=outbox_notify)
                note = _("Your order is withdrawn.")
    except AlreadyBacked:
        await callback.answer(_("You are already behind this order. 👍"), show_alert=True)
        return
    except OrderClosed as closed:
        await callback.answer(closed_text(closed.status), show_alert=True)
        return
    except (NotFound, NotAllowed):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer(note)
    if isinstance(callback.message, Message):
        text, builder = await order_screen(order, user=user, access=access, session=session)
        await callback.message.edit_text(note + "\n\n" + text, reply_markup=builder.as_markup())


# --- Teachers take orders --------------------------------------------------------------


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.TAKE, OrderAction.RELEASE})))
async def on_take(
    callback: CallbackQuery, callback_data: OrderCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """✋ I'll teach it (one teacher wins), or give a taken order back."""
    try:
        if callback_data.action == OrderAction.TAKE:
            order = await course_orders.take_order(session, access=access, clock=clock,
                                                   order_id=callback_data.id,
                                                   notify=outbox_notify)
            note = _("It's yours ✋ Now choose when to teach it.")
        else:
            order = await course_orders.release_order(session, access=access, clock=clock,
                                                      order_id=callback_data.id)
            note = _("The order is open again for other teachers.")
    except OrderClosed as closed:
        await callback.answer(closed_text(closed.status), show_alert=True)
        return
    except NotAllowed:
        await callback.answer(_("Only teachers of this community can take its orders."),
                              show_alert=True)
        return
    except NotFound:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer(note)
    if isinstance(callback.message, Message):
        text, builder = await order_screen(order, user=user, access=access, session=session)
        await callback.message.edit_text(note + "\n\n" + text, reply_markup=builder.as_markup())
