"""Bar charts as PNG bytes (matplotlib, Agg backend: no display, safe in any process).

Figures are made without pyplot (no global figure registry), so a chart can be
drawn in a worker thread while the bot keeps answering.

Labels are often Chinese. When a font with CJK glyphs is installed (Noto Sans
CJK, WenQuanYi, Source Han…) it is used (services/chart_fonts.py finds it, also
one installed after matplotlib listed the fonts); otherwise matplotlib's default
font draws them as empty boxes, and the numbers and latin text still render.
"""

from __future__ import annotations

import io
import logging
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import matplotlib

matplotlib.use("Agg")

from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from services import chart_fonts

log = logging.getLogger(__name__)

WIDTH_IN = 8.0
BAR_ROW_IN = 0.45
LABEL_WRAP = 24


@dataclass(frozen=True)
class Section:
    """One panel: a title, the bar labels, and one or more series of counts (one per label).

    One series draws plain bars; several (e.g. one per grid) draw grouped bars
    with a legend.
    """

    title: str
    labels: Sequence[str]
    series: Mapping[str, Sequence[int]]


@cache
def cjk_font() -> str | None:
    """The first installed font that can draw Chinese, or None (a WARNING, once). The
    bot looked at start (chart_fonts.check_at_start) and rebuilt matplotlib's font list
    if a font came after it; this looks again in case it came later still."""
    return chart_fonts.find_cjk_font(chart_fonts.matplotlib_fonts())


def _wrap(text: str, width: int = LABEL_WRAP) -> str:
    return "\n".join(textwrap.wrap(text, width) or [""])


def bar_chart(title: str, sections: Sequence[Section], *, footer: str = "") -> bytes:
    """Horizontal bar charts, one panel per section, as a PNG."""
    _use_fonts()
    rows = [max(1, len(s.labels)) * max(1, len(s.series)) for s in sections] or [1]
    heights = [1.0 + BAR_ROW_IN * n for n in rows]
    with warnings.catch_warnings():
        # Missing glyphs warn once per character; the chart is still useful.
        warnings.simplefilter("ignore", UserWarning)
        figure = Figure(figsize=(WIDTH_IN, sum(heights) + 1.0))
        FigureCanvasAgg(figure)
        axes = figure.subplots(len(heights), 1, squeeze=False,
                               gridspec_kw={"height_ratios": heights})
        figure.suptitle(_wrap(title, 60), fontsize=14)
        for section, (ax,) in zip(sections, axes, strict=False):
            _panel(ax, section)
        if footer:
            figure.text(0.01, 0.005, footer, fontsize=9, color="#555555")
        figure.tight_layout(rect=(0, 0.02, 1, 0.97))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


@cache
def _use_fonts() -> None:
    # Set once for the process: only charts draw with matplotlib here.
    font = cjk_font()
    rcParams["font.family"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    rcParams["axes.unicode_minus"] = False


def _panel(ax: Axes, section: Section) -> None:
    labels = [_wrap(label) for label in section.labels]
    n_series = max(1, len(section.series))
    height = 0.8 / n_series
    positions = list(range(len(labels)))
    top = 0
    for index, (name, counts) in enumerate(section.series.items()):
        offsets = [p - 0.4 + height * (index + 0.5) for p in positions]
        bars = ax.barh(offsets, list(counts), height=height,
                       label=name if n_series > 1 else None)
        ax.bar_label(bars, padding=3, fontsize=9)
        top = max([top, *counts])
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()  # the first option on top, as it was asked
    ax.set_xlim(0, max(1, top) * 1.15 + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(_wrap(section.title, 70), fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    if n_series > 1:
        ax.legend(fontsize=8, loc="lower right")
