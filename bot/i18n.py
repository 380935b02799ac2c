"""Translations: gettext catalogues in locales/, read straight from the .po files.

The .po files are the only source; they are compiled in memory at start-up,
so a fresh clone needs no build step and a stale .mo can never be served.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from models.users import LOCALES
from services.outbox import N_  # marks a string for extraction; translated when shown

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

__all__ = ["N_", "PoI18n", "load_i18n", "locale_for", "translations_of"]


class PoI18n(I18n):
    """aiogram's I18n, fed from .po files instead of compiled .mo files."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for locale in LOCALES:
            po_path = self.path / locale / "LC_MESSAGES" / f"{self.domain}.po"
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=locale)
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            translations[locale] = gettext.GNUTranslations(buffer)
        return translations


# aiogram's `gettext` looks the current I18n up through I18n's own context
# variable; a subclass would get a variable of its own, so share the parent's.
PoI18n._ContextInstanceMixin__context_instance = (  # type: ignore[attr-defined]
    I18n._ContextInstanceMixin__context_instance  # type: ignore[attr-defined]
)


@cache
def load_i18n(default_locale: str = "zh") -> PoI18n:
    """The translations, loaded once per process."""
    return PoI18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def locale_for(language_code: str | None, default: str) -> str:
    """Map Telegram's language_code (e.g. "zh-hans", "en-GB") to one of our locales."""
    if language_code:
        base = language_code.lower().replace("_", "-").split("-")[0]
        if base in LOCALES:
            return base
    return default


def translations_of(message: str) -> frozenset[str]:
    """The message in every language: a reply-keyboard button must be recognised
    whatever language the keyboard was drawn in."""
    i18n = load_i18n()
    return frozenset(i18n.gettext(message, locale=locale) for locale in LOCALES)
