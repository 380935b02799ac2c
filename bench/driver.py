"""Simulated users: scripted sessions pushed into the emulator, and the replies timed.

A step's latency is from the moment the driver queues the user's update in the
emulator to the moment the bot's reply (the send or edit request for that chat that
contains the step's expected words) reaches the emulator, both on the emulator's
monotonic clock. Then the next button is on screen and the user may go on.

One watcher task reads the emulator's request log for every simulated user: waking
thousands of waiters on each message, as `UserHandle.wait_for` does, would make the
driver, not the bot, the bottleneck.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.bare_bot import BUTTON
from bench.common import REPLY_METHODS
from emulator import ButtonNotFound, Emulator, UserHandle
from emulator.state import wait_event

STOP_WITHIN = 10.0  # seconds ReplyWatch.stop() gives the cancelled watcher to end


@dataclass(frozen=True)
class Step:
    """One user action: `send` a text, `press` an inline button, tap a `reply` button."""

    kind: str
    arg: str
    expect: str


@dataclass
class _Wait:
    chat_id: int
    expect: str
    pushed: float
    future: asyncio.Future[float] = field(default_factory=lambda: asyncio.get_running_loop()
                                          .create_future())


class ReplyWatch:
    """Matches the emulator's incoming bot requests to the users waiting for a reply."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self._cursor = len(emulator.requests)
        self._waiting: dict[int, _Wait] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop watching; raises if the watcher had failed, or ignores being stopped (it
        once did: a cancellation lost in `wait_event` kept it polling and the run hung)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_WITHIN)
        if not done:
            raise RuntimeError(f"the reply watcher did not stop within {STOP_WITHIN:g} s "
                               f"of being cancelled ({len(self._waiting)} replies awaited)")
        if not task.cancelled() and task.exception() is not None:
            raise RuntimeError("the reply watcher failed") from task.exception()

    def expect(self, chat_id: int, expect: str) -> _Wait:
        wait = _Wait(chat_id, expect, self.emu.clock())
        self._waiting[chat_id] = wait
        return wait

    def forget(self, chat_id: int) -> None:
        self._waiting.pop(chat_id, None)

    def _scan(self) -> None:
        requests = self.emu.requests
        end = len(requests)
        for record in itertools.islice(requests, self._cursor, end):
            wait = self._waiting.get(record.chat_id) if isinstance(record.chat_id, int) else None
            if wait is None or record.method not in REPLY_METHODS or not record.ok:
                continue
            content = str(record.params.get("text") or record.params.get("caption") or "")
            if wait.expect in content:
                del self._waiting[wait.chat_id]
                if not wait.future.done():
                    wait.future.set_result(record.time)
        self._cursor = end

    async def _run(self) -> None:
        while True:
            event = self.emu.state.messages_changed.current()
            self._scan()
            await wait_event(event, 0.05)


@dataclass
class Tally:
    """What a run did: latencies (seconds) of answered steps, and what went wrong."""

    latencies: list[float] = field(default_factory=list)
    done: int = 0
    timeouts: int = 0
    missing_buttons: int = 0
    sent: int = 0


class Users:
    """Fresh simulated users, `first_id`, `first_id + 1`, …, each with a scripted session."""

    def __init__(self, emulator: Emulator, watch: ReplyWatch, script: list[Step],
                 *, first_id: int, timeout: float) -> None:
        self.emu = emulator
        self.watch = watch
        self.script = script
        self.ids: Iterator[int] = itertools.count(first_id)
        self.timeout = timeout
        self.tally = Tally()

    def new(self) -> UserHandle:
        user_id = next(self.ids)
        return self.emu.user(user_id, f"U{user_id}", language_code="en")

    async def act(self, user: UserHandle, step: Step) -> _Wait | None:
        """Do one step; None if its button is not on screen (the last reply went wrong)."""
        wait = self.watch.expect(user.id, step.expect)
        try:
            if step.kind == "send":
                await user.send(step.arg)
            elif step.kind == "press":
                await user.press_text(step.arg)
            else:
                await user.press_reply(step.arg)
        except ButtonNotFound:
            self.watch.forget(user.id)
            self.tally.missing_buttons += 1
            return None
        wait.pushed = self.emu.clock()
        self.tally.sent += 1
        return wait

    async def finish(self, wait: _Wait) -> bool:
        """Wait for the step's reply; record its latency."""
        try:
            await asyncio.wait_for(asyncio.shield(wait.future), self.timeout)
        except TimeoutError:
            self.watch.forget(wait.chat_id)
            self.tally.timeouts += 1
            return False
        self.tally.latencies.append(wait.future.result() - wait.pushed)
        self.tally.done += 1
        return True

    async def closed_loop(self, stop_at: float) -> None:
        """One simulated person after another, each waiting for every reply, until
        `stop_at` (emulator clock)."""
        while self.emu.clock() < stop_at:
            user = self.new()
            for step in self.script:
                if self.emu.clock() >= stop_at:
                    return
                wait = await self.act(user, step)
                if wait is None or not await self.finish(wait):
                    break

    async def open_loop(self, rate: float, seconds: float) -> None:
        """Updates at `rate` a second on a fixed schedule, whether or not the bot keeps up.

        Each update is the next step of a user whose previous reply has arrived (a new
        user when none is ready), so the schedule never waits for the bot.
        """
        ready: deque[tuple[UserHandle, int]] = deque()
        pending: set[asyncio.Task[None]] = set()

        async def one(user: UserHandle, index: int) -> None:
            wait = await self.act(user, self.script[index])
            if wait is not None and await self.finish(wait) and index + 1 < len(self.script):
                ready.append((user, index + 1))

        start = self.emu.clock()
        for n in range(int(rate * seconds)):
            delay = start + n / rate - self.emu.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            user, index = ready.popleft() if ready else (self.new(), 0)
            task = asyncio.create_task(one(user, index))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(set(pending))


COMMUNITY = "Sunny Court"
COURSE = "Phone photos for beginners"


def bare_script(length: int = 10) -> list[Step]:
    """The echo bot, half messages and half button presses."""
    steps = []
    for n in range(length // 2):
        steps.append(Step("send", f"hello {n}", f"echo: hello {n}"))
        steps.append(Step("press", BUTTON, "echo: again"))
    return steps
