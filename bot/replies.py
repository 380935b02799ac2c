"""What the bot says when a rule says no: one table from domain error to text.

Services raise `DomainError`s (services/errors.py and each feature's own); the error
router (handlers/errors.py) answers every one that reaches it with `reply_for(error)`,
in the person's language: an alert for a button, a message for a text. A handler
catches a domain error only where it answers differently (a seat just taken offers
the waiting list, for example).

`REPLIES` is looked up along the error's class hierarchy, so a feature's subclass
gets its own words and falls back to its parent's. Each feature keeps its section.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.labels import status_text
from models.courses import OrderStatus
from services import broadcasts, communities, concerns, courses, polls
from services import volunteer_hours as hours
from services import volunteers as vol
from services.errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    InviteUnusable,
    NotAllowed,
    NotFound,
    NotTeacherOrStaff,
    NotYours,
)


def out_of_date() -> str:
    """A button whose thing has moved on (or never existed: a forged one)."""
    return _("This button is out of date.")


def out_of_date_use_menu() -> str:
    """The same, pointing at the main menu."""
    return _("This button is out of date. Please use the menu below.")


def not_allowed() -> str:
    """A button pressed by someone without the role for it."""
    return _("You can't do that here. Only staff of this community can.")


async def answer_out_of_date(callback: CallbackQuery, *, use_menu: bool = False) -> None:
    """Tell the presser, in an alert, that the button no longer applies (and, with
    `use_menu`, to use the main menu instead)."""
    await callback.answer(out_of_date_use_menu() if use_menu else out_of_date(), show_alert=True)


async def answer_not_allowed(callback: CallbackQuery) -> None:
    await callback.answer(not_allowed(), show_alert=True)


# --- Input that breaks a rule: (field, reason) → words; {limit} is the rule's bound ------

INVALID: dict[tuple[str, str], str] = {
    # volunteers
    ("shift", "ends_before_start"): N_("A shift must end after it starts."),
    ("shift", "past"): N_("That time has already passed. Please choose a later one."),
    ("shift", "too_long"): N_("A shift can be at most 24 hours."),
    ("shift", "too_far"): N_("That is too far ahead: at most {limit} days from today."),
    ("headcount", "zero"): N_("A shift needs at least 1 person."),
    ("headcount", "too_many"): N_("That is too many people for one shift."),
    ("headcount", "below_taken"): N_("More people have already signed up than that."),
    ("shifts", "too_many"): N_("That is too many shifts for one task."),
    ("shifts", "empty"): N_("Please add at least one shift."),
    ("hours", "range"): N_("Please send a number of hours between 0 and 24."),
    ("reason", "empty"): N_("Please say why, in a few words."),
    ("skills", "empty"): N_("Please choose at least one skill, or type one."),
    # names of communities and grids
    ("community_name", "empty"): N_("The name is empty."),
    ("community_name", "too_long"): N_("The name is too long (at most {limit} characters)."),
    ("grid_name", "empty"): N_("The name is empty."),
    ("grid_name", "too_long"): N_("The name is too long (at most {limit} characters)."),
    # broadcasts
    ("text", "too_long"): N_("That is too long: at most 4096 characters, or 1024 "
                             "under a photo or document."),
    ("text", "empty"): N_("Please write something to announce."),
    ("audience", "empty"): N_("Nobody is in that audience yet, so nothing was sent."),
    ("audience", "unknown"): N_("That audience is not one this announcement can have."),
    ("send_at", "past"): N_("That time has passed. Please choose a later one."),
    ("send_at", "too_far"): N_("That is too far ahead: at most {limit} days."),
}


def invalid_input(error: InvalidInput) -> str:
    """One reply for every "too long / empty", and the table's words for the rest."""
    specific = INVALID.get((error.field, error.reason))
    if specific is not None:
        return _(specific).format(limit=error.limit)
    if error.reason == "too_long":
        if error.limit:
            return _("That is too long: at most {limit} characters. Please send it "
                     "again.").format(limit=error.limit)
        return _("That is too long. Please send a shorter one.")
    if error.reason == "empty":
        return _("That is empty. Please send it again.")
    return _("Please check what you entered.")


