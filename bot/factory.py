"""Building the bot and its dispatcher; everything a handler needs is injected here."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar, cast
from urllib.parse import urlencode

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import Response
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BotCommand, InputFile, Update
from aiogram.utils.i18n import gettext as _
from aiohttp import FormData
from aiohttp.payload import BytesPayload
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolResetState

from bot.config import TELEGRAM_API_URL, Settings, dev_clock_enabled
from bot.i18n import load_i18n
from bot.keyboards.outbox import OUTBOX_KEYBOARDS, OutboxKeyboards
from bot.logs import UpdateContextMiddleware
from bot.metrics import DB_STATEMENTS, UNREADABLE, ApiMetricsMiddleware, UpdateMetricsMiddleware
from bot.middlewares import (
    DbSessionMiddleware,
    FloodMiddleware,
    LocaleMiddleware,
    RefusalMiddleware,
    UserMiddleware,
)
from bot.middlewares.buttons import ForgedButtonMiddleware
from bot.middlewares.private import PrivateChatMiddleware
from bot.middlewares.retry import ExpiredQueryMiddleware, RetryAfterMiddleware
from bot.routing import route_early
from handlers import routers
from models.db import rolls_back_on_return
from models.users import LOCALES
from services.clock import Clock

log = logging.getLogger(__name__)


def create_bot(
    settings: Settings, *, token: str, api_url: str | None = None, interactive: bool = True
) -> Bot:
    """An aiogram Bot talking to Telegram, or to any Bot API server (the emulator).

    An `interactive` bot (the one answering people) waits out short 429s; the
    outbox sender's bot is not interactive: it paces itself and handles 429s.
    """
    url = api_url or settings.telegram_api_url
    if url == TELEGRAM_API_URL:
        session = LeanSession()
    else:
        session = LeanSession(api=TelegramAPIServer.from_base(url))
    session.middleware(ApiMetricsMiddleware())
    if interactive:
        session.middleware(RetryAfterMiddleware())
        session.middleware(ExpiredQueryMiddleware())
    return Bot(token=token, session=session,
               default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def skip_unreadable(body: object, error: ValidationError) -> object:
    """Log and count an update aiogram cannot parse (polling skips it, the webhook
    answers 200 for it); returns its update_id, if it has one."""
    update_id = body.get("update_id") if isinstance(body, dict) else None
    UNREADABLE.inc()
    log.error("update %s cannot be read, skipped: %s", update_id,
              error.errors(include_url=False, include_input=False))
    return update_id


class LeanSession(AiohttpSession):
    """aiogram's aiohttp session, without two costs found profiling broadcasts.

    - It holds on to each `Response[T]` it checks answers with: pydantic caches
      that generic model weakly, so without this it is built anew after every
      garbage collection (see `bot/aiogram_costs.py`). A successful answer is
      parsed by pydantic straight from the JSON text.
    - A request with no file to upload is sent as a plain urlencoded body. aiohttp's
      FormData, which aiogram uses for every request, sets up a multipart writer
      (and a random boundary) even when it then sends the same urlencoded body.

    And one fault: an update it cannot parse is skipped instead of stalling polling.
    (orjson for aiogram's json_loads/json_dumps was tried and dropped: no measurable
    change in the bot's CPU per update, BENCHMARKS.md, issue 18.)
    """

    _pinned: ClassVar[dict[Any, type[Response[Any]]]] = {}
    unreadable_updates = 0  # updates skipped because they could not be parsed

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        response_type = self._pinned.get(returning)
        if response_type is None:
            response_type = self._pinned[returning] = Response[returning]  # type: ignore[valid-type]
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            # pydantic parses the JSON itself, in one pass, instead of json.loads and
            # then a walk over the dicts (a third of this method's time).
            try:
                response = response_type.model_validate_json(content, context={"bot": bot})
            except ValidationError:
                if isinstance(method, GetUpdates):
                    readable = self._readable_updates(bot, content)
                    if readable is not None:
                        return cast(Response[TelegramType], readable)
                # else aiogram's check below raises its own error for it
            else:
                if response.ok:
                    return response
        return super().check_response(bot, method, status_code, content)

    def _readable_updates(self, bot: Bot, content: str) -> Response[list[Update]] | None:
        """A batch of updates with the ones aiogram cannot read left out.

        Otherwise one such update (a field of a newer Bot API, a malformed one) fails
        the whole batch, and polling asks for the same offset for ever: nobody is
        answered again. Each unreadable one is logged with its id, counted in
        `unreadable_updates`, and stands in the batch as an empty update, so the
        offset moves past it (the dispatcher drops an update with no event).
        """
        try:
            answer = json.loads(content)
        except ValueError:
            return None
        if not isinstance(answer, dict) or answer.get("ok") is not True or \
                not isinstance(answer.get("result"), list):
            return None
        updates = []
        for item in answer["result"]:
            try:
                updates.append(Update.model_validate(item, context={"bot": bot}))
            except ValidationError as error:
                update_id = skip_unreadable(item, error)
                self.unreadable_updates += 1
                if isinstance(update_id, int):
                    updates.append(Update(update_id=update_id))
        return Response[list[Update]](ok=True, result=updates)

    def build_form_data(  # type: ignore[override]
        self, bot: Bot, method: TelegramMethod[TelegramType]
    ) -> FormData | BytesPayload:
        files: dict[str, InputFile] = {}
        fields = {}
        for key, value in method.model_dump(warnings=False).items():
            value = self.prepare_value(value, bot=bot, files=files)
            if value:  # as aiogram: empty and unset values are left out
                fields[key] = value
        if files:
            return super().build_form_data(bot, method)
        return BytesPayload(urlencode(fields, doseq=True).encode(),  # as aiohttp does
                            content_type="application/x-www-form-urlencoded")


class LeanMemoryStorage(MemoryStorage):
    """aiogram's in-memory FSM storage, keeping a record only while it holds something.

    aiogram's keeps one for every chat whose state was ever read (a defaultdict),
    that is for everyone who ever wrote to the bot, for as long as it runs.
    """

    async def get_state(self, key: StorageKey) -> str | None:
        record = self.storage.get(key)
        return record.state if record is not None else None

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = self.storage.get(key)
        return record.data.copy() if record is not None else {}

    async def get_value(self, storage_key: StorageKey, dict_key: str,
                        default: Any | None = None) -> Any | None:
        if storage_key not in self.storage:
            return default
        return await super().get_value(storage_key, dict_key, default)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await super().set_state(key, state)
        self._forget_if_empty(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await super().set_data(key, data)
        self._forget_if_empty(key)

    def _forget_if_empty(self, key: StorageKey) -> None:
        record = self.storage.get(key)
        if record is not None and record.state is None and not record.data:
            del self.storage[key]


def create_storage(settings: Settings) -> BaseStorage:
    """FSM storage: Redis when configured (several replicas), memory otherwise.

    Redis keys start with `clr:fsm:<bot id>:`, so bots sharing one Redis keep apart.
    """
    if settings.redis_url:
        from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

        return RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(prefix="clr:fsm", with_bot_id=True))
    return LeanMemoryStorage()


def shared_redis(storage: BaseStorage) -> Redis | None:
    """The Redis client behind a Redis FSM storage (the flood limit shares it)."""
    from aiogram.fsm.storage.redis import RedisStorage

    return storage.redis if isinstance(storage, RedisStorage) else None


def bot_id_of(settings: Settings) -> str:
    """The bot's id, from its token (the emulator's bot has none in the settings)."""
    if settings.bot_token is None:
        return "emulator"
    return settings.bot_token.get_secret_value().partition(":")[0]


def _run_sync_filters_inline(dp: Dispatcher) -> None:
    """Evaluate plain (non-async) filters in the event loop instead of a thread.

    aiogram runs every synchronous filter through asyncio.to_thread, and magic
    filters such as F.text are synchronous: a message tried against all routers
    made dozens of thread hops, most of the bot's time per update (measured
    with cProfile, see BENCHMARKS.md). Our sync filters are tiny pure checks,
    never I/O, so they run inline.
    """
    for router in dp.chain_tail:
        for observer in router.observers.values():
            for handler in observer.handlers:
                for event_filter in handler.filters or ():
                    if not event_filter.awaitable:
                        event_filter.callback = _inline(event_filter.callback)
                        event_filter.awaitable = True


def _inline(check: Callable[..., Any]) -> Callable[..., Any]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    run.__wrapped__ = check  # type: ignore[attr-defined]  # bot.routing reads the original
    return run


def _count_statements(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Count the round trips to the bot's database (`bot_db_statements_total`): every
    statement, every commit and rollback, and the pool's reset of a connection given
    back (each a thread hop with aiosqlite, a network round trip with PostgreSQL)."""
    engine = sessionmaker.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or event.contains(
            engine.sync_engine, "before_cursor_execute", _counted):
        return
    for name in ("before_cursor_execute", "commit", "rollback"):
        event.listen(engine.sync_engine, name, _counted)
    sync_engine = engine.sync_engine

    def counted_reset(dbapi: Any, _record: Any, state: PoolResetState) -> None:
        if rolls_back_on_return(sync_engine, dbapi, state):
            DB_STATEMENTS.count += 1

    # first among the reset listeners: SQLite's (models/db.py) does the rollback it counts
    event.listen(sync_engine.pool, "reset", counted_reset, insert=True)


