"""The emulator: an aiohttp server speaking the Bot API on 127.0.0.1 for one bot."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from .control import add_control_routes
from .flood import FloodControl, FloodLimits, SendStats
from .methods import NOT_SUPPORTED, ApiError, BotMethods
from .spec import BotApiSpec, UploadedFile, Validator, load_spec
from .state import (
    ALL_UPDATE_TYPES,
    DEFAULT_ALLOWED_UPDATES,
    CallbackQueryRecord,
    EmulatorState,
    PendingUpdate,
    RequestRecord,
    UserRecord,
    Violation,
    WebhookConfig,
    wait_event,
)
from .users import UserHandle

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:AAEmulatorFakeTokenForLocalTests_00"
DEFAULT_USERNAME = "community_living_room_bot"
TOKEN_RE = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,50}")
# Methods that send a new message and so count against flood limits.
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "sendvoice",
        "sendvideonote",
        "sendmediagroup",
        "sendlocation",
        "sendvenue",
        "sendcontact",
        "sendpoll",
        "senddice",
        "sendsticker",
        "sendinvoice",
        "sendgame",
        "sendpaidmedia",
        "copymessage",
        "copymessages",
        "forwardmessage",
        "forwardmessages",
    }
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _describe(raw: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
    params: dict[str, Any] = dict(raw)
    for name, upload in files.items():
        params[name] = upload.describe()
    return params


def _chat_id_of(raw: dict[str, Any]) -> int | str | None:
    value = raw.get("chat_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    return None


class Emulator:
    """A local Telegram Bot API server for one bot, driven from tests as any user."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = DEFAULT_USERNAME,
        first_name: str = "Community Living Room",
        flood: FloodLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        spec: BotApiSpec | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if not TOKEN_RE.fullmatch(token):
            raise ValueError("token must look like '<digits>:<35 or so letters, digits, _ or ->'")
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the emulator binds loopback addresses only")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self.host = host
        self.clock = clock
        self.spec = spec or load_spec()
        self.validator = Validator(self.spec)
        self.state = EmulatorState()
        # Read self.clock at each call so tests can swap the clock at run time.
        self.flood_control = FloodControl(flood, lambda: self.clock())
        self.methods = BotMethods(self)
        self.violations: list[Violation] = []
        self.requests: list[RequestRecord] = []
        self.webhook: WebhookConfig | None = None
        self._failures: list[_Failure] = []
        self._handles: dict[int, UserHandle] = {}
        self._poll_generation = 0
        self._stopping = False
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.app = self._build_app()

    # --- lifecycle -------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        # 50 MB uploads are legal; allow a little more so Telegram's 413 can be answered.
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot_request)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        add_control_routes(app, self)
        return app

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0 picks a free port); returns base_url."""
        self._stopping = False
        self._runner = web.AppRunner(self.app, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1] if sockets else port
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; wakes long polls so the shutdown is quick."""
        self._stopping = True
        self.state.updates_changed.notify()
        self.state.messages_changed.notify()
        await self._stop_webhook_task()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def stopping(self) -> bool:
        """True while stop() runs; long-poll handlers return early."""
        return self._stopping

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What the bot uses as its API server: it calls f"{base_url}/bot{token}/{method}"."""
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self._port}"

    # --- the bot -------------------------------------------------------------------------

    def bot_user(self, full: bool = False) -> dict[str, Any]:
        """The bot's User object (getMe's fuller form when `full`)."""
        data: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }
        if full:
            data.update(
                can_join_groups=True,
                can_read_all_group_messages=False,
                supports_inline_queries=False,
                can_connect_to_business=False,
                has_main_web_app=False,
            )
        return data

    # --- users -----------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
    ) -> UserHandle:
        """Create (or update and return) a Telegram user; arguments left None keep values."""
        record = self.state.users.get(user_id)
        if record is None:
            record = self.state.users[user_id] = UserRecord(
                id=user_id, first_name=first_name or f"User {user_id}"
            )
        if first_name is not None:
            record.first_name = first_name
        if last_name is not None:
            record.last_name = last_name
        if username is not None:
            record.username = username
        if language_code is not None:
            record.language_code = language_code
        if is_premium is not None:
            record.is_premium = is_premium
        handle = self._handles.get(user_id)
        if handle is None:
            handle = self._handles[user_id] = UserHandle(self, user_id)
        return handle

    @property
    def users(self) -> list[UserHandle]:
        """Handles of all users created so far."""
        return [self.user(user_id) for user_id in self.state.users]

    def unanswered_callback_queries(self) -> list[CallbackQueryRecord]:
        """Button presses the bot never answered with answerCallbackQuery."""
        return [q for q in self.state.callback_queries.values() if not q.answered]

    # --- limits and failure injection -------------------------------------------------------

    @property
    def flood(self) -> FloodLimits | None:
        """Flood limits in force (None: off). Assign to change them at run time."""
        return self.flood_control.limits

    @flood.setter
    def flood(self, limits: FloodLimits | None) -> None:
        self.flood_control.limits = limits

    def send_stats(self) -> SendStats:
        """Peak send rates and the number of 429 answers so far."""
        return self.flood_control.stats()

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` (optionally to `chat_id`) with an error."""
        self._failures.append(
            _Failure(method.lower(), error_code, description, retry_after, chat_id, times)
        )

    def _take_failure(self, method: str, chat_id: int | str | None) -> _Failure | None:
        for failure in self._failures:
            if failure.method != method.lower():
                continue
            if failure.chat_id is not None and failure.chat_id != chat_id:
                continue
            failure.times -= 1
            if failure.times <= 0:
                self._failures.remove(failure)
            return failure
        return None

    @property
    def errors(self) -> list[RequestRecord]:
        """Requests answered with an error (violations and ordinary Telegram errors alike)."""
        return [r for r in self.requests if not r.ok]

    def reset(self) -> None:
        """Forget users, chats, files, updates, records, injected failures and flood history."""
        # End running long polls and waits that watch the old state.
        self.state.updates_changed.notify()
        self.state.messages_changed.notify()
        self.state = EmulatorState()
        self.methods = BotMethods(self)
        self.violations.clear()
        self.requests.clear()
        self._failures.clear()
        self._handles.clear()
        self.flood_control.reset()
        self.webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None

    # --- HTTP: Bot API ---------------------------------------------------------------------

    @staticmethod
    def _envelope(error: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": error.code,
            "description": error.description,
        }
        if error.retry_after is not None:
            body["parameters"] = {"retry_after": error.retry_after}
        return body

    async def _handle_bot_request(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if token != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        try:
            raw, files = await self._read_params(request)
        except ApiError as error:
            self.requests.append(
                RequestRecord(method, {}, None, self.clock(), error.code, error.description)
            )
            return web.json_response(self._envelope(error), status=error.code)
        status, body = await self.dispatch(method, raw, files)
        return web.json_response(body, status=status)

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        """Parameters from the query string and a JSON, form or multipart body."""
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if not request.body_exists:
            return raw, files
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise ApiError(400, "Bad Request: can't parse JSON encoded request body") from error
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON encoded request body must be an object")
            raw.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge as error:
                raise ApiError(413, "Request Entity Too Large") from error
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
        return raw, files

    async def dispatch(
        self, method: str, raw: dict[str, Any], files: dict[str, UploadedFile] | None = None,
        *, in_response: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """Validate and run one Bot API call; returns (HTTP status, JSON body). A call given
        in a webhook's answer is recorded `in_response`."""
        files = files or {}
        record = RequestRecord(method, _describe(raw, files), _chat_id_of(raw), self.clock(),
                               in_response=in_response)
        self.requests.append(record)
        try:
            result = await self._run(method, raw, files, record)
        except ApiError as error:
            record.status = error.code
            record.description = error.description
            if error.violation:
                self._violate(
                    record.method, error.param, error.violation, error.description, record
                )
            if error.code == 429:
                self.flood_control.too_many_requests += 1
            return error.code, self._envelope(error)
        return 200, {"ok": True, "result": result}

    def _violate(
        self, method: str, param: str, problem: str, description: str, record: RequestRecord
    ) -> None:
        violation = Violation(method, param, problem, description, record.params)
        self.violations.append(violation)
        log.warning("Bot API violation: %s", violation)

    async def _run(
        self,
        method: str,
        raw: dict[str, Any],
        files: dict[str, UploadedFile],
        record: RequestRecord,
    ) -> Any:
        canonical = self.spec.canonical_method(method)
        if canonical is None:
            raise ApiError(404, "Not Found", violation="unknown method")
        record.method = canonical
        validated = self.validator.validate(canonical, raw, files)
        if validated.problems:
            for problem in validated.problems:
                self._violate(
                    canonical, problem.param, problem.problem, problem.description, record
                )
            # Telegram stops at the first problem; the emulator records them all.
            raise ApiError(400, validated.problems[0].description)
        params = validated.params
        key = canonical.lower()
        chat_id = params.get("chat_id")
        failure = self._take_failure(canonical, chat_id)
        if failure is not None:
            raise ApiError(failure.error_code, failure.description, failure.retry_after)
        if key in SEND_METHODS and isinstance(chat_id, int):
            paid = bool(params.get("allow_paid_broadcast"))
            retry_after = self.flood_control.check(chat_id, paid=paid)
            if retry_after is not None:
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        if key == "getupdates":
            return await self._get_updates(params)
        if key == "setwebhook":
            return await self._set_webhook(params)
        if key == "deletewebhook":
            return await self._delete_webhook(params)
        if key == "getwebhookinfo":
            return self._webhook_info()
        handler = self.methods.handlers.get(key)
        if handler is None:
            raise ApiError(400, NOT_SUPPORTED, violation="method not implemented by the emulator")
        result = await handler(params)
        if key in SEND_METHODS and isinstance(chat_id, int):
            self.flood_control.record_send(chat_id)
        return result

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        for stored in self.state.files.values():
            if stored.file_path == path:
                return web.Response(
                    body=stored.data, content_type=stored.mime_type or "application/octet-stream"
                )
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    # --- getUpdates ------------------------------------------------------------------------

    def _set_allowed_updates(self, allowed: list[str] | None) -> None:
        if allowed is None:
            return  # "If not specified, the previous setting will be used."
        chosen = {kind for kind in allowed if kind in ALL_UPDATE_TYPES}
        self.state.allowed_updates = frozenset(chosen) if chosen else DEFAULT_ALLOWED_UPDATES

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        # A newer getUpdates terminates the one still waiting, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        state = self.state
        state.updates_changed.notify()
        self._set_allowed_updates(params.get("allowed_updates"))
        if "offset" in params:
            state.confirm_updates(params["offset"])
        limit = params.get("limit", 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0, params.get("timeout", 0))
        while True:
            event = state.updates_changed.current()
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_POLLING)
            if state is not self.state or self._stopping:
                return []
            pending = [u for u in state.updates if u.kind in state.allowed_updates]
            remaining = deadline - loop.time()
            if pending or remaining <= 0:
                return [u.to_api() for u in pending[:limit]]
            await wait_event(event, remaining)

    # --- webhook ---------------------------------------------------------------------------

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params["url"]
        if not url:
            return await self._delete_webhook(params)
        if not url.lower().startswith(("http://", "https://")):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if not _is_loopback(url):
            raise ApiError(
                400,
                "Bad Request: bad webhook: the local emulator delivers only to loopback addresses",
                violation="webhook URL is not a loopback address; the emulator stays local",
                param="url",
            )
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(
                400,
                "Bad Request: secret token contains unallowed characters",
                violation="secret_token may contain only A-Z, a-z, 0-9, _ and -",
                param="secret_token",
            )
        if params.get("drop_pending_updates"):
            self.state.updates.clear()
        self._set_allowed_updates(params.get("allowed_updates"))
        self.webhook = WebhookConfig(
            url=url,
            secret_token=secret,
            max_connections=params.get("max_connections", 40),
            allowed_updates=params.get("allowed_updates"),
        )
        # End a running long poll, which now conflicts with the webhook.
        self._poll_generation += 1
        self.state.updates_changed.notify()
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._webhook_loop())
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self.state.updates.clear()
        await self._stop_webhook_task()
        return True

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
            if self.webhook.last_error_date is not None:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info

    async def _webhook_loop(self) -> None:
        """Deliver queued updates as Telegram does: up to the webhook's max_connections at
        once, but one at a time and in order for each user; failures are retried with
        backoff, and later updates of that user wait behind them."""
        in_flight: dict[int, asyncio.Task[None]] = {}  # update_id → its delivery
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            try:
                while self.webhook is not None and not self._stopping:
                    hook, state = self.webhook, self.state
                    event = state.updates_changed.current()
                    waiting: set[object] = set()  # users with an earlier update undelivered
                    for update in list(state.updates):
                        if len(in_flight) >= hook.max_connections:
                            break
                        who = _sender_of(update)
                        if who in waiting:
                            continue
                        waiting.add(who)
                        if update.update_id not in in_flight:
                            in_flight[update.update_id] = asyncio.create_task(
                                self._deliver_queued(session, hook, update, in_flight))
                    changed = asyncio.ensure_future(event.wait())
                    await asyncio.wait([changed, *in_flight.values()],
                                       return_when=asyncio.FIRST_COMPLETED)
                    changed.cancel()
            finally:
                for task in in_flight.values():
                    task.cancel()
                await asyncio.gather(*in_flight.values(), return_exceptions=True)

    async def _deliver_queued(
        self, session: aiohttp.ClientSession, hook: WebhookConfig, update: PendingUpdate,
        in_flight: dict[int, asyncio.Task[None]],
    ) -> None:
        try:
            if await self._deliver(session, hook, update.to_api()):
                hook.failures = 0
                hook.delivered += 1
                with contextlib.suppress(ValueError):
                    self.state.updates.remove(update)
            else:
                hook.failures += 1
                # Short backoff: a local bot that is restarting comes back quickly.
                await asyncio.sleep(min(0.05 * 2**hook.failures, 2.0))
        finally:
            in_flight.pop(update.update_id, None)

    async def _deliver(
        self, session: aiohttp.ClientSession, hook: WebhookConfig, update: dict[str, Any]
    ) -> bool:
        headers = {}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with session.post(
                hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
            ) as resp:
                if not 200 <= resp.status < 300:
                    hook.last_error_date = int(time.time())
                    hook.last_error_message = (
                        f"Wrong response from the webhook: {resp.status} {resp.reason}"
                    )
                    return False
                call = await self._read_webhook_reply(resp)
        except (aiohttp.ClientError, TimeoutError) as error:
            hook.last_error_date = int(time.time())
            hook.last_error_message = f"Connection failed: {error}"
            return False
        if call is not None:
            # Telegram executes a method call given in the webhook's answer body.
            method, raw, files = call
            await self.dispatch(method, raw, files, in_response=True)
        return True

    @staticmethod
    async def _read_webhook_reply(
        resp: aiohttp.ClientResponse,
    ) -> tuple[str, dict[str, Any], dict[str, UploadedFile]] | None:
        raw: dict[str, Any] = {}
        files: dict[str, UploadedFile] = {}
        if resp.content_type == "application/json":
            with contextlib.suppress(ValueError):
                body = await resp.json()
                if isinstance(body, dict):
                    raw = body
        elif resp.content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader.from_response(resp)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                data = await part.read(decode=True)
                if part.filename:
                    files[part.name] = UploadedFile(
                        part.filename, part.headers.get("Content-Type", ""), bytes(data)
                    )
                else:
                    raw[part.name] = bytes(data).decode("utf-8")
        method = raw.pop("method", None)
        if not isinstance(method, str):
            return None
        return method, raw, files


def _sender_of(update: PendingUpdate) -> object:
    """Whose update it is (updates of one user go out in order), else the update itself."""
    sender = update.payload.get("from")
    if isinstance(sender, dict) and "id" in sender:
        return sender["id"]
    return ("update", update.update_id)


def dumps(value: Any) -> str:
    """JSON as the control API and console print it."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
