"""The benchmarks' own tools: bench.profile's summary by part (each sample counted once,
in the first part it is in), bench.levers' order of runs (balanced)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.levers import run_order
from bench.profile import by_part

ROOT = "_run_module_as_main (<frozen runpy>:198);Runner.run (asyncio/runners.py:118)"
UPDATE = f"{ROOT};Dispatcher._process_update (aiogram/dispatcher/dispatcher.py:321)"
HANDLER = f"{UPDATE};LeanObserver.trigger (bot/routing.py:1);show (bot/screens.py:57)"


def test_each_sample_is_counted_once_in_the_first_part_it_is_in(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join([
        f"{HANDLER};BaseSession.__call__ (x:1);LeanSession.check_response (x:2) 3",
        f"{HANDLER};BaseSession.__call__ (x:1);greenlet_spawn (x:2) 1",  # a call, not the db
        f"{HANDLER};InlineKeyboardBuilder.button (x:1) 2",
        f"{UPDATE};UserMiddleware.__call__ (x:1);greenlet_spawn (x:2) 4",
        f"{UPDATE};Router._propagate_event (x:1) 5",
        f"{ROOT};Dispatcher._polling (x:1);BaseModel.model_validate_json (x:2) 6",
        f"{ROOT} 7",
        "Thread-1 (worker) (threading.py:1);sqlite (x:1) 100",  # not the main thread
    ]))
    parts = {name: n for name, n in by_part(raw) if n}
    assert parts == {
        "all": 28,
        "polling (getUpdates, parsing the updates)": 6,
        "Bot API calls from handlers": 4,
        "Bot API calls from handlers: parsing the answer": 3,
        "Bot API calls from handlers: aiohttp, middlewares, the rest": 1,
        "database (SQLAlchemy, SQLite)": 4,
        "handlers, not counting the above": 2,
        "handlers, not counting the above: keyboards": 2,
        "dispatch and middlewares, not counting the above": 5,
        "the event loop's own work and the rest": 7,
    }


def test_over_six_rounds_each_run_takes_each_place_and_follows_each_other_equally() -> None:
    variants = ["bare", "before", "after"]
    orders = [run_order(variants, n) for n in range(6)]
    assert all(sorted(order) == sorted(variants) for order in orders)
    places = Counter((order.index(v), v) for order in orders for v in variants)
    assert set(places.values()) == {2} and len(places) == 9
    follows = Counter((order[i], order[i + 1]) for order in orders for i in range(2))
    assert set(follows.values()) == {2} and len(follows) == 6
    assert run_order(variants, 6) == orders[0]
