"""The activation spectrum of a model or one layer (plotext), with zero fraction and skewness."""

from __future__ import annotations

import numpy as np
from textual_plotext import PlotextPlot

from tlexplorer import metrics


def _edge_label(value: float) -> str:
    if value == 0:
        return "0"
    return format(value, ".0e").replace("e-0", "e-").replace("e+0", "e")


def spectrum_bars(hist: np.ndarray, mode: str, bins: int) -> tuple[list[str], list[int]]:
    """Bar labels and counts of a raw histogram, coarsened for display."""
    spec = metrics.display_spectrum(hist, mode=mode, bins=bins)
    labels = [_edge_label(float(lo)) for lo in spec.low]
    return labels, [int(c) for c in spec.count]


class SpectrumPlot(PlotextPlot):
    """A histogram of every activation value (log- or linear-spaced bins)."""

    _shown: tuple[np.ndarray | None, str, str] = (None, "", "log")

    def show(self, hist: np.ndarray | None, title: str, mode: str) -> None:
        self._shown = (hist, title, mode)
        self._replot()

    def on_resize(self) -> None:
        # the number of bars follows the width
        self._replot()

    def _replot(self) -> None:
        hist, title, mode = self._shown
        plt = self.plt
        plt.clear_data()
        plt.title(title)
        if hist is not None and hist.sum() > 0:
            bins = max(8, min(40, (self.size.width or 60) // 3))
            labels, counts = spectrum_bars(hist, mode, bins)
            positions = list(range(len(counts)))
            plt.bar(positions, counts, width=0.8)
            step = max(1, len(labels) // 6)
            plt.xticks(positions[::step], labels[::step])
            plt.yscale("linear")
        self.refresh()
