"""📚 Courses: the home screen, the course menu and search, teachers' offers, staff's rules.

```mermaid
stateDiagram-v2
    [*] --> Home: 📚 Courses (the next sessions, each with ✍️ Enrol)
    Home --> Enrolled: ✍️ Enrol (handlers/courses/sessions.py)
    Home --> Categories: 📖 Course menu
    Categories --> Courses: a category (◀ ▶ pages)
    Courses --> Course: a course
    Course --> Ordering: 🙋 Order this course (handlers/courses/orders.py)
    Course --> Enrolled: ✍️ Enrol on one of its sessions
    Home --> Search: 🔍 Search
    Search --> Courses: a word typed
    Home --> OfferCommunity: ➕ Offer a course (teacher of several communities)
    OfferCommunity --> OfferCategory: a community (remembered, ⭐ next time)
    Home --> OfferCategory: ➕ Offer a course (teacher of one community)
    OfferCategory --> OfferTitle: a category
    OfferTitle --> OfferDescription: title typed
    OfferDescription --> Home: description typed (staff review it)
    Home --> ReviewCommunity: ✅ offers (staff of several communities)
    ReviewCommunity --> Review: a community (remembered, ⭐ next time)
    Home --> Review: ✅ offers (staff of one) / a "new offer" message's button
    Review --> Review: approve / reject
    Home --> RulesCommunity: ⚙️ Course rules (staff of several communities)
    RulesCommunity --> Rules: a community
    Home --> Rules: ⚙️ Course rules (staff of one)
    Rules --> Rules: threshold / reminders / offer window
```
Orders are in handlers/courses/orders.py, sessions in handlers/courses/sessions.py.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.courses import (
    CourseAction,
    CourseCb,
    LessonAction,
    LessonCb,
    OrderAction,
    OrderCb,
    RuleCb,
    RuleWhat,
    StepBackCb,
    StepQuitCb,
)
from bot.filters import MenuButton
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.communities import ScopeCb
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.keyboards.pager import add_pager
from bot.replies import answer_not_allowed, answer_out_of_date
from bot.screens import send, show
from bot.titles import shown
from bot.when import current_locale
from handlers.courses.steps import quit_wizard, with_nav
from handlers.courses.texts import (
    CATEGORY_LABELS,
    category_name,
    courses_home,
    home_button,
    home_markup,
    when,
)
from handlers.scope import ask_community, chosen
from models.courses import Category, Course, CourseStatus, EnrolmentStatus
from models.users import User
from services import communities, course_sessions, courses
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.errors import NotAllowed, NotFound
from services.outbox import Notify
from services.scope import Serving, require_serving
from services.text import cut
from services.titles import other_locale, pick

router = Router(name=__name__)

SEARCH_MAX = 30
THRESHOLDS = (3, 5, 8, 10, 15, 20)
REMINDER_PRESETS: tuple[tuple[int, ...], ...] = ((24, 2), (24,), (2,), (48, 24, 2), (24, 1))
OFFER_PRESETS = (2, 6, 12, 24)  # hours a freed seat is kept for the next in line
OFFER_FLOW = "cf"  # the community picker's flow codes: a course offered,
REVIEW_FLOW = "cv"  # offers reviewed,
RULES_FLOW = "cr"  # course rules


class CourseFlow(StatesGroup):
    search = State()
    offer_category = State()  # a course offered: its category (buttons)
    offer_title = State()
    offer_other_title = State()  # the title in the other language (optional)
    offer_description = State()
    retitle = State()  # a menu course's title in the other language, typed


def categories_keyboard(action: CourseAction) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for category, label in CATEGORY_LABELS.items():
        builder.button(text=_(label), callback_data=CourseCb(action=action, cat=category))
    builder.adjust(2)
    return builder


def course_text(course: Course, *, both: bool = False) -> str:
    """A course's card; `both`: with its title in the other language too (for staff)."""
    text = _("📖 <b>{title}</b>\n{category} · {minutes} min").format(
        title=html.escape(shown(course)), category=category_name(course.category),
        minutes=course.minutes)
    other = pick(course.title, course.titles, other_locale(current_locale()))
    if both and other != shown(course):
        text += f"\n🌐 {html.escape(other)}"
    if course.description:
        text += "\n\n" + html.escape(course.description)
    return text


