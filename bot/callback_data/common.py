"""Buttons of the screens every person meets: language, privacy, the home screen,
settings, notifications, erasure, and community management."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from models.users import Role


class LanguageCb(CallbackData, prefix="lg"):
    """Choose the bot's language."""

    code: str


class PrivacyAction(StrEnum):
    ACCEPT = "a"


class PrivacyCb(CallbackData, prefix="pv"):
    """Answer to the privacy notice."""

    action: PrivacyAction


class HomePageCb(CallbackData, prefix="hp"):
    """Another page of the communities to choose from."""

    page: int


class HomeCommunityCb(CallbackData, prefix="hc"):
    """This is my community."""

    community_id: int


class HomeGridCb(CallbackData, prefix="hg"):
    """This is my grid (`grid_id` 0: not sure)."""

    community_id: int
    grid_id: int


class HomeLaterCb(CallbackData, prefix="hl"):
    """Choose my community later (from settings); from settings: no change."""


class HomeMoveCb(CallbackData, prefix="hv"):
    """Yes, move me to this community and grid (`grid_id` 0: none), asked in ⚙️ Settings."""

    community_id: int
    grid_id: int


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


class NotifyToggleCb(CallbackData, prefix="nk"):
    """Mute or unmute one kind of news."""

    kind: str


class NotifyQuietCb(CallbackData, prefix="nq"):
    """Show the quiet-hour choices."""


class NotifyQuietSetCb(CallbackData, prefix="ns"):
    """Quiet hours: preset `preset` (0: none)."""

    preset: int


class DeleteMeAction(StrEnum):
    CONFIRM = "y"
    KEEP = "n"


class DeleteMeCb(CallbackData, prefix="dm"):
    """Confirming /deleteme."""

    action: DeleteMeAction


class ManageListCb(CallbackData, prefix="ml"):
    """The communities I manage, a page of them."""

    page: int = 0


class ManageNewCommunityCb(CallbackData, prefix="mnc"):
    """➕ New community (district admins)."""


class ManageCommunityCb(CallbackData, prefix="mc"):
    """One community: its grids and invites."""

    community_id: int


class ManageNewGridCb(CallbackData, prefix="mng"):
    """➕ Add grids to a community."""

    community_id: int


class ManageInviteCb(CallbackData, prefix="mi"):
    """Make an invite link for `role` in a community (0: a district admin invite)."""

    community_id: int
    role: Role


class ManageInvitesCb(CallbackData, prefix="mis"):
    """The open invites of a community (0: the district admin invites)."""

    community_id: int


class ManageRevokeCb(CallbackData, prefix="mr"):
    """Withdraw an open invite, then show the community's open invites again."""

    community_id: int
    invite_id: int