def invite_unusable(error: InviteUnusable) -> str:
    return {
        "expired": _("This invite link has expired. Please ask for a new one."),
        "used": _("This invite link has already been used. Each link works once."),
        "revoked": _("This invite link was withdrawn. Please ask for a new one."),
        "already_held": _("You already have this role, so the link was left unused."),
    }.get(error.reason, _("This invite link is not valid. Please check it or ask for a new "
                          "one."))


# --- Courses --------------------------------------------------------------------------

INVALID.update({
    ("capacity", "below_held"): N_("{limit} people already hold a seat: the session needs at "
                                   "least that many seats."),
    ("reason", "unknown"): N_("Please choose a reason, or type your own."),
})



def session_closed(error: courses.LessonClosed) -> str:
    return (_("This session has been cancelled.") if error.reason == "cancelled"
            else _("This session has already started or is over."))


def already_enrolled(error: courses.AlreadyEnrolled) -> str:
    return (_("You are already on the waiting list.") if error.status == "waiting"
            else _("You are already enrolled."))


def order_closed(error: courses.OrderClosed) -> str:
    return {
        OrderStatus.TAKEN: _("A teacher has already taken this order."),
        OrderStatus.SCHEDULED: _("This order already has a session. Look in 🗓 Sessions "
                                 "coming up."),
        OrderStatus.WITHDRAWN: _("This order was withdrawn."),
    }.get(OrderStatus(error.status), out_of_date_use_menu())


# --- Volunteers -----------------------------------------------------------------------


def shift_unavailable(error: vol.ShiftUnavailable) -> str:
    return {
        "full": _("Sorry, this shift is full. Thank you for offering!"),
        "past": _("This shift has already started or is over."),
        "started": _("This shift has already started."),
        "not_started": _("The shift has not started yet."),
        "cancelled": _("This shift was cancelled."),
    }.get(error.reason, _("This shift can't be claimed now."))


def check_in_closed(error: vol.CheckInClosed) -> str:
    return {
        "early": _("Check-in opens one hour before the shift starts."),
        "late": _("This shift is over, so it is too late to check in or out."),
        "not_in": _("Please check in first."),
    }.get(error.reason, _("Not possible now."))


# --- Residents' voices -----------------------------------------------------------------

INVALID.update({
    ("description", "empty"): N_("Please write a few words about it."),
    ("reply", "empty"): N_("Please write your reply, or send a voice message."),
    ("answer", "empty"): N_("Please write a few words."),
    ("decline_reason", "empty"): N_("Please write a few words."),
    ("other", "empty"): N_("Please write a few words."),
    ("closes_at", "not_later"): N_("Please choose a day later than the poll closes now."),
    ("poll_title", "too_long"): N_("Please write a short title (at most 200 characters)."),
    ("poll_title", "empty"): N_("Please write a short title (at most 200 characters)."),
    ("poll_question", "too_long"): N_("Please write the question (at most 300 characters)."),
    ("poll_question", "empty"): N_("Please write the question (at most 300 characters)."),
    ("options", "too_few"): N_("Please give at least 2 choices, one per line."),
    ("options", "too_many"): N_("At most {limit} choices, please."),
    ("options", "too_long"): N_("Each choice can be at most 60 characters."),
    ("options", "repeated"): N_("Each choice only once, please."),
})


def report_moved_on(error: concerns.ReportClosed) -> str:
    """To the author: their report is past the step they pressed."""
    return _("This report has moved on ({status}), so that is no longer possible.").format(
        status=status_text(error.status))


def report_already_sent(error: concerns.AlreadySent) -> str:
    """To the author pressing ✅ Send of a draft that was sent already."""
    if error.idea:
        return _("Your idea #{id} has already been sent.").format(id=error.report_id)
    return _("Your report #{id} has already been sent.").format(id=error.report_id)


def report_step_closed(error: concerns.StepClosed) -> str:
    """To staff: someone (or the resident) already moved the report on."""
    return _("This report is already {status}; that step is no longer possible.").format(
        status=status_text(error.status))


# --- The table ------------------------------------------------------------------------

Reply = Callable[[Any], str]

