"""The benchmarks still run: the whole suite once, as small as it gets (no bare aiogram).

Figures are only checked for being there and sane; never a duration or a rate.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("psutil")

from bench import suite
from bench.common import Options
from bench.driver import ReplyWatch
from emulator import Emulator

pytestmark = pytest.mark.e2e


async def test_the_benchmarks_run_end_to_end(tmp_path: Path) -> None:
    options = Options(quick=True, db=None, workdir=tmp_path, limit=200.0, concurrency=5)
    seen: list[dict[str, Any]] = []
    results = await suite.run(options, suite.TINY, seen.append)
    assert results == seen
    by_bench: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        assert "setup" in result and result["setup"]["database"] == "sqlite"
        by_bench.setdefault(result["bench"], []).append(result)
    assert sorted(by_bench) == ["broadcast", "memory", "reminders", "scaling", "throughput"]

    (load,) = by_bench["throughput"]
    assert load["updates"] > 0 and load["timeouts"] == 0 and load["missing_buttons"] == 0
    assert load["p50_ms"] is not None and load["p99_ms"] >= load["p50_ms"]
    assert "courses" in load["workload"]
    # issue 18's per-update figures: the bot's own counters and the emulator's count
    assert load["cpu_ms_per_update"] > 0 and load["api_calls_per_update"] >= 1
    assert 1 <= load["handlers_tried_per_update"] <= 10
    assert load["db_statements_per_update"] > 0
    for measured in (load, *by_bench["broadcast"], *by_bench["reminders"]):
        assert 0.0 <= measured["cpu_steal_percent"] <= 100.0
    for sent in by_bench["broadcast"]:
        assert sent["lost"] == 0 and sent["duplicates"] == 0
        assert sent["outbox_rows_per_recipient"] == 1.0
        assert sent["max_per_second"] >= 1
    assert [s["residents_in_db"] for s in by_bench["scaling"]] == list(suite.TINY.tiers)
    (due,) = by_bench["reminders"]
    assert due["lost"] == 0 and due["duplicates"] == 0 and due["claimed_early"] == 0
    assert due["claim_lateness_p50_s"] is not None
    assert due["claim_lateness_p50_s"] <= due["delivery_lateness_p50_s"]
    (rss,) = by_bench["memory"]
    assert 0 < rss["rest_rss_mb"] <= rss["peak_rss_mb"]
    assert rss["taps_answered"] == rss["taps"]


async def test_the_reply_watcher_stops_when_stopped_as_a_reply_comes_in() -> None:
    """The stall of `bench --replicas`' four-run measure: the watcher was stopped (its
    task cancelled) in the same turn of the loop as the emulator told of a new message;
    it swallowed the cancellation and polled for ever, and the run never ended."""
    emulator = Emulator()
    watch = ReplyWatch(emulator)
    watch.start()
    await asyncio.sleep(0)  # the watcher has scanned and is waiting for news
    emulator.state.messages_changed.notify()
    stopping = asyncio.create_task(watch.stop())
    done, _ = await asyncio.wait({stopping}, timeout=30)
    if not done:
        stopping.cancel()
        pytest.fail("ReplyWatch.stop() did not return within 30 s: the watcher went on")
    await stopping


@pytest.mark.skipif(not (os.environ.get("TEST_POSTGRES_URL") and os.environ.get("TEST_REDIS_URL")),
                    reason="needs TEST_POSTGRES_URL and TEST_REDIS_URL")
async def test_the_replicas_benchmark_runs(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import replicas

    server = os.environ["TEST_POSTGRES_URL"].replace("+asyncpg", "")
    options = Options(quick=True, db=server, workdir=tmp_path, limit=200.0, concurrency=5)
    monkeypatch.setenv("REDIS_URL", os.environ["TEST_REDIS_URL"])
    try:
        redis_url, nginx = replicas.requirements(options)
    except SystemExit as missing:
        pytest.skip(str(missing))
    # Two runs in one process, without then with answers in the webhook's response (the
    # four-run comparison of `measure` is the benchmark's own): a stall showed on a later
    # run (ReplyWatch lost its cancellation, see the test above). Each is bounded, so a
    # stall fails here with its name instead of holding CI until its limit.
    results: dict[bool, dict[str, Any]] = {}
    for number, answer_in_response in enumerate((False, True), start=1):
        try:
            results[answer_in_response] = await asyncio.wait_for(replicas.measure_once(
                options, 2, redis_url=redis_url, nginx=nginx, seconds=1,
                answer_in_response=answer_in_response), 240)
        except TimeoutError:
            pytest.fail(f"bench --replicas 2, run {number} of 2 (answers in the response: "
                        f"{answer_in_response}) stalled: no result within 240 s")
    for result in results.values():
        assert result["replicas"] == 2 and result["updates"] > 0 and result["timeouts"] == 0
        assert result["bot_cpu_ms_per_update"] > 0
    assert results[False]["in_response_per_update"] == 0
    assert results[True]["in_response_per_update"] > 0
