"""Metrics computed from capture results: NNU, τ-dormant, spectrum, range, classification, ranks.

Everything here is numpy only and works on the streamed statistics of
:mod:`tlexplorer.capture.result` (sums, counts, maxima, fixed-edge histograms), never on raw
activations. Degenerate inputs (no images, no units, empty histograms) give ``nan`` or empty
arrays, never warnings. Fractions are in ``[0, 1]``; names ending in ``_pct`` are percentages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tlexplorer.capture.result import (
    BINS_PER_OCTAVE,
    HIST_BINS,
    NEG_OFFSET,
    CaptureResult,
    LayerStats,
    combine_moments,
    magnitude_edges,
    skewness_from_moments,
)

DEFAULT_TAU = 0.1
"""Default τ of the τ-dormant test. Sokar et al. (2023) use τ ∈ {0, 0.025, 0.1}; 0.1 is the
largest of those and flags units that carry under a tenth of their layer's average activity."""

PROB_CLIP = 1e-7
"""Probabilities are clipped to ``[PROB_CLIP, 1 - PROB_CLIP]`` in cross-entropy (as Keras does);
logits need no clipping (exact log-sigmoid / log-softmax)."""

DECISION_THRESHOLD = 0.5
"""The one decision rule of a binary head: class 1 when P(class 1) > 0.5 (logit > 0), as Keras'
binary metrics do. Metrics, top images and feature-map captions all use :func:`predict`."""

OUTPUT_MODES = ("auto", "probabilities", "logits")
PROBABILITY_HEADS = frozenset({"sigmoid", "softmax"})

NNU_NA_REASON = ("NNU is n/a for activations without a true zero floor (tanh, sigmoid, gelu, "
                 "swish, leaky ReLU, elu, …): their units are never exactly 'off'")

_EXPONENT_BIAS = 127  # float32 exponent bias: octave E (biased) spans [2**(E-127), 2**(E-126))
_MAX_FINITE_OCTAVE = 254  # biased exponent 255 holds inf/NaN


