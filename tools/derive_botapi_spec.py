"""Derive the compact Bot API spec used by the local emulator from the full api.json.

Usage: python tools/derive_botapi_spec.py /work/shared/telegram-bot-api/api.json [OUT]

The output (default emulator/botapi_spec.json) keeps, for every method and type, its
fields with their types, required flag, and the limits and enumerations that can be parsed
reliably from the prose description. Prose itself is dropped.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "bot" / "emulator" / "botapi_spec.json"

# "1-4096 characters", "1-64 bytes", "1-64 Bytes"
_STRING_RANGE = re.compile(r"\b(\d+)-(\d+) (characters|bytes|Bytes)\b")
# "A JSON-serialized list of 1-100 identifiers", "List of 1-30 tasks", "must include 2-10 items"
_ARRAY_RANGE = re.compile(r"\b(?:list of|List of|include) (\d+)-(\d+)\b")
_ARRAY_UP_TO = re.compile(r"\bup to (\d+) (?:items|identifiers)\b")
# Numeric ranges in number fields: "Values between 1-100", "in degrees; 1-360", ", 1-100."
_ANY_RANGE = re.compile(r"\b(\d+)-(\d+)\b")
_NUMBER_RANGE = re.compile(r"(?:Values between |; |, )(\d+)-(\d+)(?=[ .,;]|$)")
_FILE_SIZE = re.compile(r"\b(?:at most|not exceed) (\d+) MB\b")
# Enumerations: 'always "user"', 'must be one of "a", "b" or "c"', 'can be "x" (...), "y"'
_ENUM_LEAD = re.compile(
    r"(?:must be one of|can be one of|can be either|must be either|one of|can be|either|always)"
    r"\s*:?\s*(?=\")",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"\"([^\"]+)\"")
# 'Scope type, must be default', 'Type of the result, must be photo'
_BARE_CONST = re.compile(r"\bmust be ([a-z_]+)$")


def parse_limit(types: list[str], description: str) -> dict[str, Any] | None:
    """Return the documented size limit of a field, or None when none is stated clearly."""
    base = {t.removeprefix("Array of ") for t in types}
    is_array = any(t.startswith("Array of ") for t in types)
    if "String" in types:
        match = _STRING_RANGE.search(description)
        if match:
            unit = "chars" if match.group(3) == "characters" else "bytes"
            limit: dict[str, Any] = {
                "min": int(match.group(1)),
                "max": int(match.group(2)),
                "unit": unit,
            }
            if "after entities parsing" in description:
                limit["after_entities"] = True
            return limit
    if is_array:
        match = _ARRAY_RANGE.search(description)
        if match:
            return {"min": int(match.group(1)), "max": int(match.group(2)), "unit": "items"}
        match = _ARRAY_UP_TO.search(description)
        if match:
            return {"min": 0, "max": int(match.group(1)), "unit": "items"}
    # Only trust a numeric range when it is the only range in the description:
    # Dice.value lists several ranges, one per emoji.
    single_range = len(_ANY_RANGE.findall(description)) == 1
    if types and set(types) <= {"Integer", "Float"} and single_range:
        match = _NUMBER_RANGE.search(description)
        if match:
            return {"min": int(match.group(1)), "max": int(match.group(2)), "unit": "value"}
    if "InputFile" in base:
        match = _FILE_SIZE.search(description)
        if match:
            return {"min": 0, "max": int(match.group(1)) * 1024 * 1024, "unit": "file_bytes"}
    return None


def parse_enum(types: list[str], description: str) -> list[str] | None:
    """Return the allowed values of a String field when the description enumerates them."""
    if types != ["String"]:
        return None
    match = _BARE_CONST.search(description.strip())
    if match:
        return [match.group(1)]
    lead = _ENUM_LEAD.search(description)
    if not lead:
        return None
    rest = description[lead.end() :]
    # The enumeration ends with the sentence; "Defaults to ..." must not join it.
    sentence = re.split(r"\.(?:\s|$)|Defaults to", rest, maxsplit=1)[0]
    values = _QUOTED.findall(sentence)
    return values or None


def parse_mode_sibling(name: str, sibling_names: set[str]) -> str | None:
    """Name of the field that sets the parse mode of text field `name`, if any.

    "question" is parsed by "question_parse_mode"; "text"/"caption" by the plain "parse_mode".
    """
    if f"{name}_parse_mode" in sibling_names:
        return f"{name}_parse_mode"
    if name in ("text", "caption", "message_text") and "parse_mode" in sibling_names:
        return "parse_mode"
    return None


def derive_field(field: dict[str, Any], sibling_names: set[str]) -> dict[str, Any]:
    """Compact form of one field: types, required, optional limit, enum and parse-mode field."""
    out: dict[str, Any] = {"types": field["types"], "required": bool(field["required"])}
    parse_mode_field = parse_mode_sibling(field["name"], sibling_names)
    if parse_mode_field:
        out["parse_mode_field"] = parse_mode_field
    limit = parse_limit(field["types"], field["description"])
    if limit:
        if parse_mode_field and limit["unit"] == "chars":
            # Telegram counts these after entity parsing even where the prose omits it.
            limit["after_entities"] = True
        out["limit"] = limit
    enum = parse_enum(field["types"], field["description"])
    if enum:
        out["enum"] = enum
    return out


def derive_fields(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Compact form of a method's parameters or a type's fields, keeping their order."""
    names = {f["name"] for f in fields}
    return {f["name"]: derive_field(f, names) for f in fields}


def derive(api: dict[str, Any]) -> dict[str, Any]:
    """Build the compact spec from the full api.json document."""
    methods: dict[str, Any] = {}
    for name, method in api["methods"].items():
        methods[name] = {
            "returns": method.get("returns", []),
            "fields": derive_fields(method.get("fields", [])),
        }
    types: dict[str, Any] = {}
    for name, typ in api["types"].items():
        entry: dict[str, Any] = {"fields": derive_fields(typ.get("fields", []))}
        if typ.get("subtypes"):
            entry["subtypes"] = typ["subtypes"]
        if typ.get("subtype_of"):
            entry["subtype_of"] = typ["subtype_of"]
        types[name] = entry
    return {
        "version": api["version"],
        "release_date": api.get("release_date"),
        "methods": methods,
        "types": types,
    }


def render(spec: dict[str, Any]) -> str:
    """Serialise with one method or type per line so diffs between API versions stay small."""
    lines = ["{"]
    lines.append(f'"version": {json.dumps(spec["version"])},')
    lines.append(f'"release_date": {json.dumps(spec["release_date"])},')
    for section in ("methods", "types"):
        lines.append(f'"{section}": {{')
        items = list(spec[section].items())
        for i, (name, body) in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            body_json = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            lines.append(f"{json.dumps(name)}: {body_json}{comma}")
        lines.append("}," if section == "methods" else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    api = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    out.write_text(render(derive(api)), encoding="utf-8")
    print(f"wrote {out} ({api['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
