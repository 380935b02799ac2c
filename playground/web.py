"""The chat page, served by the emulator's own aiohttp app (same port, same origin).

The page (static/: one HTML file, one CSS file, one vanilla JS file) acts as Telegram
users through the emulator's control API under /_emu/. It adds a few routes of its own:

    GET  /                                  the page
    GET  /static/...                        its CSS and JS
    GET  /_play/people                      the demo people for the "Be someone" panel
    GET  /_play/users/{id}/wait?after=V     /_emu/'s long poll, plus each message's
                                            formatting entities and reply buttons' kinds
    POST /_play/reset                       wipe the demo database and seed it again

The emulator knows nothing of this module; the bot's no-token start-up adds the routes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator import Emulator
from emulator.control import chat_view
from emulator.state import wait_event
from playground.demo import PEOPLE

STATIC = Path(__file__).parent / "static"
LONG_POLL_MAX = 30.0


def register_people(emulator: Emulator) -> None:
    """Make the demo people known to the emulator, as if they had started the bot before."""
    for p in PEOPLE:
        language = "zh-hans" if p.locale == "zh" else p.locale
        emulator.user(p.tg_id, p.name, language_code=language).open_chat()


def clear_chats(emulator: Emulator) -> None:
    """Empty every chat, keeping the users and the bot's update stream: emulator.reset()
    would restart update ids below the running bot's offset, and it would hear nothing."""
    state = emulator.state
    state.chats.clear()
    state.next_version()
    state.messages_changed.notify()


def page_view(emulator: Emulator, user_id: int) -> dict[str, Any]:
    """The control API's chat view, with what a chat screen needs beyond it: formatting
    entities of each message and the kind of each reply keyboard button."""
    handle = emulator.user(user_id)
    view = chat_view(handle)
    chat = emulator.state.chats.get(user_id)
    stored = chat.messages if chat else {}
    for message in view["messages"]:
        data = stored[message["message_id"]].data if message["message_id"] in stored else {}
        message["entities"] = data.get("entities") or data.get("caption_entities") or []
    markup = (chat.reply_keyboard if chat else None) or {}
    view["reply_buttons"] = [
        [{"text": b.get("text", ""),
          "kind": ("location" if b.get("request_location")
                   else "contact" if b.get("request_contact") else "text")}
         for b in row]
        for row in markup.get("keyboard", [])
    ]
    view["placeholder"] = markup.get("input_field_placeholder")
    return view


def add_playground_routes(
    app: web.Application, emulator: Emulator,
    reset: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve the page from `app` (the emulator's); `reset` wipes and re-seeds the demo."""

    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html",
                                headers={"Cache-Control": "no-cache"})

    async def people(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True, "people": [
            dataclasses.asdict(p) for p in PEOPLE if p.in_panel]})

    async def wait(request: web.Request) -> web.StreamResponse:
        try:
            user_id = int(request.match_info["user_id"])
            after = int(request.query.get("after", "0"))
            timeout = min(float(request.query.get("timeout", "25")), LONG_POLL_MAX)
        except ValueError as error:
            raise web.HTTPBadRequest(text=str(error)) from error
        if user_id not in emulator.state.users:
            raise web.HTTPNotFound(text=f"no user {user_id}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        state = emulator.state
        while True:
            event = state.messages_changed.current()
            changed = state.version > after or emulator.state is not state
            remaining = deadline - loop.time()
            if changed or remaining <= 0 or emulator.stopping:
                return web.json_response({"ok": True, **page_view(emulator, user_id)})
            await wait_event(event, remaining)

    async def do_reset(request: web.Request) -> web.StreamResponse:
        if reset is None:
            return web.json_response({"ok": False, "error": "reset is not available"},
                                     status=404)
        await reset()
        clear_chats(emulator)
        return web.json_response({"ok": True})

    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/_play/people", people)
    app.router.add_get("/_play/users/{user_id}/wait", wait)
    app.router.add_post("/_play/reset", do_reset)
