"""Run the emulator standalone: python -m emulator --port 8081."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .flood import FloodLimits
from .server import DEFAULT_TOKEN, DEFAULT_USERNAME, Emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Local Telegram Bot API emulator (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--flood", action="store_true", help="enforce Telegram's flood limits")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start the emulator and keep it running until interrupted."""
    emu = Emulator(args.token, username=args.username, flood=FloodLimits() if args.flood else None)
    base_url = await emu.start(args.port)
    print(f"Bot API emulator listening on {base_url}", flush=True)
    print(f"token: {emu.token}", flush=True)
    print(f"bot API: {base_url}/bot<token>/<method>   control API: {base_url}/_emu/", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
