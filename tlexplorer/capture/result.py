"""What one capture pass produces: per-layer streaming statistics (numpy only, no TensorFlow).

Every field is a sum, a count, a max or a fixed-edge histogram, so results of batches, shards or
machines merge exactly (:meth:`LayerStats.merge`).

Histogram edges come from the float32 bit pattern: the bin of a value is its 32-bit pattern
shifted right by :data:`HIST_SHIFT`, which keeps the sign, the 8 exponent bits and the top
``23 - HIST_SHIFT`` mantissa bits. Bins are therefore log-spaced (4 per octave), fixed for all
time and data-independent; raw index 0 is the zero bin (+0.0; flushed denormals land there too)
and indices at or above :data:`NEG_OFFSET` hold negative values, kept apart from the positives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HIST_SHIFT = 21
HIST_BINS = 1 << (32 - HIST_SHIFT)  # 2048 raw bins: 1024 for +values, 1024 for -values
NEG_OFFSET = HIST_BINS // 2
BINS_PER_OCTAVE = 1 << (23 - HIST_SHIFT)


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
    n_images: int = 0
    unit_max: np.ndarray = field(default=None)  # type: ignore[assignment]  # (units,) float32
    unit_abs_sum: np.ndarray = field(default=None)  # type: ignore[assignment]  # (units,) float64
    unit_fire_count: np.ndarray = field(default=None)  # type: ignore[assignment]  # (units,) int64
    hist: np.ndarray = field(default=None)  # type: ignore[assignment]  # (HIST_BINS,) int64
    power_sums: np.ndarray = field(default=None)  # type: ignore[assignment]  # (3,) float64: Σx, Σx², Σx³

    def __post_init__(self) -> None:
        if self.unit_max is None:
            self.unit_max = np.full(self.units, -np.inf, dtype=np.float32)
        if self.unit_abs_sum is None:
            self.unit_abs_sum = np.zeros(self.units, dtype=np.float64)
        if self.unit_fire_count is None:
            self.unit_fire_count = np.zeros(self.units, dtype=np.int64)
        if self.hist is None:
            self.hist = np.zeros(HIST_BINS, dtype=np.int64)
        if self.power_sums is None:
            self.power_sums = np.zeros(3, dtype=np.float64)

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
        self.power_sums += other.power_sums


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
    scores: np.ndarray  # (n_images,) float32 P(class 1) for sigmoid heads, or (n_images, C) softmax
    class_names: list[str]
    epsilon: float = 0.0
    settings: dict = field(default_factory=dict)
    topk: dict[str, TopK] = field(default_factory=dict)  # layer name -> TopK
    wall_s: float = 0.0

    @property
    def n_images(self) -> int:
        return int(self.labels.shape[0])

    @property
    def hidden_layers(self) -> list[LayerStats]:
        """Probed layers that count in model totals (the output layer is listed but left out)."""
        return [layer for layer in self.layers if not layer.is_output]