# --------------------------------------------------------------------------------------------
# Raw histogram layout
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _ordered_layout() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Raw bins in ascending value order: negatives, the zero bin, positives.

    Returns ``(neg_raw, pos_raw, low, high)``: the raw indices of the negative bins (largest
    magnitude first) and of the positive bins (smallest first), and the value edges of all
    ``2 * (NEG_OFFSET - 1) + 1`` ordered bins (the zero bin sits in the middle with edges 0, 0).
    """
    mag_low, mag_high = magnitude_edges()
    k = np.arange(1, NEG_OFFSET)
    k_desc = k[::-1]
    neg_raw = NEG_OFFSET + k_desc
    low = np.concatenate([-mag_high[k_desc], [0.0], mag_low[k]])
    high = np.concatenate([-mag_low[k_desc], [0.0], mag_high[k]])
    for array in (neg_raw, low, high):
        array.setflags(write=False)
    k.setflags(write=False)
    return neg_raw, k, low, high


def _ordered_counts(hist: np.ndarray) -> np.ndarray:
    """Counts of the ordered bins of :func:`_ordered_layout` (+0.0 and -0.0 merged)."""
    hist = _check_hist(hist)
    neg_raw, pos_raw, _, _ = _ordered_layout()
    zero = hist[0] + hist[NEG_OFFSET]
    return np.concatenate([hist[neg_raw], [zero], hist[pos_raw]]).astype(np.int64)


def _check_hist(hist: np.ndarray) -> np.ndarray:
    hist = np.asarray(hist)
    if hist.shape != (HIST_BINS,):
        raise ValueError(f"a raw histogram has shape ({HIST_BINS},), got {hist.shape}")
    return hist.astype(np.int64, copy=False)


def _zero_count(hist: np.ndarray) -> int:
    """Exact zeros of a raw histogram: +0.0 (raw bin 0) and -0.0 (raw bin NEG_OFFSET)."""
    return int(hist[0]) + int(hist[NEG_OFFSET])


# --------------------------------------------------------------------------------------------
# Per-layer metrics
# --------------------------------------------------------------------------------------------


def nnu_defined(layer: LayerStats) -> bool:
    """Whether NNU means anything for the layer: only activations with a true zero floor."""
    return bool(layer.zero_floor)


def dead_units(layer: LayerStats, eps: float = 0.0) -> np.ndarray:
    """Boolean mask (units,) of dead units: activation ≤ ``eps`` for every image and position.

    A layer that saw no images has no evidence of death, and a layer without a true zero floor
    (:func:`nnu_defined`) has no dead units in the poster's sense: every entry is False.
    """
    if layer.n_images <= 0 or not nnu_defined(layer):
        return np.zeros(layer.units, dtype=bool)
    return np.asarray(layer.unit_max) <= eps


def layer_dead_count(layer: LayerStats, eps: float = 0.0) -> int | None:
    """Dead units of one layer, or None where NNU is n/a (no true zero floor, or no images)."""
    if not nnu_defined(layer) or layer.n_images <= 0:
        return None
    return int(dead_units(layer, eps).sum())


def layer_nnu_pct(layer: LayerStats, eps: float = 0.0) -> float:
    """NNU % of one layer: 100 · dead units / units (nan without units or images, or n/a)."""
    dead = layer_dead_count(layer, eps)
    if layer.units <= 0 or dead is None:
        return math.nan
    return 100.0 * dead / layer.units


def dormant_scores(layer: LayerStats) -> np.ndarray:
    """τ-dormant scores (Sokar et al. 2023) of the units of one layer, float64 (units,).

    ``score_i = a_i / mean_k(a_k)`` with ``a_i`` the mean of ``|h_i|`` over images and positions.
    When the layer's mean is 0 (or it saw no images) every score is 0: every unit is dormant.
    """
    values_per_unit = int(layer.n_images) * int(layer.positions)
    if layer.units <= 0:
        return np.zeros(0, dtype=np.float64)
    if values_per_unit <= 0:
        return np.zeros(layer.units, dtype=np.float64)
    activity = np.asarray(layer.unit_abs_sum, dtype=np.float64) / values_per_unit
    layer_mean = float(activity.mean())
    if not layer_mean > 0.0 or not math.isfinite(layer_mean):
        return np.zeros(layer.units, dtype=np.float64)
    return activity / layer_mean


def layer_dormant_pct(layer: LayerStats, tau: float = DEFAULT_TAU) -> float:
    """τ-dormant % of one layer: 100 · mean(score ≤ τ) (nan without units or images)."""
    if layer.units <= 0 or layer.n_images <= 0:
        return math.nan
    return 100.0 * float(np.mean(dormant_scores(layer) <= tau))


def layer_mean_activation(layer: LayerStats) -> float:
    """Mean activation value of one layer over all images, positions and units (nan if empty)."""
    if layer.count <= 0 or layer.moments[0] <= 0:
        return math.nan
    return float(layer.moments[1])


def layer_zero_fraction(layer: LayerStats) -> float:
    """Fraction of the layer's activation values that are exactly zero (+0.0 or -0.0)."""
    if layer.count <= 0:
        return math.nan
    return _zero_count(_check_hist(layer.hist)) / layer.count


def layer_skewness(layer: LayerStats) -> float:
    """Population skewness of the layer's activation values, from its central moments."""
    return skewness_from_moments(layer.moments)


def layer_max(layer: LayerStats) -> float:
    """Largest activation of the layer over the test set (nan without units or images)."""
    if layer.units <= 0 or layer.n_images <= 0:
        return math.nan
    return float(np.max(layer.unit_max))


# --------------------------------------------------------------------------------------------
# Model totals (hidden layers only)
# --------------------------------------------------------------------------------------------


def model_units(result: CaptureResult) -> int:
    """Units of the model's hidden probed layers (the output layer is left out)."""
    return sum(int(layer.units) for layer in result.hidden_layers)


def model_nnu_units(result: CaptureResult) -> int:
    """Units of the hidden layers where NNU is defined (true zero floor): NNU's denominator."""
    return sum(int(layer.units) for layer in result.hidden_layers if nnu_defined(layer))


def model_dead_units(result: CaptureResult, eps: float | None = None) -> int:
    """Dead units over the hidden layers where NNU is defined; ``eps`` defaults to the
    capture's ``epsilon``."""
    threshold = result.epsilon if eps is None else eps
    return sum(int(dead_units(layer, threshold).sum()) for layer in result.hidden_layers)


def _has_data(result: CaptureResult) -> bool:
    return any(layer.n_images > 0 and layer.units > 0 for layer in result.hidden_layers)


