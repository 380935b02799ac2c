"""Taking part in sessions: enrol, waitlist, reminders' answers, check-in, rating, .ics,
"My courses"; and for teachers and staff, running a session.

```mermaid
stateDiagram-v2
    [*] --> Session: 🗓 Sessions coming up / 🎒 My courses / a message's button
    Session --> Enrolled: ✍️ Enrol (a seat is free)
    Session --> Waiting: 🕒 Join the waiting list (full)
    Waiting --> Offered: a seat frees (message with a deadline)
    Offered --> Enrolled: ✅ Yes, I'll take the seat
    Offered --> [*]: No, thanks / no answer (passed on)
    Enrolled --> [*]: ❌ I can't come / Cancel my place (seat passed on)
    Enrolled --> Present: /start ci_<token> (the venue's QR code) or staff tick
    Present --> Rated: 1–5 ⭐ after the session
    Rated --> [*]: a comment, or Skip
```
"""

from __future__ import annotations

import html
import io

import segno
from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import (
    LessonAction,
    LessonCb,
    OrderAction,
    OrderCb,
    PickAction,
    PickCb,
)
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.outbox import OUTBOX_KEYBOARDS
from bot.replies import answer_out_of_date, out_of_date_use_menu
from handlers.courses.texts import (
    home_button,
    home_markup,
    person,
    session_text,
    status_name,
    when,
    work_community,
)
from models.communities import Community
from models.courses import COMMENT_MAX, EnrolmentStatus, Lesson, LessonStatus
from models.users import User
from services import course_orders, course_sessions
from services.access import Access
from services.clock import Clock
from services.courses import (
    AlreadyEnrolled,
    LessonClosed,
    LessonFull,
    NotEnrolled,
    NotInWindow,
    OfferExpired,
    is_member,
)
from services.errors import InvalidInput, NotAllowed, NotFound
from services.outbox import Notify

router = Router(name=__name__)

CHECK_IN_PREFIX = "ci_"


class Rating(StatesGroup):
    comment = State()


async def _zone(session: AsyncSession, community_id: int) -> str:
    community = await session.get(Community, community_id)
    return community.timezone if community else "Asia/Shanghai"


def closed_text(error: LessonClosed) -> str:
    return (_("This session has been cancelled.") if error.reason == "cancelled"
            else _("This session has already started or is over."))


