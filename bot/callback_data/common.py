"""Buttons of the screens every person meets: language, privacy, the home screen,
settings, notifications, erasure, and community management."""

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