def model_nnu_pct(result: CaptureResult, eps: float | None = None) -> float:
    """NNU % of the model: 100 · dead units / units over the hidden layers where NNU is defined
    (nan if there are none, or no data)."""
    units = model_nnu_units(result)
    if units <= 0 or not _has_data(result):
        return math.nan
    return 100.0 * model_dead_units(result, eps) / units


def model_dormant_pct(result: CaptureResult, tau: float = DEFAULT_TAU) -> float:
    """τ-dormant % of the model: 100 · dormant units / units over the hidden layers.

    Scores are normalised per layer (Sokar et al.); layers that saw no images count no dormant
    units. nan when no hidden layer has data.
    """
    units = model_units(result)
    if units <= 0 or not _has_data(result):
        return math.nan
    dormant = sum(
        int((dormant_scores(layer) <= tau).sum())
        for layer in result.hidden_layers
        if layer.n_images > 0
    )
    return 100.0 * dormant / units


# --------------------------------------------------------------------------------------------
# Activation spectrum
# --------------------------------------------------------------------------------------------


def merged_histogram(layers: Sequence[LayerStats]) -> np.ndarray:
    """Sum of the raw histograms of ``layers`` (int64, shape (HIST_BINS,))."""
    total = np.zeros(HIST_BINS, dtype=np.int64)
    for layer in layers:
        total += _check_hist(layer.hist)
    return total


def spectrum_skewness(layers: Sequence[LayerStats]) -> float:
    """Population skewness of every activation value of ``layers`` (merged central moments)."""
    if not layers:
        return math.nan
    return skewness_from_moments(combine_moments(np.stack([layer.moments for layer in layers])))


def zero_fraction(layers: Sequence[LayerStats]) -> float:
    """Fraction of all activation values of ``layers`` that are exactly zero (nan if none)."""
    count = sum(layer.count for layer in layers)
    if count <= 0:
        return math.nan
    return sum(_zero_count(_check_hist(layer.hist)) for layer in layers) / count


