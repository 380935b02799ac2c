"""District and staff tools: a community's members, renaming and deleting communities and
grids, the audit log and the figures (handlers/district.py)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class MembersCb(CallbackData, prefix="dxm"):
    """👥 Members of a community, one page of them."""

    community_id: int
    page: int = 0


class StepAction(StrEnum):
    ASK = "a"   # the card becomes the question
    DO = "y"    # Yes, …: re-checked, then done


class MemberRemoveCb(CallbackData, prefix="dxr"):
    """Remove one role (a role grant) from a community's member."""

    action: StepAction
    grant_id: int
    page: int = 0  # the members page to come back to


class VolunteerRemoveCb(CallbackData, prefix="dxv"):
    """Take a volunteer (a volunteer profile) off a community."""

    action: StepAction
    volunteer_id: int
    page: int = 0


class CommunityEditAction(StrEnum):
    RENAME = "n"
    DELETE = "d"
    DELETE_OK = "y"


class CommunityEditCb(CallbackData, prefix="dxc"):
    """✏️ Rename or 🗑 delete a community (district admins)."""

    action: CommunityEditAction
    community_id: int


class GridEditAction(StrEnum):
    LIST = "l"       # the community's grids, each a button (`id`: the community)
    OPEN = "o"       # one grid: rename or delete
    RENAME = "n"
    DELETE = "d"
    DELETE_OK = "y"


class GridEditCb(CallbackData, prefix="dxg"):
    """The grids of a community (LIST: `id` is the community), or one grid (`id`)."""

    action: GridEditAction
    id: int


class AuditCb(CallbackData, prefix="dxa"):
    """📜 The audit log of a community (`export`: as an Excel file)."""

    community_id: int
    export: bool = False


class FiguresCb(CallbackData, prefix="dxf"):
    """📊 Figures of a community (`export`: as an Excel workbook)."""

    community_id: int
    export: bool = False


class ManageFindCb(CallbackData, prefix="dxs"):
    """🔎 Find a community (district admins): the community picker, with search."""


class DigestCb(CallbackData, prefix="dxd"):
    """📬 Daily digest (staff, from ⚙️ Settings): the screen (`minutes` -2), a time
    (minutes after midnight), or -1: off."""

    minutes: int = -2


class ExportKind(StrEnum):
    MENU = "m"        # the choice of exports
    REPORTS = "r"
    LESSONS = "l"     # sessions, enrolments and attendance
    RESIDENTS = "p"   # residents by grid


class ExportCb(CallbackData, prefix="dxe"):
    """📥 Exports of a community: the choice, or one Excel file."""

    community_id: int
    kind: ExportKind = ExportKind.MENU