async def session_screen(
    lesson: Lesson, *, user: User, access: Access, session: AsyncSession,
    clock: Clock,
) -> tuple[str, InlineKeyboardBuilder]:
    """A session with this person's place in it and the buttons they may use."""
    sid = lesson.id or 0
    zone = await _zone(session, lesson.community_id)
    held, waiting, attended = (await course_sessions.counts_of(
        session, session_ids=[sid])).get(sid, (0, 0, 0))
    text = session_text(lesson, zone, held=held)
    builder = InlineKeyboardBuilder()
    open_ = lesson.status == LessonStatus.SCHEDULED and lesson.starts_at > clock.now()
    if lesson.status == LessonStatus.CANCELLED:
        text += "\n" + _("❌ Cancelled")
    mine = await course_sessions.my_enrolment(session, session_id=sid, user_id=user.id or 0)
    status = mine.status if mine else None
    if status in (EnrolmentStatus.ENROLLED, EnrolmentStatus.OFFERED, EnrolmentStatus.WAITING):
        text += "\n" + _("Your place: {status}").format(status=status_name(status))
        if status == EnrolmentStatus.WAITING and mine:
            position = await course_sessions.waitlist_position(session, enrolment=mine)
            text += " " + _("(number {n} in line)").format(n=position)
    if open_:
        if status == EnrolmentStatus.OFFERED:
            builder.button(text=_("✅ Yes, I'll take the seat"),
                           callback_data=LessonCb(action=LessonAction.ACCEPT, id=sid))
        elif status not in (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITING):
            if held < lesson.capacity:
                builder.button(text=_("✍️ Enrol"),
                               callback_data=LessonCb(action=LessonAction.ENROL, id=sid))
            else:
                builder.button(text=_("🕒 Full: join the waiting list"),
                               callback_data=LessonCb(action=LessonAction.WAITLIST, id=sid))
        if status in (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITING,
                      EnrolmentStatus.OFFERED):
            builder.button(text=_("❌ Cancel my place"),
                           callback_data=LessonCb(action=LessonAction.LEAVE, id=sid))
    if status is not None and status != EnrolmentStatus.CANCELLED:
        builder.button(text=_("📅 Add to my calendar"),
                       callback_data=LessonCb(action=LessonAction.ICS, id=sid))
    if course_sessions.may_run(access, lesson):
        text += "\n" + _("Enrolled: {held} · Waiting: {waiting} · Present: {attended}").format(
            held=held, waiting=waiting, attended=attended)
        builder.button(text=_("👥 Who is coming"),
                       callback_data=LessonCb(action=LessonAction.ROSTER, id=sid))
        if lesson.status == LessonStatus.SCHEDULED:
            builder.button(text=_("📷 Check-in QR code"),
                           callback_data=LessonCb(action=LessonAction.QR, id=sid))
        builder.button(text=_("⭐ Ratings"),
                       callback_data=LessonCb(action=LessonAction.RATINGS, id=sid))
        if open_:
            builder.button(text=_("🔁 Move"),
                           callback_data=LessonCb(action=LessonAction.MOVE, id=sid))
            builder.button(text=_("🚫 Cancel the session"),
                           callback_data=LessonCb(action=LessonAction.CANCEL, id=sid))
    builder.adjust(1)
    builder.row(home_button())
    return text, builder


async def _visible(session_id: int, user: User, access: Access,
                   session: AsyncSession) -> Lesson | None:
    """The session if this person may see it (forged ids of other communities: None)."""
    try:
        lesson = await course_sessions.get_session(session, session_id=session_id)
    except NotFound:
        return None
    if is_member(access, user, lesson.community_id) or course_sessions.may_run(access, lesson):
        return lesson
    return None


async def show(callback: CallbackQuery, lesson: Lesson, *, user: User, access: Access,
               session: AsyncSession, clock: Clock, note: str = "", edit: bool = True) -> None:
    if not isinstance(callback.message, Message):
        return
    text, builder = await session_screen(lesson, user=user, access=access, session=session,
                                         clock=clock)
    text = (note + "\n\n" if note else "") + text
    if edit and callback.message.text is not None:
        await callback.message.edit_text(text, reply_markup=builder.as_markup())
    else:
        await callback.message.answer(text, reply_markup=builder.as_markup())


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
    zone = await _zone(session, user.community_id)
    builder = InlineKeyboardBuilder()
    for lesson in lessons:
        builder.button(text=f"{when(lesson.starts_at, zone)} {lesson.title}",
                       callback_data=LessonCb(action=LessonAction.VIEW, id=lesson.id or 0))
    builder.adjust(1)
    builder.row(home_button())
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Sessions coming up. Tap one to enrol:") if lessons else
            _("No sessions are planned yet. You can order a course!"),
            reply_markup=builder.as_markup())


