"""Ordering a course ("you order"), backing neighbours' orders, and teachers taking them.

```mermaid
stateDiagram-v2
    [*] --> Topic: 🙋 Order a course
    [*] --> When: 🙋 Order this course (from the menu)
    Topic --> Backed: 👍 a neighbour's order (suggested)
    Topic --> When: 📚 a menu course (suggested)
    Topic --> Similar: typed words match an open order
    Topic --> When: typed words name a menu course (its category)
    Topic --> Category: topic typed
    Category --> When: a category
    When --> Saved: a preset (weekday mornings / evenings / weekends / any time)
    When --> Days: 🗓 Choose days and times
    Days --> Days: tap weekdays
    Days --> Time: ✅ Done / any day
    Time --> Expected: morning / afternoon / evening / any
    Expected --> Saved: about how many people
    Expected --> Similar: a similar open order exists
    Similar --> Backed: 👍 me too instead
    Similar --> Saved: ➕ order mine anyway
    Expected --> Saved: I don't know
    Saved --> [*]
    Expected --> Time: ◀ Back
    Time --> Days: ◀ Back
    Days --> When: ◀ Back
    When --> Category: ◀ Back (a typed topic whose category was chosen)
    When --> Topic: ◀ Back (a suggestion or a recognised topic; from the menu: 📚 Courses)
    Similar --> When: ➕ order mine anyway
    Similar --> Topic: ◀ Back
    Category --> Topic: ◀ Back
    Topic --> [*]: ◀ Back / ✖ Cancel on any step (the 📚 Courses screen, nothing ordered)
```
🗑 Withdraw my order and ↩️ Take back my "me too" ask once (bot/keyboards/confirm.py): the
card becomes the question, "No, keep…" puts it back, "Yes, …" is re-checked by the service.
Backing is one tap (👍 Me too) on an order; a teacher's ✋ I'll teach it takes it
(only one teacher can); scheduling continues in handlers/courses/schedule.py.
"""

from __future__ import annotations

import html
import secrets

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.courses import (
    OrderAction,
    OrderCb,
    OrderDayCb,
    OrderGiveUp,
    OrderGiveUpCb,
    OrderPageCb,
    OrderSizeCb,
    OrderStep,
    OrderStepCb,
    OrderTimeCb,
)
from bot.i18n import N_
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.confirm import ask_once
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.keyboards.pager import add_pager
from bot.replies import answer_out_of_date
from bot.screens import send, show
from bot.titles import shown, shown_of, topic_shown
from handlers.courses.texts import (
    CATEGORY_LABELS,
    TIME_LABELS,
    WEEKDAYS,
    WEEKDAYS_ONLY,
    WEEKENDS_ONLY,
    home_button,
    home_markup,
    order_text,
)
from models.courses import TITLE_MAX, Category, CourseOrder, OrderStatus, TimeOfDay
from models.users import User
from services import course_orders, courses
from services.access import Access
from services.clock import Clock
from services.course_orders import NOT_KNOWN
from services.courses import SimilarOrder
from services.errors import InvalidInput, NotFound
from services.outbox import Notify

router = Router(name=__name__)

EXPECTED_CHOICES = (3, 5, 10, 20, 50)
TIMES = tuple(TimeOfDay)
ALL_DAYS = 0b111_1111


# "When suits you", one tap: (label, weekdays as bits from Monday, time of day).
WHEN_PRESETS: tuple[tuple[str, int, TimeOfDay], ...] = (
    (N_("🌅 Weekday mornings"), WEEKDAYS_ONLY, TimeOfDay.MORNING),
    (N_("🌆 Weekday evenings"), WEEKDAYS_ONLY, TimeOfDay.EVENING),
    (N_("🏖 Weekends"), WEEKENDS_ONLY, TimeOfDay.ANY),
    (N_("🕒 Any time suits me"), 0, TimeOfDay.ANY),
)


class OrderFlow(StatesGroup):
    topic = State()
    similar = State()  # the typed words match a neighbour's open order
    category = State()
    when = State()
    days = State()
    time = State()
    expected = State()


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


