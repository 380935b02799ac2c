"""🙋 Volunteers: the volunteer's own screens, shifts, staff's tools and task drafts.

One small class per purpose, with named fields (ids, never names). `VolTakeCb` and
`VolPlaceCb` are also on the messages the outbox sends (bot/keyboards/outbox.py), so
their shapes stay.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

# --- The volunteer's side ------------------------------------------------------------------


class VolMenuAction(StrEnum):
    HOME = "h"              # the 🙋 Volunteer screen
    PROFILE = "p"           # start or change the profile
    PAUSE = "pa"
    RESUME = "re"
    OPEN = "op"             # shifts of my community that need people
    ORGANISE = "or"         # staff's tools: which community (the shared picker)


class VolMenuCb(CallbackData, prefix="vm"):
    """The volunteer's own screens."""

    action: VolMenuAction


class VolMyShiftCb(CallbackData, prefix="vmy"):
    """One of my places on a shift."""

    claim_id: int


class VolHistoryCb(CallbackData, prefix="vmh"):
    """🗂 My shifts so far: a page of them, newest first (page 0)."""

    page: int = 0


class VolProfileAction(StrEnum):
    OTHER = "o"             # type a skill not on the list
    SKILLS_DONE = "sd"
    SLOTS_DONE = "td"
    BACK = "b"              # ◀ back to the step before
    CANCEL = "c"            # ✖ leave the profile as it was


class VolProfileCb(CallbackData, prefix="vp"):
    """The profile's steps."""

    action: VolProfileAction


class VolSkillCb(CallbackData, prefix="vps"):
    """Toggle one of my skills."""

    code: str


class VolSlotCb(CallbackData, prefix="vpt"):
    """Toggle one of my usual free times."""

    code: str


class VolGridCb(CallbackData, prefix="vpg"):
    """The grid I help in (0: not sure); saves the profile."""

    grid_id: int


class VolTakeCb(CallbackData, prefix="vk"):
    """✋ Take a place on a shift (on calls and the list of shifts that need people)."""

    shift_id: int


class VolPlaceAction(StrEnum):
    COMING = "k"            # 👍 still coming (a reminder's answer)
    CANT = "x"              # 🙅 can't come: asks once, on the pressed message
    GIVE_BACK = "y"         # yes, give it back (late: a reason is asked for first)
    KEEP = "n"              # no, keep my place: the message as it was
    CHECK_IN = "i"
    CHECK_OUT = "o"


class VolPlaceVia(StrEnum):
    """Which message the buttons are on, to put it back as it was after "No, keep it"."""

    CARD = ""               # my shift card (and buttons sent before this field meant this)
    REMINDER = "r"          # a reminder from the outbox


class VolPlaceCb(CallbackData, prefix="vs"):
    """A volunteer's buttons on their place on a shift (reminders, the shift card, the
    nudge to check out). Reminders already sent ("vs:<action>:<claim>:") still parse; a
    ✋ sent before VolTakeCb ("vs:c:…") is out of date."""

    action: VolPlaceAction
    claim_id: int
    via: VolPlaceVia = VolPlaceVia.CARD


class VolReasonCb(CallbackData, prefix="vr"):
    """Why I can't come (a late withdrawal), as a ready-made reason."""

    claim_id: int
    code: str


# --- Staff's tools (every press re-checks that they manage `community_id`) ------------------


class VolStaffAction(StrEnum):
    HOME = "h"              # the staff screen
    NEW = "nt"              # compose a new task
    TASKS = "tl"            # the tasks with coming shifts


class VolStaffCb(CallbackData, prefix="vt"):
    """Staff's volunteer screens of a community."""

    action: VolStaffAction
    community_id: int


class VolTaskCb(CallbackData, prefix="vtt"):
    """A task and its shifts."""

    community_id: int
    task_id: int


class VolTaskField(StrEnum):
    TITLE = "t"
    PLACE = "p"
    DESCRIPTION = "d"
    OTHER_TITLE = "o"  # the title in the other language (services.titles)


