"""The derived spec file and the formatted-text parsers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emulator.entities import EntityParseError, parse_text, utf16_len
from emulator.spec import SPEC_PATH, load_spec

ROOT = Path(__file__).resolve().parents[2]
API_JSON = ROOT.parent / "shared" / "telegram-bot-api" / "api.json"


@pytest.mark.skipif(not API_JSON.exists(), reason="../shared/telegram-bot-api is not present")
def test_derive_script_reproduces_committed_spec(tmp_path: Path) -> None:
    out = tmp_path / "spec.json"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "derive_botapi_spec.py"), str(API_JSON), str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_text(encoding="utf-8") == SPEC_PATH.read_text(encoding="utf-8")


def test_spec_has_documented_limits() -> None:
    spec = load_spec()
    assert spec.version.startswith("Bot API")
    text = spec.methods["sendMessage"].fields["text"]
    assert text.required and text.limit is not None
    assert (text.limit.min, text.limit.max, text.limit.unit) == (1, 4096, "chars")
    assert text.parse_mode_field == "parse_mode"
    data = spec.types["InlineKeyboardButton"].fields["callback_data"].limit
    assert data is not None and (data.min, data.max, data.unit) == (1, 64, "bytes")
    answer = spec.methods["answerCallbackQuery"].fields["text"].limit
    assert answer is not None and answer.max == 200
    assert spec.types["BotCommandScopeChat"].fields["type"].enum == ("chat",)
    assert spec.canonical_method("SENDMESSAGE") == "sendMessage"
    assert spec.canonical_method("sendNothing") is None


def test_utf16_length_counts_surrogate_pairs() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("你好") == 2
    assert utf16_len("😀") == 2


def test_html_is_parsed_to_text_and_entities() -> None:
    parsed = parse_text('<b>Hi</b> &lt;3 <a href="https://x.org">link</a> 😀<i>it</i>', "HTML")
    assert parsed.text == "Hi <3 link 😀it"
    kinds = [(e["type"], e["offset"], e["length"]) for e in parsed.entities]
    assert kinds == [("bold", 0, 2), ("text_link", 6, 4), ("italic", 13, 2)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ],
)
def test_bad_html_gives_telegrams_errors(text: str, message: str) -> None:
    with pytest.raises(EntityParseError) as error:
        parse_text(text, "html")
    assert str(error.value) == message


def test_markdown_v2_requires_escaping() -> None:
    assert parse_text(r"*bold* and 1\.5", "MarkdownV2").text == "bold and 1.5"
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_text("Version 1.5", "MarkdownV2")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity"):
        parse_text("*open", "MarkdownV2")


def test_text_is_trimmed_like_telegram() -> None:
    parsed = parse_text("  <b> hi </b>  ", "HTML")
    assert parsed.text == "hi"
    assert parsed.entities == [{"type": "bold", "offset": 0, "length": 2}]
