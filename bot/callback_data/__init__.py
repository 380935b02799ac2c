"""Every inline button's data, typed, one module per feature (import from the feature's
module; this package re-exports what existed before the split). Ids only, never names:
Telegram allows 64 bytes, and tests/test_callback_data.py checks each class's longest.

A button can be forged by any client, so handlers re-check everything a callback
claims (who pressed it, their role and community, the current state).
"""

from __future__ import annotations

from bot.callback_data.broadcasts import (
    BroadcastAction,
    BroadcastCb,
)
from bot.callback_data.common import (
    DeleteMeAction,
    DeleteMeCb,
    HomeAction,
    HomeCb,
    LanguageCb,
    ManageAction,
    ManageCb,
    NotifyAction,
    NotifyCb,
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
    PickAction,
    PickCb,
)
from bot.callback_data.voices import (
    PollAction,
    PollCb,
    PollDraftAction,
    PollDraftCb,
    PollStaffAction,
    PollStaffCb,
    ReportAction,
    ReportCb,
    ReportDraftAction,
    ReportDraftCb,
    TriageAction,
    TriageCb,
    VoiceAction,
    VoiceCb,
)
from bot.callback_data.volunteers import (
    VolDraftAction,
    VolDraftCb,
    VolMenuAction,
    VolMenuCb,
    VolProfileAction,
    VolProfileCb,
    VolShiftAction,
    VolShiftCb,
    VolStaffAction,
    VolStaffCb,
)

__all__ = [
    "BroadcastAction",
    "BroadcastCb",
    "CourseAction",
    "CourseCb",
    "DeleteMeAction",
    "DeleteMeCb",
    "HomeAction",
    "HomeCb",
    "LanguageCb",
    "LessonAction",
    "LessonCb",
    "ManageAction",
    "ManageCb",
    "NotifyAction",
    "NotifyCb",
    "OrderAction",
    "OrderCb",
    "PickAction",
    "PickCb",
    "PollAction",
    "PollCb",
    "PollDraftAction",
    "PollDraftCb",
    "PollStaffAction",
    "PollStaffCb",
    "PrivacyAction",
    "PrivacyCb",
    "ReportAction",
    "ReportCb",
    "ReportDraftAction",
    "ReportDraftCb",
    "SettingsAction",
    "SettingsCb",
    "TriageAction",
    "TriageCb",
    "VoiceAction",
    "VoiceCb",
    "VolDraftAction",
    "VolDraftCb",
    "VolMenuAction",
    "VolMenuCb",
    "VolProfileAction",
    "VolProfileCb",
    "VolShiftAction",
    "VolShiftCb",
    "VolStaffAction",
    "VolStaffCb",
]
