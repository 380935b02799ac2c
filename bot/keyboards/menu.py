"""The main menu: a reply keyboard of big, plain buttons that depends on the user's roles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from aiogram.types import ReplyKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import ReplyKeyboardBuilder

from bot.i18n import N_
from services.access import Access


@dataclass(frozen=True)
class MenuItem:
    """One main-menu button: its label and help line (translated when shown), who sees it."""

    key: str
    label: str
    visible: Callable[[Access], bool]
    help: str = ""


def _everyone(_access: Access) -> bool:
    return True


def _managers(access: Access) -> bool:
    return access.is_admin or access.is_staff


# Features add their entry here; order is the order on screen, two per row.
MENU: tuple[MenuItem, ...] = (
    MenuItem("courses", N_("📚 Courses"), _everyone,
             N_("order a course you would like, join a session, rate it")),
    MenuItem("volunteer", N_("🙋 Volunteer"), _everyone,
             N_("offer your skills, take a shift, see your hours")),
    MenuItem("voice", N_("💬 My voice"), _everyone,
             N_("report a problem or an idea, answer polls")),
    MenuItem("announce", N_("📢 Announcements"), _managers,
             N_("send a message to your community, now or later")),
    MenuItem("manage", N_("🛠 Manage community"), _managers,
             N_("grids, and invite links for teachers and staff")),
    MenuItem("settings", N_("⚙️ Settings"), _everyone,
             N_("language, your community, notifications, your data")),
    MenuItem("help", N_("❓ Help"), _everyone),
)


def menu_item(key: str) -> MenuItem:
    """The menu entry with this key."""
    return next(item for item in MENU if item.key == key)


def main_menu(access: Access) -> ReplyKeyboardMarkup:
    """The reply keyboard for this user, in the current language."""
    keys = tuple(item.key for item in MENU if item.visible(access))
    return _drawn_menu(get_i18n().current_locale, keys)


@cache
def _drawn_menu(locale: str, keys: tuple[str, ...]) -> ReplyKeyboardMarkup:
    # Almost every answer carries the menu; there are few distinct ones, so draw each once.
    builder = ReplyKeyboardBuilder()
    for key in keys:
        builder.button(text=_(menu_item(key).label))
    builder.adjust(2)
    return builder.as_markup(resize_keyboard=True, is_persistent=True,
                             input_field_placeholder=_("Choose from the menu below"))