class VolTaskEditCb(CallbackData, prefix="vte"):
    """Type new words for one field of a task."""

    community_id: int
    task_id: int
    field: VolTaskField


class VolCancelTaskCb(CallbackData, prefix="vtc"):
    """Cancel a whole task: ask first, then (confirmed) cancel."""

    community_id: int
    task_id: int
    confirmed: bool = False


class VolRosterCb(CallbackData, prefix="vtr"):
    """Who is signed up for a shift."""

    community_id: int
    shift_id: int


class VolPlacesCb(CallbackData, prefix="vtp"):
    """One place more (or fewer) on a shift."""

    community_id: int
    shift_id: int
    more: bool


class VolAddShiftCb(CallbackData, prefix="vtn"):
    """➕ Add a shift to a published task (the draft's day, time, length and people steps)."""

    community_id: int
    task_id: int


class VolCancelShiftCb(CallbackData, prefix="vtx"):
    """Cancel one shift: ask first, then (confirmed) cancel."""

    community_id: int
    shift_id: int
    confirmed: bool = False


class VolHoursAction(StrEnum):
    CONFIRM = "cf"          # the proposed hours
    ABSENT = "ab"           # did not come
    CORRECT = "co"          # type the right hours, then why


class VolHoursCb(CallbackData, prefix="vth"):
    """Staff on one person's hours for a shift."""

    action: VolHoursAction
    community_id: int
    claim_id: int


class VolCorrectCb(CallbackData, prefix="vtq"):
    """The corrected hours of the claim being corrected, as a button (in minutes)."""

    minutes: int


class VolMonthCb(CallbackData, prefix="vtm"):
    """Confirmed hours by grid for a month (yyyymm)."""

    community_id: int
    month: int


class VolConfirmAllCb(CallbackData, prefix="vta"):
    """✅ Confirm all of a month's (yyyymm) shifts waiting for hours: asked, then done."""

    community_id: int
    month: int
    confirmed: bool = False


class VolCommendCb(CallbackData, prefix="vtk"):
    """Choose whom to commend for a month (yyyymm), from no one."""

    community_id: int
    month: int


class VolCommendPickCb(CallbackData, prefix="vtg"):
    """Tick or untick one person to commend."""

    community_id: int
    month: int
    user_id: int


class VolCommendSendCb(CallbackData, prefix="vts"):
    """Send the thanks to the people ticked."""

    community_id: int
    month: int


class VolExportCb(CallbackData, prefix="vtf"):
    """The Excel file of a month (1–12) or, with month 0, the whole year."""

    community_id: int
    year: int
    month: int = 0


# --- Staff composing a task (days and times: bot/keyboards/dates.py) ------------------------


class VolDraftAction(StrEnum):
    """The draft's buttons that carry no value (days and times: bot/keyboards/dates.py)."""

    SKIP = "sk"             # skip the description / the place's location
    SKILLS_DONE = "sd"
    ADD = "a"               # another shift
    REPEAT = "w"            # ask how many weeks
    PUBLISH = "p"
    DISCARD = "x"
    DAYS = "d"              # ◀ back from a shift's times to its days
    BACK = "b"              # ◀ back to the step before
    CANCEL = "c"            # ✖ drop the draft (nothing was written)


class VolDraftCb(CallbackData, prefix="vd"):
    """Staff composing a new task: a step with no value."""

    action: VolDraftAction


class VolDraftSkillCb(CallbackData, prefix="vds"):
    """Toggle a wanted skill."""

    code: str


class VolDraftGridCb(CallbackData, prefix="vdg"):
    """The task's grid (0: the whole community)."""

    grid_id: int


class VolDraftLengthCb(CallbackData, prefix="vdl"):
    """How long the shift being composed lasts."""

    minutes: int


class VolDraftPeopleCb(CallbackData, prefix="vdp"):
    """How many people the shift being composed needs."""

    headcount: int


class VolDraftWeeksCb(CallbackData, prefix="vdw"):
    """Repeat the shifts weekly, for this many weeks (counting the first)."""

    weeks: int
