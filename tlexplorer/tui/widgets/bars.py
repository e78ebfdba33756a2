"""Horizontal text bars per layer: NNU (dead % of units) and activation range (max activation)."""

from __future__ import annotations

import math

from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from tlexplorer.tui.figures import ModelFigures

_EIGHTHS = " ▏▎▍▌▋▊▉█"


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
    """One bar per hidden layer of the selected model; the selected layer is highlighted."""

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = title

    def values(self, fig: ModelFigures) -> tuple[list[float], float, str]:
        raise NotImplementedError

    def show(self, fig: ModelFigures | None, selected: int, message: str = "") -> None:
        if fig is None:
            self.update(message)
            return
        values, scale, spec = self.values(fig)
        names = [row.name for row in fig.rows]
        label_w = min(14, max((len(n.rsplit("/", 1)[-1]) for n in names), default=4))
        width = max(4, self.size.width - label_w - 12) if self.size.width else 20
        parts: list[tuple[str, str]] = []
        for i, (name, value) in enumerate(zip(names, values, strict=True)):
            style = "reverse bold" if i == selected else ""
            frac = value / scale if scale > 0 and math.isfinite(value) else 0.0
            parts.append((_layer_label(name, label_w) + " ", style))
            parts.append((bar(frac, width).ljust(width),
                          "bold $accent" if i == selected else "$primary"))
            parts.append((f" {format(value, spec):>8}\n", style))
        self.update(Content.assemble(*parts))

    class Resized(Message):
        """Bar widths depend on the widget's width: the screen re-sends the figures."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class NNUBars(LayerBars):
    def values(self, fig: ModelFigures) -> tuple[list[float], float, str]:
        return [row.nnu_pct for row in fig.rows], 100.0, ".1f"


class RangeBars(LayerBars):
    def values(self, fig: ModelFigures) -> tuple[list[float], float, str]:
        maxima = [row.max for row in fig.rows]
        finite = [m for m in maxima if math.isfinite(m)]
        return maxima, max(finite, default=0.0), ".3g"
