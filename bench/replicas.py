"""`python -m bench --replicas N`: the full bot in webhook mode, 1 … N replicas behind
a real nginx on 127.0.0.1, sharing PostgreSQL and Redis, under the throughput
benchmark's crowd (closed loop). Figures: updates a second, and the replicas' CPU per
update (summed over them), for each number of replicas; and the Bot API requests per
update that reached the emulator over HTTP, with the answers to pressed buttons given in
the webhook's response (the default) and, in a run just before it, without
(WEBHOOK_ANSWER_IN_RESPONSE=false): the `_without` figures.

On a machine with few cores, replicas share them with the emulator, the driver,
nginx and PostgreSQL, so updates a second stops growing once the cores are busy;
CPU per update is what tells what a machine with more cores would give.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.common import ROOT, Options, midday_zone, percentile, rounded, scratch_database
from bench.driver import ReplyWatch, Users
from bench.throughput import FIRST_USER, bot_workload, seed_bot_db
from emulator import Emulator

SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_conf(workdir: Path, *, port: int, replicas: list[int]) -> Path:
    """deploy/nginx/bot.conf on plain http and loopback ports (as tests/e2e does)."""
    conf = (ROOT / "deploy" / "nginx" / "bot.conf").read_text()
    conf = conf.replace("listen 8443 ssl;", f"listen 127.0.0.1:{port};")
    conf = re.sub(r"^\s*ssl_.*$", "", conf, flags=re.MULTILINE)
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n"
                      for p in replicas)
    conf = re.sub(r"(?:^\s*server bot\d+:8080.*\n)+", servers, conf, flags=re.MULTILINE)
    (workdir / "bot.conf").write_text(conf)
    main = workdir / "nginx.conf"
    main.write_text(
        f"pid {workdir}/nginx.pid;\nerror_log {workdir}/nginx-error.log warn;\n"
        "worker_processes 1;\nevents {}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {workdir}/body;\n"
        f"  proxy_temp_path {workdir}/proxy;\n  include {workdir}/bot.conf;\n}}\n")
    return main


class Replica:
    def __init__(self, process: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log
        self.ps = psutil.Process(process.pid)

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_replica(emulator: Emulator, *, front: int, port: int, db_url: str,
                        redis_url: str, workdir: Path, label: str,
                        answer_in_response: bool = True) -> Replica:
    log = workdir / f"{label}.log"
    env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1",
        "BOT_TOKEN": emulator.token, "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": db_url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
        "WEBHOOK_URL": f"http://127.0.0.1:{front}/tg/hook", "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(port),
        "WEBHOOK_MAX_CONNECTIONS": "100", "FLOOD_RATE": "1000000", "TIMEZONE": midday_zone(),
        "WEBHOOK_ANSWER_IN_RESPONSE": "true" if answer_in_response else "false",
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=env, stdout=out,
            stderr=asyncio.subprocess.STDOUT)
    replica = Replica(process, port, log)
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession() as http:
        while True:
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{label} did not start:\n{log.read_text()[-3000:]}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz",
                                    timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    if resp.status == 200 and emulator.webhook is not None:
                        return replica
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)


async def stop_proxy(proxy: asyncio.subprocess.Process) -> None:
    """nginx's fast shutdown (SIGTERM), then SIGKILL if it has not exited in 10 s."""
    if proxy.returncode is None:
        proxy.terminate()
        try:
            await asyncio.wait_for(proxy.wait(), 10)
        except TimeoutError:
            proxy.kill()
            await proxy.wait()


async def measure(options: Options, n: int, *, redis_url: str, nginx: str,
                  seconds: float) -> dict[str, Any]:
    """`n` replicas, without and with answers in the webhook's response, in the order
    without, with, with, without (so a machine getting busier or quieter during the runs
    weighs on both alike); each figure is the mean of its two runs, `_runs` lists them."""
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for answer_in_response in (False, True, True, False):
        runs[answer_in_response].append(await measure_once(
            options, n, redis_url=redis_url, nginx=nginx, seconds=seconds,
            answer_in_response=answer_in_response))
    compared = ("updates_per_second", "p50_ms", "bot_cpu_ms_per_update",
                "api_requests_per_update", "in_response_per_update",
                "machine_cpu_cores_busy")

    def mean(results: list[dict[str, Any]], key: str) -> float:
        return round(sum(r[key] for r in results) / len(results), 3)

    result: dict[str, Any] = {**runs[True][0]}
    for key in compared:
        result[key] = mean(runs[True], key)
        result[f"{key}_without"] = mean(runs[False], key)
    for key in ("bot_cpu_ms_per_update", "updates_per_second"):
        result[f"{key}_runs"] = [r[key] for r in runs[True]]
        result[f"{key}_without_runs"] = [r[key] for r in runs[False]]
    result["requests_by_method"] = runs[True][0]["requests_by_method"]
    result["requests_by_method_without"] = runs[False][0]["requests_by_method"]
    return result


