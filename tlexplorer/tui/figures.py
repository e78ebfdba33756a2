"""Numbers the panes show, computed once per capture result so key presses only repaint.

:class:`ModelFigures` holds one model's rows and summary under one τ. What does not depend on τ
(spectra coarsened for display, percentiles, the merged histogram) lives in a cache shared by
every τ of the same result, so cycling τ recomputes only the dormant figures and moving between
layers recomputes nothing that was shown before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from tlexplorer import metrics
from tlexplorer.capture.result import CaptureResult, LayerStats


@dataclass
class LayerRow:
    name: str
    units: int
    dead: int | None  # None where NNU is n/a (no true zero floor)
    nnu_pct: float
    dormant_pct: float
    max: float
    mean: float
    zero_fraction: float
    skewness: float


def _edge_label(value: float) -> str:
    if value == 0:
        return "0"
    return format(value, ".0e").replace("e-0", "e-").replace("e+0", "e")


@dataclass(eq=False)
class ModelFigures:
    """A model's summary and per-layer rows under one τ (hashed by identity)."""

    result: CaptureResult
    tau: float
    shared: dict[Any, Any] = field(default_factory=dict, repr=False)

    def with_tau(self, tau: float) -> ModelFigures:
        """The same result under another τ, keeping every τ-independent figure computed so far."""
        return self if tau == self.tau else ModelFigures(self.result, tau, self.shared)

    @cached_property
    def summary(self) -> metrics.ModelSummary:
        return metrics.summarize(self.result, self.tau)

    @property
    def layers(self) -> list[LayerStats]:
        return self.result.hidden_layers

    @cached_property
    def rows(self) -> list[LayerRow]:
        eps = self.result.epsilon
        return [
            LayerRow(layer.name, layer.units, metrics.layer_dead_count(layer, eps),
                     metrics.layer_nnu_pct(layer, eps),
                     metrics.layer_dormant_pct(layer, self.tau), metrics.layer_max(layer),
                     metrics.layer_mean_activation(layer), metrics.layer_zero_fraction(layer),
                     metrics.layer_skewness(layer))
            for layer in self.layers
        ]

    @property
    def model_hist(self) -> np.ndarray:
        if "model_hist" not in self.shared:
            self.shared["model_hist"] = metrics.merged_histogram(self.layers)
        return self.shared["model_hist"]

    def hist(self, layer: int | None) -> np.ndarray:
        """The raw histogram of hidden layer ``layer``, or of the whole model for None."""
        return self.model_hist if layer is None else self.layers[layer].hist

    def spectrum_bars(self, layer: int | None, mode: str, bins: int
                      ) -> tuple[list[str], list[int]]:
        """Bar labels and counts of a spectrum coarsened for display (cached)."""
        key = ("bars", layer, mode, bins)
        if key not in self.shared:
            spec = metrics.display_spectrum(self.hist(layer), mode=mode, bins=bins)
            self.shared[key] = ([_edge_label(float(lo)) for lo in spec.low],
                                [int(c) for c in spec.count])
        return self.shared[key]

    def percentiles(self, layer: int | None) -> tuple[float, float]:
        """Median and 99th percentile of the activation values (cached)."""
        key = ("pct", layer)
        if key not in self.shared:
            p50, p99 = metrics.histogram_percentiles(self.hist(layer), [50, 99])
            self.shared[key] = (float(p50), float(p99))
        return self.shared[key]


def fmt(value: float, spec: str = ".2f") -> str:
    """A number for a table cell; nan shows as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)


NA = "n/a"


def fmt_nnu(value: float, defined: bool, spec: str = ".1f") -> str:
    """An NNU figure: "n/a" where NNU is undefined (no true zero floor), else :func:`fmt`."""
    return fmt(value, spec) if defined else NA
