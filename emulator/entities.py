"""Formatted-text parsing as Telegram does it: HTML, MarkdownV2 and legacy Markdown.

The parsers follow TDLib's behaviour closely enough to reproduce its error messages
("Unsupported start tag ...", "Can't find end tag ...", "Character '.' is reserved ...")
and to produce the plain text and entities (offsets in UTF-16 code units) Telegram returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EntityParseError", "ParsedText", "parse_text", "utf16_len"]


class EntityParseError(ValueError):
    """Unparsable text; str(error) is TDLib's message after "can't parse entities: "."""


class UnsupportedParseMode(ValueError):
    """parse_mode is not one of HTML, Markdown, MarkdownV2."""


@dataclass
class ParsedText:
    """Plain text after entity parsing, with the entities Telegram would report."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for all text limits and offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of a character index; TDLib reports positions in bytes."""
    return len(text[:index].encode("utf-8"))


def parse_text(text: str, parse_mode: str | None) -> ParsedText:
    """Parse `text` according to `parse_mode` (case-insensitive); None or "" means plain text."""
    mode = (parse_mode or "").strip().lower()
    if mode == "":
        parsed = ParsedText(text)
    elif mode == "html":
        parsed = _parse_html(text)
    elif mode == "markdownv2":
        parsed = _parse_markdown_v2(text)
    elif mode == "markdown":
        parsed = _parse_markdown(text)
    else:
        raise UnsupportedParseMode(parse_mode)
    return _strip(parsed)


def _strip(parsed: ParsedText) -> ParsedText:
    """Trim leading/trailing whitespace like Telegram and shift/clip entities to match."""
    text = parsed.text
    stripped_left = text.lstrip()
    lead = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    entities: list[dict[str, Any]] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(result, entities)


class _Builder:
    """Accumulates output text while tracking the UTF-16 offset for entities."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.offset += utf16_len(chunk)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        length = self.offset - start
        if length > 0:
            self.entities.append({"type": kind, "offset": start, "length": length, **extra})

    def result(self) -> ParsedText:
        # Telegram lists entities by offset, outer (longer) entities first.
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.parts), entities)


# --- HTML -------------------------------------------------------------------------------

_HTML_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
# Telegram supports only these named entities; numeric ones are all accepted.
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z]{2,8});")


def _decode_entity(text: str, index: int) -> tuple[str, int] | None:
    """Decode an HTML entity at `index`; returns (char, consumed) or None if not one."""
    match = _ENTITY_RE.match(text, index)
    if not match:
        return None
    body = match.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), match.end() - index
    char = _NAMED_ENTITIES.get(body)
    if char is None:
        return None
    return char, match.end() - index


def unescape_html_attribute(raw: str) -> str:
    """Decode entities inside an attribute value the way the text body is decoded."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "&":
            decoded = _decode_entity(raw, i)
            if decoded:
                out.append(decoded[0])
                i += decoded[1]
                continue
        out.append(raw[i])
        i += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the output
    attrs: dict[str, str]


def _parse_html(text: str) -> ParsedText:
    out = _Builder()
    stack: list[_OpenTag] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded:
                out.add(decoded[0])
                i += decoded[1]
            else:
                out.add("&")  # a bare ampersand is allowed
                i += 1
            continue
        if char != "<":
            out.add(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i = _html_end_tag(text, begin, stack, out)
        else:
            i = _html_start_tag(text, begin, stack, out)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.result()


def _html_start_tag(text: str, begin: int, stack: list[_OpenTag], out: _Builder) -> int:
    n = len(text)
    offset = _byte_offset(text, begin)
    j = begin + 1
    while j < n and not text[j].isspace() and text[j] != ">":
        j += 1
    if j >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
    name = text[begin + 1 : j].lower()
    if name not in _HTML_TAG_TYPES:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    attrs: dict[str, str] = {}
    while True:
        while j < n and text[j].isspace():
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if text[j] == ">":
            j += 1
            break
        k = j
        while k < n and not text[k].isspace() and text[k] not in "=>":
            k += 1
        attr_name = text[j:k].lower()
        while k < n and text[k].isspace():
            k += 1
        if k >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if text[k] != "=":
            attrs[attr_name] = ""  # valueless attribute such as <blockquote expandable>
            j = k
            continue
        k += 1
        while k < n and text[k].isspace():
            k += 1
        if k >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if text[k] in "\"'":
            end = text.find(text[k], k + 1)
            if end < 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            raw = text[k + 1 : end]
            j = end + 1
        else:
            end = k
            while end < n and not text[end].isspace() and text[end] != ">":
                end += 1
            raw = text[k:end]
            j = end
        attrs[attr_name] = unescape_html_attribute(raw)
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError('Tag "span" must have class "tg-spoiler"')
    stack.append(_OpenTag(name, out.offset, attrs))
    return j


def _html_end_tag(text: str, begin: int, stack: list[_OpenTag], out: _Builder) -> int:
    n = len(text)
    offset = _byte_offset(text, begin)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
    j = begin + 2
    k = j
    while k < n and not text[k].isspace() and text[k] != ">":
        k += 1
    end_name = text[j:k].lower()
    while k < n and text[k].isspace():
        k += 1
    if k >= n or text[k] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
    tag = stack.pop()
    if end_name and end_name != tag.name:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", '
            f'found "</{end_name}>"'
        )
    _close_html_entity(tag, stack, out)
    return k + 1


