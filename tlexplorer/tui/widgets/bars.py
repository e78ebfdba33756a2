"""Horizontal text bars per layer: NNU (dead % of units) and activation range (max activation)."""

from __future__ import annotations

import math

from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from tlexplorer.textsafe import safe
from tlexplorer.tui.figures import ModelFigures, fmt, fmt_nnu
from tlexplorer.tui.widgets.text import literal

_EIGHTHS = " ▏▎▍▌▋▊▉█"
CONTENT_CACHE = 256


def bar(fraction: float, width: int) -> str:
    """A bar ``fraction`` (0..1) of ``width`` cells, in eighths of a cell."""
    if not math.isfinite(fraction) or width <= 0:
        return ""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _layer_label(name: str, width: int) -> str:
    short = name.rsplit("/", 1)[-1]
    return short[:width].ljust(width)


def visible_rows(n: int, selected: int, height: int) -> tuple[int, int]:
    """Rows ``start:end`` of ``n`` to show in ``height`` lines around ``selected``.

    When not all fit, a line above ("↑ k more") and/or below ("↓ k more") says how many are
    out of sight; they come into view as the selection moves (height 0: not laid out yet).
    """
    if height <= 0 or n <= height:
        return 0, n
    if height < 3:
        return selected, min(selected + 1, n)
    rows = height - 1  # one hint line: the selection near the top or the bottom
    if selected < rows:
        return 0, rows
    if selected >= n - rows:
        return n - rows, n
    rows = height - 2  # a hint line above and below
    start = min(max(selected - rows // 2, 1), n - rows - 1)
    return start, start + rows


class LayerBars(Static):
    """One bar per hidden layer of the selected model; the selected layer is highlighted.

    The assembled content is cached per (figures, selected layer, size): moving the layer cursor
    back and forth only swaps contents, and never asks for a new layout. Layers that do not fit
    the height are counted on a hint line ("↓ 2 more") and scroll into view with the selection.
    """

    VALUE_WIDTH = 8

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = title
        self._contents: dict[tuple, Content] = {}
        self._key: tuple | None = None

    def values(self, fig: ModelFigures, narrow: bool = False
               ) -> tuple[list[float], float, list[str]]:
        """Bar lengths, the full-scale value, and the text written after each bar."""
        raise NotImplementedError

    def show(self, fig: ModelFigures | None, selected: int, message: str = "") -> None:
        width, height = self.size.width, self.size.height
        key = (fig, selected, width, height, message)
        if key == self._key:
            return
        self._key = key
        if fig is None:
            self.update(literal(message), layout=False)
            return
        content = self._contents.get(key)
        if content is None:
            content = self._assemble(fig, selected, width, height)
            if len(self._contents) >= CONTENT_CACHE:
                self._contents.clear()
            self._contents[key] = content
        self.update(content, layout=False)

    def _assemble(self, fig: ModelFigures, selected: int, width: int, height: int) -> Content:
        names = [safe(row.name) for row in fig.rows]
        label_w = min(14, max((len(n.rsplit("/", 1)[-1]) for n in names), default=4))
        value_w = self.VALUE_WIDTH
        narrow = bool(width) and width - label_w - value_w - 4 < 6
        if narrow:
            value_w = 8
        values, scale, texts = self.values(fig, narrow)
        bar_w = max(2, width - label_w - value_w - 4) if width else 20
        start, end = visible_rows(len(names), selected, height)
        parts: list[tuple[str, str]] = []
        if start > 0:
            parts.append((f"↑ {start} more\n", "dim"))
        for i in range(start, end):
            name, value, text = names[i], values[i], texts[i]
            style = "reverse bold" if i == selected else ""
            frac = value / scale if scale > 0 and math.isfinite(value) else 0.0
            parts.append((_layer_label(name, label_w) + " ", style))
            parts.append((bar(frac, bar_w).ljust(bar_w),
                          "bold $accent" if i == selected else "$primary"))
            parts.append((f" {text:>{value_w}}\n", style))
        if end < len(names):
            parts.append((f"↓ {len(names) - end} more", "dim"))
        return Content.assemble(*parts)

    class Resized(Message):
        """Bar widths depend on the widget's width: the screen re-sends the figures."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class NNUBars(LayerBars):
    """NNU % per layer, with the τ-dormant % beside it."""

    VALUE_WIDTH = 11

    def values(self, fig: ModelFigures, narrow: bool = False
               ) -> tuple[list[float], float, list[str]]:
        texts = [f"{fmt_nnu(row.nnu_pct, row.dead is not None)}/{fmt(row.dormant_pct, '.0f')}"
                 if narrow else
                 f"{fmt_nnu(row.nnu_pct, row.dead is not None)} d{fmt(row.dormant_pct, '.0f')}"
                 for row in fig.rows]
        return [row.nnu_pct for row in fig.rows], 100.0, texts


class RangeBars(LayerBars):
    def values(self, fig: ModelFigures, narrow: bool = False
               ) -> tuple[list[float], float, list[str]]:
        maxima = [row.max for row in fig.rows]
        finite = [m for m in maxima if math.isfinite(m)]
        return maxima, max(finite, default=0.0), [fmt(m, ".3g") for m in maxima]
