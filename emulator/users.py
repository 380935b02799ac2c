"""Acting as a Telegram user: sending messages, pressing buttons, reading the chat."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .methods import BotMethods
from .spec import UploadedFile
from .state import (
    CallbackAnswer,
    CallbackQueryRecord,
    EmulatorState,
    RequestRecord,
    StoredMessage,
    UserRecord,
    Violation,
    now_unix,
    wait_event,
)


class UserHost(Protocol):
    """What a UserHandle needs of the Emulator that owns it."""

    @property
    def state(self) -> EmulatorState: ...

    @property
    def methods(self) -> BotMethods: ...  # stores the files a user sends

    @property
    def clock(self) -> Callable[[], float]: ...

    @property
    def violations(self) -> list[Violation]: ...  # a timed-out wait reports them

    @property
    def errors(self) -> list[RequestRecord]: ...

    def bot_user(self, full: bool = False) -> dict[str, Any]: ...

    def user(self, user_id: int) -> UserHandle: ...

# The smallest JPEG header a client would send; the emulator never decodes images.
FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


class EmulatorError(Exception):
    """A user action that a real Telegram client could not perform."""


class ButtonNotFound(EmulatorError, LookupError):
    """The button to press is not on that message (or not on the current keyboard)."""


class WaitTimeout(TimeoutError):
    """wait_for found no matching bot message in time."""


@dataclass
class ChatMessage:
    """A message as the user sees it in the private chat with the bot."""

    message_id: int
    sender: str  # "bot" or "user"
    text: str | None = None
    caption: str | None = None
    # Inline keyboard rows: (label, callback_data or url).
    inline_keyboard: list[list[tuple[str, str | None]]] = field(default_factory=list)
    # Reply keyboard sent with this message (rows of labels), if any.
    reply_keyboard: list[list[str]] | None = None
    photo: str | None = None  # file_id of the largest size
    document: str | None = None  # file_id
    document_name: str | None = None
    contact: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    voice: str | None = None  # file_id
    edited: bool = False
    date: int = 0
    version: int = 0  # emulator-wide order of creations and edits
    raw: dict[str, Any] = field(default_factory=dict)  # the Message object

    @property
    def content(self) -> str:
        """The text, or else the caption, or ""."""
        return self.text or self.caption or ""

    @property
    def button_labels(self) -> list[str]:
        """Labels of all inline buttons, row by row."""
        return [label for row in self.inline_keyboard for label, _ in row]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form for the control API."""
        return {
            "message_id": self.message_id,
            "sender": self.sender,
            "text": self.text,
            "caption": self.caption,
            "inline_keyboard": [[list(button) for button in row] for row in self.inline_keyboard],
            "reply_keyboard": self.reply_keyboard,
            "photo": self.photo,
            "document": self.document,
            "document_name": self.document_name,
            "contact": self.contact,
            "location": self.location,
            "voice": self.voice,
            "edited": self.edited,
            "date": self.date,
            "version": self.version,
        }


def keyboard_labels(markup: dict[str, Any] | None) -> list[list[str]] | None:
    """Rows of labels of a ReplyKeyboardMarkup, None for anything else."""
    if not markup or "keyboard" not in markup:
        return None
    return [[button.get("text", "") for button in row] for row in markup["keyboard"]]


def to_chat_message(message: StoredMessage) -> ChatMessage:
    """The user's view of a stored message."""
    data = message.data
    rows = (data.get("reply_markup") or {}).get("inline_keyboard", [])
    inline = [
        [(b.get("text", ""), b.get("callback_data") or b.get("url")) for b in row] for row in rows
    ]
    document = data.get("document") or {}
    photo = data.get("photo") or []
    return ChatMessage(
        message_id=message.message_id,
        sender=message.sender,
        text=data.get("text"),
        caption=data.get("caption"),
        inline_keyboard=inline,
        reply_keyboard=keyboard_labels(message.reply_keyboard),
        photo=photo[-1]["file_id"] if photo else None,
        document=document.get("file_id"),
        document_name=document.get("file_name"),
        contact=data.get("contact"),
        location=data.get("location"),
        voice=(data.get("voice") or {}).get("file_id"),
        edited=message.edited,
        date=data.get("date", 0),
        version=message.version,
        raw=copy.deepcopy(data),
    )


