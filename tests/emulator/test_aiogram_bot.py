"""A real aiogram Bot against the emulator: the methods the project uses."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from emulator import Emulator

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [InlineKeyboardButton(text="Join", callback_data="course:join:7")],
        [InlineKeyboardButton(text="Website", url="https://example.org")],
    ]
)


async def test_get_me(bot: Bot, emu: Emulator) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == emu.bot_id == 123456789
    assert me.username == "community_living_room_bot"


async def test_send_edit_delete(bot: Bot, emu: Emulator) -> None:
    user = emu.user(1001, first_name="Li", language_code="zh-hans")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(1001, "hello")
    await user.send("/start")

    sent = await bot.send_message(
        1001, "<b>Courses</b> this week", parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert sent.message_id == 2  # the user's /start was message 1
    assert sent.text == "Courses this week"
    assert sent.entities and sent.entities[0].type == "bold"
    assert sent.from_user is not None and sent.from_user.id == emu.bot_id
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == KEYBOARD.model_dump()
    view = user.chat[-1]
    assert view.inline_keyboard == [
        [("Join", "course:join:7")],
        [("Website", "https://example.org")],
    ]

    edited = await bot.edit_message_text(
        "Courses next week", chat_id=1001, message_id=sent.message_id, reply_markup=KEYBOARD
    )
    assert not isinstance(edited, bool) and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Courses next week", chat_id=1001, message_id=sent.message_id, reply_markup=KEYBOARD
        )
    await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id, reply_markup=None)
    assert user.chat[-1].inline_keyboard == [] and user.chat[-1].edited

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=99)
    assert await bot.delete_message(1001, sent.message_id)
    assert [m.message_id for m in user.chat] == [1]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(1001, sent.message_id)
    assert emu.violations == []


async def test_reply_keyboard(bot: Bot, emu: Emulator) -> None:
    user = emu.user(1002, first_name="Ana")
    await user.send("/start")
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="Share phone", request_contact=True), KeyboardButton(text="Skip")]
        ],
        one_time_keyboard=True,
        resize_keyboard=True,
    )
    await bot.send_message(1002, "Your phone?", reply_markup=keyboard)
    assert user.reply_keyboard == [["Share phone", "Skip"]]
    shared = await user.press_reply("Share phone")
    assert shared.contact is not None and shared.contact["user_id"] == 1002
    assert user.reply_keyboard is None  # one-time keyboards hide after use

    await bot.send_message(
        1002, "Again", reply_markup=keyboard.model_copy(update={"one_time_keyboard": False})
    )
    await user.press_reply("Skip")
    assert user.reply_keyboard == [["Share phone", "Skip"]]
    await bot.send_message(1002, "Done", reply_markup=ReplyKeyboardRemove())
    assert user.reply_keyboard is None
    assert emu.violations == []


async def test_photo_and_document(bot: Bot, emu: Emulator) -> None:
    user = emu.user(1003)
    await user.send("hi")
    photo = await bot.send_photo(
        1003, BufferedInputFile(b"\x89PNG-bytes", "poster.png"), caption="Poster"
    )
    assert photo.photo and photo.caption == "Poster"
    largest = photo.photo[-1]
    again = await bot.send_photo(1003, largest.file_id)
    assert again.photo and again.photo[-1].file_id == largest.file_id

    doc = await bot.send_document(1003, BufferedInputFile(b"minutes of the meeting", "minutes.txt"))
    assert doc.document is not None
    assert (doc.document.file_name, doc.document.mime_type) == ("minutes.txt", "text/plain")
    file = await bot.get_file(doc.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"minutes of the meeting"

    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(1003, "no-such-file-id")
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_photo(1003, doc.document.file_id)
    views = user.chat
    assert views[1].photo == largest.file_id and views[1].caption == "Poster"
    assert views[3].document == doc.document.file_id and views[3].document_name == "minutes.txt"
    assert emu.violations == []


async def test_a_voice_note_played_back_and_a_place_as_a_pin(bot: Bot, emu: Emulator) -> None:
    user = emu.user(1004)
    said = await user.send_voice(b"OggS-voice", duration=4)
    assert said.voice is not None
    voice = await bot.send_voice(1004, said.voice, caption="From Ann")
    assert voice.voice is not None and voice.voice.file_id == said.voice
    assert voice.voice.duration == 1 and voice.caption == "From Ann"
    file = await bot.get_file(said.voice)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"OggS-voice"
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_photo(1004, said.voice)

    pin = await bot.send_location(1004, latitude=31.23, longitude=121.47)
    assert pin.location is not None and (pin.location.latitude, pin.location.longitude) == (
        31.23, 121.47)
    venue = await bot.send_venue(1004, latitude=31.2, longitude=121.4, title="幸福社区",
                                 address="幸福路 1 号")
    assert venue.venue is not None and venue.venue.title == "幸福社区"
    with pytest.raises(TelegramBadRequest, match="wrong latitude"):
        await bot.send_location(1004, latitude=95, longitude=0)
    views = user.chat
    assert views[1].voice == said.voice
    assert views[2].location == {"latitude": 31.23, "longitude": 121.47}
    assert emu.violations == []


async def test_callback_answers(bot: Bot, emu: Emulator) -> None:
    user = emu.user(1004)
    await user.send("/start")
    sent = await bot.send_message(1004, "Pick", reply_markup=KEYBOARD)
    query_id = await user.press(sent.message_id, "course:join:7")
    assert [q.id for q in emu.unanswered_callback_queries()] == [query_id]
    assert await bot.answer_callback_query(query_id, text="Joined!", show_alert=True)
    assert emu.unanswered_callback_queries() == []
    assert user.callback_answers[-1].text == "Joined!" and user.callback_answers[-1].show_alert
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(await user.press_text("Join"), text="x" * 201)
    assert emu.violations[-1].param == "text"


async def test_blocked_user_gets_403_and_my_chat_member(bot: Bot, emu: Emulator) -> None:
    user = emu.user(1005)
    await user.send("/start")
    await bot.get_updates(offset=-1)  # skip the /start
    user.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(1005, "news")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(1005, "typing")
    updates = await bot.get_updates(offset=-1)
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    user.unblock()
    updates = await bot.get_updates(offset=-1)
    member = updates[-1].my_chat_member
    assert member is not None
    assert (member.old_chat_member.status, member.new_chat_member.status) == ("kicked", "member")
    assert await bot.send_chat_action(1005, "typing")
    await bot.send_message(1005, "welcome back")


async def test_commands(bot: Bot, emu: Emulator) -> None:
    commands = [
        BotCommand(command="start", description="Start"),
        BotCommand(command="help", description="Help"),
    ]
    assert await bot.set_my_commands(commands, language_code="zh")
    got = await bot.get_my_commands(language_code="zh")
    assert [(c.command, c.description) for c in got] == [("start", "Start"), ("help", "Help")]
    assert await bot.get_my_commands() == []
    assert await bot.delete_my_commands(language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == []
    assert emu.violations == []


async def test_bot_profile_and_get_chat(bot: Bot, emu: Emulator) -> None:
    from aiogram.types import MenuButtonCommands

    assert await bot.set_my_description("Neighbourhood assistant", language_code="en")
    assert (await bot.get_my_description(language_code="en")).description == (
        "Neighbourhood assistant"
    )
    assert (await bot.get_my_description(language_code="zh")).description == ""
    assert await bot.set_my_short_description("Hi")
    assert (await bot.get_my_short_description(language_code="fr")).short_description == "Hi"
    assert (await bot.get_my_name()).name == "Community Living Room"
    user = emu.user(1006, first_name="Li", username="li_neighbour")
    await user.send("/start")
    assert await bot.set_chat_menu_button(chat_id=1006, menu_button=MenuButtonCommands())
    assert (await bot.get_chat_menu_button(chat_id=1006)).type == "commands"
    chat = await bot.get_chat(1006)
    assert (chat.id, chat.type, chat.username) == (1006, "private", "li_neighbour")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat(4242)
    assert emu.violations == []
