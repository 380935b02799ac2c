"""💬 Residents' voices: concerns, ideas ("r…") and polls ("q…")."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


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