def _counted(*_args: Any) -> None:
    DB_STATEMENTS.count += 1


def _attach(dp: Dispatcher, router: Router) -> None:
    # Handler modules keep one router each; a process that builds several
    # dispatchers (the tests) must take it back from the previous one first.
    previous = router.parent_router
    if previous is not None:
        previous.sub_routers.remove(router)
        router._parent_router = None
    dp.include_router(router)


def create_dispatcher(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    storage: BaseStorage | None = None,
    outbox_notify: Callable[[], None] = lambda: None,
    keyboards: OutboxKeyboards = OUTBOX_KEYBOARDS,
    **deps: Any,
) -> Dispatcher:
    """The dispatcher with its middlewares and routers; `deps` reach every handler.

    `outbox_notify` wakes the outbox sender; handlers pass it to the services
    that queue messages, so those go out right after the commit; `keyboards` are the
    buttons those messages carry.
    """
    i18n = load_i18n(settings.default_locale)
    storage = storage or create_storage(settings)
    dp = Dispatcher(storage=storage, settings=settings,
                    sessionmaker=sessionmaker, clock=clock, outbox_notify=outbox_notify,
                    keyboards=keyboards, **deps)
    # Outer middlewares on the update run in this order for every event. The first two
    # only watch (the update's id for log lines; the metrics); the next keeps groups and
    # channels out, before anything reads or writes a person's rows.
    dp.update.outer_middleware(UpdateContextMiddleware())
    dp.update.outer_middleware(UpdateMetricsMiddleware())
    dp.update.outer_middleware(PrivateChatMiddleware(i18n))
    dp.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    dp.update.outer_middleware(UserMiddleware())
    dp.update.outer_middleware(LocaleMiddleware(i18n))
    dp.update.outer_middleware(FloodMiddleware(
        rate=settings.flood_rate, window=settings.flood_window_seconds, clock=clock,
        redis=shared_redis(storage), prefix=f"clr:flood:{bot_id_of(settings)}"))
    dp.update.outer_middleware(RefusalMiddleware(dp))
    dp.callback_query.outer_middleware(ForgedButtonMiddleware())
    for router in routers(dev_clock=dev_clock_enabled(settings)):
        _attach(dp, router)
    route_early(dp)
    _run_sync_filters_inline(dp)
    _count_statements(sessionmaker)
    return dp