async def show_courses(
    event: CallbackQuery | Message, *, session: AsyncSession, community_id: int, page: int,
    category: Category | None = None, query: str | None = None, edit: bool = False,
) -> None:
    """A page of the menu: one category's courses, or those matching a search."""
    found = await courses.list_courses(session, community_id=community_id, category=category,
                                       query=query, page=page)
    builder = InlineKeyboardBuilder()
    for course in found.items:
        builder.button(text=shown(course), callback_data=CourseCb(action=CourseAction.COURSE,
                                                                 id=course.id or 0))
    builder.adjust(1)
    add_pager(builder, page=found.page, pages=found.pages, make=lambda p: CourseCb(
        action=CourseAction.MENU, cat=category or "", page=p))
    builder.row(InlineKeyboardButton(
        text=_("🙋 Order something else"), callback_data=OrderCb(action=OrderAction.NEW).pack()))
    builder.row(home_button())
    if query:
        head = (_("Courses matching “{query}”:") if found.items else
                _("No course matches “{query}”. You can order it instead.")).format(
            query=html.escape(query))
    else:
        head = category_name(category or "") + "\n" + (
            _("Choose a course:") if found.items else _("No courses here yet."))
    await show(event, head, reply_markup=builder.as_markup(), new=not edit)


async def home_screen(*, user: User, access: Access, session: AsyncSession,
                      clock: Clock) -> tuple[str, InlineKeyboardMarkup]:
    """The 📚 Courses screen: the next few sessions first, each one tap from a seat
    (✍️ Enrol), then the menu's buttons, teacher's and staff's by role."""
    text = _("📚 Courses. What would you like to do?")
    coming = await course_sessions.coming_up(session, access=access, user=user, clock=clock)
    builder = InlineKeyboardBuilder()
    if coming:
        zone = await zone_of(session, coming[0].lesson.community_id)
        text += "\n\n" + _("<b>Coming up</b>")
        for seen in coming:
            lesson = seen.lesson
            moment = when(lesson.starts_at, zone)
            text += "\n• " + _("{when}: {title}, {venue}").format(
                when=moment, title=html.escape(shown(lesson)), venue=html.escape(lesson.venue))
            title = cut(shown(lesson), 20)
            if seen.can_enrol:
                label = _("✍️ Enrol: {title}, {when}")
                action = LessonAction.ENROL
            elif seen.mine is not None and seen.mine.status in course_sessions.ACTIVE:
                label = _("✅ {title}, {when}") if seen.mine.status != EnrolmentStatus.WAITING \
                    else _("🕒 {title}, {when}")
                action = LessonAction.VIEW
            else:
                label = _("{title}, {when} (full)")
                action = LessonAction.VIEW
            builder.button(text=label.format(title=title, when=moment),
                           callback_data=LessonCb(action=action, id=lesson.id or 0))
    builder.adjust(1)
    builder.attach(courses_home(access))
    return text, builder.as_markup()


@router.message(MenuButton("courses"))
async def on_courses(message: Message, user: User, access: Access, session: AsyncSession,
                     state: FSMContext, clock: Clock) -> None:
    """📚 Courses: the next sessions with direct ✍️ Enrol, and the home screen's buttons."""
    await state.clear()
    text, markup = await home_screen(user=user, access=access, session=session, clock=clock)
    await message.answer(text, reply_markup=markup)


@router.callback_query(CourseCb.filter(F.action == CourseAction.HOME))
async def on_home(callback: CallbackQuery, user: User, access: Access, session: AsyncSession,
                  state: FSMContext, clock: Clock) -> None:
    """◀ Courses: back to the home screen."""
    await callback.answer()
    await state.clear()
    text, markup = await home_screen(user=user, access=access, session=session, clock=clock)
    await show(callback, text, reply_markup=markup)


