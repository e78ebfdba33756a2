"""What one capture pass produces: per-layer streaming statistics (numpy only, no TensorFlow).

Every field is a sum, a count, a max, a fixed-edge histogram or a set of central moments, so
results of batches, shards or machines merge (:meth:`LayerStats.merge`): exactly for the first
four, and for the moments by the pairwise update of Chan et al. and Pébay (2008) in float64.

Moments are kept *central* — ``(n, mean, M2, M3)`` with ``M2 = Σ(x-mean)²`` and
``M3 = Σ(x-mean)³`` — because raw power sums (Σx, Σx², Σx³) cancel catastrophically when a
layer's mean is large against its spread (a ReLU layer offset by a bias, a sigmoid layer sitting
near 0.5): the skewness of such a layer came out 3.87 instead of 0.448.

Histogram edges come from the float32 bit pattern: the bin of a value is its 32-bit pattern
shifted right by :data:`HIST_SHIFT`, which keeps the sign, the 8 exponent bits and the top
``23 - HIST_SHIFT`` mantissa bits. Bins are therefore log-spaced (4 per octave), fixed for all
time and data-independent; raw index 0 is the zero bin (+0.0; flushed denormals land there too)
and indices at or above :data:`NEG_OFFSET` hold negative values, kept apart from the positives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

HIST_SHIFT = 21
HIST_BINS = 1 << (32 - HIST_SHIFT)  # 2048 raw bins: 1024 for +values, 1024 for -values
NEG_OFFSET = HIST_BINS // 2
BINS_PER_OCTAVE = 1 << (23 - HIST_SHIFT)


DEFAULT_TOPK = 9
"""Test images kept per unit by the capture's streamed top-k (the top-images view and CSV)."""

MOMENT_FIELDS = ("n", "mean", "m2", "m3")
ZERO_FLOOR_ACTIVATIONS = frozenset({"relu", "relu6"})
"""Activations with a true zero floor: exactly 0 when inactive, never below (see
:attr:`LayerStats.zero_floor`)."""


def moments_from_shifted_sums(n: np.ndarray, shift: np.ndarray, s1: np.ndarray, s2: np.ndarray,
                              s3: np.ndarray) -> np.ndarray:
    """Central moments ``(k, 4)`` of ``k`` groups from sums of ``d = x - shift`` over each group.

    ``s1, s2, s3`` are Σd, Σd², Σd³; with ``shift`` near the group's mean the sums do not cancel
    (the "shifted data" method), and ``d`` itself is exact when ``x`` and ``shift`` are within a
    factor of two (Sterbenz). Groups with ``n == 0`` give zeros.
    """
    n = np.asarray(n, dtype=np.float64)
    s1, s2, s3 = (np.asarray(v, dtype=np.float64) for v in (s1, s2, s3))
    safe = np.where(n > 0, n, 1.0)
    delta = s1 / safe  # group mean minus shift
    m2 = s2 - delta * s1
    m3 = s3 - 3.0 * delta * s2 + 2.0 * n * delta**3
    mean = np.asarray(shift, dtype=np.float64) + delta
    out = np.stack(np.broadcast_arrays(n, mean, np.maximum(m2, 0.0), m3), axis=-1)
    out[n <= 0] = 0.0
    return out


def combine_moments(groups: np.ndarray) -> np.ndarray:
    """Merge central moments ``(k, 4)`` of disjoint groups into one ``(4,)`` (float64, exact
    up to rounding: Chan/Pébay's update generalised to k groups at once)."""
    groups = np.asarray(groups, dtype=np.float64).reshape(-1, 4)
    groups = groups[groups[:, 0] > 0]
    if groups.shape[0] == 0:
        return np.zeros(4, dtype=np.float64)
    n_g, mean_g, m2_g, m3_g = groups.T
    n = float(n_g.sum())
    # Mean of the means, weighted; the reference point is the largest group's mean, so the
    # deltas below stay small when all groups sit far from zero.
    ref = mean_g[int(np.argmax(n_g))]
    mean = ref + float(np.dot(n_g, mean_g - ref)) / n
    delta = mean_g - mean
    m2 = float(m2_g.sum() + np.dot(n_g, delta**2))
    m3 = float(m3_g.sum() + 3.0 * np.dot(delta, m2_g) + np.dot(n_g, delta**3))
    return np.array([n, mean, max(m2, 0.0), m3], dtype=np.float64)


def skewness_from_moments(moments: np.ndarray) -> float:
    """Population skewness ``sqrt(n) · M3 / M2^1.5`` (scipy's ``skew(bias=True)``); nan without
    spread.

    A standard deviation at or below ``1e-15`` of the mean's magnitude is float64 rounding
    noise and counts as no spread (scipy's own rule), as does a layer with no values.
    """
    n, mean, m2, m3 = (float(v) for v in np.asarray(moments, dtype=np.float64))
    if n <= 0 or not (math.isfinite(m2) and math.isfinite(m3)):
        return math.nan
    var = m2 / n
    if var <= 0.0 or var <= (1e-15 * mean) ** 2:
        return math.nan
    return float((m3 / n) / var**1.5)


def _bits_to_float(bits: np.ndarray) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint32).view(np.float32).astype(np.float64)