@router.callback_query(LessonCb.filter(F.action == LessonAction.MINE))
async def on_mine(callback: CallbackQuery, user: User, session: AsyncSession,
                  clock: Clock) -> None:
    """🎒 My courses: seats, waiting places, my orders and what I backed."""
    await callback.answer()
    mine = await course_sessions.my_sessions(session, clock=clock, user_id=user.id or 0)
    orders = await course_orders.my_orders(session, user_id=user.id or 0)
    builder = InlineKeyboardBuilder()
    lines = [_("<b>🎒 My courses</b>")]
    if mine:
        zone = await _zone(session, mine[0].lesson.community_id)
        for item in mine:
            line = f"{when(item.lesson.starts_at, zone)} {html.escape(item.lesson.title)}: " + \
                status_name(item.enrolment.status)
            if item.position is not None:
                line += " " + _("(number {n} in line)").format(n=item.position)
            lines.append("• " + line)
            builder.button(text=f"{when(item.lesson.starts_at, zone)} {item.lesson.title}",
                           callback_data=LessonCb(action=LessonAction.VIEW,
                                                   id=item.lesson.id or 0))
    else:
        lines.append(_("No sessions yet."))
    for title, items in ((_("My orders:"), orders.ordered), (_("Orders I back:"), orders.backed)):
        if items:
            lines.append("\n" + title)
            for order in items:
                lines.append("• " + _("{topic} (👍 {n})").format(topic=html.escape(order.topic),
                                                               n=order.backers))
                builder.button(text=_("🙋 {topic}").format(topic=order.topic),
                               callback_data=OrderCb(action=OrderAction.VIEW, id=order.id or 0))
    builder.adjust(1)
    builder.row(home_button())
    if isinstance(callback.message, Message):
        await callback.message.edit_text("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(LessonCb.filter(F.action.in_({LessonAction.TEACHING,
                                                      LessonAction.STAFF})))
