"""Taking part in sessions: enrol, waitlist, reminders' answers, check-in, rating, .ics,
"My courses"; and for teachers and staff, running a session.

```mermaid
stateDiagram-v2
    [*] --> Session: 🗓 Sessions coming up / 🎒 My courses / a message's button
    [*] --> Enrolled: ✍️ Enrol on the 📚 Courses screen or a menu course (a seat is free)
    Session --> Enrolled: ✍️ Enrol (a seat is free)
    Session --> Waiting: 🕒 Join the waiting list (full)
    Waiting --> Offered: a seat frees (kept for the window, from when the message arrives)
    Waiting --> Enrolled: a seat frees too late to keep: ✍️ Enrol, first tap wins
    Offered --> Enrolled: ✅ Yes, I'll take the seat
    Offered --> [*]: No, thanks (passed on)
    Offered --> Lapsed: no answer in time (passed on)
    Lapsed --> Waiting: 🕒 Put me back on the list (at its end)
    Enrolled --> Asked: ❌ Cancel my place (the card becomes the question)
    Waiting --> Asked: ❌ Cancel my place (leave the waiting list)
    Asked --> Session: No, keep my place (the card back)
    Asked --> [*]: Yes (re-checked; the seat passed on)
    Enrolled --> Asked: ❌ I can't come, on a reminder (asked under its words)
    Asked --> Enrolled: No, I'm still coming (the reminder back, with its buttons)
    Enrolled --> Present: /start ci_<token> (the venue's QR code) or staff tick
    Present --> Rated: 1–5 ⭐ after the session
    Rated --> [*]: a comment, or Skip
```
Its teacher or staff say 🎒 What to bring (typed, or "Nothing to bring", or ✖ Cancel); the
card shows it to residents.

Running a session (its teacher or the community's staff):

```mermaid
stateDiagram-v2
    [*] --> Screen: 👀 a session (🏠 its community named)
    Screen --> Roster: 👥 Who is coming (seats, then the waiting list)
    Roster --> Roster: tap a name (present or not)
    Roster --> WalkIn: ➕ Add a walk-in
    WalkIn --> Found: a name typed (residents it matches)
    Found --> Found: another name typed
    Found --> Roster: a resident, or the name only (a free seat, present)
    Screen --> Why: 🚫 Cancel the session
    Why --> Asked: a common reason, or words typed
    Asked --> [*]: Yes, cancel it (everyone told why; staff told if the teacher did it)
    Asked --> Screen: No, keep it
```
"""

from __future__ import annotations

import html
import io
from zoneinfo import ZoneInfo