@router.callback_query(CourseCb.filter(F.action == CourseAction.MENU))
async def on_menu(callback: CallbackQuery, callback_data: CourseCb, user: User,
                  session: AsyncSession, state: FSMContext) -> None:
    """📖 Course menu: the six categories, then a category's courses a page at a time."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # onboarding imports this package
        await offer_home(callback, session, state)
        return
    await callback.answer()
    if not callback_data.cat:
        builder = categories_keyboard(CourseAction.MENU)
        builder.row(home_button())
        await show(callback, _("📖 Course menu. Choose a category:"),
                   reply_markup=builder.as_markup())
        return
    try:
        category = Category(callback_data.cat)
    except ValueError:
        return
    await show_courses(callback, session=session, community_id=user.community_id,
                       category=category, page=callback_data.page, edit=True)


@router.callback_query(CourseCb.filter(F.action == CourseAction.COURSE))
async def on_course(callback: CallbackQuery, callback_data: CourseCb, user: User,
                    access: Access, session: AsyncSession, clock: Clock,
                    state: FSMContext) -> None:
    """One course: what it is, its coming sessions (✍️ Enrol), Order and (for its teacher
    or staff) Schedule."""
    if await state.get_state() == CourseFlow.retitle.state:  # ◀ Back from typing a title
        await state.clear()
    try:
        course = await courses.get_course(session, course_id=callback_data.id)
    except NotFound:
        course = None
    if course is None or not (
            (course.status == CourseStatus.APPROVED and course.community_id == user.community_id)
            or access.can_manage(course.community_id) or course.teacher_id == access.user_id):
        await callback.answer(_("This course is no longer on the menu."), show_alert=True)
        return
    await callback.answer()
    builder = InlineKeyboardBuilder()
    editor = course.teacher_id == access.user_id or access.can_manage(course.community_id)
    text = course_text(course, both=editor)
    coming = await course_sessions.coming_up(session, access=access, user=user, clock=clock,
                                             course_id=course.id)
    if coming:  # a course with a session scheduled offers a seat, not only an order
        zone = await zone_of(session, course.community_id)
        text += "\n\n" + _("<b>Coming up</b>")
        for seen in coming:
            moment = when(seen.lesson.starts_at, zone)
            text += "\n• " + _("{when}, {venue}").format(
                when=moment, venue=html.escape(seen.lesson.venue))
            if seen.can_enrol:
                builder.button(text=_("✍️ Enrol: {when}").format(when=moment),
                               callback_data=LessonCb(action=LessonAction.ENROL,
                                                      id=seen.lesson.id or 0))
            else:
                builder.button(text=_("🗓 {when}").format(when=moment),
                               callback_data=LessonCb(action=LessonAction.VIEW,
                                                      id=seen.lesson.id or 0))
    if course.status == CourseStatus.APPROVED:
        builder.button(text=_("🙋 Order this course"),
                       callback_data=OrderCb(action=OrderAction.NEW, id=course.id or 0))
        if course.teacher_id == access.user_id or access.can_manage(course.community_id):
            builder.button(text=_("🗓 Schedule a session"),
                           callback_data=LessonCb(action=LessonAction.NEW, id=course.id or 0))
    if editor:
        builder.button(text=_("🌐 Other-language title"),
                       callback_data=CourseCb(action=CourseAction.RETITLE, id=course.id or 0))
    builder.adjust(1)
    builder.row(home_button())
    await send(callback, text, reply_markup=builder.as_markup())


@router.callback_query(CourseCb.filter(F.action == CourseAction.SEARCH))
async def on_search(callback: CallbackQuery, user: User, state: FSMContext,
                    session: AsyncSession) -> None:
    """🔍 Search: ask for a word."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # onboarding imports this package
        await offer_home(callback, session, state)
        return
    await callback.answer()
    await state.set_state(CourseFlow.search)
    await send(callback, _("Type a word from the course's name, for example “太极” or "
                           "“phone”."), reply_markup=home_markup())  # ◀ Courses leaves it


@router.message(CourseFlow.search, F.text, ~F.text.startswith("/"))
async def on_search_text(message: Message, user: User, session: AsyncSession,
                         state: FSMContext) -> None:
    """The search word: courses whose name or description contains it."""
    query = (message.text or "").strip()[:SEARCH_MAX]
    await state.clear()
    if user.community_id is None:
        from handlers.onboarding import offer_home  # onboarding imports this package
        await offer_home(message, session, state)
        return
    await show_courses(message, session=session, community_id=user.community_id, page=0,
                       query=query)


