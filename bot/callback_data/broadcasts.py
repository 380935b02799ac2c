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


class BroadcastMenuCb(CallbackData, prefix="bm"):
    """The 📢 screen's two buttons."""

    action: BroadcastMenuAction


class BroadcastAudienceCb(CallbackData, prefix="ba"):
    """Who receives it: an audience kind (services.broadcasts.AUDIENCES)."""

    kind: str


class BroadcastGridCb(CallbackData, prefix="bg"):
    """Tick or untick one grid of the audience."""

    grid_id: int


class BroadcastDraftAction(StrEnum):
    GRIDS_DONE = "gd"
    URGENT = "u"            # toggle urgent
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


BROADCAST_BUTTONS: tuple[type[CallbackData], ...] = (
    BroadcastMenuCb, BroadcastAudienceCb, BroadcastGridCb, BroadcastDraftCb, BroadcastStopCb)
