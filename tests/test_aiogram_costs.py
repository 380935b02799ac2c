"""The costs of aiogram this bot avoids (bot/aiogram_costs.py, bot.factory.LeanSession)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref
from urllib.parse import parse_qs

from aiogram.client.session.base import Response
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import FormData
from aiohttp.payload import BytesPayload

from bot.config import Settings
from bot.factory import LeanSession, create_bot
from models.db import ROOT


def test_importing_the_bot_builds_only_the_types_it_uses() -> None:
    probe = """
import json, bot, aiogram.types as types
from bot.factory import create_bot
models = [getattr(types, n) for n in types.__all__]
models = [m for m in models if hasattr(m, "__pydantic_complete__")]
built = sum(m.__pydantic_complete__ for m in models)
print(json.dumps([built, len(models)]))
"""
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    built, models = json.loads(out)
    assert models > 300  # aiogram's Telegram types
    assert built < 20  # eagerly, aiogram would have built every one of them


def test_the_first_answers_a_fresh_bot_reads_parse() -> None:
    """getUpdates' answer model is built before Update itself, from a shallow stack."""
    probe = """
import bot
from aiogram.client.session.base import Response
from aiogram.types import Message, Update
updates = Response[list[Update]].model_validate({"ok": True, "result": [{"update_id": 1,
    "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "Ann"}, "text": "/start"}}]})
sent = Response[Message | bool].model_validate({"ok": True, "result": True})
print(updates.result[0].message.text, sent.result)
"""
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["/start", "True"]


def test_types_built_on_first_use_parse_and_serialise_as_usual() -> None:
    update = Update.model_validate({"update_id": 7, "callback_query": {
        "id": "q", "chat_instance": "c", "data": "menu",
        "from": {"id": 5, "is_bot": False, "first_name": "Ann"},
        "message": {"message_id": 3, "date": 0, "chat": {"id": 5, "type": "private"},
                    "text": "hi", "reply_to_message": {
                        "message_id": 2, "date": 0, "chat": {"id": 5, "type": "private"}}}}})
    assert update.callback_query is not None
    message = update.callback_query.message
    assert isinstance(message, Message) and message.reply_to_message is not None
    assert message.reply_to_message.message_id == 2
    send = SendMessage(chat_id=5, text="x", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]))
    assert send.model_dump(exclude_none=True)["reply_markup"] == {
        "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}


def test_each_answer_model_is_built_once_however_often_garbage_is_collected() -> None:
    bot = create_bot(Settings(_env_file=None), token="42:TEST",  # type: ignore[call-arg]
                     api_url="http://127.0.0.1:9")
    assert isinstance(bot.session, LeanSession)
    answer = json.dumps({"ok": True, "result": {
        "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x"}})
    method = SendMessage(chat_id=5, text="x")
    model = weakref.ref(type(bot.session.check_response(bot, method, 200, answer)))
    gc.collect()  # pydantic's own cache holds it weakly: gone now, unless pinned
    again = bot.session.check_response(bot, method, 200, answer)
    assert model() is not None
    assert type(again) is model() is Response[Message]
    assert again.result is not None and again.result.message_id == 1


def test_a_request_without_files_is_a_plain_urlencoded_body() -> None:
    bot = create_bot(Settings(_env_file=None), token="42:TEST",  # type: ignore[call-arg]
                     api_url="http://127.0.0.1:9")
    assert isinstance(bot.session, LeanSession)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text="好 & ok", callback_data="a=b")]])
    body = bot.session.build_form_data(bot, SendMessage(
        chat_id=5, text="<b>Hi</b> & bye", reply_markup=markup, allow_paid_broadcast=True))
    assert isinstance(body, BytesPayload)
    assert body.content_type == "application/x-www-form-urlencoded"
    fields = {k: v for k, [v] in parse_qs(bytes(body._value).decode()).items()}
    assert fields == {
        "chat_id": "5", "text": "<b>Hi</b> & bye", "parse_mode": "HTML",  # the bot's default
        "allow_paid_broadcast": "true",
        "reply_markup": json.dumps({"inline_keyboard": [[
            {"text": "好 & ok", "callback_data": "a=b"}]]})}
    upload = bot.session.build_form_data(bot, SendPhoto(
        chat_id=5, photo=BufferedInputFile(b"png", filename="p.png")))
    assert isinstance(upload, FormData) and upload.is_multipart


async def test_the_memory_storage_forgets_people_with_nothing_stored() -> None:
    from aiogram.fsm.storage.base import StorageKey

    from bot.factory import create_storage

    storage = create_storage(Settings(_env_file=None))  # type: ignore[call-arg]
    assert isinstance(storage, MemoryStorage)
    reader, writer = (StorageKey(bot_id=1, chat_id=n, user_id=n) for n in (1, 2))
    assert await storage.get_state(reader) is None and await storage.get_data(reader) == {}
    assert await storage.get_value(reader, "x", "default") == "default"
    await storage.set_state(writer, "Form:name")
    await storage.update_data(writer, {"name": "Ann"})
    assert storage.storage.keys() == {writer}  # reading left nothing behind
    assert await storage.get_value(writer, "name") == "Ann"
    await storage.set_state(writer, None)
    assert await storage.get_data(writer) == {"name": "Ann"}  # data outlives the state
    await storage.set_data(writer, {})
    assert storage.storage == {}
