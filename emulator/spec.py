"""The Bot API reference (derived botapi_spec.json) and validation of bot requests against it.

Validation coerces raw parameters (strings from query/form/multipart, typed values from JSON)
to Python values and reports every way a request breaks the reference: unknown method or
parameter, missing required parameter, wrong type, unknown or missing nested field, broken
documented limit or enumeration, unparsable formatted text. Each problem carries the
Telegram-like description the emulator answers with.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .entities import EntityParseError, UnsupportedParseMode, parse_text, utf16_len

SPEC_PATH = Path(__file__).with_name("botapi_spec.json")
PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})


@dataclass(frozen=True)
class Limit:
    """A documented size limit: string length, array size, numeric range or file size."""

    min: int
    max: int
    unit: str  # chars (UTF-16 code units), bytes (UTF-8), items, value, file_bytes
    after_entities: bool = False


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    limit: Limit | None = None
    enum: tuple[str, ...] | None = None
    parse_mode_field: str | None = None


@dataclass(frozen=True)
class ObjectSpec:
    """A method (its parameters) or a type (its fields, subtypes)."""

    name: str
    fields: dict[str, FieldSpec]
    subtypes: tuple[str, ...] = ()
    returns: tuple[str, ...] = ()


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes

    def describe(self) -> str:
        """Short text used where request parameters are recorded."""
        return f"<file {self.filename!r} {len(self.data)} bytes>"


@dataclass
class Problem:
    """One way a request breaks the reference."""

    param: str  # path such as reply_markup.inline_keyboard[0][1].callback_data
    problem: str  # what is wrong, for people reading test failures
    description: str  # Telegram-like "Bad Request: ..." answered to the bot


@dataclass
class Validated:
    """Coerced parameters of a request plus the problems found."""

    params: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _field_from_json(name: str, raw: dict[str, Any]) -> FieldSpec:
    limit = Limit(**raw["limit"]) if "limit" in raw else None
    enum = tuple(raw["enum"]) if "enum" in raw else None
    return FieldSpec(
        name=name,
        types=tuple(raw["types"]),
        required=bool(raw["required"]),
        limit=limit,
        enum=enum,
        parse_mode_field=raw.get("parse_mode_field"),
    )


class BotApiSpec:
    """The derived Bot API reference: methods and types with their fields."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data["version"]
        self.methods: dict[str, ObjectSpec] = {
            name: ObjectSpec(
                name=name,
                fields={f: _field_from_json(f, v) for f, v in body["fields"].items()},
                returns=tuple(body.get("returns", [])),
            )
            for name, body in data["methods"].items()
        }
        self.types: dict[str, ObjectSpec] = {
            name: ObjectSpec(
                name=name,
                fields={f: _field_from_json(f, v) for f, v in body["fields"].items()},
                subtypes=tuple(body.get("subtypes", [])),
            )
            for name, body in data["types"].items()
        }
        # Telegram matches method names case-insensitively.
        self._by_lower = {name.lower(): name for name in self.methods}

    def canonical_method(self, name: str) -> str | None:
        """The documented spelling of a method name, or None if there is no such method."""
        return self._by_lower.get(name.lower())


@lru_cache(maxsize=4)
def load_spec(path: str | None = None) -> BotApiSpec:
    """Load the derived spec (emulator/botapi_spec.json unless `path` is given)."""
    file = Path(path) if path else SPEC_PATH
    return BotApiSpec(json.loads(file.read_text(encoding="utf-8")))


# --- Telegram-like descriptions -------------------------------------------------------------

_HUMAN_TYPE = {
    "InlineKeyboardMarkup": "inline keyboard",
    "InlineKeyboardButton": "inline keyboard button",
    "ReplyKeyboardMarkup": "keyboard",
    "KeyboardButton": "keyboard button",
    "MessageEntity": "message entity",
    "BotCommand": "bot command",
}

_OBJECT_PARAM_JSON_ERROR = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
}

_TOO_LONG = {
    ("sendMessage", "text"): "message is too long",
    ("editMessageText", "text"): "message is too long",
    ("answerCallbackQuery", "text"): "MESSAGE_TOO_LONG",
}
_EMPTY = {
    ("sendMessage", "text"): "message text is empty",
    ("editMessageText", "text"): "message text is empty",
}