async def measure_once(options: Options, n: int, *, redis_url: str, nginx: str,
                       seconds: float, answer_in_response: bool) -> dict[str, Any]:
    """One run with `n` replicas: the closed-loop crowd for `seconds`."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    emulator = Emulator()
    await emulator.start()
    workdir = Path(tempfile.mkdtemp(
        prefix=f"replicas-{n}-{'in' if answer_in_response else 'out'}-", dir=options.workdir))
    front, ports = free_port(), [free_port() for _ in range(n)]
    proxy = await asyncio.create_subprocess_exec(
        nginx, "-p", str(workdir), "-c", str(nginx_conf(workdir, port=front, replicas=ports)),
        "-g", "daemon off;")
    replicas: list[Replica] = []
    try:
        async with scratch_database(options, f"replicas{n}") as db_url:
            await seed_bot_db(db_url, emulator)
            for i, port in enumerate(ports):
                replicas.append(await start_replica(
                    emulator, front=front, port=port, db_url=db_url, redis_url=redis_url,
                    workdir=workdir, label=f"replica-{i + 1}",
                    answer_in_response=answer_in_response))
            script, _ = bot_workload()
            watch = ReplyWatch(emulator)
            watch.start()
            try:
                warm = Users(emulator, watch, script, first_id=FIRST_USER, timeout=30)
                await warm.closed_loop(emulator.clock() + 0.01)
                crowd = Users(emulator, watch, script, first_id=FIRST_USER + 1000, timeout=30)
                requests_before = len(emulator.requests)
                cpu_before = sum(r.cpu_seconds() for r in replicas)
                machine_before = psutil.cpu_times()
                started = time.monotonic()
                stop_at = emulator.clock() + seconds
                await asyncio.gather(*(crowd.closed_loop(stop_at)
                                       for _ in range(options.concurrency)))
                elapsed = time.monotonic() - started
                cpu = sum(r.cpu_seconds() for r in replicas) - cpu_before
                machine = psutil.cpu_times()
                made = emulator.requests[requests_before:]
            finally:
                await watch.stop()
            for replica in replicas:
                await replica.stop()
    finally:
        for replica in replicas:
            await replica.stop()
        await stop_proxy(proxy)
        await emulator.stop()
    tally = crowd.tally
    busy = (sum(machine) - machine.idle - machine.iowait) - (
        sum(machine_before) - machine_before.idle - machine_before.iowait)
    return {
        "bench": "replicas", "replicas": n,
        "updates_per_second": round(tally.done / elapsed, 1),
        "p50_ms": rounded(1000 * (percentile(tally.latencies, 50) or 0), 1),
        "p99_ms": rounded(1000 * (percentile(tally.latencies, 99) or 0), 1),
        "updates": tally.done, "timeouts": tally.timeouts,
        "bot_cpu_ms_per_update": rounded(1000 * cpu / max(1, tally.done), 2),
        # Bot API requests over HTTP per update, and calls given in webhook responses.
        "api_requests_per_update": rounded(
            sum(not r.in_response for r in made) / max(1, tally.done), 3),
        "in_response_per_update": rounded(
            sum(r.in_response for r in made) / max(1, tally.done), 3),
        "requests_by_method": {
            method: rounded(count / max(1, tally.done), 3) for method, count in sorted(
                Counter(r.method + (" (in response)" if r.in_response else "")
                        for r in made).items())},
        "bot_cpu_cores_busy": rounded(cpu / elapsed, 2),
        "machine_cpu_cores_busy": rounded(busy / elapsed, 2),
        "cores": psutil.cpu_count(),
    }


def requirements(options: Options) -> tuple[str, str]:
    """The Redis URL and nginx binary the run needs, or a SystemExit saying what is missing."""
    redis_url = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    missing = [what for what, ok in (("--db postgresql://…", options.db),
                                     ("REDIS_URL", redis_url), ("nginx", nginx)) if not ok]
    if missing:
        raise SystemExit("python -m bench --replicas needs " + ", ".join(missing))
    assert redis_url and nginx
    return redis_url, nginx
