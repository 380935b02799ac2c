"""📚 Courses: the menu, orders, sessions and the pickers inside their conversations."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class CourseAction(StrEnum):
    HOME = "h"          # the 📚 Courses screen
    MENU = "m"          # the course menu: categories, or one category's courses (`cat`, page)
    COURSE = "c"        # one course (`id`)
    SEARCH = "s"        # ask for a search word
    OFFER = "f"         # teacher: offer a course (category `cat`, once chosen)
    SUBJECT = "j"       # teacher: toggle category `cat` (empty: show the list)
    REVIEW = "r"        # staff: offered courses waiting for a decision
    APPROVE = "a"       # staff: approve course `id`
    REJECT = "x"        # staff: turn course `id` down
    RULES = "l"         # staff: the community's threshold and reminder times
    THRESHOLD = "t"     # staff: set the threshold to `page`
    REMINDERS = "e"     # staff: set the reminders to preset `page`


class CourseCb(CallbackData, prefix="cc"):
    """The course menu, teachers' offers and staff's course rules."""

    action: CourseAction
    id: int = 0
    page: int = 0
    cat: str = ""


class OrderAction(StrEnum):
    NEW = "n"           # start an order (`id`: a menu course, 0: a topic of one's own)
    CATEGORY = "c"      # the order's category `cat`
    DAY = "d"           # toggle weekday bit `value` (0: any day)
    DAYS_DONE = "dd"
    TIME = "t"          # time of day number `value`
    EXPECTED = "e"      # about `value` people
    FORCE = "f"         # order anyway, though a similar order exists
    LIST = "l"          # neighbours' open orders, page `value`
    VIEW = "v"          # order `id`
    BACK = "b"          # me too
    UNBACK = "u"
    WITHDRAW = "w"
    TEACH = "tl"        # teacher: open orders to take, page `value`
    TAKE = "k"
    RELEASE = "r"
    SCHEDULE = "s"      # schedule a session for order `id` (staff: for teacher `value`)


class OrderCb(CallbackData, prefix="co"):
    """Ordering, backing and taking orders."""

    action: OrderAction
    id: int = 0
    value: int = 0
    cat: str = ""


class LessonAction(StrEnum):
    LIST = "ls"         # sessions coming up in my community
    MINE = "my"         # my courses
    TEACHING = "tg"     # teacher: my sessions and taken orders
    STAFF = "st"        # staff: the community's sessions with counts
    VIEW = "v"
    ENROL = "e"
    WAITLIST = "w"
    LEAVE = "l"
    COMING = "y"        # "I'm coming" on a reminder
    CANT = "n"          # "I can't come" on a reminder
    ACCEPT = "a"        # take an offered seat
    DECLINE = "d"
    ICS = "i"
    QR = "q"
    ROSTER = "r"
    MARK = "m"          # toggle attendance of user `value`
    MOVE = "mv"
    CANCEL = "x"
    CANCEL_OK = "xk"
    RATE = "s"          # `value` stars
    RATINGS = "g"
    NEW = "nw"          # schedule a session of course `id`


class LessonCb(CallbackData, prefix="cs"):
    """One course session: enrolment, reminders' answers, check-in, running it."""

    action: LessonAction
    id: int = 0
    value: int = 0


class PickAction(StrEnum):
    DAY = "d"           # `value` days from today
    TIME = "t"          # `value` minutes after midnight
    LENGTH = "l"        # `value` minutes long
    CAPACITY = "c"      # `value` seats
    CONFIRM = "y"
    SKIP = "k"          # no comment with the rating


class PickCb(CallbackData, prefix="cp"):
    """Buttons inside a course conversation (scheduling, moving, rating)."""

    action: PickAction
    value: int = 0