async def on_run_list(callback: CallbackQuery, callback_data: LessonCb, user: User,
                      access: Access, session: AsyncSession, clock: Clock) -> None:
    """🧑‍🏫 My teaching (sessions and taken orders), or 📊 the community's sessions."""
    builder = InlineKeyboardBuilder()
    lines: list[str] = []
    if callback_data.action == LessonAction.STAFF:
        community_id = work_community(access, user, access.staff_of)
        if community_id is None:
            await callback.answer(_("You can't do that here. Only staff of this community "
                                    "can."), show_alert=True)
            return
        lessons = await course_sessions.community_sessions(session, access=access, clock=clock,
                                                           community_id=community_id)
        lines.append(_("<b>📊 Sessions</b> (enrolled / waiting / present)"))
    else:
        if not access.is_teacher:
            await callback.answer(_("Only teachers can do this."), show_alert=True)
            return
        lessons = await course_sessions.teacher_sessions(session, clock=clock,
                                                         teacher_id=access.user_id)
        lines.append(_("<b>🧑‍🏫 My teaching</b> (enrolled / waiting / present)"))
        for order in await course_orders.taken_by(session, teacher_id=access.user_id):
            builder.button(text=_("🗓 Schedule: {topic}").format(topic=order.topic),
                           callback_data=OrderCb(action=OrderAction.SCHEDULE, id=order.id or 0))
    await callback.answer()
    counts = await course_sessions.counts_of(session, session_ids=[s.id or 0 for s in lessons])
    for lesson in lessons:
        zone = await _zone(session, lesson.community_id)
        held, waiting, attended = counts.get(lesson.id or 0, (0, 0, 0))
        cancelled = " ❌" if lesson.status == LessonStatus.CANCELLED else ""
        lines.append(f"• {when(lesson.starts_at, zone)} {html.escape(lesson.title)}{cancelled}: "
                     f"{held}/{lesson.capacity} · {waiting} · {attended}")
        builder.button(text=f"{when(lesson.starts_at, zone)} {lesson.title}",
                       callback_data=LessonCb(action=LessonAction.VIEW, id=lesson.id or 0))
    if not lessons:
        lines.append(_("No sessions yet."))
    builder.adjust(1)
    builder.row(home_button())
    if isinstance(callback.message, Message):
        await callback.message.edit_text("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(LessonCb.filter(F.action == LessonAction.VIEW))
async def on_view(callback: CallbackQuery, callback_data: LessonCb, user: User,
                  access: Access, session: AsyncSession, clock: Clock) -> None:
    """One session."""
    lesson = await _visible(callback_data.id, user, access, session)
    if lesson is None:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await show(callback, lesson, user=user, access=access, session=session, clock=clock,
               edit=False)


# --- Taking part -----------------------------------------------------------------------


@router.callback_query(LessonCb.filter(F.action.in_({
    LessonAction.ENROL, LessonAction.WAITLIST, LessonAction.LEAVE, LessonAction.CANT,
    LessonAction.ACCEPT, LessonAction.DECLINE, LessonAction.COMING})))
async def on_take_part(
    callback: CallbackQuery, callback_data: LessonCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """Enrol, join the waiting list, cancel, answer a reminder or a seat offer."""
    sid, action = callback_data.id, callback_data.action
    full_keyboard = None
    try:
        match action:
            case LessonAction.ENROL | LessonAction.WAITLIST:
                enrolment = await course_sessions.enrol(
                    session, access=access, waitlist=action == LessonAction.WAITLIST,
                    buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify, user=user, clock=clock,
                    session_id=sid)
                note = (_("You are enrolled ✅ We will remind you before it starts.")
                        if enrolment.status == EnrolmentStatus.ENROLLED else
                        _("It is full, so you are on the waiting list. If a seat comes free, "
                          "we will offer it to you."))
            case LessonAction.LEAVE | LessonAction.CANT:
                await course_sessions.leave(session, buttons=OUTBOX_KEYBOARDS.courses,
                                            notify=outbox_notify, user=user, clock=clock,
                                            session_id=sid)
                note = _("Your place is cancelled. Thank you for telling us, the seat goes "
                         "to someone else.")
            case LessonAction.ACCEPT | LessonAction.DECLINE:
                enrolment = await course_sessions.answer_offer(
                    session, accept=action == LessonAction.ACCEPT,
                    buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify, user=user, clock=clock,
                    session_id=sid)
                note = (_("The seat is yours ✅") if enrolment.status == EnrolmentStatus.ENROLLED
                        else _("All right, the seat goes to the next person."))
            case _:
                await course_sessions.confirm_coming(session, user=user, clock=clock,
                                                     session_id=sid)
                note = _("Thank you, see you there! 👋")
    except AlreadyEnrolled as error:
        note = (_("You are already on the waiting list.")
                if error.status == EnrolmentStatus.WAITING else _("You are already enrolled."))
        await callback.answer(note, show_alert=True)
        return
    except LessonFull:
        note = _("Sorry, the last seat was just taken. You can join the waiting list.")
        full_keyboard = InlineKeyboardBuilder()
        full_keyboard.button(text=_("🕒 Join the waiting list"),
                             callback_data=LessonCb(action=LessonAction.WAITLIST, id=sid))
        await callback.answer(note, show_alert=True)
        if isinstance(callback.message, Message):
            await callback.message.answer(note, reply_markup=full_keyboard.as_markup())
        return
    except LessonClosed as error:
        await callback.answer(closed_text(error), show_alert=True)
        return
    except OfferExpired:
        await callback.answer(_("Sorry, this offer has ended: the seat went to the next "
                                "person."), show_alert=True)
        return
    except NotEnrolled:
        await callback.answer(_("You don't have a place in this session."), show_alert=True)
        return
    except (NotFound, NotAllowed):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    lesson = await course_sessions.get_session(session, session_id=sid)
    await show(callback, lesson, user=user, access=access, session=session, clock=clock,
               note=note, edit=action in (LessonAction.ENROL, LessonAction.WAITLIST,
                                          LessonAction.LEAVE))


@router.callback_query(LessonCb.filter(F.action == LessonAction.ICS))
async def on_ics(callback: CallbackQuery, callback_data: LessonCb, user: User,
                 access: Access, session: AsyncSession) -> None:
    """📅 The session as a calendar file."""
    try:
        data = await course_sessions.ics_file(session, access=access, user=user,
                                              session_id=callback_data.id)
    except NotFound:
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer_document(
            BufferedInputFile(data, filename=f"course-{callback_data.id}.ics"),
            caption=_("Open this file to add the session to your phone's calendar."))


# --- Check-in and ratings --------------------------------------------------------------


async def check_in_by_link(
    message: Message, *, token: str, user: User, access: Access, session: AsyncSession,
    clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """/start ci_<token>, from the QR code at the venue: mark the person present."""
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
                    title=html.escape(done.lesson.title)))
    await message.answer(text, reply_markup=home_markup())


@router.callback_query(LessonCb.filter(F.action == LessonAction.QR))
async def on_qr(callback: CallbackQuery, callback_data: LessonCb, access: Access,
                session: AsyncSession, bot: Bot) -> None:
    """📷 The check-in QR code to show at the venue, with its link."""
    try:
        lesson = await course_sessions.get_session(session, session_id=callback_data.id)
    except NotFound:
        lesson = None
    if lesson is None or not course_sessions.may_run(access, lesson):
        await callback.answer(_("Only the teacher or staff can change this session."),
                              show_alert=True)
        return
    await callback.answer()
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={CHECK_IN_PREFIX}{lesson.checkin_token}"
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=10, border=2)
    if isinstance(callback.message, Message):
        await callback.message.answer_photo(
            BufferedInputFile(png.getvalue(), filename="check-in.png"),
            caption=_("Check-in for “{title}”. Show this at the door: people scan it with "
                      "their phone camera.\n{link}").format(title=html.escape(lesson.title),
                                                           link=link))


