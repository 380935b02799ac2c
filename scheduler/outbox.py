"""The outbox dispatcher: sends what `services/outbox.py` queued, within Telegram's limits.

Only what the bot sends on its own initiative comes through here. Replies to a
user's own message or button press are sent directly by the handlers, so they
are never queued behind a broadcast.

How it sends:

    claim (a batch, under a lease) ─▶ local queue ─▶ pacing ─▶ send (a few in flight) ─▶ outcome
           ▲ woken by kick(), the next row's due time, the scheduler's tick        │
           └──────── 429: pause everything, keep the row ◀────────┘

- Claims: the next batch is claimed while the last is being sent (a claim is a
  transaction), when half of it is gone.

- Pacing: one token bucket for all chats (`SendLimits.rate`), and at most one
  message a second to a private chat, 20 a minute to a group (negative chat
  id). Sends start evenly spaced, never in bursts; the time
  comes from a monotonic source that tests may replace, not the wall clock.
- Several requests are in flight at once (`SendLimits.max_in_flight`), enough
  to reach the rate over a slow link; the bucket, not the concurrency, sets
  the pace.
- Outcomes: sent → status sent with Telegram's message_id; 429 → all sending
  pauses for exactly retry_after and the row goes back in the local queue,
  not counted as an attempt; 403 → the user is marked as having blocked the
  bot and all their unsent rows are skipped; 400 (and other answers that will
  never change) → failed with Telegram's description; network errors and 5xx →
  retried with exponential backoff, failed after `max_attempts`.
- Leases are renewed while rows wait here (a long 429 pause, a chat's queue),
  so another sender never takes a row this one still holds. A message may
  still go out twice if this process dies between Telegram's answer and the
  "sent" commit: see the at-least-once note in `services/outbox.py`.
- When the database blinks, outcomes of sends already made stay in memory (at
  most the rows this sender holds) and are written when it is back, with
  backoff; meanwhile nothing new is claimed, and a row whose outcome waits is
  never sent again (its lease is renewed with the others'). A held row whose
  lease ran out during the outage comes back in the next claim: it is
  already queued here, and is not queued twice.
- Cancelled while held: `outbox.cancel` also cancels rows a sender holds. On
  every kick() (the canceller's commit wakes the sender in its own process)
  the sender asks the database which of its rows were cancelled before it
  starts another send, and drops them unsent; on every tick it asks alongside
  the sends (a cancel made in another process). A request already on its way
  is settled as sent, so a report counts it.
- `stop()` lets the requests in flight finish and gives every other held row
  back as pending.

Several processes may run a sender on one PostgreSQL database: claims use
SKIP LOCKED, so each row goes to one of them. The bot's replicas run one, on the
replica that holds the leader lock (scheduler/leader.py), so OUTBOX_RATE is the
bot's whole rate; a second sender would pace itself on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import html
import itertools
import logging
import math
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.config import Settings
from bot.i18n import load_i18n
from bot.when import say_hours, say_moment, say_month, say_time
from models.outbox import MediaKind
from services import outbox, users
from services.clock import Clock
from services.outbox import Claimed
from services.preferences import DEFAULTS, Preferences, parse_quiet_hours
from services.text import cut
from services.titles import pick

log = logging.getLogger(__name__)

# Claims made because a row fell due are at least this far apart (seconds), so rows
# falling due every few milliseconds are claimed in small batches, not one by one.
DUE_GAP = 0.05

# Writing outcomes down while the database is unreachable: first wait, doubling up to the
# last (seconds).
RECORD_BACKOFF = (0.2, 2.0)

LABEL_MAX = 64  # UTF-16 units of a button's label said per recipient

# Telegram's errors that will be the same however often we retry.
PERMANENT = (TelegramBadRequest, TelegramNotFound, TelegramMigrateToChat, TelegramEntityTooLarge)


@dataclass(frozen=True)
class SendLimits:
    """How fast and how persistently the sender works."""

    rate: float = 25.0  # messages a second, all chats together
    paid: bool = False  # Telegram's paid broadcast (allow_paid_broadcast), up to 1000/s
    # Seconds between two messages to one private chat (Telegram: about one a
    # second) and to one group (20 a minute), with a margin so that network
    # jitter never lands two of them inside Telegram's window.
    private_interval: float = 1.1
    group_interval: float = 3.1
    batch_size: int = 0  # rows claimed at a time; 0: see claim_size
    lease: float = 60.0  # seconds a claim holds a row (renewed while it waits here)
    max_attempts: int = 5
    backoff: float = 5.0  # first retry after a network or server error, then doubling…
    backoff_max: float = 600.0  # …up to this
    max_in_flight: int = 0  # requests at once; 0: as many as messages a second (4 to 200)
    horizon: float = 10.0  # rows for a chat that would wait longer than this go back

    @classmethod
    def from_settings(cls, settings: Settings) -> SendLimits:
        paid = settings.outbox_paid_rate > 0
        return cls(
            rate=settings.outbox_paid_rate if paid else settings.outbox_rate, paid=paid,
            batch_size=settings.outbox_batch_size, lease=settings.outbox_lease_seconds,
            max_attempts=settings.outbox_max_attempts,
        )

    @property
    def claim_size(self) -> int:
        """Rows claimed at a time (`batch_size`, or a fifth of a second's sends, at
        least 100): a claim of 500 rows holds the event loop for ~40 ms of Python."""
        return self.batch_size or max(100, math.ceil(self.rate / 5))

    @property
    def burst(self) -> float:
        """Sends the bucket lets out back to back: 10 ms worth, at least one. The
        event loop oversleeps short waits and a claim holds it for a few
        milliseconds; the slack lets the next sends make that up instead of
        losing it (at 1000/s with no slack, a send a millisecond late every
        time halved the rate)."""
        return max(1.0, self.rate / 100)

    @property
    def refill(self) -> float:
        """The bucket's rate: with a burst, 97.5 % of `rate` less the burst, so that
        no second holds more than `rate` sends even as Telegram counts them:
        arrivals, which the network and the server's own pauses bunch by a few
        milliseconds (at 1000/s with 1 % to spare, one second still held 1006)."""
        return 0.975 * self.rate - self.burst if self.burst > 1 else self.rate

    @property
    def in_flight(self) -> int:
        return self.max_in_flight or min(200, max(4, math.ceil(self.rate)))

    def interval(self, chat_id: int) -> float:
        return self.group_interval if chat_id < 0 else self.private_interval

    def backoff_after(self, attempts: int) -> float:
        """Seconds before the next try, after `attempts` earlier failures."""
        return min(self.backoff_max, self.backoff * 2 ** min(attempts, 30))


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; the caller gives the time.

    `reserve` takes a token now and says how long to wait before using it, so
    consecutive sends are spaced 1/rate apart instead of bunched together.
    """

    def __init__(self, rate: float, *, burst: float = 1.0, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now

    def reserve(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class SentText(TelegramObject):
    """A sent text message as the outbox reads Telegram's answer: its id, nothing else.

    aiogram would validate the whole Message (about a hundred fields, most of
    them empty) for every send; at hundreds of sends a second that was a tenth
    of the sender's time. The other fields are kept as they came, unchecked.
    """

    message_id: int


class SendText(SendMessage):
    """sendMessage, answered with a SentText instead of a Message."""

    __returning__ = SentText  # type: ignore[assignment]


class RenderError(Exception):
    """The row cannot be turned into a message (bad params, a missing file)."""


def say(value: Any, *, locale: str, now: datetime | None, escape: bool = True) -> Any:
    """A param as the recipient reads it: moments and spans marked by the services
    (services.outbox.moment/span/numbered) said in their language; texts escaped (not in
    a button's label, which is not HTML)."""
    if isinstance(value, str):
        return html.escape(value) if escape else value
    if not isinstance(value, dict):
        return value
    if "titles" in value:  # a staff-written title (services.outbox.title), in their language
        text = pick(value["title"], value["titles"], locale)
        return html.escape(text) if escape else text
    if "moment" in value:
        return say_moment(datetime.fromisoformat(value["moment"]), value["zone"], now=now,
                          locale=locale)
    if "span" in value:
        zone = ZoneInfo(value["zone"])
        start, end = (datetime.fromisoformat(at).astimezone(zone) for at in value["span"])
        tail = (say_time(end, locale=locale) if end.date() == start.date()
                else say_moment(end, zone, now=now, locale=locale))
        return f"{say_moment(start, zone, now=now, locale=locale)}–{tail}"
    if "phrase" in value:  # the bot's own words (services.outbox.phrase), in their language
        return html.escape(gettext(value["phrase"]))
    if "month" in value:
        year, number = value["month"].split("-")
        return say_month(int(year), int(number), locale=locale)
    if "minutes" in value:
        return say_hours(value["minutes"], locale=locale)
    if "numbered" in value:
        return "\n".join(f"{n}. {say(item, locale=locale, now=now)}"
                         for n, item in enumerate(value["numbered"], start=1))
    return value


def render(
    row: Claimed, i18n: I18n, default_locale: str, *, now: datetime | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and keyboard for one row, in the recipient's language (moments said
    relative to `now`: 今天, 明天)."""
    keyboard = row.keyboard
    if row.key is None:
        assert row.text is not None
        text = row.text
    else:
        locale = row.locale or default_locale
        try:
            with i18n.context(), i18n.use_locale(locale):
                params = {name: say(value, locale=locale, now=now)
                          for name, value in row.params.items()}
            text = i18n.gettext(row.key, locale=locale).format(**params)
        except (KeyError, IndexError, ValueError, TypeError) as error:
            raise RenderError(f"cannot format {row.key!r}: {error!r}") from error
        if keyboard is not None:
            try:
                with i18n.context(), i18n.use_locale(locale):
                    keyboard = {**keyboard, "inline_keyboard": [
                        [_label(button, i18n, locale=locale, now=now) for button in line]
                        for line in keyboard["inline_keyboard"]]}
            except (KeyError, IndexError, ValueError, TypeError) as error:
                raise RenderError(f"cannot label {row.key!r}: {error!r}") from error
    markup = InlineKeyboardMarkup.model_validate(keyboard) if keyboard is not None else None
    return text, markup


def _label(button: dict[str, Any], i18n: I18n, *, locale: str,
           now: datetime | None) -> dict[str, Any]:
    """A button in the recipient's language: its label translated, then formatted with its
    own params (a moment, a title: services.outbox.Outgoing), cut to fit."""
    params = button.get("params")
    out = {name: value for name, value in button.items() if name != "params"}
    label = i18n.gettext(button["text"], locale=locale)
    if params:
        label = label.format(**{name: say(value, locale=locale, now=now, escape=False)
                                for name, value in params.items()})
    out["text"] = cut(label, LABEL_MAX)
    return out


@dataclass
class SenderStats:
    """What this sender did since it started (for logs and tests)."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    blocked: int = 0
    rate_limited: int = 0  # 429 answers
    claims: int = 0
    dropped: int = 0  # held, then cancelled before they were sent


def default_owner() -> str:
    """Who holds a lease: host, process and a random part, so a restart is someone new."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"


class OutboxSender:
    """Claims due outbox rows and sends them; `start()` it once per process."""

    def __init__(
        self,
        *,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        limits: SendLimits,
        default_locale: str,
        default_tz: str,
        owner: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        defaults: Preferences = DEFAULTS,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.limits = limits
        self.default_locale = default_locale
        self.default_tz = default_tz
        self.defaults = defaults  # preferences of users who never set any
        self.owner = owner or default_owner()
        self.stats = SenderStats()
        self._mono = monotonic
        self._i18n = load_i18n(default_locale)
        self._bucket = TokenBucket(limits.refill, burst=limits.burst, now=monotonic())
        self._slots = asyncio.Semaphore(limits.in_flight)
        self._wake = asyncio.Event()
        self._want_more = True
        self._refilling: asyncio.Task[None] | None = None  # a claim under way
        self._due_at: float | None = None  # (monotonic) when the next pending row falls due
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._outcomes: list[outbox.Outcome] = []  # sends done, not yet written down
        self._unsettled: set[int] = set()  # ids of those: never sent again meanwhile
        self._record_failing = False  # the last attempt to write outcomes failed
        self._outcomes_ready = asyncio.Event()
        self._recorder: asyncio.Task[None] | None = None
        self._recorder_closing = False
        self._outcomes_for = limits.lease  # how long stop() tries to write them down
        self._held: dict[int, Claimed] = {}  # claimed and not yet settled
        self._in_flight: set[int] = set()  # of those, the ones whose request has started
        self._recheck = False  # ask the database whether held rows were cancelled
        self._checking: asyncio.Task[None] | None = None  # the tick's check, under way
        self._queue: list[tuple[float, int, int, int, int]] = []  # (ready, -urgent, -prio, seq, id)
        self._seq = itertools.count()
        self._per_chat: dict[int, int] = defaultdict(int)  # held rows per chat
        self._chat_free_at: dict[int, float] = {}  # monotonic time the chat may get the next
        self._paused_until = 0.0
        self._renew_at = 0.0
        self._blocked_users: set[int] = set()
        self._file_ids: dict[int, str] = {}
        self._file_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        owner: str | None = None,
    ) -> OutboxSender:
        return cls(bot=bot, sessionmaker=sessionmaker, clock=clock,
                   limits=SendLimits.from_settings(settings),
                   default_locale=settings.default_locale, default_tz=settings.timezone,
                   owner=owner, defaults=parse_quiet_hours(settings.quiet_hours))

    # --- Control ---------------------------------------------------------------------------

    def kick(self) -> None:
        """Something may be due, or was cancelled: look now, before the next send.
        Pass as `notify=` to the queue and cancel functions."""
        self._want_more = True
        self._recheck = True
        self._wake.set()

    async def tick(self) -> None:
        """The scheduler's interval job (a coroutine, so it runs on the event loop): look
        for rows due, and for held rows cancelled by another process (alongside the sends,
        not holding them up: in this process a cancel kicks, and that check comes first)."""
        self._want_more = True
        self._wake.set()
        if self._checking is None and self._held:
            self._checking = asyncio.create_task(self._check_in_background())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when sending)."""
        return max(0.0, self._paused_until - self._mono())

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = self._recorder_closing = False
        self._task = asyncio.create_task(self._run(), name=f"outbox-sender {self.owner}")
        self._recorder = asyncio.create_task(self._record_loop(),
                                             name=f"outbox-recorder {self.owner}")

    async def stop(self, grace: float = 30.0, *, outcomes_for: float | None = None) -> None:
        """Finish the sends in flight (waiting up to `grace` seconds), write their
        outcomes down (trying for `outcomes_for` seconds if the database refuses;
        default: the lease), give back every other held row, stop."""
        if self._task is None:
            return
        self._outcomes_for = self.limits.lease if outcomes_for is None else outcomes_for
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        if self._refilling is not None:  # its rows are held: given back below
            await self._refilling
        if self._checking is not None:
            await self._checking
        if self._sends:
            _done, unfinished = await asyncio.wait(set(self._sends), timeout=grace)
            for send in unfinished:  # may have reached Telegram: left to the lease
                send.cancel()
            if unfinished:
                await asyncio.wait(unfinished)
        if self._recorder is not None:  # write down the last outcomes
            self._recorder_closing = True
            self._outcomes_ready.set()
            await self._recorder
            self._recorder = None
        waiting = list(self._held)
        if waiting:
            await self._db(outbox.release, owner=self.owner, ids=waiting)
        self._held.clear()
        self._queue.clear()
        self._per_chat.clear()
        log.info("outbox sender %s stopped: %s", self.owner, self.stats)

    # --- The loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._step()
            except Exception:
                log.exception("outbox sender %s: unexpected error; going on in a second",
                              self.owner)
                await self._nap(1.0)

    async def _step(self) -> None:
        now = self._mono()
        if (self._held or self._unsettled) and now >= self._renew_at:
            await self._renew()
        if now < self._paused_until:
            await self._nap_until(self._paused_until)
            return
        if self._due_at is not None and now >= self._due_at:
            self._due_at = None
            self._want_more = True
        if (self._want_more and self._refilling is None and not self._record_failing
                and len(self._held) <= self.limits.claim_size // 2):
            # Claim the next rows while these are sent: a claim is a transaction
            # (tens of milliseconds), and at hundreds a second the sends must not
            # wait for it.
            self._want_more = False
            self._refilling = asyncio.create_task(self._refill())
        if not self._queue:
            # Until the next row falls due; the claim, a finished send or kick()
            # (a row queued) wake it earlier.
            await self._nap_until(self._due_at)
            return
        ready, _urgent, _priority, _seq, row_id = self._queue[0]
        if ready > now:
            await self._nap_until(ready)
            return
        heapq.heappop(self._queue)
        row = self._held.get(row_id)
        if row is None:
            return
        if row.user_id in self._blocked_users:  # their rows are skipped in the database
            self._forget(row)
            return
        free_at = self._chat_free_at.get(row.chat_id, 0.0)
        if free_at > now:
            self._push(row, ready=free_at)
            return
        wait = self._bucket.reserve(now)
        if wait > 0:
            await asyncio.sleep(wait)
        await self._slots.acquire()
        if self._recheck:  # a cancel may have come: no send starts before we know
            self._recheck = False
            await self._drop_revoked()
        if row.id not in self._held:
            self._slots.release()
            return
        if self._stopping or self._mono() < self._paused_until:
            self._slots.release()
            self._push(row, ready=self._paused_until)
            return
        self._chat_free_at[row.chat_id] = self._mono() + self.limits.interval(row.chat_id)
        self._in_flight.add(row.id)
        send = asyncio.create_task(self._send(row))
        self._sends.add(send)
        send.add_done_callback(self._sends.discard)

    async def _nap_until(self, moment: float | None) -> None:
        """Wait until `moment` (None: until there is news), and no later than the next
        lease renewal; kick(), stop() and every finished send wake it early."""
        if self._held:
            moment = self._renew_at if moment is None else min(moment, self._renew_at)
        seconds = None if moment is None else moment - self._mono()
        if seconds is not None and seconds <= 0:
            await asyncio.sleep(0)  # let the sends in flight run
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _nap(self, seconds: float) -> None:
        await self._nap_until(self._mono() + seconds)

    def _push(self, row: Claimed, *, ready: float) -> None:
        heapq.heappush(self._queue, (ready, -int(row.urgent), -row.priority, next(self._seq),
                                     row.id))

    def _forget(self, row: Claimed) -> None:
        if self._held.pop(row.id, None) is not None:
            self._per_chat[row.chat_id] -= 1
            if self._per_chat[row.chat_id] <= 0:
                del self._per_chat[row.chat_id]
        if not self._held:
            self._blocked_users.clear()
        if len(self._chat_free_at) > max(1000, 4 * self.limits.rate):
            # A broadcast sends once to each of 100,000 chats: keep only the chats
            # still inside their interval (about 1.1 s of sends), not one entry per
            # chat ever sent to; pruned every few seconds at most.
            now = self._mono()
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}

    async def _check_in_background(self) -> None:
        try:
            await self._drop_revoked()
        except Exception:
            log.exception("outbox sender %s: checking for cancelled rows failed", self.owner)
        finally:
            self._checking = None

    async def _drop_revoked(self) -> None:
        """Drop the held rows cancelled (or taken from us) since they were claimed; those
        whose request has started are left to be settled."""
        waiting = [row_id for row_id in self._held if row_id not in self._in_flight]
        gone = await self._db(outbox.revoked, owner=self.owner, ids=waiting) or set()
        gone -= self._in_flight | self._unsettled  # started meanwhile: settled as they went
        if not gone:
            return
        for row_id in gone:
            row = self._held.get(row_id)
            if row is not None:
                self._forget(row)
        self.stats.dropped += len(gone)
        log.info("outbox sender %s: dropped %s held rows that were cancelled", self.owner,
                 len(gone))
        await self._db(outbox.release, owner=self.owner, ids=sorted(gone))

    async def _refill(self) -> None:
        try:
            await self._claim()
        except Exception:
            log.exception("outbox sender %s: claiming failed; trying again on the next tick",
                          self.owner)
        finally:
            self._refilling = None
            self._wake.set()

    async def _claim(self) -> None:
        room = self.limits.claim_size - len(self._held)
        claim = await self._db(
            outbox.claim_due, owner=self.owner, now=self.clock.now(), limit=room,
            lease=timedelta(seconds=self.limits.lease), default_tz=self.default_tz,
            defaults=self.defaults,
            max_attempts=self.limits.max_attempts)
        if claim is None:  # the database is unwell: try again on the next tick
            return
        self.stats.claims += 1
        if claim.examined >= room:
            self._want_more = True
        elif claim.next_due is not None:  # wake for it, not at the next tick
            wait = (claim.next_due - self.clock.now()).total_seconds()
            self._due_at = self._mono() + max(wait, DUE_GAP)
        else:
            self._due_at = None
        now = self._mono()
        too_far: dict[float, list[int]] = defaultdict(list)
        for row in claim.rows:
            if row.id in self._unsettled:  # sent already: its outcome is being written
                continue
            if row.id in self._held:  # ours already: its lease ran out while the database
                continue  # was away (queued twice, it went out twice)
            self._blocked_users.discard(row.user_id)  # the claim saw them unblocked
            waiting = self._per_chat[row.chat_id] * self.limits.interval(row.chat_id)
            if waiting > self.limits.horizon:
                too_far[waiting].append(row.id)
                continue
            self._per_chat[row.chat_id] += 1
            self._held[row.id] = row
            self._push(row, ready=now)
        for delay, ids in too_far.items():
            await self._db(outbox.release, owner=self.owner, ids=ids,
                           not_before=self.clock.now() + timedelta(seconds=delay))
        if claim.rows:
            self._renew_at = now + self.limits.lease / 3

    async def _renew(self) -> None:
        self._renew_at = self._mono() + self.limits.lease / 3
        await self._db(outbox.renew, owner=self.owner, ids=[*self._held, *self._unsettled],
                       until=self.clock.now() + timedelta(seconds=self.limits.lease))

    # --- One message -----------------------------------------------------------------------

    async def _send(self, row: Claimed) -> None:
        keep = False
        try:
            message = await self._deliver(row)
        except TelegramRetryAfter as error:
            self.stats.rate_limited += 1
            self._paused_until = max(self._paused_until, self._mono() + error.retry_after)
            log.warning("outbox: 429 from Telegram, pausing all sends for %s s", error.retry_after)
            self._push(row, ready=self._paused_until)
            keep = True
        except TelegramForbiddenError as error:
            await self._user_blocked(row, error.message)
        except (RenderError, *PERMANENT) as error:
            self.stats.failed += 1
            log.warning("outbox: row %s failed for good: %s", row.id, _describe(error))
            self._record(outbox.Failed(row.id, _describe(error)))
        except TelegramAPIError as error:  # network errors, 5xx and the rest: worth retrying
            self._retry(row, _describe(error))
        except Exception as error:  # a bug: don't retry it forever
            log.exception("outbox: row %s could not be sent", row.id)
            self.stats.failed += 1
            self._record(outbox.Failed(row.id, _describe(error)))
        else:
            self.stats.sent += 1
            metrics.OUTBOX_SENT.inc()
            self._record(outbox.Sent(row.id, message.message_id))
        finally:
            self._in_flight.discard(row.id)
            self._slots.release()
            if not keep:
                self._forget(row)
            self._wake.set()  # the loop may be waiting for a slot

    def _retry(self, row: Claimed, error: str) -> None:
        if row.attempts + 1 >= self.limits.max_attempts:
            self.stats.failed += 1
            log.warning("outbox: row %s: %s; giving up after %s attempts", row.id, error,
                        row.attempts + 1)
            self._record(outbox.Failed(row.id, error))
            return
        self.stats.retried += 1
        delay = self.limits.backoff_after(row.attempts)
        log.warning("outbox: row %s: %s; retrying in %g s", row.id, error, delay)
        self._record(outbox.Retry(row.id, self.clock.now() + timedelta(seconds=delay), error))

    def _record(self, outcome: outbox.Outcome) -> None:
        self._outcomes.append(outcome)
        self._unsettled.add(outcome.id)
        self._outcomes_ready.set()

    async def _record_loop(self) -> None:
        """Write outcomes down in batches: whatever finished while the last batch was
        being written goes in the next, so a busy sender writes few transactions.

        A batch the database refuses is kept and tried again, waiting longer each time
        (RECORD_BACKOFF); claims wait meanwhile. Only when stopping does it give up, after
        trying for `stop(outcomes_for=)` seconds (a lease's time unless told): those rows
        are then sent again once their lease runs out.
        """
        wait, longest = RECORD_BACKOFF
        closing_since: float | None = None
        while True:
            await self._outcomes_ready.wait()
            self._outcomes_ready.clear()
            while self._outcomes:
                batch, self._outcomes = self._outcomes, []
                if await self._settle(batch):
                    wait = RECORD_BACKOFF[0]
                    continue
                self._outcomes = batch + self._outcomes
                if self._recorder_closing:
                    closing_since = closing_since or self._mono()
                    if self._mono() - closing_since >= self._outcomes_for:
                        log.error("outbox sender %s: stopping with %s outcomes unwritten; "
                                  "they will be sent again", self.owner, len(self._outcomes))
                        return
                await asyncio.sleep(wait)
                wait = min(wait * 2, longest)
            if self._recorder_closing:
                return

    async def _settle(self, batch: list[outbox.Outcome]) -> bool:
        """Write one batch of outcomes down; False if the database refused."""
        try:
            async with self.sessionmaker() as session:
                await outbox.settle(session, owner=self.owner, now=self.clock.now(),
                                    outcomes=batch)
        except Exception as error:
            if not self._record_failing:
                log.warning("outbox sender %s: cannot write %s outcomes down (%s); keeping "
                            "them and trying again", self.owner, len(batch), error)
            self._record_failing = True
            return False
        self._unsettled.difference_update(outcome.id for outcome in batch)
        if self._record_failing:
            log.info("outbox sender %s: outcomes written again", self.owner)
            self._record_failing = False
            self.kick()  # claims may resume
        return True

    async def _deliver(self, row: Claimed) -> Message | SentText:
        text, markup = render(row, self._i18n, self.default_locale, now=self.clock.now())
        paid = True if self.limits.paid else None
        if row.media is None:
            return await self.bot(SendText(chat_id=row.chat_id, text=text, reply_markup=markup,
                                           allow_paid_broadcast=paid))
        if row.file_id is not None:
            return await self._send_media(row, row.file_id, text, markup, paid)
        assert row.blob_id is not None
        if row.blob_id in self._file_ids:
            return await self._send_media(row, self._file_ids[row.blob_id], text, markup, paid)
        async with self._file_locks[row.blob_id]:  # upload once; the others wait for its id
            if row.blob_id in self._file_ids:
                return await self._send_media(row, self._file_ids[row.blob_id], text, markup,
                                              paid)
            async with self.sessionmaker() as session:
                blob = await outbox.get_file(session, blob_id=row.blob_id)
            if blob is None:
                raise RenderError(f"file {row.blob_id} is gone")
            if blob.file_id:
                self._file_ids[row.blob_id] = blob.file_id
                return await self._send_media(row, blob.file_id, text, markup, paid)
            message = await self._send_media(
                row, BufferedInputFile(blob.data, filename=blob.filename), text, markup, paid)
            file_id = _file_id_of(message)
            if file_id:
                self._file_ids[row.blob_id] = file_id
                await self._db(outbox.remember_file_id, blob_id=row.blob_id, file_id=file_id)
            return message

    async def _send_media(
        self, row: Claimed, media: str | BufferedInputFile, caption: str,
        markup: InlineKeyboardMarkup | None, paid: bool | None,
    ) -> Message:
        if row.media == MediaKind.PHOTO:
            return await self.bot.send_photo(chat_id=row.chat_id, photo=media, caption=caption,
                                             reply_markup=markup, allow_paid_broadcast=paid)
        return await self.bot.send_document(chat_id=row.chat_id, document=media, caption=caption,
                                            reply_markup=markup, allow_paid_broadcast=paid)

    async def _user_blocked(self, row: Claimed, description: str) -> None:
        self.stats.blocked += 1
        metrics.BLOCKED.inc()
        self._blocked_users.add(row.user_id)
        await self._db(users.set_blocked, tg_id=row.chat_id, clock=self.clock, blocked=True)
        await self._db(outbox.skip_user, user_id=row.user_id,
                       reason=f"user blocked the bot ({description})")

    # --- The database ----------------------------------------------------------------------

    async def _db(self, action: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        """Run a service in its own session; a few quick retries, then log and carry on.

        If the outcome of a send cannot be recorded, the row stays "sending" and
        is sent again once its lease runs out: at least once, never lost.
        """
        for attempt in range(3):
            try:
                async with self.sessionmaker() as session:
                    return await action(session, **kwargs)
            except Exception:
                if attempt == 2:
                    log.exception("outbox: %s failed", getattr(action, "__name__", action))
                    return None
                await asyncio.sleep(0.2 * (attempt + 1))
        return None


def _describe(error: BaseException) -> str:
    if isinstance(error, TelegramAPIError):
        return error.message
    return f"{type(error).__name__}: {error}"


def _file_id_of(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id
    if message.document:
        return message.document.file_id
    return None