def with_steps(builder: InlineKeyboardBuilder | None = None) -> InlineKeyboardBuilder:
    """A step's buttons with ◀ Back and ✖ Cancel below them: no step needs a typed /cancel."""
    builder = builder or InlineKeyboardBuilder()
    builder.row(InlineKeyboardButton(text=_("◀ Back"), callback_data=OrderStepCb(
        action=OrderStep.BACK).pack()))
    builder.row(InlineKeyboardButton(text=_("✖ Cancel"), callback_data=OrderStepCb(
        action=OrderStep.CANCEL).pack()))
    return builder


@router.callback_query(OrderCb.filter(F.action == OrderAction.NEW))
async def on_new(callback: CallbackQuery, callback_data: OrderCb, user: User,
                 session: AsyncSession, state: FSMContext) -> None:
    """🙋 Order a course: from the menu (course id) or a topic of one's own."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # the community list, right there
        await offer_home(callback, session, state)
        return
    from_topic = await state.get_state() == OrderFlow.topic.state  # a suggested menu course
    await state.clear()
    await state.update_data(draft=secrets.token_urlsafe(12))  # sent twice, filed once
    if callback_data.id:
        try:
            course = await courses.get_course(session, course_id=callback_data.id)
        except NotFound:
            course = None
        if course is None or course.community_id != user.community_id:
            await callback.answer(_("This course is no longer on the menu."), show_alert=True)
            return
        await state.update_data(course_id=course.id, topic=course.title,
                                category=course.category, days=0, from_topic=from_topic)
        await callback.answer()
        await ask_when(callback, state, intro=_("You are ordering “{title}”.").format(
            title=html.escape(shown(course))), new=not from_topic)
        return
    await callback.answer()
    await ask_topic(callback, user=user, session=session, new=True)
    await state.set_state(OrderFlow.topic)


async def ask_topic(callback: CallbackQuery, *, user: User, session: AsyncSession,
                    new: bool) -> None:
    """What to learn: neighbours' orders and the menu's courses to tap, or typed words."""
    found = await course_orders.suggestions(session, community_id=user.community_id or 0,
                                            user_id=user.id or 0)
    builder = InlineKeyboardBuilder()
    for item in found:
        if item.order_id is not None:
            builder.button(text=_("👍 {topic} · {n}").format(topic=shown_of(item.title,
                                                                             item.titles),
                                                             n=item.backers),
                           callback_data=OrderCb(action=OrderAction.BACK, id=item.order_id))
        else:
            builder.button(text="📚 " + shown_of(item.title, item.titles),
                           callback_data=OrderCb(action=OrderAction.NEW, id=item.course_id or 0))
    builder.adjust(1)
    text = _("What would you like to learn? Tap one that neighbours want, or type the topic in "
             "a few words, for example “手机拍照”.") if found else _(
        "What would you like to learn? Type the topic in a few words, for example “手机拍照”.")
    await show(callback, text, reply_markup=with_steps(builder).as_markup(), new=new)


@router.message(OrderFlow.topic, F.text, ~F.text.startswith("/"))
async def on_topic(message: Message, user: User, session: AsyncSession,
                   state: FSMContext) -> None:
    """The topic, typed (too long or empty: the error router says so). Words that match a
    neighbour's order offer it to back in one tap; words that name a menu course take its
    category; otherwise the category is asked."""
    topic = courses.clean_text(message.text or "", field="topic", limit=TITLE_MAX)
    await state.update_data(topic=topic, days=0)
    order, category = await course_orders.match_topic(
        session, community_id=user.community_id or 0, user_id=user.id or 0, topic=topic)
    if order is not None and order.user_id == user.id:
        await state.clear()
        await message.answer(_("You have already ordered this:") + "\n\n" + order_text(order),
                             reply_markup=home_markup())
        return
    if order is not None:
        await state.update_data(category=order.category)
        await state.set_state(OrderFlow.similar)
        await message.answer(similar_text(order), reply_markup=similar_keyboard(
            order.id or 0).as_markup())
        return
    if category is not None:
        await state.update_data(category=category)
        await ask_when(message, state)
        return
    await state.set_state(OrderFlow.category)
    await message.answer(_("Which kind of course is it?"),
                         reply_markup=category_keyboard().as_markup())


def similar_text(other: CourseOrder) -> str:
    return (_("A neighbour has already ordered something like this:") + "\n\n"
            + order_text(other) + "\n\n" + _("Would you like to back it instead?"))


def similar_keyboard(order_id: int) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("👍 Yes, me too on that one"),
                   callback_data=OrderCb(action=OrderAction.BACK, id=order_id))
    builder.button(text=_("➕ No, make my own order"),
                   callback_data=OrderCb(action=OrderAction.FORCE))
    builder.adjust(1)
    return with_steps(builder)


def category_keyboard() -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for category, label in CATEGORY_LABELS.items():
        builder.button(text=_(label), callback_data=OrderCb(action=OrderAction.CATEGORY,
                                                            cat=category))
    builder.adjust(2)
    return with_steps(builder)


@router.callback_query(OrderFlow.category, OrderCb.filter(F.action == OrderAction.CATEGORY))
async def on_category(callback: CallbackQuery, callback_data: OrderCb,
                      state: FSMContext) -> None:
    """The category; then when suits them."""
    try:
        category = Category(callback_data.cat)
    except ValueError:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.update_data(category=category, chose_category=True)
    await ask_when(callback, state)


async def ask_when(event: CallbackQuery | Message, state: FSMContext, intro: str = "",
                   new: bool = False) -> None:
    """When suits them, in one tap (a preset), or 🗓 day by day."""
    await state.set_state(OrderFlow.when)
    builder = InlineKeyboardBuilder()
    for index, (label, _days, _time) in enumerate(WHEN_PRESETS):
        builder.button(text=_(label), callback_data=OrderCb(action=OrderAction.WHEN, id=index))
    builder.button(text=_("🗓 Choose days and times"),
                   callback_data=OrderCb(action=OrderAction.DETAIL))
    builder.adjust(2, 2, 1)
    text = (intro + "\n\n" if intro else "") + _("When would suit you? One tap sends the order.")
    await show(event, text, reply_markup=with_steps(builder).as_markup(), new=new)


@router.callback_query(OrderFlow.when, OrderCb.filter(F.action == OrderAction.WHEN))
async def on_when(callback: CallbackQuery, callback_data: OrderCb, user: User,
                  session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """A "when suits you" preset: the order is sent (how many would come: not known yet)."""
    if not 0 <= callback_data.id < len(WHEN_PRESETS):
        await answer_out_of_date(callback, use_menu=True)
        return
    _label, days, time = WHEN_PRESETS[callback_data.id]
    await state.update_data(days=days, time=time, expected=NOT_KNOWN)
    await save_order(callback, user, session, state, clock,
                     force=bool((await state.get_data()).get("force")))


@router.callback_query(OrderFlow.when, OrderCb.filter(F.action == OrderAction.DETAIL))
async def on_detail(callback: CallbackQuery, state: FSMContext) -> None:
    """🗓 Choose days and times: the days, then the time of day and how many."""
    await callback.answer()
    await state.update_data(days=0)
    await state.set_state(OrderFlow.days)
    await ask_days(callback, 0, edit=True)


def days_keyboard(days: int) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Any day is fine"), callback_data=OrderDayCb(bit=0))
    for bit, name in enumerate(WEEKDAYS):
        mark = "✅ " if days & (1 << bit) else ""
        builder.button(text=mark + _(name), callback_data=OrderDayCb(bit=1 << bit))
    builder.button(text=_("✅ Done"), callback_data=OrderCb(action=OrderAction.DAYS_DONE))
    builder.adjust(1, 4, 3, 1)
    return with_steps(builder)


async def ask_days(callback: CallbackQuery, days: int, intro: str = "",
                   edit: bool = False) -> None:
    text = (intro + "\n\n" if intro else "") + _("Which days suit you? Tap the days, then "
                                                 "✅ Done.")
    await show(callback, text, reply_markup=days_keyboard(days).as_markup(), new=not edit)


@router.callback_query(OrderFlow.days, OrderDayCb.filter(F.bit.in_(
    {1 << bit for bit in range(len(WEEKDAYS))})))
async def on_weekday(callback: CallbackQuery, callback_data: OrderDayCb,
                     state: FSMContext) -> None:
    """A weekday tapped on or off."""
    days = int((await state.get_data()).get("days") or 0) ^ callback_data.bit
    await callback.answer()
    await state.update_data(days=days)
    await ask_days(callback, days, edit=True)


@router.callback_query(OrderFlow.days, OrderDayCb.filter(F.bit == 0))
async def on_any_day(callback: CallbackQuery, state: FSMContext) -> None:
    """Any day is fine: on to the time of day."""
    await state.update_data(days=0)
    await ask_time(callback, state)


@router.callback_query(OrderFlow.days, OrderCb.filter(F.action == OrderAction.DAYS_DONE))
async def on_days_done(callback: CallbackQuery, state: FSMContext) -> None:
    """✅ Done with the days: on to the time of day."""
    await ask_time(callback, state)


async def ask_time(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    await state.set_state(OrderFlow.time)
    builder = InlineKeyboardBuilder()
    for index, time in enumerate(TIMES):
        builder.button(text=_(TIME_LABELS[time]), callback_data=OrderTimeCb(part=index))
    builder.adjust(2)
    await show(callback, _("What time of day suits you?"),
               reply_markup=with_steps(builder).as_markup())


@router.callback_query(OrderFlow.time, OrderTimeCb.filter(F.part.in_(range(len(TIMES)))))
async def on_time(callback: CallbackQuery, callback_data: OrderTimeCb,
                  state: FSMContext) -> None:
    """The time of day; then how many people."""
    await callback.answer()
    await state.update_data(time=TIMES[callback_data.part])
    await ask_expected(callback, state)


async def ask_expected(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(OrderFlow.expected)
    builder = InlineKeyboardBuilder()
    for value in EXPECTED_CHOICES:
        builder.button(text=_("about {n}").format(n=value),
                       callback_data=OrderSizeCb(people=value))
    builder.button(text=_("I don't know"), callback_data=OrderSizeCb(people=NOT_KNOWN))
    builder.adjust(3, 2, 1)
    await show(callback, _("How many people do you think would come?"),
               reply_markup=with_steps(builder).as_markup())


@router.callback_query(OrderFlow.expected,
                       OrderSizeCb.filter(F.people.in_({*EXPECTED_CHOICES, NOT_KNOWN})))
async def on_expected(
    callback: CallbackQuery, callback_data: OrderSizeCb, user: User, session: AsyncSession,
    state: FSMContext, clock: Clock,
) -> None:
    """How many people; the order is saved, unless a similar one exists to back instead."""
    await state.update_data(expected=callback_data.people)
    await save_order(callback, user, session, state, clock, force=False)


# ◀ Back: one handler per step, each drawing the step before with what was chosen so far.


@router.callback_query(OrderFlow.topic, OrderStepCb.filter(F.action == OrderStep.BACK))
async def on_back_from_topic(callback: CallbackQuery, user: User, access: Access,
                             session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """◀ Back from the topic: the 📚 Courses screen (nothing was chosen yet)."""
    await leave_wizard(callback, user, access, session, state, clock, note="")


@router.callback_query(StateFilter(OrderFlow.category, OrderFlow.similar),
                       OrderStepCb.filter(F.action == OrderStep.BACK))
async def on_back_from_category(callback: CallbackQuery, user: User, session: AsyncSession,
                                state: FSMContext) -> None:
    """◀ Back from the category (or from "a neighbour ordered this"): the topic again."""
    await callback.answer()
    await state.update_data(force=False)
    await state.set_state(OrderFlow.topic)
    await ask_topic(callback, user=user, session=session, new=False)


@router.callback_query(OrderFlow.when, OrderStepCb.filter(F.action == OrderStep.BACK))
async def on_back_from_when(callback: CallbackQuery, user: User, access: Access,
                            session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """◀ Back from "when suits you": the category chosen, else the topic (ordered from the
    menu's course card: the 📚 Courses screen)."""
    data = await state.get_data()
    if data.get("course_id") and not data.get("from_topic"):
        await leave_wizard(callback, user, access, session, state, clock, note="")
        return
    await callback.answer()
    if data.get("chose_category"):
        await state.set_state(OrderFlow.category)
        await show(callback, _("Which kind of course is it?"),
                   reply_markup=category_keyboard().as_markup())
        return
    await state.update_data(course_id=None, force=False)
    await state.set_state(OrderFlow.topic)
    await ask_topic(callback, user=user, session=session, new=False)


@router.callback_query(OrderFlow.days, OrderStepCb.filter(F.action == OrderStep.BACK))
async def on_back_from_days(callback: CallbackQuery, state: FSMContext) -> None:
    """◀ Back from the days: "when suits you" again."""
    await callback.answer()
    await ask_when(callback, state)


@router.callback_query(OrderFlow.time, OrderStepCb.filter(F.action == OrderStep.BACK))
async def on_back_from_time(callback: CallbackQuery, state: FSMContext) -> None:
    """◀ Back from the time of day: the days, as they were ticked."""
    await callback.answer()
    await state.set_state(OrderFlow.days)
    await ask_days(callback, int((await state.get_data()).get("days") or 0), edit=True)


@router.callback_query(OrderFlow.expected, OrderStepCb.filter(F.action == OrderStep.BACK))
async def on_back_from_expected(callback: CallbackQuery, state: FSMContext) -> None:
    """◀ Back from how many (or from "a neighbour ordered this"): the time of day."""
    await ask_time(callback, state)


@router.callback_query(StateFilter(*OrderFlow.__all_states__),
                       OrderStepCb.filter(F.action == OrderStep.CANCEL))
async def on_cancel(callback: CallbackQuery, user: User, access: Access,
                    session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """✖ Cancel: the draft is dropped and the 📚 Courses screen comes back."""
    await leave_wizard(callback, user, access, session, state, clock,
                       note=_("All right, nothing was ordered."))


@router.callback_query(OrderStepCb.filter())
async def on_stale_step(callback: CallbackQuery) -> None:
    """◀ Back or ✖ Cancel of an order finished or dropped already."""
    await answer_out_of_date(callback, use_menu=True)


async def leave_wizard(callback: CallbackQuery, user: User, access: Access,
                       session: AsyncSession, state: FSMContext, clock: Clock, *,
                       note: str) -> None:
    from handlers.courses.menu import home_screen  # menu links to these screens

    await callback.answer()
    await state.clear()
    text, markup = await home_screen(user=user, access=access, session=session, clock=clock)
    await show(callback, (note + "\n\n" if note else "") + text, reply_markup=markup)


@router.callback_query(StateFilter(OrderFlow.expected, OrderFlow.when),
                       OrderCb.filter(F.action == OrderAction.FORCE))
async def on_force(callback: CallbackQuery, user: User, session: AsyncSession,
                   state: FSMContext, clock: Clock) -> None:
    """➕ No, make my own order (though a similar one exists)."""
    await save_order(callback, user, session, state, clock, force=True)


@router.callback_query(OrderFlow.similar, OrderCb.filter(F.action == OrderAction.FORCE))
async def on_force_typed(callback: CallbackQuery, state: FSMContext) -> None:
    """➕ No, make my own order, said to the typed words' match: when suits them, then sent."""
    await callback.answer()
    await state.update_data(force=True)
    await ask_when(callback, state)


async def save_order(callback: CallbackQuery, user: User, session: AsyncSession,
                     state: FSMContext, clock: Clock, *, force: bool) -> None:
    data = await state.get_data()
    if "category" not in data:
        await answer_out_of_date(callback, use_menu=True)
        return
    try:
        order = await course_orders.create_order(
            session, user=user, clock=clock, category=Category(data["category"]),
            topic=data.get("topic"), course_id=data.get("course_id"),
            days=int(data.get("days") or 0), time_of_day=TimeOfDay(data.get("time") or "any"),
            expected=int(data.get("expected", 1)), force=force, draft=data.get("draft"))
    except SimilarOrder as similar:  # answered with the other order, to back instead
        await callback.answer()
        other = await course_orders.get_order(session, order_id=similar.order_id)
        if similar.own:
            await state.clear()
            await show(callback, _("You have already ordered this:") + "\n\n"
                       + order_text(other))
            return
        await show(callback, similar_text(other),
                   reply_markup=similar_keyboard(similar.order_id).as_markup())
        return
    except (InvalidInput, NotFound, ValueError):  # a draft that cannot go through: dropped
        await state.clear()
        await answer_out_of_date(callback, use_menu=True)
        return
    await state.clear()
    await callback.answer()
    await show(callback, _("Your order is in ✅ Neighbours can back it with “👍 Me too”; when "
                           "enough do, staff and teachers are told.") + "\n\n"
               + order_text(order), reply_markup=home_markup())


# --- Lists, backing, withdrawing -------------------------------------------------------


@router.callback_query(OrderCb.filter(F.action == OrderAction.LIST))
async def on_list(callback: CallbackQuery, user: User, access: Access,
                  session: AsyncSession, state: FSMContext) -> None:
    """👥 Neighbours' orders, to back (no community yet: the community list, right there)."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # onboarding imports this package
        await offer_home(callback, session, state)
        return
    await list_orders(callback, OrderPageCb(teach=False, page=0), user, access, session, state)


@router.callback_query(OrderCb.filter(F.action == OrderAction.TEACH))
async def on_teach_list(callback: CallbackQuery, user: User, access: Access,
                        session: AsyncSession, state: FSMContext) -> None:
    """✋ Orders a teacher can take."""
    await list_orders(callback, OrderPageCb(teach=True, page=0), user, access, session, state)


@router.callback_query(OrderPageCb.filter())
async def list_orders(callback: CallbackQuery, callback_data: OrderPageCb, user: User,
                      access: Access, session: AsyncSession, state: FSMContext) -> None:
    """A page of either list."""
    teach = callback_data.teach
    if teach and not access.is_teacher:
        await callback.answer(_("Only teachers can do this."), show_alert=True)
        return
    if not teach and user.community_id is None:
        from handlers.onboarding import offer_home  # onboarding imports this package
        await offer_home(callback, session, state)
        return
    await callback.answer()
    if teach:
        found = await course_orders.orders_for_teacher(session, access=access,
                                                       page=callback_data.page)
    else:
        found = await course_orders.community_orders(
            session, community_id=user.community_id or 0, page=callback_data.page,
            statuses=(OrderStatus.OPEN, OrderStatus.TAKEN))
    builder = InlineKeyboardBuilder()
    for order in found.items:
        builder.button(text=_("{topic} · 👍 {n}").format(topic=topic_shown(order), n=order.backers),
                       callback_data=OrderCb(action=OrderAction.VIEW, id=order.id or 0))
    builder.adjust(1)
    add_pager(builder, page=found.page, pages=found.pages,
              make=lambda p: OrderPageCb(teach=teach, page=p))
    builder.row(InlineKeyboardButton(text=_("🙋 Order a course"),
                                     callback_data=OrderCb(action=OrderAction.NEW).pack()))
    builder.row(home_button())
    if teach:
        text = _("Open orders you can teach. Tap one to see it:") if found.items else _(
            "No open orders in your categories right now.")
    else:
        text = _("What neighbours have ordered. Tap one to back it:") if found.items else _(
            "No open orders yet. Be the first!")
    await show(callback, text, reply_markup=builder.as_markup())


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
    text, builder = await order_screen(order, user=user, access=access, session=session)
    await send(callback, text, reply_markup=builder.as_markup())


async def _after(callback: CallbackQuery, note: str, order: CourseOrder, user: User,
                 access: Access, session: AsyncSession) -> None:
    """The note as a toast, and the order's screen in place, with the note on top."""
    await callback.answer(note)
    text, builder = await order_screen(order, user=user, access=access, session=session)
    await show(callback, note + "\n\n" + text, reply_markup=builder.as_markup())


@router.callback_query(OrderCb.filter(F.action == OrderAction.BACK))
async def on_back(
    callback: CallbackQuery, callback_data: OrderCb, user: User, access: Access,
    session: AsyncSession, state: FSMContext, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """👍 Me too."""
    await state.clear()
    order = await course_orders.back_order(session, user=user, clock=clock,
                                           order_id=callback_data.id,
                                           buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
    await _after(callback, ngettext("Thank you! {n} neighbour backs this order now. 👍",
                                    "Thank you! {n} neighbours back this order now. 👍",
                                    order.backers).format(n=order.backers),
                 order, user, access, session)


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.UNBACK,
                                                    OrderAction.WITHDRAW})))
