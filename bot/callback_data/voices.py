"""💬 Residents' voices: concerns and ideas ("v…", "r…") and polls ("q…").

One small class per purpose, each field named for the one thing it carries. A
button can be forged, so every handler re-checks what its data claims.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from models.voices import ReportCategory, ReportStatus

# --- The 💬 My voice screen and its lists -------------------------------------------------


class VoiceAction(StrEnum):
    HOME = "h"          # the 💬 My voice screen
    REPORT = "r"        # report a problem (choose a category)
    IDEA = "i"          # share an idea
    MINE = "m"          # my reports
    IDEAS = "n"         # neighbours' ideas
    POLLS = "p"         # open polls for me
    TRIAGE = "t"        # staff: 🗂 Reports to handle (after choosing the community)
    RUN_POLLS = "q"     # staff: 📊 Run polls (likewise)


class VoiceCb(CallbackData, prefix="vh"):
    """A resident's entries on the 💬 My voice screen."""

    action: VoiceAction


class TriageListCb(CallbackData, prefix="vl"):
    """Staff: the open reports of a community (or its ideas, most backed first)."""

    community_id: int
    ideas: bool = False


class PollListCb(CallbackData, prefix="vq"):
    """Staff: the latest polls of a community."""

    community_id: int


# --- A resident writing a report ------------------------------------------------------------


class ReportCategoryCb(CallbackData, prefix="rc"):
    """The report's category."""

    category: ReportCategory


class ReportGridCb(CallbackData, prefix="rg"):
    """The part of the community it is in (0: the whole community)."""

    grid_id: int


class ReportDraftAction(StrEnum):
    SKIP = "k"          # no photo
    DISCARD = "x"
    OFFER = "o"         # what was said outside a conversation: send it as a report
    BACK = "b"          # ◀ Back to the step before
    ADD = "a"           # 📷 add a photo, a voice note or a place (a quick report's last look)


class ReportDraftCb(CallbackData, prefix="rd"):
    """The draft's own buttons, which carry nothing but what they do."""

    action: ReportDraftAction


class ReportSendCb(CallbackData, prefix="rk"):
    """✅ Send the draft named `key` (so a second press of it finds the report it made)."""

    key: str


# --- A resident's reports and neighbours' ideas -----------------------------------------------


class OwnReportAction(StrEnum):
    VIEW = "v"
    WITHDRAW = "w"      # asks once
    WITHDRAW_YES = "y"  # …and this does it
    KEEP = "k"          # …or this puts the card back
    REPLY = "p"         # reply in the report's thread (words or a voice note)
    REOPEN = "o"        # reopen a resolved report rated 1–2 ⭐ (within 7 days)


class OwnReportCb(CallbackData, prefix="ro"):
    """The author's buttons on their report."""

    action: OwnReportAction
    report_id: int


class RateCb(CallbackData, prefix="rr"):
    """1–5 stars for a resolved report (sent with the status update)."""

    report_id: int
    stars: int


class IdeaAction(StrEnum):
    VIEW = "v"
    BACK = "b"          # me too
    UNBACK = "u"


class IdeaCb(CallbackData, prefix="ri"):
    """A neighbour's idea."""

    action: IdeaAction
    report_id: int


# --- Staff handling a report; each press re-checks they manage its community ------------------


class TriageAction(StrEnum):
    VIEW = "v"
    ASSIGN = "a"        # choose whom to give it to
    ANSWER = "w"        # write the public answer
    CANCEL = "x"        # stop writing it (nothing changes)


class TriageCb(CallbackData, prefix="rt"):
    """Staff's buttons on one report."""

    action: TriageAction
    report_id: int


class AssignCb(CallbackData, prefix="ra"):
    """Give the report to this staff member."""

    report_id: int
    assignee_id: int


class TriageStatusCb(CallbackData, prefix="rs"):
    """Move the report on to `status`."""

    report_id: int
    status: ReportStatus


# --- Answering a poll -------------------------------------------------------------------------


class PollOpenCb(CallbackData, prefix="qo"):
    """Poll `poll_id` at question `position` (past the last: finished); `in_place` edits
    the question shown (Back, Next) instead of sending a new message."""

    poll_id: int
    position: int = 0
    in_place: bool = False


class PollPickCb(CallbackData, prefix="qp"):
    """Choice `option` of question `position`; on a multiple-choice question `on` says
    whether the button ticks or unticks it, so a double tap does not undo itself."""

    poll_id: int
    position: int
    option: int
    on: bool = True


class PollOtherCb(CallbackData, prefix="qw"):
    """Write an "other" answer to question `position`."""

    poll_id: int
    position: int


# --- Staff composing a poll (the closing day is bot.keyboards.dates.DayCb) ---------------------


class PollDraftAction(StrEnum):
    MULTI = "m"         # toggle single / multiple choice of the last question
    OTHER = "o"         # toggle "other" with text on the last question
    MORE = "a"          # add another question
    DONE = "d"          # questions done: choose the audience
    GRIDS_DONE = "gd"
    SHARE = "sh"        # toggle sending the chart to everyone on closing
    PUBLISH = "p"
    DISCARD = "x"
    BACK = "b"          # ◀ Back to the step before


class PollDraftCb(CallbackData, prefix="qd"):
    """The draft's own buttons, which carry nothing but what they do."""

    action: PollDraftAction


class PollEditCb(CallbackData, prefix="qe"):
    """✏️ Edit question `position` of the draft (on the last look before publishing)."""

    position: int


class PollAudienceCb(CallbackData, prefix="qa"):
    """Who the poll is for: an audience kind of services.broadcasts."""

    kind: str


class PollGridCb(CallbackData, prefix="qg"):
    """Tick a grid of the audience on or off."""

    grid_id: int


# --- Staff's buttons on polls; each press re-checks they manage the poll's community -----------


class PollNewCb(CallbackData, prefix="qn"):
    """➕ New poll in a community."""

    community_id: int


class PollStaffAction(StrEnum):
    VIEW = "v"
    CHART = "c"
    GRIDS = "g"         # chart by grid
    EXCEL = "x"
    CLOSE = "cl"        # close now: asks once
    CLOSE_YES = "cy"    # …and this closes it
    EXTEND = "e"        # extend the deadline (a later day next)
    KEEP = "k"          # No, keep it open / ◀ Back: the card put back in place


class PollStaffCb(CallbackData, prefix="qs"):
    """Staff's buttons on one poll."""

    action: PollStaffAction
    poll_id: int
