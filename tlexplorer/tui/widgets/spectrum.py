"""The activation spectrum of a model or one layer (plotext), with zero fraction and skewness."""

from __future__ import annotations

from rich.text import Text
from textual_plotext import PlotextPlot

from tlexplorer.tui.figures import ModelFigures
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


def tick_step(labels: list[str], width: int, most: int = 6) -> int:
    """Every how many bars to write a label: at most ``most`` labels, and never overlapping."""
    if not labels:
        return 1
    room = max(1, (width - 8) // (max(len(label) for label in labels) + 1))
    return max(1, -(-len(labels) // min(most, room)))


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


class SpectrumPlot(TitledPlot):
    """A histogram of every activation value (log- or linear-spaced bins).

    The number of bars follows the width at render time, and rendered plots are cached by what
    they show and their size, so a repaint never depends on when the last resize arrived.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[ModelFigures | None, int | None, str, tuple[str, ...]] = (
            None, None, "log", ())
        self._renders: dict[tuple, Text] = {}

    def show(self, fig: ModelFigures | None, layer: int | None, mode: str,
             titles: str | tuple[str, ...]) -> None:
        """Plot ``fig``'s spectrum of ``layer`` (None: the whole model) under the first of
        ``titles`` that fits (see :class:`TitledPlot`)."""
        shown = (fig, layer, mode, title_candidates(titles))
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def render(self) -> Text:
        fig, layer, mode, titles = self._shown
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
                plt.bar(positions, counts, width=0.8)
                step = tick_step(labels, width)
                ordered_xticks(plt, positions[::step], labels[::step])
                plt.yscale("linear")
            text = super().render()
            if len(self._renders) >= RENDER_CACHE:
                self._renders.clear()
            self._renders[key] = text
        return text