# --- Teachers offer courses ------------------------------------------------------------


@router.callback_query(CourseCb.filter(F.action == CourseAction.OFFER))
async def on_offer(callback: CallbackQuery, callback_data: CourseCb, access: Access,
                   session: AsyncSession, state: FSMContext) -> None:
    """➕ Offer a course: the community (for someone in several), the category, then the
    title and description are typed."""
    if not (access.teacher_of or access.staff_of or access.is_admin):
        await callback.answer(_("Only teachers can offer courses."), show_alert=True)
        return
    if not callback_data.cat:
        await callback.answer()
        await state.clear()
        community_id = await ask_community(callback, state=state, access=access,
                                           session=session, flow=OFFER_FLOW,
                                           serving=Serving.TEACHER,
                                           intro=_("Offering a course."))
        if community_id is not None:
            await ask_offer_category(callback, state, community_id)
        return
    community_id = (await state.get_data()).get("offer_community")
    try:
        category = Category(callback_data.cat)
    except ValueError:
        category = None
    if not isinstance(community_id, int) or category is None:  # a stale category button
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.update_data(category=category, community_id=community_id)
    await ask_offer_title(callback, state)


async def ask_offer_title(event: CallbackQuery | Message, state: FSMContext) -> None:
    await state.set_state(CourseFlow.offer_title)
    await send(event, _("What is the course called? (at most 60 characters)"),
               reply_markup=with_nav())


@router.callback_query(ScopeCb.filter(F.flow == OFFER_FLOW))
async def on_offer_community(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                             state: FSMContext) -> None:
    """The community a course is offered in (re-checked and remembered)."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.TEACHER)
    await callback.answer()
    await ask_offer_category(callback, state, community_id)


async def ask_offer_category(callback: CallbackQuery, state: FSMContext,
                             community_id: int) -> None:
    await state.update_data(offer_community=community_id)
    await state.set_state(CourseFlow.offer_category)
    await send(callback, _("Which category is your course in?"),
               reply_markup=with_nav(categories_keyboard(CourseAction.OFFER)))


@router.message(CourseFlow.offer_title, F.text, ~F.text.startswith("/"))
async def on_offer_title(message: Message, state: FSMContext) -> None:
    """The course's title (too long or empty: the error router says so)."""
    title = courses.clean_text(message.text or "", field="title", limit=60)
    await state.update_data(title=title, titles={})
    await ask_other_title(message, state)


async def ask_other_title(event: CallbackQuery | Message, state: FSMContext) -> None:
    await state.set_state(CourseFlow.offer_other_title)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("⏭ Skip"), callback_data=CourseCb(action=CourseAction.SKIP_TITLE))
    await send(event, other_title_question(), reply_markup=with_nav(builder))


def other_title_question() -> str:
    """The optional title in the other language, asked in the writer's."""
    if other_locale(current_locale()) == "en":
        return _("🌐 Title in English (optional), shown to people who read English. Send it, "
                 "or press Skip.")
    return _("🌐 Title in Chinese (optional), shown to people who read Chinese. Send it, or "
             "press Skip.")


def description_question() -> str:
    return _("Describe it in a few sentences: what will people learn? (at most 500 characters)")


@router.message(CourseFlow.offer_other_title, F.text, ~F.text.startswith("/"))
async def on_offer_other_title(message: Message, state: FSMContext) -> None:
    """The course's title in the other language."""
    other = courses.clean_text(message.text or "", field="title", limit=60)
    await state.update_data(titles={other_locale(current_locale()): other})
    await state.set_state(CourseFlow.offer_description)
    await message.answer(description_question(), reply_markup=with_nav())


@router.callback_query(CourseFlow.offer_other_title,
                       CourseCb.filter(F.action == CourseAction.SKIP_TITLE))
async def on_skip_other_title(callback: CallbackQuery, state: FSMContext) -> None:
    """⏭ No title in the other language."""
    await callback.answer()
    await state.update_data(titles={})
    await state.set_state(CourseFlow.offer_description)
    await show(callback, description_question(), reply_markup=with_nav())