def _command_entities(text: str) -> list[dict[str, Any]]:
    """A bot_command entity for text starting with /command (optionally @botname)."""
    if not text.startswith("/") or len(text) < 2:
        return []
    end = 1
    while end < len(text) and not text[end].isspace():
        end += 1
    length = len(text[:end].encode("utf-16-le")) // 2
    return [{"type": "bot_command", "offset": 0, "length": length}]


class UserHandle:
    """Drive the emulator as one Telegram user."""

    def __init__(self, emu: UserHost, user_id: int) -> None:
        self.emu = emu
        self.id = user_id
        self._mark = 0  # version of the user's last action; wait_for looks after it
        self._mark_state = emu.state  # versions restart when the emulator is reset

    def __repr__(self) -> str:
        return f"<UserHandle {self.id} {self.record.first_name!r}>"

    @property
    def record(self) -> UserRecord:
        """The user's profile and status."""
        if self.id not in self.emu.state.users:
            self.emu.user(self.id)  # the emulator was reset; recreate with defaults
        return self.emu.state.users[self.id]

    # --- what the user sees -----------------------------------------------------------------

    @property
    def chat(self) -> list[ChatMessage]:
        """All messages of the private chat, oldest first; deleted ones are gone."""
        chat = self.emu.state.chats.get(self.id)
        if chat is None:
            return []
        return [to_chat_message(m) for _, m in sorted(chat.messages.items())]

    @property
    def bot_messages(self) -> list[ChatMessage]:
        """The bot's messages only."""
        return [m for m in self.chat if m.sender == "bot"]

    @property
    def last_bot_message(self) -> ChatMessage | None:
        """The newest message from the bot."""
        messages = self.bot_messages
        return messages[-1] if messages else None

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Rows of the reply keyboard shown now, or None."""
        chat = self.emu.state.chats.get(self.id)
        return keyboard_labels(chat.reply_keyboard) if chat else None

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """answerCallbackQuery answers this user received, in order."""
        return [
            q.answer
            for q in self.emu.state.callback_queries.values()
            if q.user_id == self.id and q.answer is not None
        ]

    @property
    def blocked(self) -> bool:
        """Whether the user has blocked the bot."""
        return self.record.blocked

    # --- actions ---------------------------------------------------------------------------

    def _check_can_write(self) -> None:
        if self.record.blocked:
            raise EmulatorError(f"user {self.id} has blocked the bot; call unblock() first")

    def _post(self, content: dict[str, Any]) -> ChatMessage:
        """Put a user message in the chat and queue the `message` update."""
        self._check_can_write()
        state = self.emu.state
        record = self.record
        record.started = True
        chat = state.chat_for(self.id)
        data: dict[str, Any] = {
            "message_id": chat.allocate_message_id(),
            "from": record.to_api(),
            "chat": record.chat_api(),
            "date": now_unix(),
            **content,
        }
        stored = state.store_message(StoredMessage(self.id, data["message_id"], "user", data))
        self._mark = stored.version
        self._mark_state = state
        state.push_update("message", stored.snapshot())
        return to_chat_message(stored)

    def _used_reply_button(self, label: str) -> None:
        """A one-time reply keyboard hides once one of its buttons is used."""
        chat = self.emu.state.chat_for(self.id)
        markup = chat.reply_keyboard
        labels = keyboard_labels(markup) or []
        if markup and markup.get("one_time_keyboard") and any(label in row for row in labels):
            chat.reply_keyboard = None

    async def send(self, text: str) -> ChatMessage:
        """Send a text message; "/cmd args" gets a bot_command entity as Telegram adds."""
        if not text:
            raise EmulatorError("Telegram clients cannot send empty messages")
        content: dict[str, Any] = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        message = self._post(content)
        self._used_reply_button(text)
        return message

    async def press(self, message_id: int, callback_data: str, *, forged: bool = False) -> str:
        """Press the inline button with `callback_data` on a bot message; returns the query id.

        Raises ButtonNotFound unless that button is on that message right now. With
        forged=True the check is skipped, as a modified client can send any callback_data
        for any message id (a missing message arrives as an InaccessibleMessage).
        """
        self._check_can_write()
        state = self.emu.state
        message = state.find_message(self.id, message_id)
        if not forged:
            self._check_button(message, message_id, callback_data)
        record = self.record
        if message is not None:
            shown = message.snapshot()
        else:
            # Telegram's InaccessibleMessage: the message is gone, date 0.
            shown = {"chat": record.chat_api(), "message_id": message_id, "date": 0}
        query_id = state.new_callback_id(self.id)
        state.callback_queries[query_id] = CallbackQueryRecord(
            id=query_id,
            user_id=self.id,
            chat_id=self.id,
            message_id=message_id,
            data=callback_data,
            created=self.emu.clock(),
        )
        self._mark = state.version
        self._mark_state = state
        state.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": record.to_api(),
                "message": shown,
                "chat_instance": str(-(8_000_000_000_000_000_000 + self.id)),
                "data": callback_data,
            },
        )
        return query_id

    def _check_button(
        self, message: StoredMessage | None, message_id: int, callback_data: str
    ) -> None:
        if message is None or message.sender != "bot":
            raise ButtonNotFound(f"no bot message {message_id} in the chat with user {self.id}")
        rows = (message.data.get("reply_markup") or {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == callback_data for row in rows for b in row):
            raise ButtonNotFound(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"its buttons: {to_chat_message(message).inline_keyboard}"
            )

    async def press_text(self, label: str) -> str:
        """Press the inline button labelled `label` on the newest bot message that has it."""
        for message in reversed(self.bot_messages):
            for row in message.inline_keyboard:
                for text, data in row:
                    if text != label:
                        continue
                    raw_rows = (message.raw.get("reply_markup") or {}).get("inline_keyboard", [])
                    button = next(b for r in raw_rows for b in r if b.get("text") == label)
                    if "callback_data" not in button:
                        raise ButtonNotFound(
                            f"button {label!r} opens {data!r}; it sends nothing to the bot"
                        )
                    return await self.press(message.message_id, button["callback_data"])
        labels = [m.button_labels for m in self.bot_messages if m.inline_keyboard]
        raise ButtonNotFound(f"no inline button {label!r}; buttons in the chat: {labels}")

    async def press_reply(
        self, label: str, *, latitude: float = 31.2304, longitude: float = 121.4737
    ) -> ChatMessage:
        """Tap a button of the current reply keyboard (text, contact or location button)."""
        chat = self.emu.state.chat_for(self.id)
        markup = chat.reply_keyboard or {}
        for row in markup.get("keyboard", []):
            for button in row:
                if button.get("text") != label:
                    continue
                if button.get("request_contact"):
                    message = await self.share_contact()
                elif button.get("request_location"):
                    message = await self.send_location(latitude, longitude)
                else:
                    return await self.send(label)
                self._used_reply_button(label)
                return message
        raise ButtonNotFound(f"no reply keyboard button {label!r}; keyboard: {self.reply_keyboard}")

    async def share_contact(self, phone: str | None = None) -> ChatMessage:
        """Share the user's own contact, as a request_contact button does."""
        record = self.record
        contact: dict[str, Any] = {
            "phone_number": phone or f"+1555{self.id % 10_000_000:07d}",
            "first_name": record.first_name,
        }
        if record.last_name:
            contact["last_name"] = record.last_name
        contact["user_id"] = self.id
        return self._post({"contact": contact})

    async def send_location(self, latitude: float, longitude: float) -> ChatMessage:
        """Send a location."""
        return self._post({"location": {"latitude": latitude, "longitude": longitude}})

    async def send_photo(
        self, data: bytes | None = None, caption: str | None = None
    ) -> ChatMessage:
        """Send a photo (fake JPEG bytes unless given); the bot can getFile and download it."""
        files = self.emu.methods.store_upload(
            UploadedFile("photo.jpg", "image/jpeg", data or FAKE_JPEG), "photo", "photo.jpg"
        )
        content: dict[str, Any] = {"photo": self.emu.methods.photo_sizes(files)}
        if caption:
            content["caption"] = caption
        return self._post(content)

    async def send_voice(self, data: bytes = b"OggS", duration: int = 3) -> ChatMessage:
        """Send a voice note (fake Ogg bytes unless given); the bot can play it back by id."""
        files = self.emu.methods.store_upload(
            UploadedFile("voice.ogg", "audio/ogg", data), "voice", "voice.ogg"
        )
        voice = self.emu.methods.voice_api(files[0], duration)
        return self._post({"voice": voice})

    async def send_document(
        self,
        data: bytes,
        file_name: str = "document.pdf",
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> ChatMessage:
        """Send a file as a document."""
        files = self.emu.methods.store_upload(
            UploadedFile(file_name, mime_type or "", data), "document", file_name
        )
        content: dict[str, Any] = {"document": self.emu.methods.document_api(files[0])}
        if caption:
            content["caption"] = caption
        return self._post(content)

    def _member_update(self, old: str, new: str) -> None:
        bot = self.emu.bot_user()

        def member(status: str) -> dict[str, Any]:
            # ChatMemberBanned always carries until_date (0: forever).
            data: dict[str, Any] = {"status": status, "user": bot}
            if status == "kicked":
                data["until_date"] = 0
            return data

        self.emu.state.push_update(
            "my_chat_member",
            {
                "chat": self.record.chat_api(),
                "from": self.record.to_api(),
                "date": now_unix(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )

    def open_chat(self) -> None:
        """The user started the bot some time ago: the chat exists, no update is queued.

        For tests and benchmarks that seed thousands of known users at once.
        """
        self.record.started = True

    def block(self) -> None:
        """Block the bot: its sends now get 403, and it gets a my_chat_member update."""
        record = self.record
        if record.blocked:
            return
        record.blocked = True
        if record.started:
            self._member_update("member", "kicked")

    def unblock(self) -> None:
        """Unblock the bot (Telegram's "Restart"), with the matching my_chat_member update."""
        record = self.record
        if not record.blocked:
            return
        record.blocked = False
        if record.started:
            self._member_update("kicked", "member")

    # --- waiting ----------------------------------------------------------------------------

    async def wait_for(
        self,
        match: str | Callable[[ChatMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - the test-facing API names it so
        *,
        since: int | None = None,
    ) -> ChatMessage:
        """Wait until a bot message, new or edited after the user's last action, matches.

        `match` is a substring of the text/caption or a predicate. `since` overrides the
        starting point (a ChatMessage.version). Returns the earliest matching change.
        """
        predicate: Callable[[ChatMessage], bool]
        if isinstance(match, str):
            needle = match
            predicate = lambda message: needle in message.content  # noqa: E731
        else:
            predicate = match
        mark = self._mark if self._mark_state is self.emu.state else 0
        after = mark if since is None else since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            state = self.emu.state
            event = state.messages_changed.current()
            chat = state.chats.get(self.id)
            candidates = sorted(
                (m for m in (chat.messages.values() if chat else []) if m.sender == "bot"),
                key=lambda m: m.version,
            )
            for stored in candidates:
                if stored.version > after:
                    view = to_chat_message(stored)
                    if predicate(view):
                        return view
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeout(self._timeout_report(match, timeout))
            await wait_event(event, remaining)

    def _timeout_report(self, match: object, timeout: float) -> str:
        lines = [f"no bot message matching {match!r} for user {self.id} within {timeout}s"]
        lines.append("chat:")
        for message in self.chat[-10:]:
            mark = " (edited)" if message.edited else ""
            lines.append(f"  [{message.message_id}] {message.sender}: {message.content!r}{mark}")
        if self.emu.violations:
            lines.append("emulator violations:")
            lines.extend(f"  {v}" for v in self.emu.violations[-5:])
        errors = [r for r in self.emu.errors if r.chat_id == self.id][-5:]
        if errors:
            lines.append("error answers to the bot:")
            lines.extend(f"  {r.method} -> {r.status} {r.description}" for r in errors)
        return "\n".join(lines)