def histogram_percentiles(hist: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Percentiles ``qs`` (0–100) of the values counted in a raw histogram, float64.

    Bins are walked in value order (negatives, zero, positives). The rank ``q/100 · N`` falls in
    one bin; the result interpolates linearly between that bin's edges by the rank's position
    among the bin's count, so it is exact to within one bin width (a quarter octave). ``q = 0``
    gives the lower edge of the lowest occupied bin, ``q = 100`` the upper edge of the highest.
    An empty histogram gives nan.
    """
    q = np.asarray(qs, dtype=np.float64).reshape(-1)
    if np.any(~(q >= 0.0) | ~(q <= 100.0)):
        raise ValueError("percentiles must lie in [0, 100]")
    counts = _ordered_counts(hist)
    _, _, low, high = _ordered_layout()
    occupied = counts > 0
    if not occupied.any():
        return np.full(q.shape, np.nan)
    counts = counts[occupied].astype(np.float64)
    low = low[occupied]
    high = high[occupied]
    cumulative = np.cumsum(counts)
    rank = q / 100.0 * cumulative[-1]
    # First occupied bin whose cumulative count reaches the rank.
    b = np.minimum(np.searchsorted(cumulative, rank, side="left"), len(counts) - 1)
    before = cumulative[b] - counts[b]
    frac = np.clip((rank - before) / counts[b], 0.0, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        value = low[b] + frac * (high[b] - low[b])
    value = np.where(frac == 0.0, low[b], value)
    value = np.where(frac == 1.0, high[b], value)
    return np.where(low[b] == high[b], low[b], value)


def spectrum_rows(hist: np.ndarray) -> list[tuple[float, float, int]]:
    """``(bin_low, bin_high, count)`` of every non-empty raw bin, ascending in value.

    Negative bins are ``(-high, -low)`` of their magnitude bin; the zero bin is
    ``(0.0, 0.0, count)`` with +0.0 and -0.0 merged. Only rows with ``count > 0`` are listed.
    """
    counts = _ordered_counts(hist)
    _, _, low, high = _ordered_layout()
    return [(float(low[i]), float(high[i]), int(counts[i])) for i in np.flatnonzero(counts > 0)]


@dataclass
class Spectrum:
    """Display bins of an activation spectrum, ascending in value.

    ``low``/``high`` are the value edges of each bar (float64) and ``count`` its count (int64).
    The zero bar has ``low == high == 0``; negative bars lie left of it.
    """

    low: np.ndarray
    high: np.ndarray
    count: np.ndarray

    @property
    def total(self) -> int:
        """Number of values counted by all bars."""
        return int(self.count.sum())

    def __len__(self) -> int:
        return int(self.count.shape[0])


def _empty_spectrum() -> Spectrum:
    return Spectrum(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))


def magnitude_exponent_range(hist: np.ndarray) -> tuple[int, int] | None:
    """Smallest and largest base-2 exponent ``e`` (octave ``[2**e, 2**(e+1))``) of any non-zero
    value counted in a raw histogram, either sign; None when there is none.

    Pass the union over several models as ``lo_exp``/``hi_exp`` of :func:`display_spectrum` to
    draw their spectra on a common axis.
    """
    hist = _check_hist(hist)
    magnitudes = hist[1:NEG_OFFSET] + hist[NEG_OFFSET + 1 :]
    occupied = np.flatnonzero(magnitudes > 0) + 1
    if occupied.size == 0:
        return None
    octaves = occupied // BINS_PER_OCTAVE
    return int(octaves.min()) - _EXPONENT_BIAS, int(octaves.max()) - _EXPONENT_BIAS


def display_spectrum(
    hist: np.ndarray,
    mode: str = "log",
    bins: int = 40,
    lo_exp: int | None = None,
    hi_exp: int | None = None,
) -> Spectrum:
    """Coarsen a raw histogram into at most ``bins`` display bars, ascending in value.

    ``"log"``: a zero bar plus magnitude bars made of whole octaves, spanning the octaves from
    the smallest to the largest occupied raw bin (widened to ``lo_exp``..``hi_exp``, base-2
    exponents, when given — use that to share an axis between models; the range is only ever
    widened, so no value is dropped). Octaves are merged in equal groups so that all bars fit in
    ``bins``. Negative values, if any, get mirrored bars left of zero over the same octaves.

    ``"linear"``: ``bins`` equal-width bars from the lowest to the highest occupied raw-bin edge.
    This is an approximation: each raw bin's count is spread over the bars it overlaps in
    proportion to the overlap (as if values were uniform inside the raw bin), then rounded to
    integers by largest remainder. Exact zeros go to the bar containing 0. Raw bins of ±inf/NaN
    go to the outermost bar on their side.

    Either way the counts sum to the histogram's total. An empty histogram gives no bars.
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    hist = _check_hist(hist)
    if mode == "log":
        return _log_spectrum(hist, bins, lo_exp, hi_exp)
    if mode == "linear":
        return _linear_spectrum(hist, bins)
    raise ValueError(f"unknown spectrum mode {mode!r} (use 'log' or 'linear')")


def _log_spectrum(hist: np.ndarray, bins: int, lo_exp: int | None, hi_exp: int | None) -> Spectrum:
    zero = _zero_count(hist)
    pos = hist[:NEG_OFFSET].copy()
    neg = hist[NEG_OFFSET:].copy()
    pos[0] = 0
    neg[0] = 0
    if int(hist.sum()) == 0 and lo_exp is None and hi_exp is None:
        return _empty_spectrum()

    octave_of = np.arange(NEG_OFFSET) // BINS_PER_OCTAVE
    occupied = np.flatnonzero((pos > 0) | (neg > 0))
    bounds: list[int] = []
    if occupied.size:
        bounds += [int(octave_of[occupied].min()), int(octave_of[occupied].max())]
    for exp in (lo_exp, hi_exp):
        if exp is not None:
            bounds.append(min(max(int(exp) + _EXPONENT_BIAS, 0), _MAX_FINITE_OCTAVE))
    if not bounds:  # only exact zeros
        return Spectrum(np.zeros(1), np.zeros(1), np.array([zero], dtype=np.int64))
    first, last = min(bounds), max(bounds)

    has_neg = bool(neg.any())
    has_pos = bool(pos.any()) or lo_exp is not None or hi_exp is not None
    sides = int(has_neg) + int(has_pos)
    max_groups = max(1, (bins - 1) // max(sides, 1))
    n_octaves = last - first + 1
    per_group = -(-n_octaves // max_groups)  # ceil
    starts = np.arange(first, last + 1, per_group)
    ends = np.minimum(starts + per_group - 1, last)

    mag_low, mag_high = magnitude_edges()
    # Raw bin 0 is the zero bin, so octave 0 (denormals) starts at raw bin 1.
    first_raw = np.maximum(starts * BINS_PER_OCTAVE, 1)
    last_raw = np.minimum((ends + 1) * BINS_PER_OCTAVE, NEG_OFFSET)  # exclusive
    g_low = mag_low[first_raw]
    g_high = mag_high[last_raw - 1]
    # Values outside [first, last] cannot exist (the range covers every occupied bin).
    pos_cum = np.concatenate([[0], np.cumsum(pos)])
    neg_cum = np.concatenate([[0], np.cumsum(neg)])
    pos_counts = pos_cum[last_raw] - pos_cum[first_raw]
    neg_counts = neg_cum[last_raw] - neg_cum[first_raw]

    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    if has_neg:
        lows.append(-g_high[::-1])
        highs.append(-g_low[::-1])
        counts.append(neg_counts[::-1])
    lows.append(np.zeros(1))
    highs.append(np.zeros(1))
    counts.append(np.array([zero], dtype=np.int64))
    if has_pos:
        lows.append(g_low)
        highs.append(g_high)
        counts.append(pos_counts)
    return Spectrum(
        np.concatenate(lows).astype(np.float64),
        np.concatenate(highs).astype(np.float64),
        np.concatenate(counts).astype(np.int64),
    )


def _linear_spectrum(hist: np.ndarray, bins: int) -> Spectrum:
    counts = _ordered_counts(hist)
    _, _, low, high = _ordered_layout()
    total = int(counts.sum())
    if total == 0:
        return _empty_spectrum()
    zero_index = NEG_OFFSET - 1  # position of the zero bin among the ordered bins
    occupied = counts > 0
    finite = np.isfinite(low) & np.isfinite(high)
    spread = occupied & finite
    spread[zero_index] = False
    edge_values = [low[spread], high[spread]]
    if counts[zero_index] > 0:
        edge_values.append(np.zeros(1))
    edge_values = np.concatenate(edge_values)
    if edge_values.size == 0:  # only ±inf/NaN values
        lo = hi = 0.0
    else:
        lo, hi = float(edge_values.min()), float(edge_values.max())
    if not hi > lo:
        return Spectrum(np.array([lo]), np.array([hi]), np.array([total], dtype=np.int64))

    edges = np.linspace(lo, hi, bins + 1)
    a = low[spread][:, None]
    b = high[spread][:, None]
    overlap = np.clip(np.minimum(b, edges[None, 1:]) - np.maximum(a, edges[None, :-1]), 0, None)
    share = overlap / (b - a)
    share /= share.sum(axis=1, keepdims=True)  # guard against rounding at the outer edges
    expected = (share * counts[spread][:, None]).sum(axis=0)

    if counts[zero_index] > 0:
        at = int(np.clip(np.searchsorted(edges, 0.0, side="right") - 1, 0, bins - 1))
        expected[at] += counts[zero_index]
    special = occupied & ~finite
    expected[0] += counts[special & (np.arange(counts.size) < zero_index)].sum()
    expected[-1] += counts[special & (np.arange(counts.size) > zero_index)].sum()
    return Spectrum(edges[:-1].copy(), edges[1:].copy(), _round_preserving_total(expected, total))


def _round_preserving_total(expected: np.ndarray, total: int) -> np.ndarray:
    """Integer counts close to ``expected`` that sum to ``total`` (largest-remainder method)."""
    floors = np.floor(expected).astype(np.int64)
    remainder = total - int(floors.sum())
    if remainder > 0:
        order = np.argsort(-(expected - floors), kind="stable")
        floors[order[:remainder]] += 1
    elif remainder < 0:  # only from float error: take from the largest bars
        order = np.argsort(-floors, kind="stable")
        floors[order[:-remainder]] -= 1
    return floors


# --------------------------------------------------------------------------------------------
# Activation range
# --------------------------------------------------------------------------------------------


def activation_range(result: CaptureResult) -> np.ndarray:
    """Maximum activation of each hidden probed layer, in layer order (float64)."""
    return np.array([layer_max(layer) for layer in result.hidden_layers], dtype=np.float64)


def range_cv(maxima: np.ndarray) -> float:
    """Coefficient of variation of per-layer maxima: population std / |mean|.

    Lower means more consistent ranges across layers. nan with fewer than 2 layers, a zero mean
    or any non-finite maximum. The absolute mean keeps the value non-negative should every
    maximum be negative.
    """
    values = np.asarray(maxima, dtype=np.float64).reshape(-1)
    if values.size < 2 or not np.all(np.isfinite(values)):
        return math.nan
    mean = float(values.mean())
    if mean == 0.0:
        return math.nan
    return float(values.std() / abs(mean))


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` with ties given the mean of the ranks they span (float64)."""
    x = np.asarray(values).reshape(-1)
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = ordered[1:] != ordered[:-1]
    group = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], n)  # exclusive
    group_rank = (starts + 1 + ends) / 2.0  # mean of ranks start+1 .. end
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = group_rank[group]
    return ranks


def _binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Exact ROC AUC: Mann–Whitney U / (n_pos · n_neg), ties counted one half."""
    n_pos = int(positive.sum())
    n_neg = int(positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = average_ranks(scores)
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    """Precision, recall and F1 of one class; 0 where a denominator is 0."""
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn)


def resolve_outputs(head_activation: str, outputs: str = "auto") -> tuple[str, str | None]:
    """How to read a model's outputs: ``("probabilities" | "logits", note)``.

    ``outputs`` other than "auto" is taken as given. "auto" reads a sigmoid or softmax head as
    probabilities and a linear head (no final activation) as logits. Any other head activation
    (relu, tanh, …) gives neither: it is read as logits and ``note`` says so, so the assumption is
    never silent.
    """
    if outputs not in OUTPUT_MODES:
        raise ValueError(f"unknown outputs mode {outputs!r}; one of {', '.join(OUTPUT_MODES)}")
    if outputs != "auto":
        return outputs, None
    if head_activation in PROBABILITY_HEADS:
        return "probabilities", None
    if head_activation == "linear":
        return "logits", None
    return "logits", (f"the output layer's activation is {head_activation!r}, neither "
                      "sigmoid/softmax nor linear: its outputs were read as logits "
                      "(--outputs probabilities says otherwise)")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@dataclass
class ReadOutputs:
    """A model's raw outputs read as class scores (see :func:`read_outputs`)."""

    n_classes: int
    binary: bool  # one P(class 1) per image; else (n, C) class probabilities
    proba: np.ndarray  # (n,) P(class 1), or (n, C) rows summing to 1 (float64)
    log_proba: np.ndarray  # (n, 2) or (n, C) log-probabilities used by the loss
    rank_score: np.ndarray  # (n,) or (n, C): what ROC AUC ranks (monotone in proba)
    predicted: np.ndarray  # (n,) int64 predicted class
    finite: bool  # False when any output is NaN or ±inf


def read_outputs(scores: np.ndarray, outputs: str, n_classes: int | None = None) -> ReadOutputs:
    """Probabilities, log-probabilities and the predicted class from raw model outputs.

    ``scores``: (n,) or (n, 1) for one output unit (binary: P(class 1) or its logit), (n, C) for
    C ≥ 2 units (class probabilities or logits; C = 2 is binary with class 1 positive).
    ``outputs``: "probabilities" or "logits". Probabilities are clipped to ``[1e-7, 1 - 1e-7]``
    in the loss and multi-unit rows renormalised, as Keras does; logits go through an exact
    log-sigmoid / log-softmax. The decision rule is :data:`DECISION_THRESHOLD` on P(class 1)
    (the logit's sign) for binary heads, the argmax otherwise. ``n_classes`` (the data's), when
    given, must match the head: ValueError otherwise.
    """
    if outputs not in ("probabilities", "logits"):
        raise ValueError(f"outputs must be 'probabilities' or 'logits', got {outputs!r}")
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim not in (1, 2):
        raise ValueError(f"model outputs of shape {np.shape(scores)} are not class scores")
    width = 1 if s.ndim == 1 else int(s.shape[1])
    head_classes = 2 if width == 1 else width
    if n_classes is not None and n_classes != head_classes:
        raise ValueError(f"the model has {width} output unit{'s' if width != 1 else ''} "
                         f"({head_classes} classes) but the data has {n_classes} classes")
    n = int(s.shape[0])
    finite = bool(np.all(np.isfinite(s)))
    if not finite:  # nothing below is meaningful; callers report NaN metrics
        s = np.where(np.isfinite(s), s, 0.0)
    if width == 1:
        if outputs == "logits":
            p1 = _sigmoid(s)
            # log σ(z) = -softplus(-z), log(1-σ(z)) = -softplus(z): exact, no clipping
            log_p = np.stack([-np.logaddexp(0.0, s), -np.logaddexp(0.0, -s)], axis=1)
            predicted = (s > 0.0).astype(np.int64)
        else:
            p1 = s
            clipped = np.clip(s, PROB_CLIP, 1.0 - PROB_CLIP)
            log_p = np.stack([np.log1p(-clipped), np.log(clipped)], axis=1)
            predicted = (s > DECISION_THRESHOLD).astype(np.int64)
        return ReadOutputs(2, True, p1, log_p, s, predicted, finite)
    if outputs == "logits":
        log_p = _log_softmax(s) if n else np.zeros((0, width))
        proba = np.exp(log_p)
    else:
        row_sums = s.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            proba = np.where(row_sums > 0, s / row_sums, 1.0 / width)
        log_p = np.log(np.clip(proba, PROB_CLIP, 1.0 - PROB_CLIP))
    if width == 2:  # two units, two classes: binary, class 1 positive
        p1 = proba[:, 1]
        predicted = (p1 > DECISION_THRESHOLD).astype(np.int64)
        return ReadOutputs(2, True, p1, log_p, p1 if outputs != "logits" else s[:, 1] - s[:, 0],
                           predicted, finite)
    predicted = np.argmax(proba, axis=1).astype(np.int64) if n else np.zeros(0, np.int64)
    return ReadOutputs(width, False, proba, log_p, proba, predicted, finite)


def predict(result: CaptureResult) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and the model's probability of it, per test image (the one rule)."""
    mode, _ = resolve_outputs(result.head_activation, result.outputs)
    read = read_outputs(result.scores, mode)
    n = read.predicted.shape[0]
    if read.binary:
        confidence = np.where(read.predicted == 1, read.proba, 1.0 - read.proba)
    else:
        confidence = read.proba[np.arange(n), read.predicted] if n else np.zeros(0)
    return read.predicted, confidence


def classification_metrics(labels: np.ndarray, scores: np.ndarray,
                           outputs: str = "probabilities",
                           n_classes: int | None = None) -> dict:
    """Accuracy, loss, precision, recall, F1, ROC AUC and confusion matrix of one test pass.

    ``scores`` are the model's raw outputs, read by :func:`read_outputs` (``outputs``:
    "probabilities" or "logits"). Binary heads (one unit, or two): predicted 1 when
    P(class 1) > 0.5; loss is binary cross-entropy; precision/recall/F1 are for class 1 (the
    positive class); ``roc_auc`` is exact (rank-based Mann–Whitney, ties averaged; nan if a
    class is absent). ``averaging`` is "binary".

    Multi-class heads (C ≥ 3 units): prediction is the argmax; loss is categorical
    cross-entropy; precision/recall/F1 are macro averages over the classes that occur in the
    labels or the predictions (scikit-learn's default); ``roc_auc`` is the macro one-vs-rest AUC
    over the classes whose one-vs-rest AUC is defined. ``averaging`` is "macro".

    Undefined precision, recall or F1 are 0; with no images accuracy and loss are nan. Any NaN
    or infinite output makes every metric nan (``nonfinite`` counts them): a score that is not
    a number ranks nothing. ``confusion`` has true classes as rows and predicted classes as
    columns (int64).
    """
    y = np.asarray(labels).reshape(-1)
    raw = np.asarray(scores, dtype=np.float64)
    if raw.shape[0] != y.shape[0]:
        raise ValueError(f"labels {y.shape} and scores {np.shape(scores)} do not match")
    read = read_outputs(raw, outputs, n_classes)
    k = read.n_classes
    if y.size and (np.any(y != np.round(y)) or y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must be integers in [0, {k})")
    y = y.astype(np.int64)
    n = int(y.size)
    nonfinite = int(np.sum(~np.isfinite(raw)))
    confusion = (np.bincount(y * k + read.predicted, minlength=k * k).reshape(k, k)
                 .astype(np.int64))
    averaging = "binary" if read.binary else "macro"
    if nonfinite:
        nan = math.nan
        return {"accuracy": nan, "loss": nan, "precision": nan, "recall": nan, "f1": nan,
                "roc_auc": nan, "confusion": confusion, "averaging": averaging,
                "nonfinite": nonfinite}

    accuracy = float(np.trace(confusion)) / n if n else math.nan
    loss = float(-read.log_proba[np.arange(n), y].mean()) if n else math.nan
    if read.binary:
        tp, fp, fn = (float(confusion[1, 1]), float(confusion[0, 1]), float(confusion[1, 0]))
        precision, recall, f1 = _prf(tp, fp, fn)
        roc_auc = _binary_auc(y == 1, read.rank_score)
    else:
        present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
        per_class = [
            _prf(
                float(confusion[c, c]),
                float(confusion[:, c].sum() - confusion[c, c]),
                float(confusion[c, :].sum() - confusion[c, c]),
            )
            for c in np.flatnonzero(present)
        ]
        if per_class:
            precision, recall, f1 = (float(v) for v in np.mean(per_class, axis=0))
        else:
            precision = recall = f1 = 0.0
        aucs = [_binary_auc(y == c, read.rank_score[:, c]) for c in range(k)]
        defined = [a for a in aucs if not math.isnan(a)]
        roc_auc = float(np.mean(defined)) if defined else math.nan

    return {
        "accuracy": accuracy,
        "loss": loss,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc,
        "confusion": confusion,
        "averaging": averaging,
        "nonfinite": 0,
    }


# --------------------------------------------------------------------------------------------
# Model summary
# --------------------------------------------------------------------------------------------


@dataclass
class ModelSummary:
    """One model's headline numbers: activation metrics over hidden layers plus classification."""

    units: int
    nnu_units: int  # units of the layers where NNU is defined (its denominator)
    dead_units: int
    nnu_pct: float
    dormant_pct: float
    spectrum_skewness: float
    zero_fraction: float
    range_max: float
    range_cv: float
    accuracy: float
    loss: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    confusion: np.ndarray
    n_images: int
    outputs: str = "probabilities"  # how the raw outputs were read
    averaging: str = "binary"  # "binary" (class 1 positive) or "macro"
    positive_class: str = ""  # binary: the name of class 1; empty for macro averaging
    nonfinite_outputs: int = 0  # NaN/inf outputs (then every classification metric is nan)
    outputs_note: str | None = None  # the assumption made reading the outputs, if any


def summarize(result: CaptureResult, tau: float = DEFAULT_TAU) -> ModelSummary:
    """Summarise a capture: NNU (at the capture's ε), τ-dormant, spectrum, range, classification."""
    hidden = result.hidden_layers
    maxima = activation_range(result)
    outputs, note = resolve_outputs(result.head_activation, result.outputs)
    classification = classification_metrics(result.labels, result.scores, outputs)
    binary = classification["averaging"] == "binary"
    names = result.class_names
    return ModelSummary(
        units=model_units(result),
        nnu_units=model_nnu_units(result),
        dead_units=model_dead_units(result),
        nnu_pct=model_nnu_pct(result),
        dormant_pct=model_dormant_pct(result, tau),
        spectrum_skewness=spectrum_skewness(hidden),
        zero_fraction=zero_fraction(hidden),
        range_max=float(np.max(maxima)) if maxima.size else math.nan,
        range_cv=range_cv(maxima),
        accuracy=classification["accuracy"],
        loss=classification["loss"],
        precision=classification["precision"],
        recall=classification["recall"],
        f1=classification["f1"],
        roc_auc=classification["roc_auc"],
        confusion=classification["confusion"],
        n_images=result.n_images,
        outputs=outputs,
        averaging=classification["averaging"],
        positive_class=(names[1] if len(names) > 1 else "1") if binary else "",
        nonfinite_outputs=classification["nonfinite"],
        outputs_note=note,
    )


# --------------------------------------------------------------------------------------------
# Correlation
# --------------------------------------------------------------------------------------------


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation (Pearson correlation of average ranks, ties averaged).

    Pairs where either value is NaN are dropped first. nan with fewer than 3 pairs or when
    either input is constant.
    """
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    b = np.asarray(y, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"spearman needs equal lengths, got {a.size} and {b.size}")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if a.size < 3:
        return math.nan
    ra = average_ranks(a)
    rb = average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denominator = math.sqrt(float((ra * ra).sum()) * float((rb * rb).sum()))
    if denominator == 0.0:
        return math.nan
    return float((ra * rb).sum() / denominator)
