"""The real `python -m bot` with no token (emulator, demo data and chat page), and a real
headless Chromium driven by Playwright. Without Chromium the browser tests are skipped.

Never `playwright install`: the tests use the system's Chromium (Debian's `chromium`).
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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from models.db import ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "playground"
START_TIMEOUT = 90.0  # the bot imports a lot; shared CI machines are slow


def chromium_or_skip() -> str:
    """The Chromium executable, or skip the test with the reason."""
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium; "
                    "or set CHROMIUM_PATH): browser tests of the playground skipped")
    pytest.importorskip("playwright.async_api", reason="the playwright package is missing")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's outcome on the test, so fixtures know whether it failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def playground() -> AsyncIterator[str]:
    """`python -m bot` with no BOT_TOKEN on a free port and an empty database: its URL."""
    chromium_or_skip()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="playground-") as tmp:
        log = Path(tmp) / "bot.log"
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "BOT_TOKEN": "",
               "EMULATOR_PORT": str(port), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bot.db",
               "QUIET_HOURS": "off", "FLOOD_RATE": "100", "LOG_LEVEL": "INFO"}
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=ROOT, env=env, stdout=out,
                stderr=asyncio.subprocess.STDOUT)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + START_TIMEOUT
            text = ""
            while "is running" not in text:
                text = log.read_text(errors="replace")
                if process.returncode is not None or loop.time() > deadline:
                    raise AssertionError(f"the bot did not start:\n{text}")
                await asyncio.sleep(0.2)
            match = re.search(r"Try the bot in your browser:\s+(\S+)", text)
            assert match, text
            url = match.group(1).rstrip("/")
            assert url == f"http://127.0.0.1:{port}"
            yield url
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium with a fresh, empty profile."""
    path = chromium_or_skip()
    from playwright.async_api import async_playwright

    driver = await async_playwright().start()
    # launch() gives the browser a new, empty profile directory of its own, removed on close.
    instance = await driver.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    try:
        yield instance
    finally:
        await instance.close()
        await driver.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def open_page(
    browser: Any, request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Open pages (each in its own context); screenshots of them all if the test fails."""
    contexts: list[Any] = []
    pages: list[Any] = []

    async def open_(width: int, height: int) -> Any:
        context = await browser.new_context(viewport={"width": width, "height": height},
                                            accept_downloads=True)
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(20_000)
        pages.append(page)
        return page

    yield open_
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(pages):
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            path = ARTIFACTS / f"{name}-{n}.png"
            try:
                await page.screenshot(path=str(path), full_page=True)
                print(f"screenshot: {path}")
            except Exception as error:  # a crashed page must not hide the test's failure
                print(f"no screenshot of page {n}: {error}")
    for context in contexts:
        await context.close()