@router.callback_query(LessonCb.filter(F.action.in_({LessonAction.ROSTER,
                                                      LessonAction.MARK})))
async def on_roster(
    callback: CallbackQuery, callback_data: LessonCb, access: Access, session: AsyncSession,
    clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """👥 Who is coming, with a tick button each to mark attendance by hand."""
    try:
        if callback_data.action == LessonAction.MARK:
            current = await course_sessions.my_enrolment(
                session, session_id=callback_data.id, user_id=callback_data.value)
            await course_sessions.mark_attendance(
                session, access=access, clock=clock, session_id=callback_data.id,
                user_id=callback_data.value,
                present=current is None or current.attended_at is None,
                buttons=OUTBOX_KEYBOARDS.courses, notify=outbox_notify)
        people = await course_sessions.roster(session, access=access,
                                              session_id=callback_data.id)
    except NotAllowed:
        await callback.answer(_("Only the teacher or staff can change this session."),
                              show_alert=True)
        return
    except NotInWindow:
        await callback.answer(_("Attendance can be marked from 1 hour before the start."),
                              show_alert=True)
        return
    except (NotFound, NotEnrolled, LessonClosed):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    builder = InlineKeyboardBuilder()
    lines = [_("👥 Enrolled: {n}").format(n=len(people))]
    for number, (enrolment, who) in enumerate(people, start=1):
        present = "✅" if enrolment.attended_at else "⬜"
        lines.append(f"{number}. {present} {person(who)}")
        builder.button(text=f"{present} {number}. {who.first_name or ''}"[:60],
                       callback_data=LessonCb(action=LessonAction.MARK, id=callback_data.id,
                                               value=who.id or 0))
    builder.adjust(2)
    builder.row(home_button())
    if isinstance(callback.message, Message):
        text = "\n".join(lines) + "\n\n" + _("Tap a name to mark them present.")
        if callback_data.action == LessonAction.MARK:
            await callback.message.edit_text(text, reply_markup=builder.as_markup())
        else:
            await callback.message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(LessonCb.filter(F.action.in_({LessonAction.CANCEL,
                                                      LessonAction.CANCEL_OK})))
async def on_cancel_session(
    callback: CallbackQuery, callback_data: LessonCb, user: User, access: Access,
    session: AsyncSession, clock: Clock, outbox_notify: Notify | None = None,
) -> None:
    """🚫 Cancel the session: asked once more, then everyone is told."""
    lesson = await _visible(callback_data.id, user, access, session)
    if lesson is None or not course_sessions.may_run(access, lesson):
        await callback.answer(_("Only the teacher or staff can change this session."),
                              show_alert=True)
        return
    if callback_data.action == LessonAction.CANCEL:
        await callback.answer()
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Yes, cancel it"), callback_data=LessonCb(
            action=LessonAction.CANCEL_OK, id=callback_data.id))
        builder.button(text=_("No, keep it"), callback_data=LessonCb(
            action=LessonAction.VIEW, id=callback_data.id))
        builder.adjust(1)
        if isinstance(callback.message, Message):
            await callback.message.answer(_("Cancel “{title}”? Everyone enrolled will be "
                                            "told.").format(title=html.escape(lesson.title)),
                                          reply_markup=builder.as_markup())
        return
    try:
        lesson = await course_sessions.cancel_session(session, access=access, clock=clock,
                                                      session_id=callback_data.id,
                                                      notify=outbox_notify)
    except LessonClosed as error:
        await callback.answer(closed_text(error), show_alert=True)
        return
    except (NotAllowed, NotFound):
        await answer_out_of_date(callback, use_menu=True)
        return
    await callback.answer()
    await show(callback, lesson, user=user, access=access, session=session, clock=clock,
               note=_("The session is cancelled. Everyone enrolled will be told."))