OFFER_STEPS = (CourseFlow.offer_category, CourseFlow.offer_title, CourseFlow.offer_other_title,
               CourseFlow.offer_description)


@router.callback_query(StateFilter(*OFFER_STEPS), StepBackCb.filter())
async def on_offer_back(callback: CallbackQuery, state: FSMContext, access: Access) -> None:
    """◀ Back: the step before, with what was typed kept until it is typed again."""
    current = await state.get_state()
    community_id = (await state.get_data()).get("offer_community")
    if not isinstance(community_id, int):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    if current == CourseFlow.offer_category.state:  # the first step: back to 📚 Courses
        await state.clear()
        await show(callback, _("📚 Courses. What would you like to do?"),
                   reply_markup=courses_home(access).as_markup())
    elif current == CourseFlow.offer_title.state:
        await ask_offer_category(callback, state, community_id)
    elif current == CourseFlow.offer_other_title.state:
        await ask_offer_title(callback, state)
    else:
        await ask_other_title(callback, state)


@router.callback_query(StateFilter(*OFFER_STEPS), StepQuitCb.filter())
async def on_offer_quit(callback: CallbackQuery, state: FSMContext) -> None:
    """✖ Cancel: nothing is offered."""
    await quit_wizard(callback, state)


@router.message(CourseFlow.offer_description, F.text, ~F.text.startswith("/"))
async def on_offer_description(message: Message, access: Access, session: AsyncSession,
                               state: FSMContext, clock: Clock,
                               outbox_notify: Notify | None = None) -> None:
    """The description: the offer is saved and waits for staff, who are told at once (a
    description too long: the error router says so, and the draft stays)."""
    data = await state.get_data()
    try:
        course = await courses.offer_course(
            session, access=access, clock=clock, community_id=int(data["community_id"]),
            title=str(data["title"]), titles=dict(data.get("titles") or {}),
            description=message.text or "",
            category=Category(data["category"]), minutes=60,
            buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
    except (NotAllowed, NotFound, KeyError):  # the draft can never go through: dropped
        await state.clear()
        await message.answer(_("You can't do that here."))
        return
    await state.clear()
    done = (_("Your course is on the menu ✅") if course.status == CourseStatus.APPROVED
            else _("Thank you! Staff will look at your course soon. ✅"))
    await message.answer(done + "\n\n" + course_text(course),
                         reply_markup=home_markup())


@router.callback_query(CourseCb.filter(F.action == CourseAction.RETITLE))
async def on_retitle(callback: CallbackQuery, callback_data: CourseCb, access: Access,
                     session: AsyncSession, state: FSMContext) -> None:
    """🌐 Other-language title on a course's card (its teacher or staff): typed next."""
    course = await courses.get_course(session, course_id=callback_data.id)
    if course.teacher_id != access.user_id and not access.can_manage(course.community_id):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await state.set_state(CourseFlow.retitle)
    await state.update_data(retitle=course.id)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("◀ Back"), callback_data=CourseCb(action=CourseAction.COURSE,
                                                           id=course.id or 0))
    text = (_("🌐 Send the course's title in English, shown to people who read English.")
            if other_locale(current_locale()) == "en" else
            _("🌐 Send the course's title in Chinese, shown to people who read Chinese."))
    await send(callback, text, reply_markup=builder.as_markup())


@router.message(CourseFlow.retitle, F.text, ~F.text.startswith("/"))
async def on_retitle_text(message: Message, access: Access, session: AsyncSession,
                          state: FSMContext, clock: Clock) -> None:
    """The course's title in the other language, saved (the service checks the right)."""
    course_id = int((await state.get_data()).get("retitle") or 0)
    await state.clear()
    course = await courses.set_course_title(
        session, access=access, clock=clock, course_id=course_id,
        locale=other_locale(current_locale()), title=message.text)
    await message.answer(_("Saved ✅") + "\n\n" + course_text(course, both=True),
                         reply_markup=home_markup())


