"""📢 Announcements: composing, confirming and stopping them."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


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