REPLIES: dict[type[DomainError], Reply] = {
    # every feature
    DomainError: lambda error: _("That is not possible now."),
    NotAllowed: lambda error: not_allowed(),
    NotYours: lambda error: _("This button is not for you."),
    NotTeacherOrStaff: lambda error: _("Only the teacher or staff can change this session."),
    NotFound: lambda error: out_of_date(),
    InvalidInput: invalid_input,
    AlreadyExists: lambda error: _("That already exists."),
    InviteUnusable: invite_unusable,
    # courses
    courses.LessonClosed: session_closed,
    courses.LessonFull: lambda error: _("Sorry, the last seat was just taken. You can join the "
                                         "waiting list."),
    courses.AlreadyEnrolled: already_enrolled,
    courses.Gone: lambda error: out_of_date_use_menu(),
    courses.NotTeacherHere: lambda error: _("Only teachers of this community can take its "
                                            "orders."),
    courses.NotInWindow: lambda error: _("Check-in opens 1 hour before the start."),
    courses.NotEnrolled: lambda error: _("You don't have a place in this session."),
    courses.OfferExpired: lambda error: _("Sorry, this offer has ended: the seat went to the "
                                          "next person."),
    courses.OrderClosed: order_closed,
    courses.SimilarOrder: lambda error: _("A neighbour has already ordered a course like this. "
                                          "You can back their order instead."),
    courses.AlreadyBacked: lambda error: _("You are already behind this order. 👍"),
    # volunteers
    vol.ShiftUnavailable: shift_unavailable,
    vol.AlreadyClaimed: lambda error: _("You already have a place on this shift. See you "
                                        "there!"),
    vol.NotAVolunteer: lambda error: _("Please become a volunteer first: press 🙋 Volunteer in "
                                       "the menu."),
    vol.NotClaimed: lambda error: _("You don't have a place on this shift."),
    vol.PlaceGivenUp: lambda error: _("This person no longer has a place on the shift."),
    vol.CheckInClosed: check_in_closed,
    hours.HoursConfirmed: lambda error: _("These hours are already confirmed. Use ✏️ to "
                                          "correct them."),
    vol.ReasonNeeded: lambda error: _("The shift starts soon: please say in a few words why you "
                                      "can't come, so staff can find someone."),
    # residents' voices
    concerns.ReportClosed: report_moved_on,
    concerns.StepClosed: report_step_closed,
    concerns.AlreadySent: report_already_sent,
    concerns.NotReopenable: lambda error: _("This report can no longer be reopened."),
    concerns.TooLateToReopen: lambda error: _(
        "It is too late to reopen this report: it was resolved more than {days} days ago. "
        "Please send a new report.").format(days=concerns.REOPEN_DAYS),
    concerns.NoCommunity: lambda error: _("Please choose your community first: ⚙️ Settings → "
                                          "🏠 My community."),
    polls.PollClosed: lambda error: _("This poll has closed. Thank you for your interest!"),
    polls.NotInAudience: lambda error: _("This poll is not for you."),
    polls.AlreadyClosed: lambda error: _("This poll has already closed."),
    # broadcasts
    broadcasts.BroadcastOver: lambda error: _("Announcement #{id} is over: there is nothing "
                                              "left to cancel.").format(id=error.broadcast_id),
    broadcasts.AlreadySent: lambda error: _("Announcement #{id} has already gone out: there "
                                            "is nothing left to cancel.").format(
        id=error.broadcast_id),
    broadcasts.AlreadyQueued: lambda error: _("This announcement is already on its way.")
    if error.broadcast_id is None else _("Announcement #{id} is already on its way.").format(
        id=error.broadcast_id),
    broadcasts.AlreadyCancelled: lambda error: _("Announcement #{id} was already "
                                                 "cancelled.").format(id=error.broadcast_id),
    broadcasts.NotScheduled: lambda error: _("Announcement #{id} has started or was "
                                             "cancelled: it can no longer be changed.").format(
        id=error.broadcast_id),
    # district: communities, grids, members
    communities.NotEmpty: lambda error: _("{name} still has residents or activity, so it "
                                          "can't be deleted.").format(name=error.name),
}


def reply_for(error: DomainError) -> str:
    """The words for `error`: its own class's entry, else its nearest parent's."""
    for kind in type(error).__mro__:
        reply = REPLIES.get(kind)
        if reply is not None:
            return reply(error)
    return _("That is not possible now.")