@router.callback_query(CourseCb.filter(F.action == CourseAction.SUBJECT))
async def on_subject(callback: CallbackQuery, callback_data: CourseCb, access: Access,
                     session: AsyncSession) -> None:
    """🏷 What I teach: tap categories on and off; orders in them reach the teacher."""
    if not access.is_teacher:
        await callback.answer(_("Only teachers can do this."), show_alert=True)
        return
    try:
        if callback_data.cat:
            subjects = await courses.toggle_subject(session, access=access,
                                                    category=Category(callback_data.cat))
        else:
            subjects = await courses.subjects_of(session, user_id=access.user_id)
    except ValueError:
        await answer_out_of_date(callback)
        return
    await callback.answer()
    builder = InlineKeyboardBuilder()
    for category, label in CATEGORY_LABELS.items():
        mark = "✅ " if category in subjects else ""
        builder.button(text=mark + _(label),
                       callback_data=CourseCb(action=CourseAction.SUBJECT, cat=category))
    builder.adjust(2)
    builder.row(home_button())
    text = _("Which categories do you teach? Tap to choose. You will hear about orders "
             "in them.")
    await show(callback, text, reply_markup=builder.as_markup(), new=not callback_data.cat)


# --- Staff -----------------------------------------------------------------------------
# Each tool acts on the community chosen with the picker (handlers/scope.py), never
# silently on the home one; every screen names it.


async def community_name(session: AsyncSession, community_id: int) -> str:
    return html.escape((await communities.get_community(session,
                                                        community_id=community_id)).name)


async def review_list(callback: CallbackQuery, access: Access, session: AsyncSession,
                      community_id: int, *, new: bool = False) -> None:
    """The community's offers waiting (five at a time), each with ✅ and ✖."""
    waiting = await courses.pending_courses(session, access=access, community_id=community_id)
    builder = InlineKeyboardBuilder()
    lines = [_("<b>✅ Course offers</b> · {community}").format(
        community=await community_name(session, community_id))]
    for number, course in enumerate(waiting[:5], start=1):
        lines.append(f"{number}. " + course_text(course))
        builder.row(
            InlineKeyboardButton(text=_("✅ Approve {n}").format(n=number), callback_data=CourseCb(
                action=CourseAction.APPROVE, id=course.id or 0).pack()),
            InlineKeyboardButton(text=_("✖ Turn down {n}").format(n=number),
                                 callback_data=CourseCb(action=CourseAction.REJECT,
                                                        id=course.id or 0).pack()))
    if not waiting:
        lines.append(_("No course offers are waiting."))
    builder.row(home_button())
    await show(callback, "\n\n".join(lines), reply_markup=builder.as_markup(), new=new)


@router.callback_query(CourseCb.filter(F.action == CourseAction.REVIEW))
async def on_review(callback: CallbackQuery, callback_data: CourseCb, access: Access,
                    session: AsyncSession, state: FSMContext) -> None:
    """✅ Course offers: staff approve or turn down what teachers offered, in the
    community chosen (`id`: the community a "new offer" message named)."""
    if not (access.staff_of or access.is_admin):
        await answer_not_allowed(callback)
        return
    if callback_data.id:
        require_serving(access, callback_data.id, Serving.STAFF)
        await callback.answer()
        await review_list(callback, access, session, callback_data.id, new=True)
        return
    await callback.answer()
    await state.clear()
    community_id = await ask_community(callback, state=state, access=access, session=session,
                                       flow=REVIEW_FLOW, serving=Serving.STAFF,
                                       intro=_("✅ Course offers to review."))
    if community_id is not None:
        await review_list(callback, access, session, community_id)


