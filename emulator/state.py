"""In-memory Telegram world of one bot: users, private chats, messages, files, updates,
and what the server records of the bot's requests (violations, requests, webhook)."""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Literal

# Update types a bot gets when it never named allowed_updates (Telegram's default).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
ALL_UPDATE_TYPES = DEFAULT_ALLOWED_UPDATES | {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}


class Notifier:
    """Wakes every waiter on notify(); notify() is synchronous so plain methods can call it.

    Waiters take `current()` before checking their condition, so a notify() between the
    check and the wait is never lost.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        """The event the next notify() will set."""
        return self._event

    def notify(self) -> None:
        """Wake everyone waiting on the current event."""
        self._event.set()
        self._event = asyncio.Event()


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; True if it was set.

    A cancellation always wins, also when the event is set in the same turn of the loop:
    not asyncio.wait_for, which on Python 3.11 then returns instead (gh-86296), so a loop
    of waits that was cancelled, as the bench's reply watcher is, went on for ever."""
    if seconds <= 0 or event.is_set():
        return event.is_set()
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()
    return event.is_set()


@dataclass
class UserRecord:
    """A Telegram user who can talk to the bot."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False
    started: bool = False  # has written to the bot, so the private chat exists
    blocked: bool = False

    def to_api(self) -> dict[str, Any]:
        """The User object Telegram sends to the bot."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        if self.is_premium:
            data["is_premium"] = True
        return data

    def chat_api(self) -> dict[str, Any]:
        """The Chat object of the private chat with this user."""
        data: dict[str, Any] = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        data["type"] = "private"
        return data


@dataclass
class StoredMessage:
    """A message in a chat, kept as the Message object Telegram would send."""

    chat_id: int
    message_id: int
    sender: Literal["bot", "user"]
    data: dict[str, Any]
    reply_keyboard: dict[str, Any] | None = None  # ReplyKeyboardMarkup/Remove sent with it
    version: int = 0  # change sequence number of the latest create or edit
    edited: bool = False

    def snapshot(self) -> dict[str, Any]:
        """A deep copy safe to hand out."""
        return copy.deepcopy(self.data)


@dataclass
class Chat:
    """A private chat between the bot and one user."""

    id: int
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: dict[str, Any] | None = None  # currently shown ReplyKeyboardMarkup

    def allocate_message_id(self) -> int:
        """Message ids increase per chat, as in Telegram's private chats."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class StoredFile:
    """A file known to the emulator, addressable by file_id."""

    file_id: str
    file_unique_id: str
    kind: str  # photo, document
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    group: str | None = None  # photos: the id of the PhotoSize set this size belongs to

    def file_api(self) -> dict[str, Any]:
        """The File object returned by getFile."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class CallbackAnswer:
    """What the bot answered to a callback query (answerCallbackQuery)."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass
class CallbackQueryRecord:
    """A button press sent to the bot."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float  # monotonic
    answer: CallbackAnswer | None = None

    @property
    def answered(self) -> bool:
        """Whether answerCallbackQuery was called for it."""
        return self.answer is not None


@dataclass
class PendingUpdate:
    """An update waiting to be fetched by getUpdates or delivered to the webhook."""

    update_id: int
    kind: str
    payload: dict[str, Any]

    def to_api(self) -> dict[str, Any]:
        """The Update object."""
        return {"update_id": self.update_id, self.kind: self.payload}


@dataclass
class Violation:
    """A request that breaks the API reference (or needs what the emulator does not do)."""

    method: str
    param: str
    problem: str
    description: str
    params: dict[str, Any]

    def __str__(self) -> str:
        where = f"{self.method}.{self.param}" if self.param else self.method
        return f"{where}: {self.problem} -> {self.description}"


@dataclass
class RequestRecord:
    """One Bot API request as the emulator saw and answered it."""

    method: str
    params: dict[str, Any]
    chat_id: int | str | None
    time: float  # monotonic
    status: int = 200
    description: str | None = None
    in_response: bool = False  # given in a webhook's answer, not requested over HTTP

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.status == 200


@dataclass
class WebhookConfig:
    """The webhook set by setWebhook."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0
    failures: int = field(default=0)


class EmulatorState:
    """All mutable state of one emulated bot."""

    def __init__(self) -> None:
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.photo_groups: dict[str, list[dict[str, Any]]] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.updates: list[PendingUpdate] = []
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.bot_settings: dict[tuple[str, Any], Any] = {}
        self.updates_changed = Notifier()
        self.messages_changed = Notifier()
        self._update_ids = itertools.count(100_000_001)
        self.version = 0  # highest change sequence number handed out
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)

    # --- ids ------------------------------------------------------------------------------

    def next_version(self) -> int:
        """Global change counter used to order message creations and edits."""
        self.version += 1
        return self.version

    def new_file_ids(self, prefix: str) -> tuple[str, str, int]:
        """A fresh (file_id, file_unique_id, sequence number) in Telegram's base64-like style."""
        seq = next(self._file_ids)
        file_id = f"{prefix}ACAgIAAxkBAAEMU{seq:08d}emu{seq * 7919 % 100000:05d}QAC"
        unique = f"AQAD{seq:06d}emu"
        return file_id, unique, seq

    def new_callback_id(self, user_id: int) -> str:
        """Numeric-looking callback query id, unique within the emulator."""
        seq = next(self._callback_ids)
        return str(4_200_000_000_000_000_000 + (user_id % 100_000) * 1_000_000 + seq)

    # --- users and chats ------------------------------------------------------------------

    def chat_for(self, user_id: int) -> Chat:
        """The private chat with a user, created on first use."""
        chat = self.chats.get(user_id)
        if chat is None:
            chat = self.chats[user_id] = Chat(id=user_id)
        return chat

    # --- updates --------------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> PendingUpdate | None:
        """Queue an update unless the bot's allowed_updates exclude its type."""
        if kind not in self.allowed_updates:
            return None
        update = PendingUpdate(next(self._update_ids), kind, payload)
        self.updates.append(update)
        self.updates_changed.notify()
        return update

    def confirm_updates(self, offset: int) -> None:
        """Forget updates below `offset`; a negative offset keeps only the last -offset."""
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u.update_id >= offset]

    # --- messages -------------------------------------------------------------------------

    def store_message(self, message: StoredMessage) -> StoredMessage:
        """Add a new message to its chat and wake anyone waiting for bot messages."""
        message.version = self.next_version()
        self.chat_for(message.chat_id).messages[message.message_id] = message
        self.messages_changed.notify()
        return message

    def touch_message(self, message: StoredMessage) -> None:
        """Record that a message was edited."""
        message.version = self.next_version()
        message.edited = True
        self.messages_changed.notify()

    def remove_message(self, chat_id: int, message_id: int) -> bool:
        """Delete a message; False if there was none."""
        chat = self.chats.get(chat_id)
        if chat is None or message_id not in chat.messages:
            return False
        del chat.messages[message_id]
        self.next_version()  # so watchers of the version notice deletions too
        self.messages_changed.notify()
        return True

    def find_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        """A message by chat and id, or None."""
        chat = self.chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None


def now_unix() -> int:
    """Message dates are Unix time, like Telegram's."""
    return int(time.time())
