"""Every inline button's data, typed. Ids only, never names: Telegram allows 64 bytes.

A button can be forged by any client, so handlers re-check everything a
callback claims (who pressed it, their role and community, the current state).
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class LanguageCb(CallbackData, prefix="lg"):
    """Choose the bot's language."""

    code: str


class PrivacyAction(StrEnum):
    ACCEPT = "a"


class PrivacyCb(CallbackData, prefix="pv"):
    """Answer to the privacy notice."""

    action: PrivacyAction


class HomeAction(StrEnum):
    PAGE = "p"          # show another page of communities
    COMMUNITY = "c"     # this is my community
    GRID = "g"          # this is my grid (grid_id 0: not sure)
    LATER = "l"         # choose later (from settings)


class HomeCb(CallbackData, prefix="hm"):
    """Choosing one's community and grid."""

    action: HomeAction
    community_id: int = 0
    grid_id: int = 0
    page: int = 0


class SettingsAction(StrEnum):
    LANGUAGE = "l"
    NOTIFICATIONS = "n"
    HOME = "h"
    PRIVACY = "p"
    MY_DATA = "d"
    DELETE_ME = "x"


class SettingsCb(CallbackData, prefix="st"):
    """The settings screen's buttons."""

    action: SettingsAction


class NotifyAction(StrEnum):
    TOGGLE = "t"        # mute or unmute `kind`
    QUIET = "q"         # show the quiet-hour choices
    QUIET_SET = "qs"    # quiet hours preset `preset` (0: none)


class NotifyCb(CallbackData, prefix="nt"):
    """Notification preferences."""

    action: NotifyAction
    kind: str = ""
    preset: int = 0


class DeleteMeAction(StrEnum):
    CONFIRM = "y"
    KEEP = "n"


class DeleteMeCb(CallbackData, prefix="dm"):
    """Confirming /deleteme."""

    action: DeleteMeAction


class ManageAction(StrEnum):
    LIST = "ls"             # the communities I manage (paged)
    NEW_COMMUNITY = "nc"
    COMMUNITY = "co"        # one community: grids and invites
    NEW_GRID = "ng"
    INVITE = "iv"           # make an invite for `role` in `community_id` (0: district)
    INVITES = "il"          # open invites of `community_id` (0: district admin invites)
    REVOKE = "rv"           # revoke `invite_id`


class ManageCb(CallbackData, prefix="mg"):
    """Community management for staff and district admins."""

    action: ManageAction
    community_id: int = 0
    page: int = 0
    role: str = ""
    invite_id: int = 0


class BroadcastAction(StrEnum):
    NEW = "n"               # start composing
    COMMUNITY = "c"         # compose for community `id` (0: the whole district)
    PAGE = "p"              # page `id` of the community list
    AUDIENCE = "a"          # audience kind `kind`
    GRID = "g"              # toggle grid `id`
    GRIDS_DONE = "gd"
    URGENT = "u"            # toggle urgent
    NOW = "now"
    SCHEDULE = "s"          # pick a day
    DAY = "d"               # day `id` days from today: pick an hour
    HOUR = "h"              # at hour `id` of the chosen day
    CONFIRM = "ok"
    DISCARD = "x"
    LIST = "l"              # scheduled and sending broadcasts
    STOP = "st"             # cancel broadcast `id`


class BroadcastCb(CallbackData, prefix="bc"):
    """Composing, confirming and stopping staff announcements."""

    action: BroadcastAction
    id: int = 0
    kind: str = ""


class VolMenuAction(StrEnum):
    HOME = "h"              # the 🙋 Volunteer screen
    PROFILE = "p"           # start or change the profile
    PAUSE = "pa"
    RESUME = "re"
    MY = "my"               # my coming shifts
    OPEN = "op"             # shifts of my community that need people
    SHIFT = "s"             # one of my shifts (claim `id`)


class VolMenuCb(CallbackData, prefix="vm"):
    """The volunteer's own screens."""

    action: VolMenuAction
    id: int = 0


class VolProfileAction(StrEnum):
    SKILL = "s"             # toggle skill `code`
    OTHER = "o"             # type a skill not on the list
    SKILLS_DONE = "sd"
    SLOT = "t"              # toggle free time `code`
    SLOTS_DONE = "td"
    GRID = "g"              # grid `id` (0: not sure) and save


class VolProfileCb(CallbackData, prefix="vp"):
    """Choosing skills, free times and grid."""

    action: VolProfileAction
    code: str = ""
    id: int = 0


class VolShiftAction(StrEnum):
    CLAIM = "c"             # take a place on shift `id`
    COMING = "k"            # "still coming" on claim `id`
    CANT = "x"              # "can't come" / give the place back, claim `id`
    REASON = "r"            # reason `code` for claim `id`
    CHECK_IN = "i"
    CHECK_OUT = "o"


class VolShiftCb(CallbackData, prefix="vs"):
    """A volunteer's buttons on a shift (from pings, reminders and their list)."""

    action: VolShiftAction
    id: int
    code: str = ""


class VolStaffAction(StrEnum):
    HOME = "h"              # staff screen of community `cid`
    NEW = "nt"              # compose a new task
    TASKS = "tl"
    TASK = "tk"             # task `id`
    SHIFT = "sh"            # roster of shift `id`
    CONFIRM = "cf"          # confirm hours of claim `id`
    ABSENT = "ab"           # claim `id` did not come
    CORRECT = "co"          # type corrected hours for claim `id`
    MORE = "m+"             # shift `id` needs one more person
    FEWER = "m-"
    CANCEL_SHIFT = "cs"     # ask, then (n=1) cancel shift `id`
    CANCEL_TASK = "ct"      # ask, then (n=1) cancel task `id`
    EDIT = "ed"             # edit field `n` (1 title, 2 place, 3 description) of task `id`
    MONTH = "mo"            # hours by grid for month `n` (yyyymm)
    COMMEND = "cm"          # choose whom to commend for month `n`
    TOGGLE = "tg"           # toggle user `id` for the commendation
    SEND = "sd"             # send the commendations for month `n`
    EXPORT = "x"            # Excel of month `n` (yyyymm) or year `n` (yyyy)


