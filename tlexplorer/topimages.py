"""What the top-activating-inputs and feature-map views show, in numpy (no Textual, no TF).

The capture keeps, per probed layer and unit, the k test images with the highest activation
(:class:`~tlexplorer.capture.result.TopK`). This module joins them with the capture's labels and
predictions, and turns one layer's feature maps into small colour images for the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tlexplorer import metrics
from tlexplorer.capture.result import CaptureResult, LayerStats


@dataclass(frozen=True)
class TopInput:
    """One of a unit's top-activating test images."""

    rank: int  # 1 = the strongest
    index: int  # position in the test set
    activation: float  # the unit's maximum activation on this image
    label: int  # true class
    predicted: int  # predicted class
    confidence: float  # the model's probability of the predicted class

    @property
    def correct(self) -> bool:
        return self.label == self.predicted


@dataclass(frozen=True)
class UnitInfo:
    """One unit of one layer, as the capture saw it over the whole test set."""

    layer: str
    unit: int
    units: int
    max: float
    fire_rate: float  # share of test images on which the unit fired at least once
    dead: bool
    fired: int = 0  # test images on which the unit fired (activation > ε somewhere)


def predictions(result: CaptureResult) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and its probability per test image (:func:`tlexplorer.metrics.predict`:
    the same decision rule as the metrics)."""
    return metrics.predict(result)


def layer_stats(result: CaptureResult, layer: str) -> LayerStats:
    for stats in result.layers:
        if stats.name == layer:
            return stats
    raise KeyError(f"{layer} is not a probed layer of model {result.model_label}")


def unit_info(result: CaptureResult, layer: str, unit: int) -> UnitInfo:
    stats = layer_stats(result, layer)
    dead = bool(metrics.dead_units(stats, result.epsilon)[unit])
    n = max(stats.n_images, 1)
    return UnitInfo(layer, unit, stats.units, float(stats.unit_max[unit]),
                    float(stats.unit_fire_count[unit]) / n, dead, int(stats.unit_fire_count[unit]))


UNIT_ORDERS = {  # order → how the view names it
    "index": "by index",
    "max": "strongest first",
    "selective": "most selective first",
}
UNIT_ORDER_HELP = {
    "index": "units by index",
    "max": "units strongest first: highest maximum activation over the test set",
    "selective": "units most selective first: fired on the fewest test images (dead ones last)",
}


def unit_order(result: CaptureResult, layer: str, order: str = "index") -> np.ndarray:
    """The layer's unit indices in the order the top-images view steps through them.

    ``max``: highest maximum activation first. ``selective``: units that fired on the fewest
    test images first (ties: higher maximum first), dead units at the end. Ties keep index order.
    """
    stats = layer_stats(result, layer)
    units = np.arange(stats.units)
    if order == "index":
        return units
    peak = np.asarray(stats.unit_max, dtype=np.float64)
    if order == "max":
        return units[np.lexsort((units, -peak))]
    if order == "selective":
        dead = metrics.dead_units(stats, result.epsilon)
        fired = np.asarray(stats.unit_fire_count, dtype=np.int64)
        return units[np.lexsort((units, -peak, fired, dead))]
    raise ValueError(f"unknown unit order {order!r}; one of {', '.join(UNIT_ORDERS)}")


def top_inputs(result: CaptureResult, layer: str, unit: int,
               predicted: tuple[np.ndarray, np.ndarray] | None = None) -> list[TopInput] | None:
    """The unit's top-activating test images, strongest first; None if top-k was not captured.

    Empty slots (fewer than k test images) are left out, and so, in layers with a true zero
    floor, are images on which the unit did not fire (activation ≤ ε): a unit that fired on one
    image lists that one image, and a dead unit lists none. ``predicted`` is
    :func:`predictions` of ``result``, for callers that ask about many units.
    """
    top = result.topk.get(layer)
    if top is None:
        return None
    stats = next((s for s in result.layers if s.name == layer), None)
    predicted, confidence = predicted if predicted is not None else predictions(result)
    out = []
    for rank, (value, index) in enumerate(zip(top.values[unit], top.indices[unit], strict=True)):
        if index < 0 or not np.isfinite(value):
            continue
        if stats is not None and stats.zero_floor and not value > result.epsilon:
            continue
        i = int(index)
        out.append(TopInput(rank + 1, i, float(value), int(result.labels[i]), int(predicted[i]),
                            float(confidence[i])))
    return out


def class_name(names: list[str], index: int) -> str:
    """The name of class ``index``, or the index itself when the capture has no such name."""
    return names[index] if 0 <= index < len(names) else str(index)


def image_prediction(result: CaptureResult, index: int) -> tuple[int, int, float]:
    """(true class, predicted class, confidence) of test image ``index``."""
    predicted, confidence = predictions(result)
    return int(result.labels[index]), int(predicted[index]), float(confidence[index])


# A perceptual dark-to-bright colour ramp (inferno-like), interpolated between these stops.
_RAMP = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                  [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float64)


def heat(values: np.ndarray, vmax: float) -> np.ndarray:
    """uint8 RGB of a 2-D map, 0 → black and ``vmax`` (or more) → pale yellow.

    Every map of a layer shares one ``vmax``, so a weak channel looks weak and a channel that
    never fires is black, which is what NNU counts.
    """
    values = np.asarray(values, dtype=np.float64)
    if not vmax > 0:
        t = np.zeros_like(values)
    else:
        t = np.clip(values / vmax, 0.0, 1.0)
    pos = t * (len(_RAMP) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(_RAMP) - 1)
    frac = (pos - lo)[..., None]
    rgb = _RAMP[lo] * (1 - frac) + _RAMP[hi] * frac
    return np.round(rgb).astype(np.uint8)


def channel_page(channels: int, page: int, page_size: int) -> range:
    """The channel indices on page ``page`` (clamped to the last page)."""
    page_size = max(1, page_size)
    pages = max(1, -(-channels // page_size))
    page = min(max(page, 0), pages - 1)
    return range(page * page_size, min(channels, (page + 1) * page_size))
