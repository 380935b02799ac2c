"""HTTP JSON control API under /_emu/: act as users and inspect the emulator over HTTP.

For people with curl, the terminal console, a browser playground, and processes that do
not own the emulator object. It mirrors the Python API of Emulator and UserHandle.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from .flood import FloodLimits, SendStats
from .spec import BotApiSpec
from .state import (
    CallbackQueryRecord,
    EmulatorState,
    RequestRecord,
    Violation,
    WebhookConfig,
    wait_event,
)
from .users import ButtonNotFound, EmulatorError, UserHandle


class ControlHost(Protocol):
    """What the control API needs of the Emulator it serves."""

    flood: FloodLimits | None

    @property
    def state(self) -> EmulatorState: ...

    @property
    def base_url(self) -> str: ...

    @property
    def token(self) -> str: ...

    @property
    def spec(self) -> BotApiSpec: ...

    @property
    def webhook(self) -> WebhookConfig | None: ...

    @property
    def stopping(self) -> bool: ...

    @property
    def violations(self) -> list[Violation]: ...

    @property
    def requests(self) -> list[RequestRecord]: ...

    def bot_user(self, full: bool = False) -> dict[str, Any]: ...

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> UserHandle: ...

    def send_stats(self) -> SendStats: ...

    def unanswered_callback_queries(self) -> list[CallbackQueryRecord]: ...

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None: ...

    def reset(self) -> None: ...

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(**data: Any) -> web.Response:
    return web.json_response({"ok": True, **data}, dumps=_dumps)


def _fail(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError as error:
        raise web.HTTPBadRequest(text="request body must be JSON") from error
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="request body must be a JSON object")
    return body


def chat_view(handle: UserHandle) -> dict[str, Any]:
    """Everything a chat window shows for one user."""
    record = handle.record
    return {
        "user": dataclasses.asdict(record),
        "messages": [m.to_json() for m in handle.chat],
        "reply_keyboard": handle.reply_keyboard,
        "callback_answers": [dataclasses.asdict(a) for a in handle.callback_answers],
        "version": handle.emu.state.version,
    }


def add_control_routes(app: web.Application, emu: ControlHost) -> None:
    """Register the /_emu/ routes for `emu` on `app`."""

    def handle_of(request: web.Request) -> UserHandle:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError as error:
            raise web.HTTPNotFound(text="user id must be an integer") from error
        if user_id not in emu.state.users:
            raise web.HTTPNotFound(text=f"no user {user_id}; POST /_emu/users first")
        return emu.user(user_id)

    def user_action(
        action: Callable[[UserHandle, dict[str, Any]], Awaitable[dict[str, Any]]],
    ) -> Route:
        async def route(request: web.Request) -> web.StreamResponse:
            handle = handle_of(request)
            body = await _body(request)
            try:
                result = await action(handle, body)
            except ButtonNotFound as error:
                return _fail(404, str(error))
            except EmulatorError as error:
                return _fail(409, str(error))
            except (KeyError, TypeError, ValueError) as error:
                return _fail(400, f"bad request body: {error!r}")
            return _ok(**result)

        return route

    async def info(request: web.Request) -> web.StreamResponse:
        return _ok(
            base_url=emu.base_url,
            token=emu.token,
            bot=emu.bot_user(full=True),
            api_version=emu.spec.version,
            webhook=emu.webhook.url if emu.webhook else None,
            pending_updates=len(emu.state.updates),
        )

    async def list_users(request: web.Request) -> web.StreamResponse:
        return _ok(users=[dataclasses.asdict(u) for u in emu.state.users.values()])

    async def create_user(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        try:
            handle = emu.user(
                int(body["id"]),
                body.get("first_name"),
                last_name=body.get("last_name"),
                username=body.get("username"),
                language_code=body.get("language_code"),
            )
        except (KeyError, TypeError, ValueError) as error:
            return _fail(400, f"need at least {{'id': <int>}}: {error!r}")
        return _ok(user=dataclasses.asdict(handle.record))

    async def get_chat(request: web.Request) -> web.StreamResponse:
        return _ok(**chat_view(handle_of(request)))

    async def wait_chat(request: web.Request) -> web.StreamResponse:
        """Long poll: answer once anything changed after version `after` (or at timeout)."""
        handle = handle_of(request)
        after = int(request.query.get("after", "0"))
        timeout = min(float(request.query.get("timeout", "25")), 60.0)
        deadline = asyncio.get_running_loop().time() + timeout
        state = emu.state
        while True:
            event = state.messages_changed.current()
            remaining = deadline - asyncio.get_running_loop().time()
            changed = state.version > after or emu.state is not state
            if changed or remaining <= 0 or emu.stopping:
                return _ok(**chat_view(handle))
            await wait_event(event, remaining)

    async def send(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        return {"message": (await handle.send(str(body["text"]))).to_json()}

    async def press(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        if "callback_data" in body:
            query_id = await handle.press(int(body["message_id"]), str(body["callback_data"]))
        else:
            query_id = await handle.press_text(str(body["text"]))
        return {"callback_query_id": query_id}

    async def press_reply(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        return {"message": (await handle.press_reply(str(body["text"]))).to_json()}

    async def contact(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        return {"message": (await handle.share_contact(body.get("phone"))).to_json()}

    async def location(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        message = await handle.send_location(float(body["latitude"]), float(body["longitude"]))
        return {"message": message.to_json()}

    async def photo(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        data = base64.b64decode(body["data_base64"]) if body.get("data_base64") else None
        return {"message": (await handle.send_photo(data, body.get("caption"))).to_json()}

    async def document(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        message = await handle.send_document(
            base64.b64decode(body["data_base64"]),
            body.get("file_name", "document.pdf"),
            body.get("mime_type"),
            body.get("caption"),
        )
        return {"message": message.to_json()}

    async def block(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        handle.block()
        return {"blocked": True}

    async def unblock(handle: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
        handle.unblock()
        return {"blocked": False}

    async def violations(request: web.Request) -> web.StreamResponse:
        return _ok(violations=[dataclasses.asdict(v) for v in emu.violations])

    async def requests(request: web.Request) -> web.StreamResponse:
        limit = int(request.query.get("limit", "100"))
        return _ok(requests=[dataclasses.asdict(r) for r in emu.requests[-limit:]])

    async def stats(request: web.Request) -> web.StreamResponse:
        return _ok(
            stats=dataclasses.asdict(emu.send_stats()),
            unanswered_callback_queries=[
                dataclasses.asdict(q) for q in emu.unanswered_callback_queries()
            ],
        )

    async def file(request: web.Request) -> web.StreamResponse:
        stored = emu.state.files.get(request.match_info["file_id"])
        if stored is None:
            return _fail(404, "no such file_id")
        headers = {}
        if stored.file_name:
            headers["Content-Disposition"] = f'attachment; filename="{stored.file_name}"'
        return web.Response(
            body=stored.data,
            content_type=stored.mime_type or "application/octet-stream",
            headers=headers,
        )

    async def reset(request: web.Request) -> web.StreamResponse:
        emu.reset()
        return _ok()

    async def flood(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        limits = body.get("limits")
        try:
            emu.flood = FloodLimits(**limits) if isinstance(limits, dict) else None
        except TypeError as error:
            return _fail(400, str(error))
        return _ok(limits=dataclasses.asdict(emu.flood) if emu.flood else None)

    async def fail_next(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        try:
            emu.fail_next(
                str(body["method"]),
                int(body["error_code"]),
                str(body["description"]),
                retry_after=body.get("retry_after"),
                chat_id=body.get("chat_id"),
                times=int(body.get("times", 1)),
            )
        except (KeyError, TypeError, ValueError) as error:
            return _fail(400, f"need method, error_code, description: {error!r}")
        return _ok()

    actions: dict[str, Callable[[UserHandle, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
        "send": send,
        "press": press,
        "press_reply": press_reply,
        "contact": contact,
        "location": location,
        "photo": photo,
        "document": document,
        "block": block,
        "unblock": unblock,
    }
    router = app.router
    router.add_get("/_emu", info)
    router.add_get("/_emu/", info)
    router.add_get("/_emu/users", list_users)
    router.add_post("/_emu/users", create_user)
    router.add_get("/_emu/users/{user_id}", get_chat)
    router.add_get("/_emu/users/{user_id}/chat", get_chat)
    router.add_get("/_emu/users/{user_id}/wait", wait_chat)
    for name, action in actions.items():
        router.add_post(f"/_emu/users/{{user_id}}/{name}", user_action(action))
    router.add_get("/_emu/violations", violations)
    router.add_get("/_emu/requests", requests)
    router.add_get("/_emu/stats", stats)
    router.add_get("/_emu/files/{file_id}", file)
    router.add_post("/_emu/reset", reset)
    router.add_post("/_emu/flood", flood)
    router.add_post("/_emu/fail_next", fail_next)