def magnitude_edges() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper magnitude of each of the :data:`NEG_OFFSET` positive raw bins.

    Bin ``k`` holds values ``low[k] <= x < high[k]``; the negative raw bin ``NEG_OFFSET + k`` holds
    ``-high[k] < x <= -low[k]``. Bins whose exponent is 255 (inf/NaN) get infinite edges.
    """
    k = np.arange(NEG_OFFSET, dtype=np.uint64)
    with np.errstate(invalid="ignore", over="ignore"):
        low = _bits_to_float((k << HIST_SHIFT).astype(np.uint32))
        high_bits = np.minimum((k + 1) << HIST_SHIFT, 0xFFFFFFFF).astype(np.uint32)
        high = _bits_to_float(high_bits)
    special = (k << HIST_SHIFT) >= (0xFF << 23)
    low = np.where(special, np.inf, low)
    high = np.where(special | ~np.isfinite(high), np.inf, high)
    return low, high


def histogram_index(values: np.ndarray) -> np.ndarray:
    """Raw bin index of each float32 value (the numpy reference of the on-device computation)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32)
    return (bits >> np.uint32(HIST_SHIFT)).astype(np.int64)


@dataclass
class LayerStats:
    """Streaming statistics of one probed layer over a test set.

    A unit is a Dense neuron or a whole feature map (channel). ``positions`` is the number of
    values a unit produces per image (1 for Dense, H*W for a 2-D feature map).
    """

    name: str  # path through nested models, e.g. "vgg16/block1_conv1"
    index: int  # position among the model's probed layers
    kind: str  # "conv", "dense", "activation" (what produced the non-linearity)
    layer_class: str  # Keras class name, e.g. "Conv2D"
    activation: str  # e.g. "relu", "sigmoid"
    units: int
    positions: int
    is_output: bool = False
    zero_floor: bool | None = None
    """True when the activation cannot go below 0 and sits at exactly 0 when inactive (relu,
    relu6, a ReLU layer with threshold ≥ 0 and no negative slope): only there is a unit that
    never exceeds ε "dead" in the poster's sense, so NNU is defined only for such layers.
    None (not given) derives it from ``activation``."""
    n_images: int = 0
    unit_max: np.ndarray = field(default=None)  # type: ignore[assignment]  # (units,) float32
    unit_abs_sum: np.ndarray = field(default=None)  # type: ignore[assignment]  # (units,) float64
    unit_fire_count: np.ndarray = field(default=None)  # type: ignore[assignment]  # (units,) int64
    hist: np.ndarray = field(default=None)  # type: ignore[assignment]  # (HIST_BINS,) int64
    moments: np.ndarray = field(default=None)  # type: ignore[assignment]  # (4,) float64: n, mean, M2, M3

    def __post_init__(self) -> None:
        if self.zero_floor is None:
            self.zero_floor = self.activation in ZERO_FLOOR_ACTIVATIONS
        self.zero_floor = bool(self.zero_floor)
        if self.unit_max is None:
            self.unit_max = np.full(self.units, -np.inf, dtype=np.float32)
        if self.unit_abs_sum is None:
            self.unit_abs_sum = np.zeros(self.units, dtype=np.float64)
        if self.unit_fire_count is None:
            self.unit_fire_count = np.zeros(self.units, dtype=np.int64)
        if self.hist is None:
            self.hist = np.zeros(HIST_BINS, dtype=np.int64)
        if self.moments is None:
            self.moments = np.zeros(4, dtype=np.float64)

    @property
    def count(self) -> int:
        """Number of activation values seen (images × positions × units)."""
        return int(self.n_images) * int(self.positions) * int(self.units)

    def merge(self, other: LayerStats) -> None:
        """Fold another shard's statistics of the same layer into this one (exact)."""
        if (other.name, other.units, other.positions) != (self.name, self.units, self.positions):
            raise ValueError(f"cannot merge statistics of {other.name} into {self.name}")
        self.n_images += other.n_images
        np.maximum(self.unit_max, other.unit_max, out=self.unit_max)
        self.unit_abs_sum += other.unit_abs_sum
        self.unit_fire_count += other.unit_fire_count
        self.hist += other.hist
        self.moments = combine_moments(np.stack([self.moments, other.moments]))


@dataclass
class SkippedLayer:
    """A layer that looks like it should be probed but could not be, and why."""

    name: str
    layer_class: str
    reason: str


@dataclass
class TopK:
    """Per probed layer and unit, the test images that excite the unit most (streamed top-k)."""

    values: np.ndarray  # (units, k) float32, descending; -inf where fewer than k images were seen
    indices: np.ndarray  # (units, k) int64 test-image indices; -1 where empty


@dataclass
class CaptureResult:
    """Everything one pass over a test set yields for one model."""

    model_label: str  # suite id ("1".."5") or the model file's name
    model_name: str  # human name, e.g. "simple CNN + regularization"
    layers: list[LayerStats]
    skipped: list[SkippedLayer]
    labels: np.ndarray  # (n_images,) int64 true class of each test image, in test-set order
    scores: np.ndarray  # (n_images,) or (n_images, C) float32: the model's raw outputs
    class_names: list[str]
    epsilon: float = 0.0
    settings: dict = field(default_factory=dict)
    topk: dict[str, TopK] = field(default_factory=dict)  # layer name -> TopK
    wall_s: float = 0.0
    head_activation: str = "sigmoid"
    """The non-linearity that produced the model's output ("sigmoid", "softmax", "linear", …);
    with ``outputs="auto"`` it decides whether ``scores`` are probabilities or logits."""
    outputs: str = "auto"
    """How to read ``scores``: "auto" (from ``head_activation``), "probabilities" or "logits"."""
    preprocess: str = "none"
    """The input mode the images went through before the model (see :mod:`tlexplorer.inputs`)."""
    input_scaling: bool = True
    """Whether the model rescales or normalises its own input (a layer near the input)."""

    @property
    def n_images(self) -> int:
        return int(self.labels.shape[0])

    @property
    def hidden_layers(self) -> list[LayerStats]:
        """Probed layers that count in model totals (the output layer is listed but left out)."""
        return [layer for layer in self.layers if not layer.is_output]
