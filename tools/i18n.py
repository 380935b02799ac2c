"""Keep the message catalogues in step with the code.

    python tools/i18n.py update   # extract strings, add new ones to zh and en .po files
    python tools/i18n.py check    # list strings missing a translation (tests do this too)

English msgids are the source text, so a new string's English entry starts as
the msgid itself; the Chinese entry starts empty and must be translated.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"
PACKAGES = ("bot", "handlers", "services", "scheduler")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}  # ngettext: singular, plural
SKIP = ("emulator",)


def extract() -> Catalog:
    """Every translatable string the code uses."""
    template = Catalog()
    for package in PACKAGES:
        directory = ROOT / package
        if not directory.exists():
            continue
        for filename, lineno, message, _comments, _context in extract_from_dir(
            directory,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
        ):
            if any(part in SKIP for part in Path(filename).parts):
                continue
            template.add(message, locations=[(f"{package}/{filename}", lineno)])
    return template


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale)
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def missing(locale: str, template: Catalog | None = None) -> list[str]:
    """Msgids used in code that have no (non-fuzzy) translation in `locale`."""
    template = template or extract()
    catalog = load(locale)
    gaps = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = found.string if found is not None else ""
        translated = all(strings) if isinstance(strings, tuple) else bool(strings)
        if found is None or not translated or found.fuzzy:
            gaps.append(str(message.id[0] if isinstance(message.id, tuple) else message.id))
    return gaps


CJK = r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]"
# Chinese text takes full-width punctuation next to Chinese: （）：，？！ and “” for quotes.
HALF_WIDTH_IN_CHINESE = re.compile(rf"{CJK}\s*[(),:;?!]|[(),:;?!]\s*{CJK}|[«»]")
# English text takes no Chinese punctuation (、，。：（）“” are Chinese; « » are French).
CHINESE_IN_ENGLISH = re.compile(r"[、，。：；（）？！«»]")


def punctuation(locale: str) -> list[str]:
    """Translations whose punctuation belongs to the other language."""
    pattern = HALF_WIDTH_IN_CHINESE if locale == "zh" else CHINESE_IN_ENGLISH
    wrong = []
    for message in load(locale):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and any(pattern.search(str(s)) for s in strings if s):
            wrong.append(str(message.id[0] if isinstance(message.id, tuple) else message.id))
    return wrong


def update() -> None:
    template = extract()
    for locale in ("zh", "en"):
        catalog = load(locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if locale == "en":
            for message in catalog:
                empty = (not all(message.string) if isinstance(message.string, tuple)
                         else not message.string)
                if message.id and empty:
                    message.string = message.id
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=0, omit_header=False, sort_output=True, include_lineno=False)
        print(f"{locale}: {len(catalog)} messages, {len(missing(locale, template))} untranslated")


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
        return 0
    if command == "check":
        template = extract()
        bad = {locale: missing(locale, template) for locale in ("zh", "en")}
        for locale, gaps in bad.items():
            for gap in gaps:
                print(f"{locale}: missing {gap!r}")
        marks = {locale: punctuation(locale) for locale in ("zh", "en")}
        for locale, wrong in marks.items():
            for message in wrong:
                print(f"{locale}: the other language's punctuation in {message!r}")
        return 1 if any(bad.values()) or any(marks.values()) else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
