"""📢 Announcements: composing, confirming and stopping them. One class per purpose;
the community comes from the shared picker (bot/keyboards/communities.py: ScopeCb,
flow "bc"), the day and the time of a scheduled one from the date picker
(bot/keyboards/dates.py: DayCb, DayPageCb, TimeCb)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class BroadcastMenuAction(StrEnum):
    NEW = "n"               # start composing (for a community: the shared picker first)
    DISTRICT = "d"          # start composing for the whole district (admins)
    LIST = "l"              # scheduled and sending broadcasts
    HISTORY = "h"           # sent and cancelled ones, newest first


class BroadcastMenuCb(CallbackData, prefix="bm"):
    """The 📢 screen's two buttons."""

    action: BroadcastMenuAction


class BroadcastAudienceCb(CallbackData, prefix="ba"):
    """Who receives it: an audience kind (services.broadcasts.AUDIENCES)."""

    kind: str


class BroadcastGridCb(CallbackData, prefix="bg"):
    """Tick or untick one grid of the audience."""

    grid_id: int


class BroadcastTargetCb(CallbackData, prefix="bt"):
    """The session, order or poll whose people the audience is (services.broadcasts.ONE_OF)."""

    target_id: int


class BroadcastCommunityCb(CallbackData, prefix="bc"):
    """Tick or untick one community of a district announcement (admins)."""

    community_id: int


class BroadcastCommunityPageCb(CallbackData, prefix="bp"):
    """◀ ▶ through the communities to tick."""

    page: int


class BroadcastSkillCb(CallbackData, prefix="bk"):
    """Volunteers: all of them (an empty skill) or those with one skill."""

    skill: str = ""


class BroadcastDraftAction(StrEnum):
    GRIDS_DONE = "gd"
    COMMUNITIES_DONE = "cd"
    URGENT = "u"            # toggle urgent
    TEST = "t"              # send a test to myself
    NOW = "now"
    SCHEDULE = "s"          # pick a day, then a time
    CONFIRM = "ok"
    CONFIRM_URGENT = "ou"   # confirm, as urgent: past the audience's quiet hours
    DISCARD = "x"


class BroadcastDraftCb(CallbackData, prefix="bd"):
    """A step of the draft in progress that carries no value of its own."""

    action: BroadcastDraftAction


class BroadcastStopCb(CallbackData, prefix="bs"):
    """✖ Cancel a scheduled or sending broadcast."""

    broadcast_id: int


class BroadcastHistoryCb(CallbackData, prefix="bh"):
    """A page of sent and cancelled broadcasts (0: the newest)."""

    page: int = 0


class BroadcastShowCb(CallbackData, prefix="bv"):
    """One sent broadcast: its counts and who did not receive it."""

    broadcast_id: int


class BroadcastExportCb(CallbackData, prefix="bx"):
    """📥 The delivery list of one broadcast as an Excel workbook."""

    broadcast_id: int


class BroadcastEditWhat(StrEnum):
    ASK = "a"               # what to change?
    TEXT = "t"
    TIME = "m"


class BroadcastEditCb(CallbackData, prefix="be"):
    """✏️ Edit a scheduled broadcast (until it starts)."""

    broadcast_id: int
    what: BroadcastEditWhat


BROADCAST_BUTTONS: tuple[type[CallbackData], ...] = (
    BroadcastMenuCb, BroadcastAudienceCb, BroadcastGridCb, BroadcastCommunityCb,
    BroadcastCommunityPageCb, BroadcastTargetCb, BroadcastSkillCb,
    BroadcastDraftCb, BroadcastStopCb, BroadcastHistoryCb, BroadcastShowCb, BroadcastExportCb,
    BroadcastEditCb)
