"""The five models side by side: NNU (poster Fig. 5), spectra (Fig. 6), range (Fig. 7)."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Grid
from textual_plotext import PlotextPlot

from tlexplorer import metrics
from tlexplorer.tui.figures import ModelFigures
from tlexplorer.tui.widgets.spectrum import ordered_xticks


class CompareView(Grid):
    """Three plots, one series (or bar) per model."""

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="compare-nnu")
        yield PlotextPlot(id="compare-spectrum")
        yield PlotextPlot(id="compare-range")

    def show(self, figures: dict[str, ModelFigures]) -> None:
        labels = sorted(figures)
        nnu = self.query_one("#compare-nnu", PlotextPlot).plt
        nnu.clear_data()
        nnu.title("NNU % per model")
        if labels:
            positions = list(range(1, len(labels) + 1))
            nnu.bar(positions, [figures[k].summary.nnu_pct for k in labels], width=0.6)
            ordered_xticks(nnu, positions, labels)

        spectra = self.query_one("#compare-spectrum", PlotextPlot).plt
        spectra.clear_data()
        spectra.title("spectrum (share of values, log bins)")
        ranges = [metrics.magnitude_exponent_range(figures[k].model_hist) for k in labels]
        ranges = [r for r in ranges if r is not None]
        if ranges:
            lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
            for k in labels:
                spec = metrics.display_spectrum(figures[k].model_hist, "log", 24, lo, hi)
                total = max(spec.total, 1)
                spectra.plot([c / total for c in spec.count], label=k)

        rng = self.query_one("#compare-range", PlotextPlot).plt
        rng.clear_data()
        rng.title("max activation per layer")
        for k in labels:
            maxima = [m for m in metrics.activation_range(figures[k].result) if math.isfinite(m)]
            if maxima:
                rng.plot(list(range(1, len(maxima) + 1)), maxima, label=k)
        for plot in self.query(PlotextPlot):
            plot.refresh()