async def on_give_up(callback: CallbackQuery, callback_data: OrderCb, user: User,
                     access: Access, session: AsyncSession, state: FSMContext) -> None:
    """↩️ Take back my "me too" / 🗑 Withdraw my order: the card becomes the question,
    asked once, with the answer that keeps it."""
    await state.clear()
    order = await _visible(callback_data.id, user, access, session)
    withdraw = callback_data.action == OrderAction.WITHDRAW
    alive = order is not None and order.status in (OrderStatus.OPEN, OrderStatus.TAKEN)
    if order is None or not alive or withdraw != (order.user_id == user.id) or (
            not withdraw and not await course_orders.has_backed(
                session, order_id=order.id or 0, user_id=user.id or 0)):
        await answer_out_of_date(callback, use_menu=True)  # a card drawn before it changed
        return
    await callback.answer()
    topic = html.escape(topic_shown(order))
    if withdraw:
        question = _("Withdraw your order “{topic}”? Neighbours who backed it will be "
                     "told.").format(topic=topic)
        yes, no = _("Yes, withdraw my order"), _("No, keep my order")
    else:
        question = _("Take back your “me too” for “{topic}”?").format(topic=topic)
        yes, no = _("Yes, take back my “me too”"), _("No, keep backing it")
    await show(callback, question, reply_markup=ask_once(
        yes=yes, do=OrderGiveUpCb(action=OrderGiveUp.WITHDRAW if withdraw
                                  else OrderGiveUp.UNBACK, id=order.id or 0),
        no=no, keep=OrderGiveUpCb(action=OrderGiveUp.KEEP, id=order.id or 0)))


