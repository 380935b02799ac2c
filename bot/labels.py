"""Names of things a person sees in several places: the handlers that draw them and
bot/replies.py, which names a report's status in a refusal ("…is already ✅ Resolved").
Kept here so replies need not import handlers. Labels are msgids, translated on use.
"""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from models.voices import ReportCategory, ReportStatus


def place_line(place: str) -> str:
    """🏘 幸福社区 · 第二网格: where a card, a list or a screen is, as its own line (the
    name from services.communities.place_name / where)."""
    return "🏘 " + html.escape(place)


# --- Residents' voices ----------------------------------------------------------------------

CATEGORY_LABELS: dict[str, str] = {
    ReportCategory.ENVIRONMENT: N_("🧹 Environment and cleanliness"),
    ReportCategory.SAFETY: N_("🚨 Safety"),
    ReportCategory.FACILITIES: N_("🔧 Facilities and repairs"),
    ReportCategory.NEIGHBOURS: N_("🤝 Neighbour relations"),
    ReportCategory.CARE: N_("👵 Elderly and children's services"),
    ReportCategory.IDEA: N_("💡 Idea for improvement"),
    ReportCategory.OTHER: N_("📌 Something else"),
}

STATUS_LABELS: dict[str, str] = {
    ReportStatus.RECEIVED: N_("📥 Received"),
    ReportStatus.IN_PROGRESS: N_("🔧 Being worked on"),
    ReportStatus.RESOLVED: N_("✅ Resolved"),
    ReportStatus.DECLINED: N_("🚫 Not taken up"),
    ReportStatus.WITHDRAWN: N_("↩️ Withdrawn"),
}


def category_text(code: str) -> str:
    return _(CATEGORY_LABELS[code]) if code in CATEGORY_LABELS else code


def status_text(code: str) -> str:
    return _(STATUS_LABELS[code]) if code in STATUS_LABELS else code