@router.callback_query(LessonCb.filter(F.action == LessonAction.RATINGS))
async def on_ratings(callback: CallbackQuery, callback_data: LessonCb, access: Access,
                     session: AsyncSession) -> None:
    """⭐ Ratings: the average and the comments (teacher and staff)."""
    try:
        found = await course_sessions.ratings(session, access=access,
                                              session_id=callback_data.id)
    except (NotAllowed, NotFound):
        await callback.answer(_("Only the teacher or staff can change this session."),
                              show_alert=True)
        return
    await callback.answer()
    if found.average is None:
        text = _("No ratings yet.")
    else:
        text = _("⭐ {average:.1f} from {count} ratings").format(average=found.average,
                                                               count=found.count)
        for stars, words in found.comments[:20]:
            text += f"\n{'⭐' * stars} {html.escape(words)}"
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=home_markup())


@router.callback_query(LessonCb.filter(F.action == LessonAction.RATE))
async def on_rate(callback: CallbackQuery, callback_data: LessonCb, user: User,
                  session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """1–5 ⭐ after the session; then an optional comment."""
    try:
        await course_sessions.rate(session, user=user, clock=clock,
                                   session_id=callback_data.id, stars=callback_data.value)
    except (NotEnrolled, InvalidInput):
        await callback.answer(_("Only people who came can rate a session."), show_alert=True)
        return
    await callback.answer(_("Thank you! ⭐"))
    await state.set_state(Rating.comment)
    await state.update_data(session_id=callback_data.id)
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Skip"), callback_data=PickCb(action=PickAction.SKIP))
        await callback.message.answer(
            _("You gave {n} ⭐. Would you like to add a few words for the teacher? "
              "Type them, or tap Skip.").format(n=callback_data.value),
            reply_markup=builder.as_markup())


@router.message(Rating.comment, F.text, ~F.text.startswith("/"))
async def on_comment(message: Message, user: User, session: AsyncSession, state: FSMContext,
                     clock: Clock) -> None:
    """The comment with a rating."""
    session_id = int((await state.get_data()).get("session_id") or 0)
    try:
        await course_sessions.comment(session, user=user, clock=clock, session_id=session_id,
                                      text=message.text or "")
    except InvalidInput as error:
        await message.answer(_("That is too long: at most {limit} characters. Please send it "
                               "again.").format(limit=COMMENT_MAX) if error.reason == "too_long"
                             else _("That is empty. Please send it again."))
        return
    except NotEnrolled:
        await state.clear()
        await message.answer(out_of_date_use_menu())
        return
    await state.clear()
    await message.answer(_("Thank you, the teacher will read it. 🙏"), reply_markup=home_markup())


@router.callback_query(PickCb.filter(F.action == PickAction.SKIP))
async def on_skip(callback: CallbackQuery, state: FSMContext) -> None:
    """Skip the comment."""
    await callback.answer()
    await state.clear()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("Thank you for your rating! 🙏"))
