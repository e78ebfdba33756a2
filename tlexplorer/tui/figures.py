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


def value_label(value: float) -> str:
    """An activation value in 3 significant digits, exponents without padding: "0.00391",
    "9.54e-7", "1.5e5"; nan and ±inf as themselves."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    return format(value, ".3g").replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def count_label(count: float) -> str:
    """A count in at most 5 characters: 950, 1.5k, 12.9M, 3.4G (never "12850496.0")."""
    if not math.isfinite(count):
        return str(count)
    sign, count = ("-", -count) if count < 0 else ("", count)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= scale * 0.9995:
            shown = count / scale
            text = f"{shown:.3g}" if shown < 100 else f"{shown:.0f}"
            return f"{sign}{text}{suffix}"
    return f"{sign}{count:.3g}" if count != int(count) else f"{sign}{int(count)}"


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
            self.shared[key] = ([value_label(float(lo)) for lo in spec.low],
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


# -- sorting, aligning and picking: pure helpers of the tables and plots ----------------------

def sort_order(values: list[Any], descending: bool = False) -> list[int]:
    """Indices of ``values`` in sorted order; missing values (None, nan) last either way.

    Ties keep their original order, so a sort by a column with equal values keeps the layers'
    depth order within each group.
    """
    def missing(value: Any) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value))

    present = [i for i, v in enumerate(values) if not missing(v)]
    present.sort(key=lambda i: values[i], reverse=descending)  # stable either way
    return present + [i for i, v in enumerate(values) if missing(v)]


def aligned_layers(names: list[list[str]]) -> list[str]:
    """Layer names of several models merged into one list, aligned by name.

    Each model's own order is kept; a layer first seen in a later model goes right after the
    layer that precedes it in that model (first when it is the model's first layer).
    """
    merged: list[str] = []
    for layers in names:
        previous: str | None = None
        for name in layers:
            if name not in merged:
                merged.insert(merged.index(previous) + 1 if previous is not None else 0, name)
            previous = name
    return merged


COMPARE_METRICS = {"nnu": "NNU %", "dormant": "dormant %", "max": "max activation"}


def layer_metric_cell(row: LayerRow | None, metric: str) -> str:
    """One cell of the per-layer compare table: "–" for a layer the model lacks, "n/a" for NNU
    without a zero floor."""
    if row is None:
        return "–"
    if metric == "nnu":
        return fmt_nnu(row.nnu_pct, row.dead is not None)
    if metric == "dormant":
        return fmt(row.dormant_pct, ".1f")
    if metric == "max":
        return fmt(row.max, ".3g")
    raise ValueError(f"unknown metric {metric!r}; one of {', '.join(COMPARE_METRICS)}")


def index_ranges(indices: list[int]) -> str:
    """Unit indices written compactly: [0, 1, 2, 5, 7, 8] → "0–2, 5, 7, 8" (runs of 3 or more
    as a range)."""
    parts: list[str] = []
    run: list[int] = []
    for i in sorted(indices):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            parts.append(f"{run[0]}–{run[-1]}" if len(run) >= 3 else ", ".join(map(str, run)))
        run = [i]
    if run:
        parts.append(f"{run[0]}–{run[-1]}" if len(run) >= 3 else ", ".join(map(str, run)))
    return ", ".join(parts)


def mass_ticks(counts: list[int], gap: int, most: int = 6) -> list[int]:
    """Bar positions to label on a spectrum's x axis: the heaviest bars first, then the ends and
    evenly spaced bars, never two closer than ``gap`` bars, at most ``most``; ascending."""
    n = len(counts)
    if n == 0:
        return []
    gap = max(1, gap)
    chosen: list[int] = []

    def take(i: int) -> None:
        if len(chosen) < most and all(abs(i - c) >= gap for c in chosen):
            chosen.append(i)

    for i in sorted((i for i in range(n) if counts[i] > 0), key=lambda i: (-counts[i], i)):
        take(i)
        if len(chosen) >= max(1, most - 2):  # leave room for the axis' ends
            break
    for i in (0, n - 1, *range(0, n, gap)):
        take(i)
    return sorted(chosen)


def linear_count_ticks(top: float, most: int = 5) -> list[float]:
    """Round y ticks from 0 to at least ``top`` (1, 2, 5 × 10^k apart), at most ``most``."""
    if not top > 0:
        return [0.0]
    raw = top / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [k * step for k in range(int(math.floor(top / step)) + 1)]


def log_count(count: float) -> float:
    """A count's bar height on the log count axis: log10(1 + count), so 0 → 0 and 1 shows."""
    return math.log10(1.0 + max(count, 0.0))


def log_count_ticks(top: float, most: int = 5) -> list[int]:
    """Counts to mark on the log count axis: 0 and powers of ten up to ``top``."""
    if not top >= 1:
        return [0]
    highest = int(math.floor(math.log10(top)))
    step = max(1, -(-(highest + 1) // max(1, most - 1)))
    return [0] + [10 ** k for k in range(highest % step, highest + 1, step)]
