"""Every string the code shows is translated in both catalogues."""

from __future__ import annotations

import re

import pytest

from bot.i18n import load_i18n
from tools.i18n import extract, missing

PLACEHOLDER = re.compile(r"\{(\w*)\}")


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_no_string_is_missing(locale: str) -> None:
    assert missing(locale) == []


def test_translations_keep_placeholders_and_tags() -> None:
    i18n = load_i18n()
    for message in extract():
        if not message.id:
            continue
        source = str(message.id)
        zh = i18n.gettext(source, locale="zh")
        assert sorted(PLACEHOLDER.findall(zh)) == sorted(PLACEHOLDER.findall(source)), source
        assert sorted(re.findall(r"</?\w+>", zh)) == sorted(re.findall(r"</?\w+>", source)), source


def test_the_chinese_catalogue_is_really_chinese() -> None:
    assert load_i18n().gettext("✅ I agree", locale="zh") == "✅ 我同意"


def test_each_language_keeps_its_own_punctuation() -> None:
    """Chinese takes （）：，？！ and “” next to Chinese; English takes none of them, nor 、."""
    from tools.i18n import punctuation

    assert punctuation("zh") == []
    assert punctuation("en") == []


def test_the_punctuation_check_sees_the_other_languages_marks() -> None:
    from tools.i18n import CHINESE_IN_ENGLISH, HALF_WIDTH_IN_CHINESE

    assert HALF_WIDTH_IN_CHINESE.search("我的问卷(3)")
    assert HALF_WIDTH_IN_CHINESE.search("现在是：«好»")
    assert not HALF_WIDTH_IN_CHINESE.search("我的问卷（3）下午3:00")
    assert CHINESE_IN_ENGLISH.search("Tai chi、Paper cutting")
    assert not CHINESE_IN_ENGLISH.search("Now: “Tai chi”, 3:00 pm (Sat)")