async def set_commands(bot: Bot, settings: Settings) -> None:
    """The command menu and the bot's description in Telegram's UI, in each language: a
    person sees what the bot is (the description, on the empty chat before START; the
    short one on its profile and when shared) in their own language."""
    i18n = load_i18n(settings.default_locale)
    for locale in LOCALES:
        with i18n.context(), i18n.use_locale(locale):
            commands = [
                BotCommand(command="menu", description=_("Main menu")),
                BotCommand(command="help", description=_("How to use this bot")),
                BotCommand(command="cancel", description=_("Stop what you are doing")),
                BotCommand(command="language", description=_("Language / 语言")),
                BotCommand(command="privacy", description=_("What we keep about you")),
                BotCommand(command="mydata", description=_("Get all your data")),
                BotCommand(command="deleteme", description=_("Erase your data")),
            ]
            description = _(
                "Your community's living room in Telegram: order a course you'd like to "
                "learn and enrol in classes, volunteer for a shift, tell the community staff "
                "about a problem or an idea, and answer polls. Press START to begin.")
            short = _("Courses, volunteering and your voice in your community.")
        language = None if locale == settings.default_locale else locale
        await bot.set_my_commands(commands, language_code=language)
        await bot.set_my_description(description, language_code=language)
        await bot.set_my_short_description(short, language_code=language)
