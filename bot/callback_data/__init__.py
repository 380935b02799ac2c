"""Every inline button's data, typed, one module per feature (import from the feature's
module; this package re-exports what existed before the split; residents' voices are imported
from bot.callback_data.voices only). Ids only, never names:
Telegram allows 64 bytes, and tests/test_callback_data.py checks each class's longest.

A button can be forged by any client, so handlers re-check everything a callback
claims (who pressed it, their role and community, the current state).
"""

from __future__ import annotations

from bot.callback_data.broadcasts import (
    BroadcastAudienceCb,
    BroadcastDraftAction,
    BroadcastDraftCb,
    BroadcastGridCb,
    BroadcastMenuAction,
    BroadcastMenuCb,
    BroadcastStopCb,
)
from bot.callback_data.common import (
    DeleteMeAction,
    DeleteMeCb,
    HomeCommunityCb,
    HomeGridCb,
    HomeLaterCb,
    HomePageCb,
    LanguageCb,
    ManageCommunityCb,
    ManageInviteCb,
    ManageInvitesCb,
    ManageListCb,
    ManageNewCommunityCb,
    ManageNewGridCb,
    ManageRevokeCb,
    NotifyQuietCb,
    NotifyQuietSetCb,
    NotifyToggleCb,
    PrivacyAction,
    PrivacyCb,
    SettingsAction,
    SettingsCb,
)
from bot.callback_data.courses import (
    CourseAction,
    CourseCb,
    LessonAction,
    LessonCb,
    OrderAction,
    OrderCb,
)
from bot.callback_data.volunteers import (
    VolDraftAction,
    VolDraftCb,
    VolMenuAction,
    VolMenuCb,
    VolPlaceAction,
    VolPlaceCb,
    VolProfileAction,
    VolProfileCb,
    VolStaffAction,
    VolStaffCb,
    VolTakeCb,
)

__all__ = [
    "BroadcastAudienceCb",
    "BroadcastDraftAction",
    "BroadcastDraftCb",
    "BroadcastGridCb",
    "BroadcastMenuAction",
    "BroadcastMenuCb",
    "BroadcastStopCb",
    "CourseAction",
    "CourseCb",
    "DeleteMeAction",
    "DeleteMeCb",
    "HomeCommunityCb",
    "HomeGridCb",
    "HomeLaterCb",
    "HomePageCb",
    "LanguageCb",
    "LessonAction",
    "LessonCb",
    "ManageCommunityCb",
    "ManageInviteCb",
    "ManageInvitesCb",
    "ManageListCb",
    "ManageNewCommunityCb",
    "ManageNewGridCb",
    "ManageRevokeCb",
    "NotifyQuietCb",
    "NotifyQuietSetCb",
    "NotifyToggleCb",
    "OrderAction",
    "OrderCb",
    "PrivacyAction",
    "PrivacyCb",
    "SettingsAction",
    "SettingsCb",
    "VolDraftAction",
    "VolDraftCb",
    "VolMenuAction",
    "VolMenuCb",
    "VolPlaceAction",
    "VolPlaceCb",
    "VolProfileAction",
    "VolProfileCb",
    "VolStaffAction",
    "VolStaffCb",
    "VolTakeCb",
]
