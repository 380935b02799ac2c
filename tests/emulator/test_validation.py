"""Every request is checked against the reference; violations are answered and recorded."""

from __future__ import annotations

import json

import aiohttp

from emulator import Emulator

from .conftest import call


async def started(emu: Emulator, user_id: int = 1001) -> None:
    await emu.user(user_id, first_name="Li").send("/start")


async def test_unknown_method_is_404_and_recorded(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, emu, "sendMesage", data={"chat_id": "1", "text": "x"})
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert emu.violations[-1].method == "sendMesage"
    assert emu.violations[-1].problem == "unknown method"


async def test_method_names_are_case_insensitive(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, emu, "GETME")
    assert status == 200 and body["result"]["username"] == "community_living_room_bot"
    assert emu.requests[-1].method == "getMe"


async def test_wrong_token_is_unauthorized(emu: Emulator, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, emu, "getMe", token="1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_parameter(emu: Emulator, http: aiohttp.ClientSession) -> None:
    await started(emu)
    status, body = await call(
        http, emu, "sendMessage", data={"chat_id": "1001", "text": "x", "colour": "red"}
    )
    assert status == 400
    assert body["description"] == 'Bad Request: unknown parameter "colour"'
    assert (emu.violations[-1].param, emu.violations[-1].problem) == ("colour", "unknown parameter")


async def test_missing_required_parameter(emu: Emulator, http: aiohttp.ClientSession) -> None:
    await started(emu)
    status, body = await call(http, emu, "sendMessage", data={"chat_id": "1001"})
    assert status == 400
    assert body["description"] == "Bad Request: message text is empty"
    assert emu.violations[-1].problem == "missing required parameter"
    status, body = await call(http, emu, "answerCallbackQuery", json={})
    assert status == 400
    assert emu.violations[-1].param == "callback_query_id"


async def test_type_mismatch(emu: Emulator, http: aiohttp.ClientSession) -> None:
    await started(emu)
    status, body = await call(
        http, emu, "deleteMessage", json={"chat_id": 1001, "message_id": "first"}
    )
    assert status == 400
    assert "message_id" in body["description"]
    assert emu.violations[-1].param == "message_id"


async def test_text_limit_counts_utf16_after_entity_parsing(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    await started(emu)
    # 2048 emoji are 4096 UTF-16 code units: the limit exactly.
    ok, _ = await call(http, emu, "sendMessage", json={"chat_id": 1001, "text": "😀" * 2048})
    assert ok == 200
    status, body = await call(http, emu, "sendMessage", json={"chat_id": 1001, "text": "😀" * 2049})
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    # Tags do not count: 4096 visible characters inside <b> is fine.
    html = "<b>" + "x" * 4096 + "</b>"
    ok, _ = await call(
        http, emu, "sendMessage", json={"chat_id": 1001, "text": html, "parse_mode": "HTML"}
    )
    assert ok == 200
    status, body = await call(
        http, emu, "sendMessage", json={"chat_id": 1001, "text": "<b> </b>", "parse_mode": "HTML"}
    )
    assert body["description"] == "Bad Request: message text is empty"
    assert [v.param for v in emu.violations] == ["text", "text"]


async def test_bad_html(emu: Emulator, http: aiohttp.ClientSession) -> None:
    await started(emu)
    status, body = await call(
        http,
        emu,
        "sendMessage",
        data={"chat_id": "1001", "text": "Price <5 yuan", "parse_mode": "HTML"},
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse entities: ")
    status, body = await call(
        http, emu, "sendMessage", data={"chat_id": "1001", "text": "x", "parse_mode": "HTM"}
    )
    assert body["description"] == "Bad Request: unsupported parse_mode"


async def test_callback_data_is_limited_in_bytes(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    await started(emu)

    def markup(data: str) -> str:
        return json.dumps({"inline_keyboard": [[{"text": "Go", "callback_data": data}]]})

    ok, _ = await call(
        http,
        emu,
        "sendMessage",
        data={"chat_id": "1001", "text": "x", "reply_markup": markup("a" * 64)},
    )
    assert ok == 200
    # 33 characters, 66 bytes in UTF-8.
    status, body = await call(
        http,
        emu,
        "sendMessage",
        data={"chat_id": "1001", "text": "x", "reply_markup": markup("é" * 33)},
    )
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    violation = emu.violations[-1]
    assert violation.param == "reply_markup.inline_keyboard[0][0].callback_data"
    assert violation.params["reply_markup"] == markup("é" * 33)


async def test_nested_objects_are_checked(emu: Emulator, http: aiohttp.ClientSession) -> None:
    await started(emu)
    text_only = {"inline_keyboard": [[{"text": "Nothing"}]]}
    status, body = await call(
        http, emu, "sendMessage", json={"chat_id": 1001, "text": "x", "reply_markup": text_only}
    )
    assert status == 400
    assert "Text buttons are unallowed" in body["description"]
    unknown = {"inline_keyboard": [[{"text": "A", "callback_data": "a", "colour": "red"}]]}
    status, body = await call(
        http, emu, "sendMessage", json={"chat_id": 1001, "text": "x", "reply_markup": unknown}
    )
    assert status == 400
    assert emu.violations[-1].param == "reply_markup.inline_keyboard[0][0].colour"
    status, body = await call(
        http, emu, "sendMessage", data={"chat_id": "1001", "text": "x", "reply_markup": "{not json"}
    )
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"
    reply_keyboard = {"keyboard": [[{"text": "A"}]], "one_time_keyboard": True}
    ok, _ = await call(
        http,
        emu,
        "sendMessage",
        json={"chat_id": 1001, "text": "x", "reply_markup": reply_keyboard},
    )
    assert ok == 200


async def test_query_string_and_abstract_types(emu: Emulator, http: aiohttp.ClientSession) -> None:
    commands = json.dumps([{"command": "start", "description": "Begin"}])
    scope = json.dumps({"type": "all_private_chats"})
    status, _ = await call(http, emu, "setMyCommands", query={"commands": commands, "scope": scope})
    assert status == 200
    status, body = await call(http, emu, "getMyCommands", query={"scope": scope})
    assert body["result"] == [{"command": "start", "description": "Begin"}]
    status, body = await call(
        http, emu, "setMyCommands", json={"commands": [{"command": "Start!", "description": "x"}]}
    )
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")
    status, body = await call(
        http, emu, "setMyCommands", json={"commands": [], "scope": {"type": "everyone"}}
    )
    assert status == 400
    assert emu.violations[-1].param == "scope"


async def test_valid_but_unimplemented_method(emu: Emulator, http: aiohttp.ClientSession) -> None:
    await started(emu)
    status, body = await call(http, emu, "sendDice", json={"chat_id": 1001})
    assert (status, body["description"]) == (
        400,
        "Bad Request: method not supported by the local emulator",
    )
    assert emu.violations[-1].method == "sendDice"


async def test_ordinary_errors_are_not_violations(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, emu, "sendMessage", json={"chat_id": 42, "text": "hi"})
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    assert emu.violations == []
    assert emu.errors[-1].description == "Bad Request: chat not found"
