"""Shared by the property tests of the voices views: texts people could have written
(as long as allowed, emoji-heavy, full of HTML's special characters, or from rows older
than the UTF-16 limits), and the check that the emulator, which measures like Telegram,
accepts every piece `bot.fit.fit` makes of a view, with nothing lost."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import strategies as st

from bot.fit import CAPTION_LIMIT, GOES_ON, TEXT_LIMIT, fit
from bot.i18n import load_i18n
from emulator.spec import Validator, load_spec

VALIDATOR = Validator(load_spec())
# Letters, Chinese, HTML's specials, emoji (two UTF-16 units), the joiner of emoji
# families, spaces and line breaks.
ALPHABET = ["a", "Z", "中", "文", "&", "<", ">", '"', "😀", "🏚", "\u200d", " ", "\n"]


def texts(limit: int) -> st.SearchStrategy[str]:
    """A text up to `limit` characters (so up to several times `limit` UTF-16 units,
    as rows from before the UTF-16 limits can be), or one filled to the brim."""
    return st.one_of(
        st.text(alphabet=st.sampled_from(ALPHABET), max_size=limit),
        st.sampled_from(["😀" * limit, "&" * limit, "a" * limit, "👨‍👩‍👧" * (limit // 8),
                         ("中文 " * limit)[:limit]]))


@contextmanager
def english() -> Iterator[None]:
    i18n = load_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        yield


def _shown(text: str) -> str:
    """What a reader sees, with whitespace and the continuation marks taken out."""
    plain = html.unescape(re.sub(r"<[^>]*>", "", text))
    return re.sub(r"\s", "", plain.replace(GOES_ON, ""))


def assert_accepted(view: str, *, caption: bool = False) -> list[str]:
    """Every piece of the fitted `view` is one the emulator accepts (as a photo's caption
    first when `caption`), and together they show all of it."""
    pieces = fit(view, CAPTION_LIMIT if caption else TEXT_LIMIT)
    for number, piece in enumerate(pieces):
        if caption and number == 0:
            method, params = "sendPhoto", {"chat_id": 1, "photo": "AgAD", "caption": piece,
                                           "parse_mode": "HTML"}
        else:
            method, params = "sendMessage", {"chat_id": 1, "text": piece, "parse_mode": "HTML"}
        problems = VALIDATOR.validate(method, params, {}).problems
        assert problems == [], (method, [p.description for p in problems])
    assert "".join(_shown(piece) for piece in pieces) == _shown(view)
    return pieces
