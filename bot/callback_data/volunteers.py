"""🙋 Volunteers: the volunteer's own screens, shifts, staff's tools and task drafts."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


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