import segno
from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.courses import (
    BringAction,
    BringCb,
    CancelDoCb,
    CancelWhyCb,
    LessonAction,
    LessonCb,
    MarkCb,
    OrderAction,
    OrderCb,
    PlaceAction,
    PlaceCb,
    RateCb,
    SkipCommentCb,
    WalkInCb,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.communities import ScopeCb
from bot.keyboards.confirm import ask_once
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date, out_of_date_use_menu
from bot.screens import send, show
from bot.titles import shown, topic_shown
from handlers.courses.move import move_button
from handlers.courses.texts import (
    drop_buttons,
    home_button,
    home_markup,
    mark_answered,
    person,
    seats_left,
    session_text,
    status_name,
    when,
)
from handlers.scope import ask_community, chosen
from models.courses import BRING_MAX, EnrolmentStatus, Lesson, LessonStatus
from models.users import User
from services import communities, course_orders, course_sessions, courses
from services.access import Access
from services.clock import Clock
from services.communities import zone_of
from services.courses import LessonClosed, LessonFull, NotEnrolled, NotInWindow
from services.errors import InvalidInput, NotFound
from services.outbox import Notify
from services.scope import Serving

router = Router(name=__name__)

CHECK_IN_PREFIX = "ci_"
SESSIONS_FLOW = "cl"  # the community picker's flow code: staff's list of sessions


class Rating(StatesGroup):
    comment = State()


class WalkingIn(StatesGroup):
    name = State()  # the name of someone who came without a seat, typed at the door


class Cancelling(StatesGroup):
    reason = State()  # staff or the teacher may type why a session is called off


class Bringing(StatesGroup):
    text = State()


def said_reason(lesson: Lesson) -> str | None:
    """Why the session was called off, in the reader's language (a common reason is kept
    as its msgid), escaped; None when no reason was kept (cancelled before 0017)."""
    reason = lesson.cancel_reason
    if isinstance(reason, dict):
        reason = _(reason.get("phrase", ""))
    return html.escape(reason) if reason else None


def cancelled_line(lesson: Lesson) -> str:
    """❌ Cancelled: the teacher is ill."""
    reason = said_reason(lesson)
    return _("❌ Cancelled: {reason}").format(reason=reason) if reason else _("❌ Cancelled")


async def session_screen(
    lesson_id: int, *, user: User, access: Access, session: AsyncSession, clock: Clock,
) -> tuple[str, InlineKeyboardBuilder]:
    """A session with this person's place in it and the buttons the service lets them use."""
    seen = await course_sessions.view(session, access=access, user=user, clock=clock,
                                      lesson_id=lesson_id)
    sid = lesson_id
    zone = await zone_of(session, seen.lesson.community_id)
    text = card_text(seen, zone)
    builder = InlineKeyboardBuilder()
    if seen.lesson.status == LessonStatus.CANCELLED:
        text += "\n" + cancelled_line(seen.lesson)
    if seen.mine is not None and seen.mine.status in course_sessions.ACTIVE:
        text += "\n" + _("Your place: {status}").format(status=status_name(seen.mine.status))
        if seen.position is not None:
            text += " " + _("(number {n} in line)").format(n=seen.position)
    if seen.can_accept:
        builder.button(text=_("✅ Yes, I'll take the seat"),
                       callback_data=LessonCb(action=LessonAction.ACCEPT, id=sid))
    if seen.can_enrol:
        builder.button(text=_("✍️ Enrol"),
                       callback_data=LessonCb(action=LessonAction.ENROL, id=sid))
    if seen.can_wait:
        builder.button(text=_("🕒 Full: join the waiting list"),
                       callback_data=LessonCb(action=LessonAction.WAITLIST, id=sid))
    if seen.can_leave:
        builder.button(text=_("❌ Cancel my place"),
                       callback_data=LessonCb(action=LessonAction.LEAVE, id=sid))
    if seen.can_calendar:
        builder.button(text=_("📅 Add to my calendar"),
                       callback_data=LessonCb(action=LessonAction.ICS, id=sid))
    if seen.can_run:
        community = await communities.get_community(session,
                                                     community_id=seen.lesson.community_id)
        text += "\n" + _("🏠 {community}").format(community=html.escape(community.name))
        text += "\n" + _("Enrolled: {held} · Waiting: {waiting} · Present: {attended}").format(
            held=seen.held, waiting=seen.waiting, attended=seen.attended)
        builder.button(text=_("👥 Who is coming"),
                       callback_data=LessonCb(action=LessonAction.ROSTER, id=sid))
    if seen.can_show_code:
        builder.button(text=_("📷 Check-in QR code"),
                       callback_data=LessonCb(action=LessonAction.QR, id=sid))
    if seen.can_run:
        builder.button(text=_("⭐ Ratings"),
                       callback_data=LessonCb(action=LessonAction.RATINGS, id=sid))
    if seen.can_move:
        builder.add(move_button(sid))
        builder.button(text=_("🎒 What to bring"),
                       callback_data=BringCb(action=BringAction.ASK, id=sid))
    if seen.can_cancel:
        builder.button(text=_("🚫 Cancel the session"),
                       callback_data=LessonCb(action=LessonAction.CANCEL, id=sid))
    for other in seen.also:
        builder.button(text=_("🗓 Also: {when}").format(when=when(other.starts_at, zone)),
                       callback_data=LessonCb(action=LessonAction.VIEW, id=other.id or 0))
    builder.adjust(1)
    builder.row(home_button())
    return text, builder


def card_text(seen: course_sessions.LessonView, zone: ZoneInfo) -> str:
    """A session as a resident meets it: what, when, where, who teaches, in which
    community, what to bring, the places left and the course's other dates."""
    lesson = seen.lesson
    text = session_text(lesson, zone)
    if seen.teacher is not None:
        text += "\n" + _("🧑‍🏫 Teacher: {name}").format(name=person(seen.teacher))
    if seen.community:
        text += "\n" + _("🏠 {community}").format(community=html.escape(seen.community))
    if lesson.bring:
        text += "\n" + _("🎒 Please bring: {what}").format(what=html.escape(lesson.bring))
    text += "\n" + seats_left(lesson.capacity - seen.held, lesson.capacity)
    if seen.also:
        text += "\n\n" + _("The same course also meets:") + "".join(
            "\n• " + when(other.starts_at, zone) for other in seen.also)
    return text


async def show_lesson(callback: CallbackQuery, lesson_id: int, *, user: User, access: Access,
                      session: AsyncSession, clock: Clock, note: str = "",
                      new: bool = False) -> None:
    """The session's screen, in place of the pressed message (or, with `new`, below it)."""
    text, builder = await session_screen(lesson_id, user=user, access=access,
                                         session=session, clock=clock)
    await show(callback, (note + "\n\n" if note else "") + text,
               reply_markup=builder.as_markup(), new=new)


# --- Lists -----------------------------------------------------------------------------


@router.callback_query(LessonCb.filter(F.action == LessonAction.LIST))
async def on_list(callback: CallbackQuery, user: User, session: AsyncSession,
                  clock: Clock, state: FSMContext) -> None:
    """🗓 Sessions coming up in my community."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # the community list, right there
        await offer_home(callback, session, state)
        return
    await callback.answer()
    lessons = await course_sessions.upcoming(session, clock=clock,
                                             community_id=user.community_id)
    zone = await zone_of(session, user.community_id)
    builder = InlineKeyboardBuilder()
    for lesson in lessons:
        builder.button(text=f"{when(lesson.starts_at, zone)} {shown(lesson)}",
                       callback_data=LessonCb(action=LessonAction.VIEW, id=lesson.id or 0))
    builder.adjust(1)
    builder.row(home_button())
    await show(callback, _("Sessions coming up. Tap one to enrol:") if lessons else
               _("No sessions are planned yet. You can order a course!"),
               reply_markup=builder.as_markup())


@router.callback_query(LessonCb.filter(F.action == LessonAction.MINE))
async def on_mine(callback: CallbackQuery, user: User, session: AsyncSession,
                  clock: Clock, state: FSMContext) -> None:
    """🎒 My courses: seats, waiting places, my orders and what I backed (no community
    yet: the community list, right there)."""
    if user.community_id is None:
        from handlers.onboarding import offer_home  # onboarding imports this package
        await offer_home(callback, session, state)
        return
    await callback.answer()
    mine = await course_sessions.my_sessions(session, clock=clock, user_id=user.id or 0)
    orders = await course_orders.my_orders(session, user_id=user.id or 0)
    builder = InlineKeyboardBuilder()
    lines = [_("<b>🎒 My courses</b>")]
    if mine:
        zone = await zone_of(session, mine[0].lesson.community_id)
        for item in mine:
            line = f"{when(item.lesson.starts_at, zone)} {html.escape(shown(item.lesson))}: " + \
                status_name(item.enrolment.status)
            if item.position is not None:
                line += " " + _("(number {n} in line)").format(n=item.position)
            lines.append("• " + line)
            builder.button(text=f"{when(item.lesson.starts_at, zone)} {shown(item.lesson)}",
                           callback_data=LessonCb(action=LessonAction.VIEW,
                                                   id=item.lesson.id or 0))
    else:
        lines.append(_("No sessions yet."))
    for title, items in ((_("My orders:"), orders.ordered), (_("Orders I back:"), orders.backed)):
        if items:
            lines.append("\n" + title)
            for order in items:
                lines.append("• " + _("{topic} (👍 {n})").format(
                    topic=html.escape(topic_shown(order)), n=order.backers))
                builder.button(text=_("🙋 {topic}").format(topic=topic_shown(order)),
                               callback_data=OrderCb(action=OrderAction.VIEW, id=order.id or 0))
    builder.adjust(1)
    builder.row(home_button())
    await show(callback, "\n".join(lines), reply_markup=builder.as_markup())


async def _run_list(callback: CallbackQuery, session: AsyncSession, builder: InlineKeyboardBuilder,
                    lines: list[str], lessons: list[Lesson], *, say_where: bool = False) -> None:
    """Sessions with their counts (enrolled / waiting / present), a button each (with
    `say_where`, for someone serving several communities, each line names its own)."""
    counts = await course_sessions.counts_of(session, session_ids=[s.id or 0 for s in lessons])
    names = {cid: (await communities.get_community(session, community_id=cid)).name
             for cid in {lesson.community_id for lesson in lessons}} if say_where else {}
    for lesson in lessons:
        zone = await zone_of(session, lesson.community_id)
        held, waiting, attended = counts.get(lesson.id or 0, (0, 0, 0))
        cancelled = ""
        if lesson.status == LessonStatus.CANCELLED:
            reason = said_reason(lesson)
            cancelled = " " + _("(❌ {reason})").format(reason=reason) if reason else " ❌"
        where = f" · {html.escape(names[lesson.community_id])}" if names else ""
        lines.append(f"• {when(lesson.starts_at, zone)} {html.escape(shown(lesson))}{cancelled}"
                     f"{where}: {held}/{lesson.capacity} · {waiting} · {attended}")
        builder.button(text=f"{when(lesson.starts_at, zone)} {shown(lesson)}",
                       callback_data=LessonCb(action=LessonAction.VIEW, id=lesson.id or 0))
    if not lessons:
        lines.append(_("No sessions yet."))
    builder.adjust(1)
    builder.row(home_button())
    await show(callback, "\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(LessonCb.filter(F.action == LessonAction.TEACHING))
async def on_teaching(callback: CallbackQuery, access: Access, session: AsyncSession,
                      clock: Clock) -> None:
    """🧑‍🏫 My teaching: my sessions and the orders I took."""
    if not access.is_teacher:
        await callback.answer(_("Only teachers can do this."), show_alert=True)
        return
    lessons = await course_sessions.teacher_sessions(session, clock=clock,
                                                     teacher_id=access.user_id)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🗓 Schedule one of my courses"),
                   callback_data=LessonCb(action=LessonAction.PLAN))
    for order in await course_orders.taken_by(session, teacher_id=access.user_id):
        builder.button(text=_("🗓 Schedule: {topic}").format(topic=topic_shown(order)),
                       callback_data=OrderCb(action=OrderAction.SCHEDULE, id=order.id or 0))
    await callback.answer()
    await _run_list(callback, session, builder,
                    [_("<b>🧑‍🏫 My teaching</b> (enrolled / waiting / present)")], lessons,
                    say_where=len(access.teacher_of | access.staff_of) > 1)


@router.callback_query(LessonCb.filter(F.action == LessonAction.STAFF))
async def on_staff_list(callback: CallbackQuery, access: Access, session: AsyncSession,
                        state: FSMContext, clock: Clock) -> None:
    """📊 A community's sessions, for its staff: the community chosen first."""
    if not (access.staff_of or access.is_admin):
        await callback.answer(_("You can't do that here. Only staff of this community "
                                "can."), show_alert=True)
        return
    await callback.answer()
    await state.clear()
    community_id = await ask_community(callback, state=state, access=access, session=session,
                                       flow=SESSIONS_FLOW, serving=Serving.STAFF,
                                       intro=_("📊 Community sessions."))
    if community_id is not None:
        await staff_list(callback, access, session, clock, community_id)


@router.callback_query(ScopeCb.filter(F.flow == SESSIONS_FLOW))
async def on_staff_list_community(callback: CallbackQuery, callback_data: ScopeCb,
                                  access: Access, session: AsyncSession, state: FSMContext,
                                  clock: Clock) -> None:
    """The community whose sessions to list (re-checked and remembered)."""
    community_id = await chosen(callback_data, access=access, state=state,
                                serving=Serving.STAFF)
    await callback.answer()
    await staff_list(callback, access, session, clock, community_id)


async def staff_list(callback: CallbackQuery, access: Access, session: AsyncSession,
                     clock: Clock, community_id: int) -> None:
    lessons = await course_sessions.community_sessions(session, access=access, clock=clock,
                                                       community_id=community_id)
    community = await communities.get_community(session, community_id=community_id)
    await _run_list(callback, session, InlineKeyboardBuilder(),
                    [_("<b>📊 Sessions</b> · {community} (enrolled / waiting / present)").format(
                        community=html.escape(community.name))], lessons)


@router.callback_query(LessonCb.filter(F.action == LessonAction.VIEW))
async def on_view(callback: CallbackQuery, callback_data: LessonCb, user: User,
                  access: Access, session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """One session (below the list, which stays); "No, keep it" of a cancellation too."""
    if await state.get_state() == Cancelling.reason.state:  # the reason is not wanted now
        await state.clear()
    text, builder = await session_screen(callback_data.id, user=user, access=access,
                                         session=session, clock=clock)
    await callback.answer()
    await send(callback, text, reply_markup=builder.as_markup())


# --- Taking part -----------------------------------------------------------------------


@router.callback_query(LessonCb.filter(F.action.in_({LessonAction.ENROL,
                                                      LessonAction.WAITLIST})))
async def on_enrol(
    callback: CallbackQuery, callback_data: LessonCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """✍️ Enrol, or 🕒 join the waiting list."""
    sid = callback_data.id
    try:
        enrolment = await course_sessions.enrol(
            session, access=access, waitlist=callback_data.action == LessonAction.WAITLIST,
            buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify, user=user, clock=clock,
            session_id=sid)
    except LessonFull:  # the last seat went a moment ago: the waiting list is offered
        note = _("Sorry, the last seat was just taken. You can join the waiting list.")
        builder = InlineKeyboardBuilder()
        builder.button(text=_("🕒 Join the waiting list"),
                       callback_data=LessonCb(action=LessonAction.WAITLIST, id=sid))
        await callback.answer(note, show_alert=True)
        await send(callback, note, reply_markup=builder.as_markup())
        return
    await callback.answer()
    await show_lesson(callback, sid, user=user, access=access, session=session, clock=clock,
                      note=_("You are enrolled ✅ We will remind you before it starts.")
                      if enrolment.status == EnrolmentStatus.ENROLLED else
                      _("It is full, so you are on the waiting list. If a seat comes free, "
                        "we will offer it to you."))


@router.callback_query(LessonCb.filter(F.action == LessonAction.LEAVE))
async def on_leave(callback: CallbackQuery, callback_data: LessonCb, user: User,
                   access: Access, session: AsyncSession, clock: Clock) -> None:
    """❌ Cancel my place: the card becomes the question, asked once ("Cancel your place
    at 太极 on 12月5日（周六）下午3:00?"), with the answer that keeps it."""
    seen = await course_sessions.view(session, access=access, user=user, clock=clock,
                                      lesson_id=callback_data.id)
    if not seen.can_leave or seen.mine is None:  # a card drawn before it changed
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    zone = await zone_of(session, seen.lesson.community_id)
    moment = when(seen.lesson.starts_at, zone)
    title = html.escape(shown(seen.lesson))
    sid = callback_data.id
    if seen.mine.status == EnrolmentStatus.WAITING:
        question = _("Leave the waiting list for “{title}” on {when}?").format(
            title=title, when=moment)
        yes, no = _("Yes, leave the waiting list"), _("No, stay on the list")
    else:
        question = _("Cancel your place at “{title}” on {when}? The seat goes to someone "
                     "else.").format(title=title, when=moment)
        yes, no = _("Yes, cancel my place"), _("No, keep my place")
    await show(callback, question, reply_markup=ask_once(
        yes=yes, do=PlaceCb(action=PlaceAction.LEAVE, id=sid),
        no=no, keep=PlaceCb(action=PlaceAction.KEEP, id=sid)))


@router.callback_query(PlaceCb.filter(F.action == PlaceAction.KEEP))
async def on_keep_place(callback: CallbackQuery, callback_data: PlaceCb, user: User,
                        access: Access, session: AsyncSession, clock: Clock) -> None:
    """No, keep my place: the session's card back, as it is now."""
    await callback.answer()
    await show_lesson(callback, callback_data.id, user=user, access=access, session=session,
                      clock=clock)


@router.callback_query(PlaceCb.filter(F.action == PlaceAction.LEAVE))
async def on_leave_confirmed(
    callback: CallbackQuery, callback_data: PlaceCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """Yes, cancel my place (re-checked: a stale question changes nothing): the seat is
    passed on, and the card says so with the buttons it has now."""
    before = await course_sessions.my_enrolment(session, session_id=callback_data.id,
                                                user_id=user.id or 0)
    waiting = before is not None and before.status == EnrolmentStatus.WAITING
    await course_sessions.leave(session, buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify,
                                user=user, clock=clock, session_id=callback_data.id)
    await callback.answer()
    await show_lesson(callback, callback_data.id, user=user, access=access, session=session,
                      clock=clock, note=_("You have left the waiting list.") if waiting else
                      _("Your place is cancelled. Thank you for telling us, the seat goes to "
                        "someone else."))


def _cant_question(seen: course_sessions.LessonView, zone: ZoneInfo) -> str:
    return _("Can't come to “{title}” on {when}? Your seat goes to someone else.").format(
        title=html.escape(shown(seen.lesson)), when=when(seen.lesson.starts_at, zone))


def _reminder_text(callback: CallbackQuery, question: str) -> str | None:
    """The reminder's own words, without the question asked under them (None: the
    pressed message is not there to edit)."""
    pressed = callback.message
    if not isinstance(pressed, Message) or pressed.text is None:
        return None
    return pressed.html_text.removesuffix("\n\n" + question)


@router.callback_query(LessonCb.filter(F.action == LessonAction.CANT))
async def on_cant(callback: CallbackQuery, callback_data: LessonCb, user: User,
                  access: Access, session: AsyncSession, clock: Clock) -> None:
    """❌ I can't come, on a reminder: asked once, under the reminder's own words."""
    seen = await course_sessions.view(session, access=access, user=user, clock=clock,
                                      lesson_id=callback_data.id)
    if not seen.can_leave or seen.mine is None or seen.mine.status == EnrolmentStatus.WAITING:
        await answer_out_of_date(callback, use_menu=True)  # a reminder older than a change
        return
    await callback.answer()
    question = _cant_question(seen, await zone_of(session, seen.lesson.community_id))
    reminder = _reminder_text(callback, question)
    await show(callback, (reminder + "\n\n" if reminder else "") + question,
               reply_markup=ask_once(
                   yes=_("Yes, I can't come"), do=PlaceCb(action=PlaceAction.CANT,
                                                          id=callback_data.id),
                   no=_("No, I'm still coming"), keep=PlaceCb(action=PlaceAction.STAY,
                                                              id=callback_data.id)))


@router.callback_query(PlaceCb.filter(F.action == PlaceAction.STAY))
async def on_still_coming(callback: CallbackQuery, callback_data: PlaceCb, user: User,
                          access: Access, session: AsyncSession, clock: Clock) -> None:
    """No, I'm still coming: the reminder back as it was, with its two buttons."""
    seen = await course_sessions.view(session, access=access, user=user, clock=clock,
                                      lesson_id=callback_data.id)
    await callback.answer()
    question = _cant_question(seen, await zone_of(session, seen.lesson.community_id))
    reminder = _reminder_text(callback, question)
    if reminder is None or not seen.can_leave:  # nothing to put back: the card instead
        await show_lesson(callback, callback_data.id, user=user, access=access,
                          session=session, clock=clock)
        return
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ I'm coming"),
                   callback_data=LessonCb(action=LessonAction.COMING, id=callback_data.id))
    builder.button(text=_("❌ I can't come"),
                   callback_data=LessonCb(action=LessonAction.CANT, id=callback_data.id))
    await show(callback, reminder, reply_markup=builder.as_markup())


@router.callback_query(PlaceCb.filter(F.action == PlaceAction.CANT))
async def on_cant_confirmed(
    callback: CallbackQuery, callback_data: PlaceCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """Yes, I can't come (re-checked): the seat is passed on, the reminder shows the
    answer and no buttons, and the card comes below."""
    seen = await course_sessions.view(session, access=access, user=user, clock=clock,
                                      lesson_id=callback_data.id)
    question = _cant_question(seen, await zone_of(session, seen.lesson.community_id))
    await course_sessions.leave(session, buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify,
                                user=user, clock=clock, session_id=callback_data.id)
    await callback.answer()
    reminder = _reminder_text(callback, question)
    if reminder is not None:
        await show(callback, reminder + "\n\n" + _(
            "❌ You said you can't come; your seat is free for someone else."))
    await show_lesson(callback, callback_data.id, user=user, access=access, session=session,
                      clock=clock, new=True,
                      note=_("Your place is cancelled. Thank you for telling us, the seat "
                             "goes to someone else."))


@router.callback_query(BringCb.filter(F.action == BringAction.ASK))
async def on_bring(callback: CallbackQuery, callback_data: BringCb, access: Access,
                   session: AsyncSession, state: FSMContext) -> None:
    """🎒 What to bring (teacher or staff): typed, or "nothing", said on the card."""
    lesson = await course_sessions.runnable(session, access=access, lesson_id=callback_data.id)
    await callback.answer()
    await state.set_state(Bringing.text)
    await state.update_data(session_id=lesson.id)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Nothing to bring"),
                   callback_data=BringCb(action=BringAction.NONE, id=callback_data.id))
    builder.button(text=_("✖ Cancel"),
                   callback_data=BringCb(action=BringAction.KEEP, id=callback_data.id))
    builder.adjust(1)
    now = (_("Now: {what}").format(what=html.escape(lesson.bring)) + "\n\n"
           if lesson.bring else "")
    await send(callback, now + _("What should people bring to “{title}”? For example “a yoga "
                                 "mat and water” (at most {limit} characters).").format(
        title=html.escape(shown(lesson)), limit=BRING_MAX), reply_markup=builder.as_markup())


@router.message(Bringing.text, F.text, ~F.text.startswith("/"))
async def on_bring_text(message: Message, user: User, access: Access, session: AsyncSession,
                        state: FSMContext, clock: Clock) -> None:
    """The words typed (too long: the error router says so, and the step stays)."""
    lesson_id = int((await state.get_data()).get("session_id") or 0)
    await course_sessions.set_bring(session, access=access, clock=clock, session_id=lesson_id,
                                    text=message.text)
    await state.clear()
    text, builder = await session_screen(lesson_id, user=user, access=access, session=session,
                                         clock=clock)
    await message.answer(_("Saved ✅") + "\n\n" + text, reply_markup=builder.as_markup())


@router.callback_query(BringCb.filter(F.action.in_({BringAction.NONE, BringAction.KEEP})))
async def on_bring_button(callback: CallbackQuery, callback_data: BringCb, user: User,
                          access: Access, session: AsyncSession, state: FSMContext,
                          clock: Clock) -> None:
    """Nothing to bring (cleared), or ✖ Cancel (as it was): the card in place."""
    note = ""
    if callback_data.action == BringAction.NONE:
        await course_sessions.set_bring(session, access=access, clock=clock,
                                        session_id=callback_data.id, text=None)
        note = _("Saved ✅")
    else:
        await course_sessions.runnable(session, access=access, lesson_id=callback_data.id)
    if await state.get_state() == Bringing.text.state:
        await state.clear()
    await callback.answer()
    await show_lesson(callback, callback_data.id, user=user, access=access, session=session,
                      clock=clock, note=note)


@router.callback_query(LessonCb.filter(F.action.in_({LessonAction.ACCEPT,
                                                      LessonAction.DECLINE})))
async def on_offer(
    callback: CallbackQuery, callback_data: LessonCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """A seat kept for me: ✅ take it, or pass it on."""
    enrolment = await course_sessions.answer_offer(
        session, accept=callback_data.action == LessonAction.ACCEPT,
        buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify, user=user, clock=clock,
        session_id=callback_data.id)
    await callback.answer()
    await mark_answered(callback, _("✅ You took the seat.")
                        if enrolment.status == EnrolmentStatus.ENROLLED
                        else _("You passed the seat on."))
    await show_lesson(callback, callback_data.id, user=user, access=access, session=session,
                      clock=clock, new=True,
                      note=_("The seat is yours ✅") if enrolment.status == EnrolmentStatus.ENROLLED
                      else _("All right, the seat goes to the next person."))


@router.callback_query(LessonCb.filter(F.action == LessonAction.COMING))
async def on_coming(
    callback: CallbackQuery, callback_data: LessonCb, user: User, access: Access,
    session: AsyncSession, clock: Clock,
) -> None:
    """✅ I'm coming, on a reminder."""
    await course_sessions.confirm_coming(session, user=user, clock=clock,
                                         session_id=callback_data.id)
    await callback.answer()
    await mark_answered(callback, _("✅ You said you are coming."))
    await show_lesson(callback, callback_data.id, user=user, access=access, session=session,
                      clock=clock, new=True, note=_("Thank you, see you there! 👋"))


@router.callback_query(LessonCb.filter(F.action == LessonAction.ICS))
async def on_ics(callback: CallbackQuery, callback_data: LessonCb, user: User,
                 access: Access, session: AsyncSession, bot: Bot) -> None:
    """📅 The session as a calendar file."""
    data = await course_sessions.ics_file(session, access=access, user=user,
                                          session_id=callback_data.id)
    await callback.answer()
    await bot.send_document(
        _chat_of(callback), BufferedInputFile(data, filename=f"course-{callback_data.id}.ics"),
        caption=_("Open this file to add the session to your phone's calendar."))


def _chat_of(callback: CallbackQuery) -> int:
    """Where the pressed button was (a file goes there too)."""
    return callback.message.chat.id if callback.message else callback.from_user.id


# --- Check-in and ratings --------------------------------------------------------------


async def check_in_by_link(
    message: Message, *, token: str, user: User, access: Access, session: AsyncSession,
    clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """/start ci_<token>, from the QR code at the venue: mark the person present.

    A typed link gets whole sentences of its own (what to do at the door), so this
    answers the refusals itself."""
    try:
        done = await course_sessions.check_in(session, user=user, clock=clock, token=token,
                                              buttons=OUTBOX_KEYBOARDS.courses,
                                              notify=outbox_notify)
    except NotFound:
        text = _("This check-in code is not valid.")
    except LessonClosed:
        text = _("This session has been cancelled.")
    except NotInWindow as error:
        text = (_("Check-in opens 1 hour before the start. Please scan again then.")
                if error.reason == "early" else _("Check-in for this session has closed."))
    except NotEnrolled:
        text = _("You are not enrolled in this session. Please speak to the staff at the "
                 "door.")
    else:
        text = (_("You were already checked in. Enjoy! 😊") if done.already else
                _("✅ Checked in to “{title}”. Welcome!").format(
                    title=html.escape(shown(done.lesson))))
    await message.answer(text, reply_markup=home_markup())


@router.callback_query(LessonCb.filter(F.action == LessonAction.QR))
async def on_qr(callback: CallbackQuery, callback_data: LessonCb, access: Access,
                session: AsyncSession, bot: Bot) -> None:
    """📷 The check-in QR code to show at the venue, with its link."""
    lesson = await course_sessions.runnable(session, access=access, lesson_id=callback_data.id)
    await callback.answer()
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={CHECK_IN_PREFIX}{lesson.checkin_token}"
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=10, border=2)
    await bot.send_photo(
        _chat_of(callback), BufferedInputFile(png.getvalue(), filename="check-in.png"),
        caption=_("Check-in for “{title}”. Show this at the door: people scan it with "
                  "their phone camera.\n{link}").format(title=html.escape(shown(lesson)),
                                                       link=link))


async def _roster(callback: CallbackQuery | Message, lesson_id: int, access: Access,
                  session: AsyncSession, *, new: bool, note: str = "") -> None:
    """Seats (a tick button each), walk-ins, then the waiting list in line order."""
    people = await course_sessions.roster(session, access=access, session_id=lesson_id)
    if isinstance(callback, CallbackQuery):
        await callback.answer()
    builder = InlineKeyboardBuilder()
    seated = len(people.seated) + len(people.walk_ins)
    lines = [note + "\n"] if note else []
    lesson = await session.get(Lesson, lesson_id)
    if lesson is not None and lesson.status == LessonStatus.CANCELLED:
        lines.append(cancelled_line(lesson))
    lines.append(_("👥 Enrolled: {n}").format(n=seated))
    for number, (enrolment, who) in enumerate(people.seated, start=1):
        present = "✅" if enrolment.attended_at else "⬜"
        lines.append(f"{number}. {present} {person(who)}")
        builder.button(text=f"{present} {number}. {who.first_name or ''}"[:60],
                       callback_data=MarkCb(lesson_id=lesson_id, user_id=who.id or 0))
    for number, walk_in in enumerate(people.walk_ins, start=len(people.seated) + 1):
        lines.append(f"{number}. ✅ " + _("{name} (walk-in)").format(
            name=html.escape(walk_in.name)))
    builder.adjust(2)
    if people.waiting:
        lines.append("\n" + _("🕒 Waiting list: {n}").format(n=len(people.waiting)))
        lines += [f"{number}. {person(who)}"
                  for number, (_e, who) in enumerate(people.waiting, start=1)]
    builder.row(InlineKeyboardButton(text=_("➕ Add a walk-in"), callback_data=WalkInCb(
        lesson_id=lesson_id, user_id=0).pack()))
    builder.row(home_button())
    await show(callback, "\n".join(lines) + "\n\n" + _("Tap a name to mark them present."),
               reply_markup=builder.as_markup(), new=new)


@router.callback_query(LessonCb.filter(F.action == LessonAction.ROSTER))
async def on_roster(callback: CallbackQuery, callback_data: LessonCb, access: Access,
                    session: AsyncSession, state: FSMContext) -> None:
    """👥 Who is coming, with a tick button each to mark attendance by hand, and who waits."""
    if await state.get_state() == WalkingIn.name.state:  # ◀ Back from adding a walk-in
        await state.clear()
    await _roster(callback, callback_data.id, access, session, new=True)


@router.callback_query(MarkCb.filter())
async def on_mark(
    callback: CallbackQuery, callback_data: MarkCb, access: Access, session: AsyncSession,
    clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """A name on the roster: present, or not after all."""
    current = await course_sessions.my_enrolment(
        session, session_id=callback_data.lesson_id, user_id=callback_data.user_id)
    try:
        await course_sessions.mark_attendance(
            session, access=access, clock=clock, session_id=callback_data.lesson_id,
            user_id=callback_data.user_id,
            present=current is None or current.attended_at is None,
            buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
    except NotInWindow:  # (check-in's own words would be wrong for a roster)
        await callback.answer(_("Attendance can be marked from 1 hour before the start."),
                              show_alert=True)
        return
    except (NotEnrolled, LessonClosed):  # a roster drawn before they left, or it was off
        await answer_out_of_date(callback, use_menu=True)
        return
    await _roster(callback, callback_data.lesson_id, access, session, new=False)


# --- Walk-ins at the door ----------------------------------------------------------------


def back_to_roster(lesson_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("◀ Back to the list"), callback_data=LessonCb(
        action=LessonAction.ROSTER, id=lesson_id).pack())


@router.callback_query(WalkInCb.filter(F.user_id == 0))
async def on_walk_in(callback: CallbackQuery, callback_data: WalkInCb, access: Access,
                     session: AsyncSession, state: FSMContext) -> None:
    """➕ Add a walk-in: their name is typed (residents of the community are looked up)."""
    lesson = await course_sessions.runnable(session, access=access,
                                            lesson_id=callback_data.lesson_id)
    await callback.answer()
    await state.set_state(WalkingIn.name)
    await state.update_data(walk_in_lesson=lesson.id, walk_in_name=None)
    await send(callback, _("Who has come to “{title}”? Type their name: I will look for "
                           "them among the community's residents.").format(
        title=html.escape(shown(lesson))),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[back_to_roster(lesson.id or 0)]]))


@router.message(WalkingIn.name, F.text, ~F.text.startswith("/"))
async def on_walk_in_name(message: Message, access: Access, session: AsyncSession,
                          state: FSMContext) -> None:
    """A name typed: the residents it matches, a button each, and the name alone."""
    lesson_id = (await state.get_data()).get("walk_in_lesson")
    if not isinstance(lesson_id, int):
        await state.clear()
        await message.answer(out_of_date_use_menu())
        return
    name = courses.clean_text(message.text or "", field="name",
                              limit=course_sessions.WALK_IN_NAME_MAX)
    found = await course_sessions.find_residents(session, access=access, session_id=lesson_id,
                                                 query=name)
    await state.update_data(walk_in_name=name)
    builder = InlineKeyboardBuilder()
    for who in found:
        builder.button(text=_("👤 {name}").format(name=who.first_name or ""),
                       callback_data=WalkInCb(lesson_id=lesson_id, user_id=who.id or 0))
    builder.button(text=_("➕ “{name}”, by name only").format(name=name),
                   callback_data=WalkInCb(lesson_id=lesson_id, user_id=-1))
    builder.adjust(1)
    builder.row(back_to_roster(lesson_id))
    await message.answer((_("Residents called “{name}”: tap the one who came, or add the "
                            "name only. Or type another name.") if found else
                          _("No resident is called “{name}”. Add the name only, or type "
                            "another name.")).format(name=html.escape(name)),
                         reply_markup=builder.as_markup())


@router.callback_query(WalkInCb.filter(F.user_id != 0))
async def on_walk_in_add(
    callback: CallbackQuery, callback_data: WalkInCb, access: Access, session: AsyncSession,
    state: FSMContext, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """A resident found, or the name alone: they take a free seat, present."""
    lid = callback_data.lesson_id
    data = await state.get_data()
    name = data.get("walk_in_name")
    if callback_data.user_id < 0 and not (data.get("walk_in_lesson") == lid
                                          and isinstance(name, str)):
        await answer_out_of_date(callback, use_menu=True)
        return
    try:
        added = await course_sessions.add_walk_in(
            session, access=access, clock=clock, session_id=lid,
            user_id=callback_data.user_id if callback_data.user_id > 0 else None,
            name=name if callback_data.user_id < 0 else None,
            buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
    except NotInWindow:  # (check-in's own words would be wrong at the door)
        await callback.answer(_("Walk-ins can be added from 1 hour before the start."),
                              show_alert=True)
        return
    except LessonFull:  # words of its own: no waiting list at the door
        await callback.answer(_("Every seat is taken: there is no seat for a walk-in."),
                              show_alert=True)
        return
    if await state.get_state() == WalkingIn.name.state:
        await state.clear()
    await drop_buttons(callback)
    await _roster(callback, lid, access, session, new=True, note=(
        _("{name} already had a seat: marked present ✅") if added.already else
        _("{name} is in ✅ (a seat, present)")).format(name=html.escape(added.name)))


def reason_text(reason: int | str) -> str:
    """A reason in the reader's language (a common one by its place, or words typed)."""
    if isinstance(reason, int):
        return _(course_sessions.CANCEL_REASONS[reason])
    return html.escape(reason)


@router.callback_query(LessonCb.filter(F.action == LessonAction.CANCEL))
async def on_cancel_session(callback: CallbackQuery, callback_data: LessonCb, access: Access,
                            session: AsyncSession, state: FSMContext) -> None:
    """🚫 Cancel the session: first why (a common reason, or typed), then asked once."""
    lesson = await course_sessions.runnable(session, access=access, lesson_id=callback_data.id)
    await callback.answer()
    await state.set_state(Cancelling.reason)
    await state.update_data(cancel_lesson=lesson.id, cancel_reason=None)
    builder = InlineKeyboardBuilder()
    for index, reason in enumerate(course_sessions.CANCEL_REASONS):
        builder.button(text=_(reason).capitalize(),
                       callback_data=CancelWhyCb(lesson_id=callback_data.id, reason=index))
    builder.button(text=_("No, keep it"),
                   callback_data=LessonCb(action=LessonAction.VIEW, id=callback_data.id))
    builder.adjust(1)
    await send(callback, _("Why is “{title}” cancelled? Everyone enrolled will be told. Tap a "
                           "reason, or type your own.").format(title=html.escape(shown(lesson))),
               reply_markup=builder.as_markup())


async def ask_cancel(event: CallbackQuery | Message, lesson: Lesson, session: AsyncSession,
                     reason: int | str) -> None:
    """The question once more, with the reason: Yes does it, No keeps the session."""
    zone = await zone_of(session, lesson.community_id)
    held = (await course_sessions.counts_of(session, session_ids=[lesson.id or 0])).get(
        lesson.id or 0, (0, 0, 0))
    lid = lesson.id or 0
    code = reason if isinstance(reason, int) else -1
    markup = ask_once(yes=_("Yes, cancel it"), do=CancelDoCb(lesson_id=lid, reason=code),
                      no=_("No, keep it"), keep=LessonCb(action=LessonAction.VIEW, id=lid))
    later = await course_sessions.later_in_series(session, lesson=lesson,
                                                  now=lesson.starts_at)
    if later:  # a weekly series: this one and the following, with the same reason
        markup.inline_keyboard.insert(1, [InlineKeyboardButton(
            text=ngettext("Yes, this one and the {n} after it",
                          "Yes, this one and the {n} after it", len(later)).format(
                n=len(later)),
            callback_data=CancelDoCb(lesson_id=lid, reason=code, following=True).pack())])
    await send(event, _("Cancel “{title}” on {when}?\nWhy: {reason}\nPeople to tell: "
                        "{n}").format(title=html.escape(shown(lesson)),
                                      when=when(lesson.starts_at, zone),
                                      reason=reason_text(reason), n=held[0] + held[1]),
               reply_markup=markup)


@router.callback_query(CancelWhyCb.filter(F.reason.in_(range(len(
    course_sessions.CANCEL_REASONS)))))
async def on_cancel_why(callback: CallbackQuery, callback_data: CancelWhyCb, access: Access,
                        session: AsyncSession, state: FSMContext) -> None:
    """A common reason tapped: asked once, with it."""
    lesson = await course_sessions.runnable(session, access=access,
                                            lesson_id=callback_data.lesson_id)
    await callback.answer()
    if await state.get_state() == Cancelling.reason.state:
        await state.clear()
    await ask_cancel(callback, lesson, session, callback_data.reason)


@router.message(Cancelling.reason, F.text, ~F.text.startswith("/"))
async def on_cancel_typed(message: Message, access: Access, session: AsyncSession,
                          state: FSMContext) -> None:
    """A reason typed (too long or empty: the error router says so, the step stays)."""
    lesson_id = (await state.get_data()).get("cancel_lesson")
    if not isinstance(lesson_id, int):
        await state.clear()
        await message.answer(out_of_date_use_menu())
        return
    lesson = await course_sessions.runnable(session, access=access, lesson_id=lesson_id)
    reason = courses.clean_text(message.text or "", field="reason",
                                limit=course_sessions.REASON_MAX)
    await state.update_data(cancel_reason=reason)
    await ask_cancel(message, lesson, session, reason)


@router.callback_query(CancelDoCb.filter())
async def on_cancel_confirmed(
    callback: CallbackQuery, callback_data: CancelDoCb, user: User, access: Access,
    session: AsyncSession, state: FSMContext, clock: Clock,
    outbox_notify: Notify | None = None,
) -> None:
    """Yes, cancel it: everyone is told why (re-checked: it may be stale)."""
    lid = callback_data.lesson_id
    data = await state.get_data()
    reason: int | str | None = callback_data.reason
    if callback_data.reason == -1:  # the words typed, for this session only
        typed = data.get("cancel_reason")
        reason = typed if data.get("cancel_lesson") == lid and isinstance(typed, str) else None
    elif not 0 <= callback_data.reason < len(course_sessions.CANCEL_REASONS):
        reason = None
    if reason is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await course_sessions.runnable(session, access=access, lesson_id=lid)
    await course_sessions.cancel_session(session, access=access, clock=clock, session_id=lid,
                                         reason=reason, buttons=OUTBOX_KEYBOARDS.courses,
                                         notify=outbox_notify,
                                         following=callback_data.following)
    if await state.get_state() == Cancelling.reason.state or data.get("cancel_lesson") == lid:
        await state.clear()
    await callback.answer()
    await show_lesson(callback, lid, user=user, access=access, session=session,
                      clock=clock, note=_("The session is cancelled. Everyone enrolled will "
                                          "be told why."))


@router.callback_query(LessonCb.filter(F.action == LessonAction.RATINGS))
async def on_ratings(callback: CallbackQuery, callback_data: LessonCb, access: Access,
                     session: AsyncSession) -> None:
    """⭐ Ratings: the average and the comments (teacher and staff)."""
    await course_sessions.runnable(session, access=access, lesson_id=callback_data.id)
    found = await course_sessions.ratings(session, access=access, session_id=callback_data.id)
    await callback.answer()
    if found.average is None:
        text = _("No ratings yet.")
    else:
        text = ngettext("⭐ {average:.1f} from {count} rating", "⭐ {average:.1f} from {count} "
                        "ratings", found.count).format(average=found.average, count=found.count)
        for stars, words in found.comments[:20]:
            text += f"\n{'⭐' * stars} {html.escape(words)}"
    await send(callback, text, reply_markup=home_markup())


@router.callback_query(RateCb.filter())
async def on_rate(callback: CallbackQuery, callback_data: RateCb, user: User,
                  session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """1–5 ⭐ after the session; then an optional comment."""
    try:
        await course_sessions.rate(session, user=user, clock=clock,
                                   session_id=callback_data.lesson_id, stars=callback_data.stars)
    except (NotEnrolled, InvalidInput):  # one answer for "not for you" and forged stars
        await callback.answer(_("Only people who came can rate a session."), show_alert=True)
        return
    await callback.answer(_("Thank you! ⭐"))
    await state.set_state(Rating.comment)
    await state.update_data(session_id=callback_data.lesson_id)
    await drop_buttons(callback)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip"), callback_data=SkipCommentCb())
    await send(callback, _("You gave {n} ⭐. Would you like to add a few words for the "
                           "teacher? Type them, or tap Skip.").format(n=callback_data.stars),
               reply_markup=builder.as_markup())


@router.message(Rating.comment, F.text, ~F.text.startswith("/"))
async def on_comment(message: Message, user: User, session: AsyncSession, state: FSMContext,
                     clock: Clock) -> None:
    """The comment with a rating (too long or empty: the error router says so)."""
    session_id = int((await state.get_data()).get("session_id") or 0)
    try:
        await course_sessions.comment(session, user=user, clock=clock, session_id=session_id,
                                      text=message.text or "")
    except NotEnrolled:  # the draft is dropped with the answer
        await state.clear()
        await message.answer(out_of_date_use_menu())
        return
    await state.clear()
    await message.answer(_("Thank you, the teacher will read it. 🙏"), reply_markup=home_markup())


@router.callback_query(Rating.comment, SkipCommentCb.filter())
async def on_skip(callback: CallbackQuery, state: FSMContext) -> None:
    """Skip the comment."""
    await callback.answer()
    await state.clear()
    await show(callback, _("Thank you for your rating! 🙏"))
