"""Which font draws the Chinese in charts, found when the bot starts.

Matplotlib keeps a cache of the machine's fonts, built the first time it runs. A CJK
font installed after that (`apt install fonts-noto-cjk` on a running server) is not
in it, and Chinese labels come out as boxes. So at start the bot checks, in a child
process (the bot itself loads matplotlib only on its first chart): when no CJK font is
listed but the machine has font files the cache does not, the cache is rebuilt and
looked at again; when there is still none, an operator is told with a WARNING.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Protocol

log = logging.getLogger(__name__)

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
             "Droid Sans Fallback", "AR PL UMing CN")
NO_FONT = ("no CJK font found: Chinese labels in poll charts will show as boxes. Install "
           "one (Debian: apt install fonts-noto-cjk, or fonts-wqy-microhei) and restart")
CHECK_TIMEOUT = 120.0  # seconds; rebuilding the cache on a machine with many fonts is slow


class FontCatalogue(Protocol):
    """The fonts a chart can use (matplotlib's list), and whether it is behind."""

    def names(self) -> set[str]: ...

    def unlisted(self) -> bool:
        """Whether the machine has font files the list does not know."""
        ...

    def rebuild(self) -> None: ...


def first_cjk(names: set[str]) -> str | None:
    return next((name for name in CJK_FONTS if name in names), None)


def find_cjk_font(fonts: FontCatalogue) -> str | None:
    """The first CJK font, rebuilding the font list once if the machine has fonts it does
    not know; a WARNING when there is none."""
    found = first_cjk(fonts.names())
    if found is None and fonts.unlisted():
        log.info("fonts were installed after matplotlib listed them: rebuilding its list")
        fonts.rebuild()
        found = first_cjk(fonts.names())
    if found is None:
        log.warning(NO_FONT)
    return found


class MatplotlibFonts:
    """Matplotlib's own font list (imported only when used)."""

    def names(self) -> set[str]:
        from matplotlib import font_manager

        return {font.name for font in font_manager.fontManager.ttflist}

    def unlisted(self) -> bool:
        from matplotlib import font_manager

        listed = {font.fname for font in font_manager.fontManager.ttflist}
        return any(path not in listed for path in font_manager.findSystemFonts())

    def rebuild(self) -> None:
        from matplotlib import font_manager

        # Scans the fonts again and writes the cache anew, for every later process too.
        # (matplotlib's own loader: not public, but what a cache miss itself calls)
        font_manager.fontManager = font_manager._load_fontmanager(  # type: ignore[attr-defined]
            try_read_cache=False)


def matplotlib_fonts() -> FontCatalogue:
    return MatplotlibFonts()


async def check_at_start() -> str | None:
    """Run the check in a child process and log what it found (DEBUG: the font, so a
    healthy start stays quiet; WARNING: none). Returns the font's name, or None."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        out, _ = await asyncio.wait_for(child.communicate(), CHECK_TIMEOUT)
    except asyncio.CancelledError:  # the bot stopped first
        child.kill()
        raise
    except TimeoutError:
        child.kill()
        await child.wait()
        log.warning("the check for a CJK font took over %g s; charts will use what they find",
                    CHECK_TIMEOUT)
        return None
    found = out.decode().strip() or None
    if found:
        log.debug("charts draw Chinese with the font %s", found)
    else:
        log.warning(NO_FONT)
    return found


if __name__ == "__main__":  # the child of check_at_start: prints the font's name, or nothing
    logging.basicConfig(level=logging.CRITICAL)
    print(find_cjk_font(matplotlib_fonts()) or "")