@router.callback_query(ScopeCb.filter(F.flow == REVIEW_FLOW))
async def on_review_community(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                              session: AsyncSession, state: FSMContext) -> None:
    """The community whose offers to review (re-checked and remembered)."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.STAFF)
    await callback.answer()
    await review_list(callback, access, session, community_id)


@router.callback_query(CourseCb.filter(F.action.in_({CourseAction.APPROVE,
                                                     CourseAction.REJECT})))
async def on_decide(callback: CallbackQuery, callback_data: CourseCb, access: Access,
                    session: AsyncSession, clock: Clock) -> None:
    """✅ Approve or ✖ turn down one offer."""
    course = await courses.review_course(session, access=access, clock=clock,
                                         course_id=callback_data.id,
                                         approve=callback_data.action == CourseAction.APPROVE)
    await callback.answer(_("On the menu ✅") if course.status == CourseStatus.APPROVED
                          else _("Turned down."))
    await review_list(callback, access, session, course.community_id)


async def rules_screen(callback: CallbackQuery, community_id: int, session: AsyncSession,
                       *, new: bool) -> None:
    rules = await courses.get_rules(session, community_id=community_id)
    builder = InlineKeyboardBuilder()

    def rule(what: RuleWhat, value: int) -> RuleCb:
        return RuleCb(community_id=community_id, what=what, value=value)

    for value in THRESHOLDS:
        mark = "✅ " if value == rules.threshold else ""
        builder.button(text=f"{mark}{value}", callback_data=rule(RuleWhat.THRESHOLD, value))
    for index, preset in enumerate(REMINDER_PRESETS):
        mark = "✅ " if preset == rules.reminder_hours else ""
        builder.button(text=mark + " + ".join(_("{h} h").format(h=h) for h in preset),
                       callback_data=rule(RuleWhat.REMINDERS, index))
    for hours in OFFER_PRESETS:
        mark = "✅ " if hours == rules.offer_hours else ""
        builder.button(text=mark + _("{h} h").format(h=hours),
                       callback_data=rule(RuleWhat.OFFER, hours))
    builder.adjust(6, 2, 2, 1, len(OFFER_PRESETS))
    builder.row(home_button())
    text = _("⚙️ Course rules · {community}").format(
        community=await community_name(session, community_id)) + "\n"
    text += _("Staff and teachers are told when an order has {threshold} backers (first "
              "row).\nReminders go out {hours} before a session (middle rows).").format(
        threshold=rules.threshold,
        hours=" + ".join(_("{h} h").format(h=h) for h in rules.reminder_hours))
    text += "\n" + _("A seat that comes free is kept for the next in line for {h} h from when "
                     "they get the message (last row); if that would not end 2 h before the "
                     "start, the seat is open to the first who taps.").format(
                         h=rules.offer_hours)
    await show(callback, text, reply_markup=builder.as_markup(), new=new)


@router.callback_query(CourseCb.filter(F.action == CourseAction.RULES))
async def on_rules(callback: CallbackQuery, access: Access, session: AsyncSession,
                   state: FSMContext) -> None:
    """⚙️ Course rules: how many backers alert staff, when reminders go out, how long a
    freed seat is kept, for the community chosen."""
    if not (access.staff_of or access.is_admin):
        await answer_not_allowed(callback)
        return
    await callback.answer()
    await state.clear()
    community_id = await ask_community(callback, state=state, access=access, session=session,
                                       flow=RULES_FLOW, serving=Serving.STAFF,
                                       intro=_("⚙️ Course rules."))
    if community_id is not None:
        await rules_screen(callback, community_id, session, new=True)


@router.callback_query(ScopeCb.filter(F.flow == RULES_FLOW))
async def on_rules_community(callback: CallbackQuery, callback_data: ScopeCb, access: Access,
                             session: AsyncSession, state: FSMContext) -> None:
    """The community whose rules to see (re-checked and remembered)."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.STAFF)
    await callback.answer()
    await rules_screen(callback, community_id, session, new=False)


@router.callback_query(RuleCb.filter())
async def on_rule(callback: CallbackQuery, callback_data: RuleCb, access: Access,
                  session: AsyncSession, clock: Clock) -> None:
    """A rule tapped: set for the community the button names (re-checked by the service)."""
    value, cid = callback_data.value, callback_data.community_id
    if callback_data.what == RuleWhat.THRESHOLD and value in THRESHOLDS:
        await courses.set_rules(session, access=access, clock=clock, community_id=cid,
                                threshold=value)
    elif callback_data.what == RuleWhat.REMINDERS and 0 <= value < len(REMINDER_PRESETS):
        await courses.set_rules(session, access=access, clock=clock, community_id=cid,
                                reminder_hours=REMINDER_PRESETS[value])
    elif callback_data.what == RuleWhat.OFFER and value in OFFER_PRESETS:
        await courses.set_rules(session, access=access, clock=clock, community_id=cid,
                                offer_hours=value)
    else:
        await answer_out_of_date(callback)
        return
    await callback.answer()
    await rules_screen(callback, cid, session, new=False)