class VolStaffCb(CallbackData, prefix="vt"):
    """Staff's volunteer tools; every press re-checks that they manage `cid`."""

    action: VolStaffAction
    cid: int = 0
    id: int = 0
    n: int = 0


class VolDraftAction(StrEnum):
    SKIP = "sk"             # skip the description / the place's location
    SKILL = "s"             # toggle skill `code`
    SKILLS_DONE = "sd"
    GRID = "g"              # grid `n` (0: the whole community)
    DAY = "d"               # shift on day `n` from today
    HOUR = "h"              # starting at hour `n`
    MINUTE = "mi"           # … and minute `n`
    LENGTH = "l"            # lasting `n` minutes
    HEADCOUNT = "hc"        # needing `n` people
    ADD = "a"               # another shift
    WEEKS = "w"             # ask (n=0) or repeat weekly for `n` weeks
    PUBLISH = "p"
    DISCARD = "x"


class VolDraftCb(CallbackData, prefix="vd"):
    """Staff composing a new task."""

    action: VolDraftAction
    n: int = 0
    code: str = ""


# --- Courses ("you order, I teach") ----------------------------------------------------


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


class SessionAction(StrEnum):
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


class SessionCb(CallbackData, prefix="cs"):
    """One course session: enrolment, reminders' answers, check-in, running it."""

    action: SessionAction
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


# --- Residents' voices: concerns, ideas ("r…") and polls ("q…") -------------------------


class VoiceAction(StrEnum):
    HOME = "h"          # the 💬 My voice screen
    REPORT = "r"        # report a problem (choose a category)
    IDEA = "i"          # share an idea
    MINE = "m"          # my reports
    IDEAS = "n"         # neighbours' ideas
    POLLS = "p"         # open polls for me
    TRIAGE = "t"        # staff: open reports of community `id`
    TRIAGE_IDEAS = "ti"  # staff: ideas of community `id`, most backed first
    POLL_ADMIN = "q"    # staff: polls of community `id`


class VoiceCb(CallbackData, prefix="rh"):
    """The 💬 My voice screen and its lists."""

    action: VoiceAction
    id: int = 0


class ReportDraftAction(StrEnum):
    CATEGORY = "c"      # category `code`
    SKIP = "k"          # no photo
    GRID = "g"          # grid `id` (0: the whole community)
    SEND = "s"
    DISCARD = "x"


class ReportDraftCb(CallbackData, prefix="rd"):
    """A resident writing a report."""

    action: ReportDraftAction
    id: int = 0
    code: str = ""


class ReportAction(StrEnum):
    VIEW = "v"          # my report `id`
    WITHDRAW = "w"
    IDEA = "i"          # a neighbour's idea `id`
    BACK = "b"          # me too
    UNBACK = "u"
    RATE = "r"          # `n` stars for resolved report `id`


class ReportCb(CallbackData, prefix="rr"):
    """A resident's buttons on one report or idea."""

    action: ReportAction
    id: int
    n: int = 0


class TriageAction(StrEnum):
    VIEW = "v"          # report `id`
    ASSIGN = "a"        # choose whom to give it to
    ASSIGN_TO = "at"    # give it to staff member `n` (user id)
    STATUS = "s"        # move it to status `code`
    ANSWER = "w"        # write the public answer


class TriageCb(CallbackData, prefix="rt"):
    """Staff handling one report; each press re-checks they manage its community."""

    action: TriageAction
    id: int
    n: int = 0
    code: str = ""


class PollAction(StrEnum):
    OPEN = "o"          # poll `id`, question `n` (o=1: in place of the question shown)
    PICK = "p"          # option `o` of question `n`
    OTHER = "w"         # write an "other" answer to question `n`


class PollCb(CallbackData, prefix="qa"):
    """Answering a poll."""

    action: PollAction
    id: int
    n: int = 0
    o: int = 0


class PollDraftAction(StrEnum):
    MULTI = "m"         # toggle single / multiple choice of the last question
    OTHER = "o"         # toggle "other" with text on the last question
    MORE = "a"          # add another question
    DONE = "d"          # questions done: choose the audience
    AUDIENCE = "au"     # audience kind `kind`
    GRID = "g"          # toggle grid `id`
    GRIDS_DONE = "gd"
    CLOSE = "cl"        # closes in `id` days
    SHARE = "sh"        # toggle sending the chart to everyone on closing
    PUBLISH = "p"
    DISCARD = "x"


class PollDraftCb(CallbackData, prefix="qd"):
    """Staff composing a poll."""

    action: PollDraftAction
    id: int = 0
    kind: str = ""


class PollStaffAction(StrEnum):
    NEW = "n"           # new poll in community `id`
    VIEW = "v"          # poll `id`
    CHART = "c"
    GRIDS = "g"         # chart by grid
    EXCEL = "x"
    CLOSE = "cl"        # close now


class PollStaffCb(CallbackData, prefix="qs"):
    """Staff's buttons on polls; each press re-checks they manage the poll's community."""

    action: PollStaffAction
    id: int = 0