def _bad(detail: str) -> str:
    return f"Bad Request: {detail}"


def _limit_description(owner: str, fname: str, path: str, too_long: bool, limit: Limit) -> str:
    if fname == "callback_data":
        return _bad("BUTTON_DATA_INVALID")
    if owner == "BotCommand":
        return _bad(
            "BOT_COMMAND_INVALID" if fname == "command" else "BOT_COMMAND_DESCRIPTION_INVALID"
        )
    if too_long:
        if (owner, fname) in _TOO_LONG:
            return _bad(_TOO_LONG[(owner, fname)])
        if fname == "caption":
            return _bad("message caption is too long")
    elif (owner, fname) in _EMPTY:
        return _bad(_EMPTY[(owner, fname)])
    if limit.unit == "value":
        return _bad(f"{path} must be between {limit.min} and {limit.max}")
    if limit.unit == "items":
        return _bad(f"{path} must have {limit.min}-{limit.max} items")
    if limit.unit == "file_bytes":
        return _bad(f"{path} is too big")
    return _bad(f"{path} is too {'long' if too_long else 'short'}")


# --- Validation -----------------------------------------------------------------------------

_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_MISSING = object()


class _Mismatch(Exception):
    """A value cannot be read as the declared type."""


class Validator:
    """Checks requests against a BotApiSpec."""

    def __init__(self, spec: BotApiSpec) -> None:
        self.spec = spec

    def validate(
        self, method: str, raw: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Validated:
        """Validate one request to documented method `method` (canonical spelling)."""
        spec = self.spec.methods[method]
        result = Validated()
        used_files: set[str] = set()
        # JSON null means "not given", as in Telegram's own JSON handling.
        raw = {key: value for key, value in raw.items() if value is not None}
        for name in list(raw) + [f for f in files if f not in raw]:
            fspec = spec.fields.get(name)
            if fspec is None:
                if name in files and name not in raw:
                    continue  # a file part; it is unused only if no attach:// names it
                result.problems.append(
                    Problem(name, "unknown parameter", _bad(f'unknown parameter "{name}"'))
                )
                continue
            value = raw.get(name, _MISSING)
            if value is _MISSING:
                value = files[name]
                used_files.add(name)
            coerced = self._top_level(method, fspec, value, files, used_files, result)
            if coerced is not _MISSING:
                result.params[name] = coerced
        for name in files:
            if name not in used_files and name not in spec.fields:
                result.problems.append(
                    Problem(
                        name,
                        "uploaded file part is not referenced by any attach:// parameter",
                        _bad(f'unknown parameter "{name}"'),
                    )
                )
        for fspec in spec.fields.values():
            if (
                fspec.required
                and fspec.name not in result.params
                and not any(p.param == fspec.name for p in result.problems)
            ):
                result.problems.append(
                    Problem(fspec.name, "missing required parameter", _missing(method, fspec))
                )
        self._check_texts(method, spec, result.params, "", result.problems)
        return result

    # Top-level parameters arrive as strings (query/form/multipart) or JSON values.
    def _top_level(
        self,
        method: str,
        fspec: FieldSpec,
        value: Any,
        files: dict[str, UploadedFile],
        used_files: set[str],
        result: Validated,
    ) -> Any:
        name = fspec.name
        if isinstance(value, UploadedFile):
            if "InputFile" not in fspec.types:
                result.problems.append(
                    Problem(
                        name,
                        "file uploaded for a non-file parameter",
                        _bad(f"{name} must be a String"),
                    )
                )
                return _MISSING
            self._check_file(method, fspec, value, name, result.problems)
            return value
        if isinstance(value, str) and "InputFile" in fspec.types and value.startswith("attach://"):
            key = value.removeprefix("attach://")
            if key not in files:
                result.problems.append(
                    Problem(
                        name,
                        f"attach://{key} names no uploaded file part",
                        _bad(f"{name} file not found"),
                    )
                )
                return _MISSING
            used_files.add(key)
            self._check_file(method, fspec, files[key], name, result.problems)
            return files[key]
        object_types = [t for t in fspec.types if t not in PRIMITIVES]
        if object_types and isinstance(value, str) and not self._string_allowed(fspec):
            try:
                value = json.loads(value)
            except ValueError:
                detail = _OBJECT_PARAM_JSON_ERROR.get(name, f"can't parse {name} JSON object")
                result.problems.append(Problem(name, "value is not valid JSON", _bad(detail)))
                return _MISSING
        problems: list[Problem] = []
        coerced = self._value(method, fspec, value, name, problems)
        result.problems.extend(problems)
        return _MISSING if problems and coerced is _MISSING else coerced

    @staticmethod
    def _string_allowed(fspec: FieldSpec) -> bool:
        return any(t in ("String", "Integer", "Float", "Boolean") for t in fspec.types)

    def _check_file(
        self, owner: str, fspec: FieldSpec, upload: UploadedFile, path: str, problems: list[Problem]
    ) -> None:
        if not upload.data:
            problems.append(Problem(path, "uploaded file is empty", _bad("file must be non-empty")))
        limit = fspec.limit
        if limit and limit.unit == "file_bytes" and len(upload.data) > limit.max:
            problems.append(
                Problem(
                    path,
                    f"file of {len(upload.data)} bytes exceeds {limit.max} bytes",
                    _limit_description(owner, fspec.name, path, True, limit),
                )
            )

    def _value(
        self,
        owner: str,
        fspec: FieldSpec,
        value: Any,
        path: str,
        problems: list[Problem],
    ) -> Any:
        """Coerce `value` to one of the field's declared types, checking limits and enums."""
        errors: list[list[Problem]] = []
        for type_name in _ordered_types(fspec.types, value):
            attempt: list[Problem] = []
            try:
                coerced = self._as_type(owner, fspec, type_name, value, path, attempt)
            except _Mismatch:
                continue
            if not attempt:
                self._check_scalar_limits(owner, fspec, coerced, path, problems)
                return coerced
            errors.append(attempt)
        if errors:
            # Every declared object type failed; report the closest one.
            fewest = errors[0]
            for attempt in errors[1:]:
                if len(attempt) < len(fewest):
                    fewest = attempt
            problems.extend(fewest)
            return _MISSING
        expected = " or ".join(fspec.types)
        problems.append(
            Problem(
                path,
                f"expected {expected}, got {type(value).__name__} {_short(value)}",
                _bad(_mismatch_detail(owner, fspec.name, expected, path)),
            )
        )
        return _MISSING

    def _as_type(
        self,
        owner: str,
        fspec: FieldSpec,
        type_name: str,
        value: Any,
        path: str,
        problems: list[Problem],
    ) -> Any:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                raise _Mismatch
            inner = FieldSpec(fspec.name, (type_name.removeprefix("Array of "),), True)
            items = []
            for index, item in enumerate(value):
                coerced = self._value(owner, inner, item, f"{path}[{index}]", problems)
                items.append(coerced)
            return items
        if type_name == "Integer":
            if isinstance(value, bool):
                raise _Mismatch
            if isinstance(value, int):
                return value
            if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
                return int(value)
            raise _Mismatch
        if type_name == "Float":
            if isinstance(value, bool):
                raise _Mismatch
            if isinstance(value, int | float):
                return float(value)
            if isinstance(value, str) and _FLOAT_RE.fullmatch(value.strip()):
                return float(value)
            raise _Mismatch
        if type_name == "Boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
                return value.strip().lower() in ("true", "1")
            raise _Mismatch
        if type_name == "String":
            if isinstance(value, str):
                return value
            raise _Mismatch
        if type_name == "InputFile":
            raise _Mismatch  # handled at top level; nested files arrive as attach:// strings
        return self._object(type_name, value, path, problems)

    def _object(self, type_name: str, value: Any, path: str, problems: list[Problem]) -> Any:
        """Validate a JSON object against type `type_name` (resolving abstract types)."""
        if not isinstance(value, dict):
            raise _Mismatch
        tspec = self.spec.types.get(type_name)
        if tspec is None:
            raise _Mismatch
        if tspec.subtypes and not tspec.fields:
            return self._abstract(tspec, value, path, problems)
        human = _HUMAN_TYPE.get(type_name, type_name)
        coerced: dict[str, Any] = {}
        for key, item in value.items():
            sub = tspec.fields.get(key)
            sub_path = f"{path}.{key}"
            if sub is None:
                problems.append(
                    Problem(
                        sub_path,
                        f"unknown field of {type_name}",
                        _bad(f'can\'t parse {human}: unknown field "{key}"'),
                    )
                )
                continue
            result = self._value(type_name, sub, item, sub_path, problems)
            if result is not _MISSING:
                coerced[key] = result
        for sub in tspec.fields.values():
            if sub.required and sub.name not in value:
                problems.append(
                    Problem(
                        f"{path}.{sub.name}",
                        f"missing required field of {type_name}",
                        _bad(
                            f"can't parse {human}: "
                            f'Field "{sub.name}" must be of type {_type_word(sub)}'
                        ),
                    )
                )
        self._check_texts(type_name, tspec, coerced, f"{path}.", problems)
        _TYPE_RULES.get(type_name, _no_rule)(coerced, path, problems)
        return coerced

    def _abstract(
        self, tspec: ObjectSpec, value: dict[str, Any], path: str, problems: list[Problem]
    ) -> Any:
        """Pick the subtype named by the discriminator field ("type", "source", "status")."""
        for subtype in tspec.subtypes:
            sub = self.spec.types.get(subtype)
            if sub is None:
                continue
            for key in ("type", "source", "status"):
                fspec = sub.fields.get(key)
                if (
                    fspec
                    and fspec.enum
                    and len(fspec.enum) == 1
                    and value.get(key) == fspec.enum[0]
                ):
                    return self._object(subtype, value, path, problems)
        problems.append(
            Problem(
                path,
                f"no subtype of {tspec.name} matches {_short(value)}",
                _bad(f"can't parse {tspec.name}: unsupported type specified"),
            )
        )
        return value

    def _check_scalar_limits(
        self, owner: str, fspec: FieldSpec, value: Any, path: str, problems: list[Problem]
    ) -> None:
        if fspec.enum and isinstance(value, str) and value not in fspec.enum:
            problems.append(
                Problem(
                    path,
                    f"{value!r} is not one of {list(fspec.enum)}",
                    _bad(f"{path} must be one of {', '.join(fspec.enum)}"),
                )
            )
        limit = fspec.limit
        if limit is None or limit.after_entities:
            return  # after-entities texts are measured in _check_texts
        size: float | None = None
        if limit.unit == "chars" and isinstance(value, str):
            size = utf16_len(value)
        elif limit.unit == "bytes" and isinstance(value, str):
            size = len(value.encode("utf-8"))
        elif limit.unit == "items" and isinstance(value, list):
            size = len(value)
        elif limit.unit == "value" and isinstance(value, int | float):
            size = value
        if size is None or limit.min <= size <= limit.max:
            return
        problems.append(
            Problem(
                path,
                f"{limit.unit} {size} outside documented {limit.min}-{limit.max}",
                _limit_description(owner, fspec.name, path, size > limit.max, limit),
            )
        )

    def _check_texts(
        self,
        owner: str,
        spec: ObjectSpec,
        values: dict[str, Any],
        prefix: str,
        problems: list[Problem],
    ) -> None:
        """Parse formatted texts with their parse mode and measure what remains."""
        for fspec in spec.fields.values():
            text = values.get(fspec.name)
            if not isinstance(text, str) or fspec.parse_mode_field is None:
                continue
            path = f"{prefix}{fspec.name}"
            mode = values.get(fspec.parse_mode_field)
            try:
                parsed = parse_text(text, mode if isinstance(mode, str) else None)
            except UnsupportedParseMode:
                problems.append(
                    Problem(
                        f"{prefix}{fspec.parse_mode_field}",
                        f"unsupported parse mode {mode!r}",
                        _bad("unsupported parse_mode"),
                    )
                )
                continue
            except EntityParseError as error:
                problems.append(
                    Problem(
                        path,
                        f"can't parse entities: {error}",
                        _bad(f"can't parse entities: {error}"),
                    )
                )
                continue
            limit = fspec.limit
            if limit is None:
                continue
            size = utf16_len(parsed.text)
            if not limit.min <= size <= limit.max:
                problems.append(
                    Problem(
                        path,
                        f"{size} characters after entity parsing, "
                        f"documented {limit.min}-{limit.max}",
                        _limit_description(owner, fspec.name, path, size > limit.max, limit),
                    )
                )


def _ordered_types(types: tuple[str, ...], value: Any) -> list[str]:
    """Try the declared types in an order that keeps "123" an Integer for chat_id."""
    order = {"Integer": 0, "Float": 1, "Boolean": 2, "String": 3}
    if isinstance(value, str):
        return sorted(types, key=lambda t: order.get(t, 4))
    return list(types)


def _type_word(fspec: FieldSpec) -> str:
    first = fspec.types[0]
    if first.startswith("Array of "):
        return "Array"
    return first if first in PRIMITIVES else "Object"


def _mismatch_detail(owner: str, name: str, expected: str, path: str) -> str:
    if "." in path or "[" in path:
        human = _HUMAN_TYPE.get(owner, owner)
        return f'can\'t parse {human}: Field "{name}" must be of type {expected}'
    return f'parameter "{name}" must be of type {expected}'


def _missing(method: str, fspec: FieldSpec) -> str:
    if (method, fspec.name) in _EMPTY:
        return _bad(_EMPTY[(method, fspec.name)])
    if "InputFile" in fspec.types:
        return _bad(f"there is no {fspec.name} in the request")
    if fspec.name == "chat_id":
        return _bad("chat_id is empty")
    return _bad(f'parameter "{fspec.name}" is required')


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --- Rules the prose states that the field list cannot express -------------------------------

# Optional fields of an inline button of which exactly one must be used.
_INLINE_BUTTON_KINDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_RE = re.compile(r"(https?|tg)://\S+", re.IGNORECASE)


def _no_rule(value: dict[str, Any], path: str, problems: list[Problem]) -> None:
    return None


def _inline_button_rule(value: dict[str, Any], path: str, problems: list[Problem]) -> None:
    kinds = [k for k in _INLINE_BUTTON_KINDS if k in value]
    if not kinds:
        problems.append(
            Problem(
                path,
                "inline button has no action field (url, callback_data, ...)",
                _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                ),
            )
        )
    elif len(kinds) > 1:
        problems.append(
            Problem(
                path,
                f"inline button uses several action fields: {kinds}",
                _bad(
                    "can't parse inline keyboard button: "
                    "only one of the optional fields must be used"
                ),
            )
        )
    url = value.get("url")
    if isinstance(url, str) and not _URL_RE.fullmatch(url):
        problems.append(
            Problem(f"{path}.url", f"invalid button URL {url!r}", _bad("BUTTON_URL_INVALID"))
        )
    if value.get("text") == "":
        problems.append(
            Problem(f"{path}.text", "button text is empty", _bad("BUTTON_TEXT_INVALID"))
        )


def _inline_keyboard_rule(value: dict[str, Any], path: str, problems: list[Problem]) -> None:
    rows = value.get("inline_keyboard")
    if isinstance(rows, list):
        count = sum(len(row) for row in rows if isinstance(row, list))
        if count > 100:
            problems.append(
                Problem(
                    path,
                    f"{count} inline buttons, at most 100 allowed",
                    _bad("reply markup is too long"),
                )
            )


def _bot_command_rule(value: dict[str, Any], path: str, problems: list[Problem]) -> None:
    command = value.get("command")
    if isinstance(command, str) and not re.fullmatch(r"[a-z0-9_]{1,32}", command):
        problems.append(
            Problem(
                f"{path}.command",
                "command must be 1-32 lowercase English letters, digits and underscores",
                _bad("BOT_COMMAND_INVALID"),
            )
        )


_TYPE_RULES = {
    "InlineKeyboardButton": _inline_button_rule,
    "InlineKeyboardMarkup": _inline_keyboard_rule,
    "BotCommand": _bot_command_rule,
}
