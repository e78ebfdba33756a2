"""The activation spectrum of a model or one layer (plotext), with zero fraction and skewness."""

from __future__ import annotations

from rich.text import Text
from textual_plotext import PlotextPlot

from tlexplorer.tui.figures import ModelFigures

RENDER_CACHE = 128  # plots kept per widget: moving back to a layer costs no plotext build


def ordered_xticks(plt, ticks: list[float], labels: list[str]) -> None:
    """Set x ticks and labels, in order.

    plotext's ``xticks`` de-duplicates through a ``set``, which scrambles the ticks' order by the
    per-process string hash seed; the labels are then inserted in that order and a label that
    would overlap an earlier one is dropped. So which labels were drawn changed from one process
    to the next (a snapshot taken with ``--snapshot-update`` failed in a plain run). Put them back
    in axis order.
    """
    plt.xticks(ticks, labels)
    monitor = plt.monitor
    pairs = sorted(zip(monitor.xticks[0], monitor.xlabels[0], strict=True))
    monitor.xticks[0] = [t for t, _ in pairs]
    monitor.xlabels[0] = [label for _, label in pairs]


def tick_step(labels: list[str], width: int, most: int = 6) -> int:
    """Every how many bars to write a label: at most ``most`` labels, and never overlapping."""
    if not labels:
        return 1
    room = max(1, (width - 8) // (max(len(label) for label in labels) + 1))
    return max(1, -(-len(labels) // min(most, room)))


class SpectrumPlot(PlotextPlot):
    """A histogram of every activation value (log- or linear-spaced bins).

    The number of bars follows the width at render time, and rendered plots are cached by what
    they show and their size, so a repaint never depends on when the last resize arrived.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[ModelFigures | None, int | None, str, str] = (None, None, "log", "")
        self._renders: dict[tuple, Text] = {}

    def show(self, fig: ModelFigures | None, layer: int | None, mode: str, title: str) -> None:
        shown = (fig, layer, mode, title)
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def render(self) -> Text:
        fig, layer, mode, title = self._shown
        key = (*self._shown, self.size, self.app.theme)
        text = self._renders.get(key)
        if text is None:
            plt = self.plt
            plt.clear_figure()
            plt.title(title)
            if fig is not None and fig.hist(layer).sum() > 0:
                width = self.size.width or 60
                labels, counts = fig.spectrum_bars(layer, mode, max(8, min(40, width // 3)))
                positions = list(range(len(counts)))
                plt.bar(positions, counts, width=0.8)
                step = tick_step(labels, width)
                ordered_xticks(plt, positions[::step], labels[::step])
                plt.yscale("linear")
            text = super().render()
            if len(self._renders) >= RENDER_CACHE:
                self._renders.clear()
            self._renders[key] = text
        return text
