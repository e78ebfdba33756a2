"""Horizontal text bars per layer: NNU (dead % of units) and activation range (max activation)."""

from __future__ import annotations

import math

from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from tlexplorer.textsafe import safe
from tlexplorer.tui.figures import ModelFigures, fmt, fmt_nnu

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


class LayerBars(Static):
    """One bar per hidden layer of the selected model; the selected layer is highlighted.

    The assembled content is cached per (figures, selected layer, width): moving the layer cursor
    back and forth only swaps contents, and never asks for a new layout.
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
        width = self.size.width
        key = (fig, selected, width, message)
        if key == self._key:
            return
        self._key = key
        if fig is None:
            self.update(message, layout=False)
            return
        content = self._contents.get(key)
        if content is None:
            content = self._assemble(fig, selected, width)
            if len(self._contents) >= CONTENT_CACHE:
                self._contents.clear()
            self._contents[key] = content
        self.update(content, layout=False)

    def _assemble(self, fig: ModelFigures, selected: int, width: int) -> Content:
        names = [safe(row.name) for row in fig.rows]
        label_w = min(14, max((len(n.rsplit("/", 1)[-1]) for n in names), default=4))
        value_w = self.VALUE_WIDTH
        narrow = bool(width) and width - label_w - value_w - 4 < 6
        if narrow:
            value_w = 8
        values, scale, texts = self.values(fig, narrow)
        bar_w = max(2, width - label_w - value_w - 4) if width else 20
        parts: list[tuple[str, str]] = []
        for i, (name, value, text) in enumerate(zip(names, values, texts, strict=True)):
            style = "reverse bold" if i == selected else ""
            frac = value / scale if scale > 0 and math.isfinite(value) else 0.0
            parts.append((_layer_label(name, label_w) + " ", style))
            parts.append((bar(frac, bar_w).ljust(bar_w),
                          "bold $accent" if i == selected else "$primary"))
            parts.append((f" {text:>{value_w}}\n", style))
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
