"""One streaming pass over a test set: activation statistics, top-k inputs and predictions.

Per batch, a compiled function (:mod:`tlexplorer.capture.backends`: TensorFlow or JAX) runs the
flat probe model and reduces every probed layer's output on the device to a few small tensors
(per-image channel maxima and sums, per-image sums of powers of the values centred on the
image's mean, a fixed-edge histogram from the float32 bit pattern). Only those cross to the
host, where they are folded into float64/int64 accumulators; the centred sums become per-image
central moments, merged exactly (Chan/Pébay) in float64. Memory does not grow with the number
of images (except the per-image predictions, a few bytes per image, which ROC AUC and the
viewers need).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from tlexplorer.capture.probe import Probe, ProbedLayer, build_probe
from tlexplorer.capture.result import (
    DEFAULT_TOPK,
    HIST_SHIFT,
    CaptureResult,
    LayerStats,
    TopK,
    combine_moments,
    moments_from_shifted_sums,
)
from tlexplorer.errors import Cancelled


@dataclass
class CaptureProgress:
    """Reported after each batch: ``images`` of ``total`` done (total may be unknown: None)."""

    batch: int
    batches: int | None
    images: int
    total: int | None
    elapsed_s: float


ProgressFn = Callable[[CaptureProgress], None]


def make_step(flat, layers: list[ProbedLayer], jit: bool = True, preprocess: str = "none",
              hist_copies: int | None = None):
    """The compiled per-batch function of the Keras backend in use: input mode, forward pass,
    then the on-device reductions. Called on a batch it returns a function that gives
    ``(predictions, reductions)`` as numpy arrays (waiting for the device if need be); see
    :mod:`tlexplorer.capture.backends` for what each backend compiles how."""
    from tlexplorer.capture import backends

    return backends.make_step(flat, layers, jit=jit, preprocess=preprocess,
                              hist_copies=hist_copies)


class _TopKAccumulator:
    """Running top-k over images per unit: values (units, k) descending, image indices."""

    def __init__(self, units: int, k: int) -> None:
        self.k = k
        self.values = np.full((units, k), -np.inf, dtype=np.float32)
        self.indices = np.full((units, k), -1, dtype=np.int64)

    def update(self, image_max: np.ndarray, first_index: int) -> None:
        new = image_max.T.astype(np.float32)
        # Only an image that beats a unit's current k-th value can enter its top k (a tie
        # loses to the earlier image already kept, and NaN never enters), so only the units
        # with such candidates are sorted, and with only their candidates: after the first
        # batches both are few. Sorting every unit's k + batch values was the host's main
        # per-batch cost (23 of about 30 ms for VGG16 at batch 128).
        mask = new > self.values[:, -1:]
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return
        mask = mask[rows]
        counts = mask.sum(axis=1)
        r, c = np.nonzero(mask)  # row-major: images in order within each unit
        slot = np.arange(r.size) - np.repeat(np.cumsum(counts) - counts, counts)
        # Unused slots: -inf with the largest index, behind every kept entry.
        cand_values = np.full((rows.size, int(counts.max())), -np.inf, dtype=np.float32)
        cand_idx = np.full(cand_values.shape, np.iinfo(np.int64).max, dtype=np.int64)
        cand_values[r, slot] = new[rows[r], c]
        cand_idx[r, slot] = first_index + c
        values = np.concatenate([self.values[rows], cand_values], axis=1)
        idx = np.concatenate([self.indices[rows], cand_idx], axis=1)
        # Stable: ties keep the earlier image (lower index), so results are deterministic.
        order = np.lexsort((idx, -values), axis=1)[:, : self.k]
        self.values[rows] = np.take_along_axis(values, order, axis=1)
        self.indices[rows] = np.take_along_axis(idx, order, axis=1)


class Capturer:
    """Capture machinery for one model, built once (probe + compiled step) and run on batches."""

    def __init__(self, model, *, epsilon: float = 0.0, topk: int = DEFAULT_TOPK,
                 jit: bool = True, probe: Probe | None = None, preprocess: str = "none",
                 hist_copies: int | None = None) -> None:
        from tlexplorer.inputs import check_preprocess

        self.model = model
        self.probe = probe or build_probe(model)
        self.epsilon = float(epsilon)
        self.topk = int(topk)
        self.preprocess = check_preprocess(preprocess)
        self.step = make_step(self.probe.model, self.probe.layers, jit=jit,
                              preprocess=self.preprocess, hist_copies=hist_copies)

    def run(
        self,
        batches: Iterable,
        *,
        total_images: int | None = None,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        model_label: str = "",
        model_name: str = "",
        class_names: list[str] | None = None,
    ) -> CaptureResult:
        """One pass over ``batches`` of ``(images, labels)``; see :func:`capture`."""
        layers = self.probe.layers
        epsilon = self.epsilon
        stats = [LayerStats(name=p.name, index=i, kind=p.kind, layer_class=p.layer_class,
                            activation=p.activation, units=p.units, positions=p.positions,
                            is_output=p.is_output, zero_floor=p.zero_floor)
                 for i, p in enumerate(layers)]
        tops = [_TopKAccumulator(p.units, self.topk) for p in layers] if self.topk > 0 else []
        all_scores: list[np.ndarray] = []
        all_labels: list[np.ndarray] = []
        n_seen = 0
        start = time.perf_counter()
        batches_total = None
        if total_images is not None and hasattr(batches, "__len__"):
            try:
                batches_total = len(batches)  # type: ignore[arg-type]
            except TypeError:
                batches_total = None
        def fold(fetch, labels, b: int) -> None:
            """Fold one batch's reductions into the float64/int64 accumulators (host)."""
            nonlocal n_seen
            preds, reductions = fetch()
            batch = int(preds.shape[0])
            for i, (st, red) in enumerate(zip(stats, reductions, strict=True)):
                image_max, shift, d1, d2, d3, abs_sum, hist = red
                st.n_images += batch
                np.maximum(st.unit_max, image_max.max(axis=0), out=st.unit_max)
                st.unit_fire_count += (image_max > epsilon).sum(axis=0)
                st.unit_abs_sum += abs_sum.sum(axis=0, dtype=np.float64)
                per_image = moments_from_shifted_sums(
                    np.full(batch, st.positions * st.units, dtype=np.float64), shift, d1, d2, d3)
                st.moments = combine_moments(np.vstack([st.moments[None, :], per_image]))
                st.hist += hist.astype(np.int64)
                if tops:
                    tops[i].update(image_max, n_seen)
            all_scores.append(preds.reshape(batch, -1).astype(np.float32))
            all_labels.append(np.asarray(labels).reshape(batch).astype(np.int64))
            n_seen += batch
            if progress is not None:
                progress(CaptureProgress(b, batches_total, n_seen, total_images,
                                         time.perf_counter() - start))

        # One batch in flight: on a backend that dispatches asynchronously (JAX), the device
        # runs batch b while the host folds batch b - 1.
        pending = None
        for b, (images, labels) in enumerate(batches, start=1):
            if cancel is not None and cancel.is_set():
                raise Cancelled("capture cancelled; nothing was saved")
            fetch = self.step(images)
            if pending is not None:
                fold(*pending)
            pending = (fetch, labels, b)
        if pending is not None:
            fold(*pending)
        scores = np.concatenate(all_scores) if all_scores else np.zeros((0, 1), np.float32)
        if scores.ndim == 2 and scores.shape[1] == 1:
            scores = scores[:, 0]
        return CaptureResult(
            model_label=model_label, model_name=model_name or self.model.name, layers=stats,
            skipped=list(self.probe.skipped),
            labels=np.concatenate(all_labels) if all_labels else np.zeros(0, np.int64),
            scores=scores, class_names=list(class_names or []), epsilon=epsilon,
            settings={"epsilon": epsilon, "topk": self.topk, "hist_shift": HIST_SHIFT,
                      "preprocess": self.preprocess},
            topk={st.name: TopK(t.values, t.indices) for st, t in zip(stats, tops, strict=False)},
            wall_s=time.perf_counter() - start,
            head_activation=self.probe.head_activation, preprocess=self.preprocess,
            input_scaling=self.probe.input_scaling,
        )


def capture(model, batches: Iterable, *, epsilon: float = 0.0, topk: int = DEFAULT_TOPK,
            jit: bool = True, preprocess: str = "none", **run_kwargs) -> CaptureResult:
    """Run ``model`` over ``batches`` of ``(images, labels)`` once; return the statistics.

    ``run_kwargs``: total_images, progress, cancel (``cancel.set()`` raises :class:`Cancelled`;
    nothing partial is returned), model_label, model_name, class_names.
    """
    return Capturer(model, epsilon=epsilon, topk=topk, jit=jit,
                    preprocess=preprocess).run(batches, **run_kwargs)
