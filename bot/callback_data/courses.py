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
    SKIP_TITLE = "t"    # teacher: no title in the other language for the course being offered
    RETITLE = "o"       # staff/teacher: type course `id`'s title in the other language


class CourseCb(CallbackData, prefix="cc"):
    """The course menu, teachers' offers and staff's course rules."""

    action: CourseAction
    id: int = 0
    page: int = 0
    cat: str = ""


class OrderAction(StrEnum):
    NEW = "n"           # start an order (`id`: a menu course, 0: a topic of one's own)
    CATEGORY = "c"      # the order's category `cat`
    DAYS_DONE = "dd"
    FORCE = "f"         # order anyway, though a similar order exists
    LIST = "l"          # neighbours' open orders
    VIEW = "v"          # order `id`
    BACK = "b"          # me too
    UNBACK = "u"
    WITHDRAW = "w"
    TEACH = "tl"        # teacher: open orders to take
    TAKE = "k"
    RELEASE = "r"
    SCHEDULE = "s"      # schedule a session for order `id` (staff: choose a teacher first)
    WHEN = "wh"         # "when suits you" preset `id` (its place in orders.WHEN_PRESETS)
    DETAIL = "dt"       # 🗓 Choose days and times one by one


class OrderCb(CallbackData, prefix="co"):
    """Ordering, backing and taking orders (order `id`)."""

    action: OrderAction
    id: int = 0
    cat: str = ""


class OrderDayCb(CallbackData, prefix="cw"):
    """Ordering: toggle weekday `bit` (1 << weekday); 0 is "any day is fine"."""

    bit: int


class OrderTimeCb(CallbackData, prefix="ct"):
    """Ordering: the time of day, by its place in TimeOfDay."""

    part: int


class OrderSizeCb(CallbackData, prefix="ce"):
    """Ordering: about `people` would come."""

    people: int


class OrderPageCb(CallbackData, prefix="cq"):
    """A page of open orders: neighbours' (to back) or, with `teach`, to take."""

    teach: bool
    page: int


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
    MOVE = "mv"
    CANCEL = "x"        # why is it cancelled? then asked once (CancelWhyCb, CancelDoCb)
    RATINGS = "g"
    NEW = "nw"          # schedule a session of course `id`
    PLAN = "pl"         # teacher: schedule one of my courses (the community, then the course)


class LessonCb(CallbackData, prefix="cs"):
    """One course session (`id`): enrolment, reminders' answers, check-in, running it."""

    action: LessonAction
    id: int = 0


class GiveToCb(CallbackData, prefix="cg"):
    """Staff give open order `order_id` to teacher `teacher_id`, then schedule it."""

    order_id: int
    teacher_id: int


class MarkCb(CallbackData, prefix="ca"):
    """Tick (or untick) `user_id` present at session `lesson_id`."""

    lesson_id: int
    user_id: int


class RateCb(CallbackData, prefix="cr"):
    """`stars` (1–5) for session `lesson_id`."""

    lesson_id: int
    stars: int


class SkipCommentCb(CallbackData, prefix="ck"):
    """No comment with the rating."""


class LengthCb(CallbackData, prefix="cl"):
    """Scheduling: the session lasts `minutes`."""

    minutes: int


class SeatsCb(CallbackData, prefix="cn"):
    """Scheduling: the session has `seats`."""

    seats: int


class ConfirmCb(CallbackData, prefix="cy"):
    """✅ on a draft's last screen (scheduling or moving: the state says which)."""


# --- resident ----------------------------------------------------------------------------


class PlaceAction(StrEnum):
    LEAVE = "l"         # Yes, cancel my place / leave the waiting list (asked once before)
    KEEP = "k"          # No, keep it: the session's card back in place
    CANT = "n"          # Yes, I can't come (asked on the reminder itself)
    STAY = "s"          # No, I'm still coming: the reminder back as it was


class PlaceCb(CallbackData, prefix="cup"):
    """The answer to "cancel your place at session `id`?"."""

    action: PlaceAction
    id: int


class OrderGiveUp(StrEnum):
    WITHDRAW = "w"      # Yes, withdraw my order
    UNBACK = "u"        # Yes, take back my "me too"
    KEEP = "k"          # No, keep it: the order's card back in place


class OrderGiveUpCb(CallbackData, prefix="cuo"):
    """The answer to "withdraw your order `id`?" or "take back your me too?"."""

    action: OrderGiveUp
    id: int


class OrderStep(StrEnum):
    BACK = "b"          # ◀ Back: the step before
    CANCEL = "x"        # ✖ Cancel: the draft is dropped


class OrderStepCb(CallbackData, prefix="cuw"):
    """◀ Back or ✖ Cancel on a step of the resident's order wizard."""

    action: OrderStep


class BringAction(StrEnum):
    ASK = "a"           # teacher or staff: 🎒 What to bring (type it)
    NONE = "n"          # nothing to bring
    KEEP = "k"          # ✖ Cancel: the session's card back as it was


class BringCb(CallbackData, prefix="cub"):
    """What to bring to session `id`, said on its card."""

    action: BringAction
    id: int


# --- staff: running courses and sessions (handlers/courses/menu.py, move.py, schedule.py,
# sessions.py) ------------------------------------------------------------------------


class RuleWhat(StrEnum):
    THRESHOLD = "t"     # `value`: backers that alert staff and teachers
    REMINDERS = "r"     # `value`: the place of a preset of reminder hours
    OFFER = "o"         # `value`: hours a freed seat is kept for the next in line


class RuleCb(CallbackData, prefix="csr"):
    """Staff: one of community `community_id`'s course rules set to `value`."""

    community_id: int
    what: RuleWhat
    value: int


class CancelWhyCb(CallbackData, prefix="csx"):
    """Staff or the teacher: session `lesson_id` is cancelled for common reason `reason`
    (its place in CANCEL_REASONS; -1: the words they typed, kept in the draft)."""

    lesson_id: int
    reason: int


class CancelDoCb(CallbackData, prefix="csy"):
    """Yes, cancel session `lesson_id` for reason `reason` (as CancelWhyCb); `following`:
    and the later sessions of its weekly series."""

    lesson_id: int
    reason: int
    following: bool = False


class StepBackCb(CallbackData, prefix="csb"):
    """◀ Back in the schedule or move wizard (the FSM state says to which step)."""


class StepQuitCb(CallbackData, prefix="csq"):
    """✖ Cancel the schedule or move wizard: the draft is dropped."""


class MoveWhatCb(CallbackData, prefix="csm"):
    """Moving a session: change `what` (w: day and time, v: venue, l: length, s: seats,
    k: done, confirm)."""

    what: str


class WeeksCb(CallbackData, prefix="csp"):
    """Scheduling: the session happens `weeks` times, once a week (1: just once; 0: ask
    how many)."""

    weeks: int


class WalkInCb(CallbackData, prefix="csw"):
    """At check-in: add resident `user_id` to session `lesson_id` as a walk-in (0: ask for
    a name)."""

    lesson_id: int
    user_id: int
