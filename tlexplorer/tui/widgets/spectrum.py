"""The activation spectrum of a model or one layer (plotext), with zero fraction and skewness."""

from __future__ import annotations

from rich.text import Text
from textual_plotext import PlotextPlot

from tlexplorer.tui.figures import (
    ModelFigures,
    count_label,
    linear_count_ticks,
    log_count,
    log_count_ticks,
    mass_ticks,
)
from tlexplorer.tui.widgets.text import ellipsize

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


def ordered_yticks(plt, ticks: list[float], labels: list[str]) -> None:
    """Set y ticks and labels, in order (the same ``set`` scramble as :func:`ordered_xticks`)."""
    plt.yticks(ticks, labels)
    monitor = plt.monitor
    pairs = sorted(zip(monitor.yticks[0], monitor.ylabels[0], strict=True))
    monitor.yticks[0] = [t for t, _ in pairs]
    monitor.ylabels[0] = [label for _, label in pairs]


def title_candidates(titles: str | tuple[str, ...]) -> tuple[str, ...]:
    return (titles,) if isinstance(titles, str) else tuple(titles)


class TitledPlot(PlotextPlot):
    """A plotext plot whose title is shortened to fit, never dropped.

    plotext leaves out a title that does not fit above the canvas. ``titles`` are tried longest
    first; when even the last does not fit, it is cut with "…" to the longest that does.
    """

    titles: tuple[str, ...] = ()

    def set_titles(self, titles: str | tuple[str, ...]) -> None:
        self.titles = title_candidates(titles)

    def _build(self, title: str) -> Text:
        self.plt.title(title)
        return super().render()

    def render(self) -> Text:
        if not self.titles:
            return super().render()
        for title in self.titles:
            text = self._build(title)
            if title in text.plain:
                return text
        last = self.titles[-1]
        lo, hi, best = 1, len(last) - 1, None
        while lo <= hi:  # the longest cut that plotext draws
            mid = (lo + hi) // 2
            text = self._build(ellipsize(last, mid))
            if ellipsize(last, mid) in text.plain:
                best, lo = text, mid + 1
            else:
                hi = mid - 1
        return best if best is not None else self._build("")


def x_ticks(labels: list[str], counts: list[int], width: int, most: int = 6) -> list[int]:
    """The bars to label: where the mass is (the heaviest bars first), then the axis' ends,
    never overlapping (plotext would drop a label that overlaps)."""
    if not labels:
        return []
    cells_per_bar = max(width - 10, 1) / len(labels)
    gap = max(1, -(-(max(len(label) for label in labels) + 1) // max(int(cells_per_bar), 1)))
    return mass_ticks(counts, gap, most)


class SpectrumPlot(TitledPlot):
    """A histogram of every activation value (log- or linear-spaced bins), counts on a linear
    or log axis.

    The number of bars follows the width at render time, and rendered plots are cached by what
    they show and their size, so a repaint never depends on when the last resize arrived. The
    x labels go where the mass is; counts are labelled compactly (12.9M).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[ModelFigures | None, int | None, str, tuple[str, ...], bool] = (
            None, None, "log", (), False)
        self._renders: dict[tuple, Text] = {}

    def show(self, fig: ModelFigures | None, layer: int | None, mode: str,
             titles: str | tuple[str, ...], log_counts: bool = False) -> None:
        """Plot ``fig``'s spectrum of ``layer`` (None: the whole model) under the first of
        ``titles`` that fits (see :class:`TitledPlot`); ``log_counts``: a log count axis."""
        shown = (fig, layer, mode, title_candidates(titles), log_counts)
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def render(self) -> Text:
        fig, layer, mode, titles, log_counts = self._shown
        key = (*self._shown, self.size, self.app.theme)
        text = self._renders.get(key)
        if text is None:
            plt = self.plt
            plt.clear_figure()
            self.set_titles(titles)
            if fig is not None and fig.hist(layer).sum() > 0:
                width = self.size.width or 60
                labels, counts = fig.spectrum_bars(layer, mode, max(8, min(40, width // 3)))
                positions = list(range(len(counts)))
                top = max(counts)
                if log_counts:  # plotext's own log scale fails on empty bars: log10(1 + n)
                    plt.bar(positions, [log_count(c) for c in counts], width=0.8)
                    ticks = log_count_ticks(top)
                    ordered_yticks(plt, [log_count(t) for t in ticks],
                                   [count_label(t) for t in ticks])
                else:
                    plt.bar(positions, counts, width=0.8)
                    ticks = linear_count_ticks(top)
                    ordered_yticks(plt, ticks, [count_label(t) for t in ticks])
                chosen = x_ticks(labels, counts, width)
                ordered_xticks(plt, chosen, [labels[i] for i in chosen])
                plt.yscale("linear")
            text = super().render()
            if len(self._renders) >= RENDER_CACHE:
                self._renders.clear()
            self._renders[key] = text
        return text
