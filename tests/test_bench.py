"""The benchmarks still run: the whole suite once, as small as it gets (no bare aiogram).

Figures are only checked for being there and sane; never a duration or a rate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("psutil")

from bench import suite
from bench.common import Options

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
