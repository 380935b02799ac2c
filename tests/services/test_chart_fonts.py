"""Chinese labels in charts: a CJK font is found at start, also one installed after
matplotlib built its font cache, and its absence is a WARNING an operator sees."""

from __future__ import annotations

import logging

import pytest

from services import chart_fonts


class FakeFonts:
    """Matplotlib's font list as its cache has it, and the machine's font files."""

    def __init__(self, cached: set[str], on_disk: set[str]) -> None:
        self.cached, self.on_disk, self.rebuilds = set(cached), set(on_disk), 0

    def names(self) -> set[str]:
        return self.cached

    def unlisted(self) -> bool:
        return bool(self.on_disk - self.cached)

    def rebuild(self) -> None:
        self.rebuilds += 1
        self.cached = set(self.on_disk)


def test_a_font_installed_after_the_cache_was_built_is_found_by_rebuilding_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fonts = FakeFonts(cached={"DejaVu Sans"}, on_disk={"DejaVu Sans", "WenQuanYi Micro Hei"})
    with caplog.at_level(logging.INFO):
        assert chart_fonts.find_cjk_font(fonts) == "WenQuanYi Micro Hei"
    assert fonts.rebuilds == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_cache_that_lists_a_cjk_font_is_not_rebuilt() -> None:
    fonts = FakeFonts(cached={"DejaVu Sans", "Noto Sans CJK SC"},
                      on_disk={"DejaVu Sans", "Noto Sans CJK SC", "Other"})
    assert chart_fonts.find_cjk_font(fonts) == "Noto Sans CJK SC"
    assert fonts.rebuilds == 0


def test_no_cjk_font_anywhere_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    fonts = FakeFonts(cached={"DejaVu Sans"}, on_disk={"DejaVu Sans"})
    with caplog.at_level(logging.INFO):
        assert chart_fonts.find_cjk_font(fonts) is None
    assert fonts.rebuilds == 0  # nothing new on disk: the cache is not rebuilt for nothing
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "fonts-noto-cjk" in warnings[0].getMessage()


async def test_the_check_at_start_runs_apart_and_says_what_it_found(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A child process checks (and rebuilds the cache on disk), so the bot itself does not
    # load matplotlib before its first chart.
    with caplog.at_level(logging.DEBUG):
        found = await chart_fonts.check_at_start()
    assert found == chart_fonts.find_cjk_font(chart_fonts.matplotlib_fonts())
    level = logging.DEBUG if found else logging.WARNING  # a healthy start stays quiet
    assert any(r.levelno == level and r.name == chart_fonts.__name__ for r in caplog.records)