@router.callback_query(OrderGiveUpCb.filter(F.action == OrderGiveUp.KEEP))
async def on_keep_order(callback: CallbackQuery, callback_data: OrderGiveUpCb, user: User,
                        access: Access, session: AsyncSession) -> None:
    """No, keep it: the order's card back, as it is now."""
    order = await _visible(callback_data.id, user, access, session)
    if order is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    text, builder = await order_screen(order, user=user, access=access, session=session)
    await show(callback, text, reply_markup=builder.as_markup())


@router.callback_query(OrderGiveUpCb.filter(F.action == OrderGiveUp.UNBACK))
async def on_unback(callback: CallbackQuery, callback_data: OrderGiveUpCb, user: User,
                    access: Access, session: AsyncSession) -> None:
    """Yes, take back my "me too" (re-checked by the service)."""
    order = await course_orders.unback_order(session, user=user, order_id=callback_data.id)
    await _after(callback, _("Your “me too” is taken back."), order, user, access, session)


@router.callback_query(OrderGiveUpCb.filter(F.action == OrderGiveUp.WITHDRAW))
async def on_withdraw(
    callback: CallbackQuery, callback_data: OrderGiveUpCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """Yes, withdraw my order (re-checked by the service): its backers are told."""
    order = await course_orders.withdraw_order(session, user=user, clock=clock,
                                               order_id=callback_data.id, notify=outbox_notify)
    await _after(callback, _("Your order is withdrawn."), order, user, access, session)


# --- Teachers take orders --------------------------------------------------------------


@router.callback_query(OrderCb.filter(F.action == OrderAction.TAKE))
async def on_take(
    callback: CallbackQuery, callback_data: OrderCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """✋ I'll teach it (one teacher wins)."""
    order = await course_orders.take_order(session, access=access, clock=clock,
                                           order_id=callback_data.id, notify=outbox_notify)
    await _after(callback, _("It's yours ✋ Now choose when to teach it."), order, user, access,
                 session)


@router.callback_query(OrderCb.filter(F.action == OrderAction.RELEASE))
async def on_release(callback: CallbackQuery, callback_data: OrderCb, user: User,
                     access: Access, session: AsyncSession, clock: Clock,
                     outbox_notify: Notify | None = None) -> None:
    """↩️ Give the order back: open again for other teachers (the resident told, if they
    heard it was taken)."""
    order = await course_orders.release_order(session, access=access, clock=clock,
                                              order_id=callback_data.id, notify=outbox_notify)
    await _after(callback, _("The order is open again for other teachers."), order, user,
                 access, session)
