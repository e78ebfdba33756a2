"""Numbers the panes show, computed once per capture result so key presses only repaint."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from tlexplorer import metrics
from tlexplorer.capture.result import CaptureResult, LayerStats


@dataclass
class LayerRow:
    name: str
    units: int
    dead: int
    nnu_pct: float
    dormant_pct: float
    max: float
    mean: float
    zero_fraction: float
    skewness: float


@dataclass
class ModelFigures:
    """A model's summary and per-layer rows under one τ."""

    result: CaptureResult
    tau: float

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
            LayerRow(layer.name, layer.units, int(metrics.dead_units(layer, eps).sum()),
                     metrics.layer_nnu_pct(layer, eps),
                     metrics.layer_dormant_pct(layer, self.tau), metrics.layer_max(layer),
                     metrics.layer_mean_activation(layer), metrics.layer_zero_fraction(layer),
                     metrics.layer_skewness(layer))
            for layer in self.layers
        ]

    @cached_property
    def model_hist(self) -> np.ndarray:
        return metrics.merged_histogram(self.layers)


def fmt(value: float, spec: str = ".2f") -> str:
    """A number for a table cell; nan shows as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)
