"""Behaviour of the Bot API methods the emulator implements.

Handlers receive parameters already validated and coerced against the spec and return the
`result` of a successful answer, or raise ApiError with Telegram's error for the situation.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .entities import parse_text
from .spec import UploadedFile
from .state import (
    CallbackAnswer,
    Chat,
    EmulatorState,
    StoredFile,
    StoredMessage,
    UserRecord,
    now_unix,
)


class MethodsHost(Protocol):
    """What the methods need of the Emulator that owns them."""

    @property
    def state(self) -> EmulatorState: ...

    @property
    def first_name(self) -> str: ...

    def bot_user(self, full: bool = False) -> dict[str, Any]: ...


Handler = Callable[[dict[str, Any]], Awaitable[Any]]

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Telegram's documented upload and download size limits.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# PhotoSize variants Telegram generates; the emulator does not decode images.
PHOTO_SIZES = ((90, 68), (320, 240), (800, 600))

MSG_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_SUPPORTED = "Bad Request: method not supported by the local emulator"


class ApiError(Exception):
    """An error answer: HTTP status/error_code, description, optional retry_after.

    `violation` is set when the request broke the API reference (or needs something the
    emulator deliberately does not do), so the server records it.
    """

    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        violation: str | None = None,
        param: str = "",
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.violation = violation
        self.param = param


def _bad(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


class BotMethods:
    """Implementations of the supported methods, bound to one emulator."""

    def __init__(self, emu: MethodsHost) -> None:
        self.emu = emu
        self.state = emu.state
        self.handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "answercallbackquery": self.answer_callback_query,
            "deletemessage": self.delete_message,
            "deletemessages": self.delete_messages,
            "sendphoto": self.send_photo,
            "senddocument": self.send_document,
            "sendvoice": self.send_voice,
            "sendlocation": self.send_location,
            "sendvenue": self.send_venue,
            "sendchataction": self.send_chat_action,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "getfile": self.get_file,
            "getchat": self.get_chat,
            "setmydescription": self.set_bot_text("description", "description"),
            "getmydescription": self.get_bot_text("description", "description"),
            "setmyshortdescription": self.set_bot_text("short_description", "short_description"),
            "getmyshortdescription": self.get_bot_text("short_description", "short_description"),
            "setmyname": self.set_bot_text("name", "name"),
            "getmyname": self.get_bot_text("name", "name"),
            "setchatmenubutton": self.set_chat_menu_button,
            "getchatmenubutton": self.get_chat_menu_button,
            "close": self.true,
            "logout": self.true,
        }

    # --- helpers ---------------------------------------------------------------------------

    async def true(self, params: dict[str, Any]) -> bool:
        """Methods whose only observable effect is success."""
        return True

    def private_chat(self, chat_id: Any, sending: bool) -> tuple[UserRecord, Chat]:
        """Resolve chat_id to a user who has written to the bot; 400/403 as Telegram does."""
        user = self.state.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None or not user.started:
            # Usernames of users, groups and channels are not emulated: nothing resolves.
            raise _bad("chat not found")
        if sending and user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return user, self.state.chat_for(user.id)

    def message_to_change(self, params: dict[str, Any], action: str) -> StoredMessage:
        """The message an edit or delete refers to."""
        if "inline_message_id" in params:
            raise ApiError(
                400,
                NOT_SUPPORTED,
                violation="inline messages are not supported by the local emulator",
                param="inline_message_id",
            )
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError(
                400,
                "Bad Request: message identifier is not specified",
                violation="chat_id and message_id are required without inline_message_id",
                param="message_id",
            )
        self.private_chat(params["chat_id"], sending=False)
        message = self.state.find_message(params["chat_id"], params["message_id"])
        if message is None:
            raise _bad(f"message to {action} not found")
        return message

    def formatted(
        self, params: dict[str, Any], text_key: str, entities_key: str
    ) -> tuple[str, list[dict[str, Any]]]:
        """Text after entity parsing plus its entities (given or parsed)."""
        parsed = parse_text(params[text_key], params.get("parse_mode"))
        entities = params.get(entities_key) or parsed.entities
        return parsed.text, entities

    def new_message(
        self,
        user: UserRecord,
        chat: Chat,
        params: dict[str, Any],
        content: dict[str, Any],
    ) -> dict[str, Any]:
        """Store a bot message with `content` and return the Message object."""
        data: dict[str, Any] = {
            "message_id": chat.allocate_message_id(),
            "from": self.emu.bot_user(),
            "chat": user.chat_api(),
            "date": now_unix(),
        }
        reply = params.get("reply_parameters")
        if reply:
            target = self.state.find_message(chat.id, reply["message_id"])
            if target is not None:
                quoted = target.snapshot()
                quoted.pop("reply_to_message", None)
                data["reply_to_message"] = quoted
            elif not reply.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        data.update(content)
        markup = params.get("reply_markup")
        keyboard_change: dict[str, Any] | None = None
        if markup and "inline_keyboard" in markup:
            data["reply_markup"] = markup
        elif markup and ("keyboard" in markup or "remove_keyboard" in markup):
            keyboard_change = markup
        stored = StoredMessage(
            chat_id=chat.id,
            message_id=data["message_id"],
            sender="bot",
            data=data,
            reply_keyboard=keyboard_change,
        )
        if keyboard_change is not None:
            chat.reply_keyboard = keyboard_change if "keyboard" in keyboard_change else None
        self.state.store_message(stored)
        return stored.snapshot()

    def input_file(
        self, value: Any, kind: str, param: str, upload_name: str
    ) -> tuple[list[StoredFile], dict[str, Any] | None]:
        """Resolve an uploaded file or file_id string to stored files of `kind`."""
        if isinstance(value, UploadedFile):
            if len(value.data) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            return self.store_upload(value, kind, upload_name), None
        if value.startswith(("http://", "https://")):
            raise ApiError(
                400,
                "Bad Request: failed to get HTTP URL content",
                violation="the local emulator has no network and does not fetch HTTP URL files",
                param=param,
            )
        stored = self.state.files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise _bad("type of file mismatch")
        if kind == "photo" and stored.group:
            return [
                self.state.files[p["file_id"]] for p in self.state.photo_groups[stored.group]
            ], None
        return [stored], None

    def store_upload(self, upload: UploadedFile, kind: str, name: str) -> list[StoredFile]:
        """Keep uploaded bytes in memory under new file ids."""
        if kind == "photo":
            group: list[dict[str, Any]] = []
            files: list[StoredFile] = []
            group_id = ""
            for index, (width, height) in enumerate(PHOTO_SIZES):
                file_id, unique, seq = self.state.new_file_ids("Ag")
                group_id = group_id or file_id
                stored = StoredFile(
                    file_id=file_id,
                    file_unique_id=unique,
                    kind="photo",
                    data=upload.data,
                    file_path=f"photos/file_{seq}.jpg",
                    mime_type="image/jpeg",
                    group=group_id,
                )
                self.state.files[file_id] = stored
                files.append(stored)
                # Smaller thumbnails are smaller files; only the largest is the upload itself.
                size = (
                    len(upload.data)
                    if index == len(PHOTO_SIZES) - 1
                    else max(1, len(upload.data) * (index + 1) // 10)
                )
                group.append(
                    {
                        "file_id": file_id,
                        "file_unique_id": unique,
                        "file_size": size,
                        "width": width,
                        "height": height,
                    }
                )
            self.state.photo_groups[group_id] = group
            return files
        file_id, unique, seq = self.state.new_file_ids("BQ")
        filename = upload.filename or name
        mime = (
            mimetypes.guess_type(filename)[0] or upload.content_type or "application/octet-stream"
        )
        suffix = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            data=upload.data,
            file_path=f"documents/file_{seq}.{suffix}",
            file_name=filename,
            mime_type=mime,
        )
        self.state.files[file_id] = stored
        return [stored]

    def photo_sizes(self, files: list[StoredFile]) -> list[dict[str, Any]]:
        """The PhotoSize array of a stored photo."""
        group = files[0].group
        return json.loads(json.dumps(self.state.photo_groups[group])) if group else []

    @staticmethod
    def document_api(stored: StoredFile) -> dict[str, Any]:
        """The Document object of a stored file."""
        data: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_name:
            data["file_name"] = stored.file_name
        if stored.mime_type:
            data["mime_type"] = stored.mime_type
        data["file_size"] = len(stored.data)
        return data

    def caption_content(self, params: dict[str, Any]) -> dict[str, Any]:
        """caption and caption_entities of a media message."""
        if not params.get("caption"):
            return {}
        text, entities = self.formatted(params, "caption", "caption_entities")
        if not text:
            return {}
        content: dict[str, Any] = {"caption": text}
        if entities:
            content["caption_entities"] = entities
        if params.get("show_caption_above_media"):
            content["show_caption_above_media"] = True
        return content

    # --- methods ---------------------------------------------------------------------------

    async def get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        """getMe."""
        return self.emu.bot_user(full=True)

    async def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendMessage."""
        user, chat = self.private_chat(params["chat_id"], sending=True)
        text, entities = self.formatted(params, "text", "entities")
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if params.get("link_preview_options"):
            content["link_preview_options"] = params["link_preview_options"]
        return self.new_message(user, chat, params, content)

    async def send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendPhoto: an upload or a photo file_id."""
        user, chat = self.private_chat(params["chat_id"], sending=True)
        files, _ = self.input_file(params["photo"], "photo", "photo", "photo.jpg")
        content = {"photo": self.photo_sizes(files), **self.caption_content(params)}
        if params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self.new_message(user, chat, params, content)

    async def send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendDocument: an upload or a document file_id."""
        user, chat = self.private_chat(params["chat_id"], sending=True)
        files, _ = self.input_file(params["document"], "document", "document", "document")
        content = {"document": self.document_api(files[0]), **self.caption_content(params)}
        return self.new_message(user, chat, params, content)

    @staticmethod
    def voice_api(stored: StoredFile, duration: int) -> dict[str, Any]:
        """The Voice object of a stored voice note."""
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "duration": duration, "mime_type": stored.mime_type or "audio/ogg",
                "file_size": len(stored.data)}

    async def send_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendVoice: an upload or a voice file_id (a voice note the user sent)."""
        user, chat = self.private_chat(params["chat_id"], sending=True)
        files, _ = self.input_file(params["voice"], "voice", "voice", "voice.ogg")
        content = {"voice": self.voice_api(files[0], int(params.get("duration") or 1)),
                   **self.caption_content(params)}
        return self.new_message(user, chat, params, content)

    @staticmethod
    def location_api(params: dict[str, Any]) -> dict[str, Any]:
        """The Location object of sendLocation's or sendVenue's parameters."""
        latitude, longitude = float(params["latitude"]), float(params["longitude"])
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise _bad("wrong latitude or longitude")
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if params.get("horizontal_accuracy") is not None:
            location["horizontal_accuracy"] = params["horizontal_accuracy"]
        return location

    async def send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendLocation: a map pin."""
        user, chat = self.private_chat(params["chat_id"], sending=True)
        return self.new_message(user, chat, params, {"location": self.location_api(params)})

    async def send_venue(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendVenue: a map pin with a title and an address."""
        user, chat = self.private_chat(params["chat_id"], sending=True)
        location = self.location_api(params)
        venue = {"location": location, "title": params["title"], "address": params["address"]}
        return self.new_message(user, chat, params, {"location": location, "venue": venue})

    async def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageText (chat messages only, not inline messages)."""
        if "rich_message" in params:
            raise ApiError(
                400, NOT_SUPPORTED, violation="rich messages are not emulated", param="rich_message"
            )
        message = self.message_to_change(params, "edit")
        if "text" not in params:
            raise ApiError(
                400,
                "Bad Request: message text is empty",
                violation="text is required",
                param="text",
            )
        if message.sender != "bot":
            raise _bad("message can't be edited")
        if "text" not in message.data:
            raise _bad("there is no text in the message to edit")
        text, entities = self.formatted(params, "text", "entities")
        new = {
            "text": text,
            "entities": entities or None,
            "reply_markup": params.get("reply_markup"),
        }
        return self.apply_edit(message, new)

    async def edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageCaption."""
        message = self.message_to_change(params, "edit")
        if message.sender != "bot":
            raise _bad("message can't be edited")
        if not any(k in message.data for k in ("photo", "document", "video", "audio", "animation")):
            raise _bad("there is no caption in the message to edit")
        content = self.caption_content(params)
        new = {
            "caption": content.get("caption"),
            "caption_entities": content.get("caption_entities"),
            "reply_markup": params.get("reply_markup"),
        }
        return self.apply_edit(message, new)

    async def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageReplyMarkup; no reply_markup removes the inline keyboard."""
        message = self.message_to_change(params, "edit")
        if message.sender != "bot":
            raise _bad("message can't be edited")
        return self.apply_edit(message, {"reply_markup": params.get("reply_markup")})

    def apply_edit(self, message: StoredMessage, new: dict[str, Any]) -> dict[str, Any]:
        """Replace fields (None removes them) unless nothing would change."""
        if all(message.data.get(key) == value for key, value in new.items()):
            raise ApiError(400, MSG_NOT_MODIFIED)
        for key, value in new.items():
            if value is None:
                message.data.pop(key, None)
            else:
                message.data[key] = value
        message.data["edit_date"] = now_unix()
        self.state.touch_message(message)
        return message.snapshot()

    async def delete_message(self, params: dict[str, Any]) -> bool:
        """deleteMessage."""
        self.private_chat(params["chat_id"], sending=False)
        if not self.state.remove_message(params["chat_id"], params["message_id"]):
            raise _bad("message to delete not found")
        return True

    async def delete_messages(self, params: dict[str, Any]) -> bool:
        """deleteMessages: missing messages are skipped, as Telegram does."""
        self.private_chat(params["chat_id"], sending=False)
        for message_id in params["message_ids"]:
            self.state.remove_message(params["chat_id"], message_id)
        return True

    async def answer_callback_query(self, params: dict[str, Any]) -> bool:
        """answerCallbackQuery: each query can be answered once."""
        query = self.state.callback_queries.get(params["callback_query_id"])
        if query is None or query.answered:
            raise ApiError(400, QUERY_TOO_OLD)
        query.answer = CallbackAnswer(
            query_id=query.id,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
        )
        self.state.next_version()
        self.state.messages_changed.notify()
        return True

    async def send_chat_action(self, params: dict[str, Any]) -> bool:
        """sendChatAction."""
        if params["action"] not in CHAT_ACTIONS:
            raise ApiError(
                400,
                "Bad Request: wrong parameter action in request",
                violation=f"unknown chat action {params['action']!r}",
                param="action",
            )
        self.private_chat(params["chat_id"], sending=True)
        return True

    @staticmethod
    def commands_key(params: dict[str, Any]) -> tuple[str, str]:
        """Commands are stored per (scope, language_code)."""
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    async def set_my_commands(self, params: dict[str, Any]) -> bool:
        """setMyCommands; at most 100 commands."""
        if len(params["commands"]) > 100:
            raise ApiError(
                400,
                "Bad Request: too many commands specified",
                violation="more than 100 commands",
                param="commands",
            )
        self.state.commands[self.commands_key(params)] = params["commands"]
        return True

    async def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """getMyCommands."""
        return list(self.state.commands.get(self.commands_key(params), []))

    async def delete_my_commands(self, params: dict[str, Any]) -> bool:
        """deleteMyCommands."""
        self.state.commands.pop(self.commands_key(params), None)
        return True

    def set_bot_text(self, setting: str, param: str) -> Handler:
        """setMyDescription / setMyShortDescription / setMyName: stored per language."""

        async def handler(params: dict[str, Any]) -> bool:
            key = (setting, params.get("language_code") or "")
            value = params.get(param)
            if value:
                self.state.bot_settings[key] = value
            else:
                self.state.bot_settings.pop(key, None)
            return True

        return handler

    def get_bot_text(self, setting: str, field: str) -> Handler:
        """getMyDescription / getMyShortDescription / getMyName."""

        async def handler(params: dict[str, Any]) -> dict[str, Any]:
            key = (setting, params.get("language_code") or "")
            value = self.state.bot_settings.get(key, self.state.bot_settings.get((setting, "")))
            if value is None and setting == "name":
                value = self.emu.first_name
            return {field: value or ""}

        return handler

    async def set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        """setChatMenuButton: for one private chat or the default."""
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self.private_chat(chat_id, sending=False)
        self.state.bot_settings[("menu_button", chat_id)] = params.get("menu_button") or {
            "type": "default"
        }
        return True

    async def get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        """getChatMenuButton."""
        settings = self.state.bot_settings
        chat_id = params.get("chat_id")
        default = settings.get(("menu_button", None), {"type": "commands"})
        return dict(settings.get(("menu_button", chat_id), default))

    async def get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        """getChat for a private chat: ChatFullInfo with the fields Telegram always sends."""
        user, _ = self.private_chat(params["chat_id"], sending=False)
        return {
            **user.chat_api(),
            "accent_color_id": user.id % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """getFile: the path is then downloadable under /file/bot<token>/."""
        stored = self.state.files.get(params["file_id"])
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return stored.file_api()
