"""Flood limits as Telegram applies them to sending bots, and statistics of what was sent.

Telegram documents roughly: one message per second per private chat (short bursts allowed),
20 messages per minute per group, about 30 messages per second overall. Past a limit it
answers 429 "Too Many Requests: retry after N".
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FloodLimits:
    """Limits to enforce; emulation is off unless an instance is given to the emulator."""

    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    group_per_minute: int = 20
    global_per_second: float = 30.0
    global_burst: int = 30
    # allow_paid_broadcast=True sends use this budget instead of the global one.
    paid_per_second: float = 1000.0
    paid_burst: int = 1000


@dataclass
class _Bucket:
    """Token bucket: `rate` tokens a second up to `capacity`."""

    rate: float
    capacity: float
    tokens: float
    last: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is now)."""
        self.refill(now)
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else math.inf


@dataclass
class SendStats:
    """What a test or benchmark wants to know about the bot's sending."""

    total_sends: int
    max_sends_in_one_second: int
    max_per_chat_in_one_second: int
    per_chat_max_in_one_second: dict[int, int] = field(default_factory=dict)
    too_many_requests: int = 0  # 429 answers sent (flood limits and injected failures)


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most timestamps within any half-open window of `window` seconds."""
    best = 0
    start = 0
    ordered = sorted(times)
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class FloodControl:
    """Applies FloodLimits to sends and records every send's time."""

    def __init__(self, limits: FloodLimits | None, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._limits = limits
        self._chat_buckets: dict[int, _Bucket] = {}
        self._group_sends: dict[int, deque[float]] = defaultdict(deque)
        self._global: _Bucket | None = None
        self._paid: _Bucket | None = None
        self.send_times: list[tuple[float, int]] = []  # (monotonic time, chat_id)
        self.too_many_requests = 0

    @property
    def limits(self) -> FloodLimits | None:
        """Current limits; None means no flood emulation."""
        return self._limits

    @limits.setter
    def limits(self, limits: FloodLimits | None) -> None:
        self._limits = limits
        self._chat_buckets.clear()
        self._group_sends.clear()
        self._global = None
        self._paid = None

    def check(self, chat_id: int, paid: bool = False) -> int | None:
        """Admit one send to `chat_id`: None if allowed (and counted), else retry_after seconds.

        `paid` sends (allow_paid_broadcast) draw on the paid budget instead of the global one.
        """
        limits = self._limits
        if limits is None:
            return None
        now = self._clock()
        if self._global is None:
            self._global = _Bucket(
                limits.global_per_second, limits.global_burst, limits.global_burst, now
            )
        if self._paid is None:
            self._paid = _Bucket(limits.paid_per_second, limits.paid_burst, limits.paid_burst, now)
        overall = self._paid if paid else self._global
        waits = [overall.wait_time(now)]
        if chat_id < 0:
            sends = self._group_sends[chat_id]
            while sends and now - sends[0] >= 60.0:
                sends.popleft()
            if len(sends) >= limits.group_per_minute:
                waits.append(60.0 - (now - sends[0]))
        else:
            bucket = self._chat_buckets.get(chat_id)
            if bucket is None:
                bucket = self._chat_buckets[chat_id] = _Bucket(
                    limits.per_chat_per_second, limits.per_chat_burst, limits.per_chat_burst, now
                )
            waits.append(bucket.wait_time(now))
        wait = max(waits)
        if wait > 0:
            # Telegram rounds up to whole seconds; waiting that long always succeeds.
            return max(1, math.ceil(wait))
        overall.tokens -= 1
        if chat_id < 0:
            self._group_sends[chat_id].append(now)
        else:
            self._chat_buckets[chat_id].tokens -= 1
        return None

    def record_send(self, chat_id: int) -> None:
        """Remember a successful send for statistics."""
        self.send_times.append((self._clock(), chat_id))

    def stats(self) -> SendStats:
        """Peak rates over all recorded sends."""
        by_chat: dict[int, list[float]] = defaultdict(list)
        for t, chat_id in self.send_times:
            by_chat[chat_id].append(t)
        per_chat = {chat_id: _max_in_window(times) for chat_id, times in by_chat.items()}
        return SendStats(
            total_sends=len(self.send_times),
            max_sends_in_one_second=_max_in_window([t for t, _ in self.send_times]),
            max_per_chat_in_one_second=max(per_chat.values(), default=0),
            per_chat_max_in_one_second=per_chat,
            too_many_requests=self.too_many_requests,
        )

    def reset(self) -> None:
        """Forget buckets and statistics."""
        self.limits = self._limits
        self.send_times.clear()
        self.too_many_requests = 0
