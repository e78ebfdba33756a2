"""The five models side by side: NNU (poster Fig. 5), spectra (Fig. 6), range (Fig. 7)."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Grid

from tlexplorer import metrics
from tlexplorer.tui.figures import ModelFigures
from tlexplorer.tui.widgets.spectrum import TitledPlot, ordered_xticks


class CompareView(Grid):
    """Three plots, one series (or bar) per model; titles shorten to fit narrow plots."""

    def compose(self) -> ComposeResult:
        yield TitledPlot(id="compare-nnu")
        yield TitledPlot(id="compare-spectrum")
        yield TitledPlot(id="compare-range")

    def show(self, figures: dict[str, ModelFigures]) -> None:
        """``figures`` in the models' order (the suite's 1–5, or the files as given)."""
        labels = list(figures)
        plot = self.query_one("#compare-nnu", TitledPlot)
        plot.set_titles(("NNU % per model", "NNU %"))
        nnu = plot.plt
        nnu.clear_data()
        if labels:
            positions = list(range(1, len(labels) + 1))
            nnu.bar(positions, [figures[k].summary.nnu_pct for k in labels], width=0.6)
            ordered_xticks(nnu, positions, labels)

        plot = self.query_one("#compare-spectrum", TitledPlot)
        plot.set_titles(("spectrum (share of values, log bins)", "spectrum (log bins)",
                         "spectrum"))
        spectra = plot.plt
        spectra.clear_data()
        ranges = [metrics.magnitude_exponent_range(figures[k].model_hist) for k in labels]
        ranges = [r for r in ranges if r is not None]
        if ranges:
            lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
            for k in labels:
                spec = metrics.display_spectrum(figures[k].model_hist, "log", 24, lo, hi)
                total = max(spec.total, 1)
                spectra.plot([c / total for c in spec.count], label=k)

        plot = self.query_one("#compare-range", TitledPlot)
        plot.set_titles(("max activation per layer", "max per layer", "max activation"))
        rng = plot.plt
        rng.clear_data()
        for k in labels:
            maxima = [m for m in metrics.activation_range(figures[k].result) if math.isfinite(m)]
            if maxima:
                rng.plot(list(range(1, len(maxima) + 1)), maxima, label=k)
        for each in self.query(TitledPlot):
            each.refresh()
