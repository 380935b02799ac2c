"""Every table, imported here so that SQLModel.metadata knows them all."""

from models.audit import AuditEntry
from models.broadcasts import Broadcast, BroadcastStatus
from models.communities import Community, Grid
from models.courses import (
    Course,
    CourseOrder,
    CourseSettings,
    Enrolment,
    Lesson,
    OrderBacking,
    TeacherSubject,
)
from models.digest import DigestSetting
from models.invites import Invite
from models.outbox import OutboxFile, OutboxMessage
from models.polls import Poll, PollAnswer, PollQuestion
from models.preferences import NotificationPrefs
from models.users import Role, RoleGrant, User
from models.voices import Report, ReportBacking
from models.volunteers import HoursEntry, Shift, ShiftClaim, Volunteer, VolunteerTask

__all__ = [
    "AuditEntry",
    "Broadcast",
    "BroadcastStatus",
    "Community",
    "Course",
    "CourseOrder",
    "CourseSettings",
    "DigestSetting",
    "Enrolment",
    "Grid",
    "HoursEntry",
    "Invite",
    "Lesson",
    "NotificationPrefs",
    "OrderBacking",
    "OutboxFile",
    "OutboxMessage",
    "Poll",
    "PollAnswer",
    "PollQuestion",
    "Report",
    "ReportBacking",
    "Role",
    "RoleGrant",
    "Shift",
    "ShiftClaim",
    "TeacherSubject",
    "User",
    "Volunteer",
    "VolunteerTask",
]
