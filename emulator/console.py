"""A tiny terminal chat client for the emulator's control API.

    python -m emulator.console --url http://127.0.0.1:8081 --user 1001 --name Li --lang en

Type a message and press Enter to send it. Inline buttons are shown as [N] and pressed by
typing N; reply keyboard buttons are shown as <kN> and pressed by typing kN. Lines starting
with "!" are console commands; "!help" lists them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, TextIO

import aiohttp

HELP = """commands:
  N               press inline button [N]
  kN              press reply keyboard button <kN>
  !say TEXT       send TEXT literally (e.g. a number)
  !contact [PHONE]  share your contact
  !loc LAT LON    send a location
  !photo [CAPTION]  send a (fake) photo
  !block / !unblock
  !chat           print the whole chat again
  !quit"""


@dataclass
class ConsoleState:
    """What the console has shown so far, and the numbers it gave to buttons."""

    version: int = 0
    seen: dict[int, int] = field(default_factory=dict)  # message_id -> version shown
    inline: dict[int, tuple[int, str | None, str]] = field(default_factory=dict)
    next_number: int = 1
    reply_keyboard: list[list[str]] | None = None
    answers_shown: int = 0


def render(view: dict[str, Any], state: ConsoleState, full: bool = False) -> list[str]:
    """Lines describing what changed in the chat `view` since `state` (everything if full)."""
    lines: list[str] = []
    current = {m["message_id"] for m in view["messages"]}
    for message_id in sorted(set(state.seen) - current):
        lines.append(f"  (message {message_id} deleted)")
        del state.seen[message_id]
    for message in view["messages"]:
        mid = message["message_id"]
        if not full and state.seen.get(mid) == message["version"]:
            continue
        if not full and message["sender"] == "user" and mid not in state.seen:
            state.seen[mid] = message["version"]
            continue  # the person typed it; no need to echo
        state.seen[mid] = message["version"]
        lines.extend(_message_lines(message, state))
    answers = view.get("callback_answers", [])
    for answer in answers[state.answers_shown :]:
        if answer.get("text"):
            kind = "alert" if answer.get("show_alert") else "notice"
            lines.append(f"  ({kind}: {answer['text']})")
    state.answers_shown = len(answers)
    keyboard = view.get("reply_keyboard")
    if keyboard != state.reply_keyboard or (full and keyboard):
        state.reply_keyboard = keyboard
        if keyboard:
            labels = [label for row in keyboard for label in row]
            lines.append("  keyboard: " + "  ".join(f"<k{i}> {t}" for i, t in enumerate(labels, 1)))
        else:
            lines.append("  (keyboard hidden)")
    state.version = view["version"]
    return lines


def _message_lines(message: dict[str, Any], state: ConsoleState) -> list[str]:
    who = "bot" if message["sender"] == "bot" else "you"
    mark = " (edited)" if message["edited"] else ""
    body = message["text"] or message["caption"] or ""
    if message["photo"]:
        body = f"[photo] {body}"
    if message["document"]:
        body = f"[file {message['document_name']}] {body}"
    if message["contact"]:
        body = f"[contact {message['contact']['phone_number']}]"
    if message["location"]:
        body = f"[location {message['location']['latitude']}, {message['location']['longitude']}]"
    lines = [f"[{message['message_id']}] {who}{mark}: {body}"]
    for row in message["inline_keyboard"]:
        cells = []
        for label, target in row:
            number = state.next_number
            state.next_number += 1
            is_url = bool(target) and "://" in str(target)
            state.inline[number] = (message["message_id"], None if is_url else target, label)
            cells.append(f"[{number}] {label}" + (f" ({target})" if is_url else ""))
        lines.append("    " + "   ".join(cells))
    return lines


class Console:
    """Reads the person's input and shows the bot's messages as they arrive."""

    def __init__(self, url: str, user_id: int, out: TextIO = sys.stdout) -> None:
        self.url = url.rstrip("/")
        self.user_id = user_id
        self.out = out
        self.state = ConsoleState()

    def show(self, lines: list[str]) -> None:
        """Print lines."""
        for line in lines:
            print(line, file=self.out, flush=True)

    async def post(self, http: aiohttp.ClientSession, action: str, body: dict[str, Any]) -> None:
        """Perform a user action; show the error if the emulator refuses it."""
        async with http.post(f"{self.url}/_emu/users/{self.user_id}/{action}", json=body) as r:
            data = await r.json()
        if not data.get("ok"):
            self.show([f"  ! {data.get('error')}"])

    async def watch(self, http: aiohttp.ClientSession) -> None:
        """Long-poll the chat and print changes."""
        while True:
            url = f"{self.url}/_emu/users/{self.user_id}/wait"
            params = {"after": str(self.state.version), "timeout": "25"}
            async with http.get(url, params=params) as resp:
                view = await resp.json()
            self.show(render(view, self.state))

    async def handle(self, http: aiohttp.ClientSession, line: str) -> bool:
        """Act on one input line; False to quit."""
        line = line.strip()
        if not line:
            return True
        if line.isdigit():
            target = self.state.inline.get(int(line))
            if target is None:
                self.show([f"  ! no button [{line}]"])
            elif target[1] is None:
                self.show(["  ! that button opens a URL; nothing is sent to the bot"])
            else:
                body = {"message_id": target[0], "callback_data": target[1]}
                await self.post(http, "press", body)
            return True
        if line[0] == "k" and line[1:].isdigit():
            labels = [t for row in self.state.reply_keyboard or [] for t in row]
            index = int(line[1:]) - 1
            if 0 <= index < len(labels):
                await self.post(http, "press_reply", {"text": labels[index]})
            else:
                self.show([f"  ! no keyboard button <{line}>"])
            return True
        if not line.startswith("!"):
            await self.post(http, "send", {"text": line})
            return True
        command, _, rest = line[1:].partition(" ")
        if command == "quit":
            return False
        if command == "say" and rest:
            await self.post(http, "send", {"text": rest})
        elif command == "contact":
            await self.post(http, "contact", {"phone": rest or None})
        elif command == "loc" and len(rest.split()) == 2:
            lat, lon = rest.split()
            await self.post(http, "location", {"latitude": float(lat), "longitude": float(lon)})
        elif command == "photo":
            await self.post(http, "photo", {"caption": rest or None})
        elif command in ("block", "unblock"):
            await self.post(http, command, {})
        elif command == "chat":
            async with http.get(f"{self.url}/_emu/users/{self.user_id}/chat") as resp:
                self.show(render(await resp.json(), self.state, full=True))
        else:
            self.show([HELP])
        return True

    async def run(self, name: str, lang: str | None, lines: asyncio.Queue[str | None]) -> None:
        """Register the user, then alternate between input lines and chat updates."""
        async with aiohttp.ClientSession() as http:
            body = {"id": self.user_id, "first_name": name, "language_code": lang}
            async with http.post(f"{self.url}/_emu/users", json=body) as resp:
                resp.raise_for_status()
            self.show([f"chatting as {name} ({self.user_id}); type !help for commands"])
            async with http.get(f"{self.url}/_emu/users/{self.user_id}/chat") as resp:
                self.show(render(await resp.json(), self.state, full=True))
            watcher = asyncio.create_task(self.watch(http))
            try:
                while (line := await lines.get()) is not None:
                    if not await self.handle(http, line):
                        break
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    # A daemon thread: a blocked readline() must not keep the process alive after !quit.
    for line in sys.stdin:
        loop.call_soon_threadsafe(lines.put_nowait, line)
    loop.call_soon_threadsafe(lines.put_nowait, None)


async def amain(args: argparse.Namespace) -> None:
    """Run the console until !quit or end of input."""
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
    await Console(args.url, args.user).run(args.name, args.lang, lines)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description="Chat with the bot through the emulator")
    parser.add_argument("--url", default="http://127.0.0.1:8081")
    parser.add_argument("--user", type=int, default=1001)
    parser.add_argument("--name", default="Tester")
    parser.add_argument("--lang", default=None)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(amain(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