def _close_html_entity(tag: _OpenTag, stack: list[_OpenTag], out: _Builder) -> None:
    kind = _HTML_TAG_TYPES[tag.name]
    if kind == "text_link":
        href = tag.attrs.get("href", "")
        match = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if match:
            out.entity("text_mention", tag.start, user={"id": int(match.group(1))})
        elif href:
            out.entity("text_link", tag.start, url=href)
        return
    if kind == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            # <pre><code class="language-x"> marks the language of the enclosing pre.
            stack[-1].attrs["language"] = language.removeprefix("language-")
            return
    if kind == "pre" and tag.attrs.get("language"):
        out.entity("pre", tag.start, language=tag.attrs["language"])
        return
    if kind == "blockquote" and "expandable" in tag.attrs:
        out.entity("expandable_blockquote", tag.start)
        return
    if kind == "custom_emoji":
        out.entity("custom_emoji", tag.start, custom_emoji_id=tag.attrs.get("emoji-id", ""))
        return
    if kind == "date_time":
        unix = tag.attrs.get("unix", "0")
        out.entity("date_time", tag.start, unix_time=int(unix) if unix.isdigit() else 0)
        return
    out.entity(kind, tag.start)


# --- MarkdownV2 -------------------------------------------------------------------------

_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


@dataclass
class _MdEntity:
    kind: str
    start: int
    byte_offset: int


def _mdv2_closes(kind: str, text: str, i: int) -> bool:
    """Whether the reserved character at `i` closes the innermost open entity `kind`."""
    char = text[i]
    nxt = text[i + 1] if i + 1 < len(text) else ""
    return {
        "bold": char == "*",
        "italic": char == "_" and nxt != "_",
        "underline": char == "_" and nxt == "_",
        "strikethrough": char == "~",
        "spoiler": char == "|" and nxt == "|",
        "code": char == "`",
        "pre": text.startswith("```", i),
        "text_link": char == "]",
    }.get(kind, False)


def _parse_markdown_v2(text: str) -> ParsedText:
    out = _Builder()
    stack: list[_MdEntity] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        inside_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if char not in _MDV2_RESERVED or (inside_code and char != "`"):
            out.add(char)
            i += 1
            continue
        if stack and _mdv2_closes(stack[-1].kind, text, i):
            entity = stack.pop()
            i = _mdv2_close(text, i, entity, out)
            continue
        offset = _byte_offset(text, i)
        if char == "_" and i + 1 < n and text[i + 1] == "_":
            stack.append(_MdEntity("underline", out.offset, offset))
            i += 2
        elif char == "_":
            stack.append(_MdEntity("italic", out.offset, offset))
            i += 1
        elif char == "*":
            stack.append(_MdEntity("bold", out.offset, offset))
            i += 1
        elif char == "~":
            stack.append(_MdEntity("strikethrough", out.offset, offset))
            i += 1
        elif char == "|" and i + 1 < n and text[i + 1] == "|":
            stack.append(_MdEntity("spoiler", out.offset, offset))
            i += 2
        elif char == "[":
            stack.append(_MdEntity("text_link", out.offset, offset))
            i += 1
        elif text.startswith("```", i):
            stack.append(_MdEntity("pre", out.offset, offset))
            i += 3
            newline = text.find("\n", i)
            if newline >= 0 and re.fullmatch(r"[\w+#.-]*", text[i:newline]):
                i = newline + 1  # the language line is not part of the text
        elif char == "`":
            stack.append(_MdEntity("code", out.offset, offset))
            i += 1
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            # A quote line; the emulator keeps its text and skips the entity.
            i += 1
        else:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
    if stack:
        entity = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[entity.kind]} entity at byte offset "
            f"{entity.byte_offset}"
        )
    return out.result()


def _mdv2_close(text: str, i: int, entity: _MdEntity, out: _Builder) -> int:
    """Close `entity` at `i` and return the index after its closing marker."""
    if entity.kind == "text_link":
        i += 1
        url = ""
        if i < len(text) and text[i] == "(":
            end = i + 1
            chars: list[str] = []
            while end < len(text) and text[end] != ")":
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                chars.append(text[end])
                end += 1
            if end >= len(text):
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i)}"
                )
            url = "".join(chars)
            i = end + 1
        out.entity("text_link", entity.start, url=url)
        return i
    width = {"underline": 2, "spoiler": 2, "pre": 3}.get(entity.kind, 1)
    out.entity(entity.kind, entity.start)
    return i + width


# --- legacy Markdown ---------------------------------------------------------------------


def _parse_markdown(text: str) -> ParsedText:
    out = _Builder()
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        begin = i
        start = out.offset
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(text, begin)}"
                )
            out.add(text[i + 3 : end])
            out.entity("pre", start)
            i = end + 3
            continue
        closing = "]" if char == "[" else char
        end = text.find(closing, i + 1)
        if end < 0:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        out.add(text[i + 1 : end])
        i = end + 1
        if char == "[":
            url = ""
            if i < n and text[i] == "(":
                close = text.find(")", i)
                if close >= 0:
                    url = text[i + 1 : close]
                    i = close + 1
            if url:
                out.entity("text_link", start, url=url)
        else:
            out.entity({"*": "bold", "_": "italic", "`": "code"}[char], start)
    return out.result()
