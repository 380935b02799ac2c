"""`python -m bench [--quick] [--db postgresql://…] [--limit L] [--concurrency N]`
`python -m bench --replicas N --db postgresql://… [--quick]` (REDIS_URL set, nginx installed)

Runs every benchmark against the project's own emulator on 127.0.0.1, prints one JSON
object per line as each finishes, then a table. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Options


def table(results: list[dict[str, Any]]) -> str:
    """The figures (not the setup) as `bench  name  value` lines."""
    lines = []
    for result in results:
        name = result["bench"]
        for key, value in result.items():
            if key in ("bench", "setup") or (isinstance(value, dict | list) and key != "workload"):
                continue
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            lines.append(f"{name:<11} {key:<34} {shown}")
        lines.append("")
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short version of each (< 1 min)")
    parser.add_argument("--db", metavar="URL",
                        help="a PostgreSQL server (postgresql://user:pass@host/db); each "
                             "benchmark creates and drops its own scratch database there")
    parser.add_argument("--limit", type=float, default=1000.0,
                        help="L, the emulator's global messages a second (default 1000)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="simulated people acting at once (default 100; quick 50)")
    parser.add_argument("--replicas", type=int, metavar="N", default=None,
                        help="instead: webhook mode behind nginx with 1 … N replicas "
                             "(needs --db, REDIS_URL and nginx)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.db and not args.db.startswith(("postgresql://", "postgres://",
                                           "postgresql+asyncpg://")):
        parser.error("--db takes a postgresql:// URL (SQLite is the default)")
    from bench import suite

    def emit(result: dict[str, Any]) -> None:
        result["elapsed_seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(result, ensure_ascii=False), flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        options = Options(quick=args.quick, db=args.db, workdir=Path(workdir), limit=args.limit,
                          concurrency=args.concurrency or (50 if args.quick else 100))
        if args.replicas:
            from bench import replicas

            redis_url, nginx = replicas.requirements(options)
            results = []
            for n in range(1, args.replicas + 1):
                result = await replicas.measure(options, n, redis_url=redis_url, nginx=nginx,
                                                seconds=5 if args.quick else 20)
                emit(result)
                results.append(result)
        else:
            results = await suite.run(options, suite.QUICK if args.quick else suite.FULL,
                                      emit)
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
