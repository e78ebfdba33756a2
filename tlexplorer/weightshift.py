"""Weight shift of transfer models: how far each base layer moved from its pretrained weights.

Per base layer: relative shift ‖W − W₀‖ / ‖W₀‖ and cosine(W, W₀) over the layer's kernel and
bias flattened together. Frozen layers must show exactly 0 and 1 — a check that freezing worked.
The maths is numpy; loading the models (TensorFlow) happens only in :func:`suite_weight_shift`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class LayerShift:
    model: str
    layer: str
    relative_shift: float
    cosine: float
    trainable: bool
    reference: str = ""  # the model it is measured against; "" the pretrained base


def shift(trained: Sequence[np.ndarray], pretrained: Sequence[np.ndarray]) -> tuple[float, float]:
    """``(‖W − W₀‖ / ‖W₀‖, cos(W, W₀))`` over all arrays of one layer, in float64."""
    w = np.concatenate([np.asarray(a, np.float64).ravel() for a in trained])
    w0 = np.concatenate([np.asarray(a, np.float64).ravel() for a in pretrained])
    if w.shape != w0.shape:
        raise ValueError(f"weight shapes differ: {w.shape} vs {w0.shape}")
    norm0 = float(np.linalg.norm(w0))
    norm = float(np.linalg.norm(w))
    relative = float(np.linalg.norm(w - w0)) / norm0 if norm0 > 0 else math.nan
    cosine = float(np.dot(w, w0)) / (norm * norm0) if norm > 0 and norm0 > 0 else math.nan
    return relative, cosine


def model_shift(label: str, model, reference) -> list[LayerShift]:
    """Shift of every base layer (``block*`` with weights) of ``model`` against ``reference``."""
    rows = []
    for layer in model.layers:
        if not layer.name.startswith("block") or not layer.weights:
            continue
        try:
            ref = reference.get_layer(layer.name)
        except ValueError:
            continue
        rel, cos = shift(layer.get_weights(), ref.get_weights())
        rows.append(LayerShift(label, layer.name, rel, cos, bool(layer.trainable)))
    return rows


def pretrained_reference(suite, vgg_weights: Path | None = None):
    """The pretrained base the suite's transfer models started from (loads TensorFlow)."""
    from tlexplorer import zoo
    from tlexplorer.errors import UserError
    from tlexplorer.suite import base_files

    preset = suite.info.preset
    if preset is not None and preset.base == "vgg16":
        from tlexplorer.quiet import import_keras

        keras = import_keras()
        size = preset.image_size
        path = zoo.vgg16_weights_path(vgg_weights)
        if path is None:
            raise UserError("weight shift needs the VGG16 weights the models started from: "
                            "pass --vgg-weights FILE")
        return keras.applications.VGG16(include_top=False, weights=str(path),
                                         input_shape=(size, size, 3))
    files = base_files(suite.workspace, suite.name)
    check_base_unchanged(suite, files.model_path)
    return zoo.load_model(files.model_path)


def check_base_unchanged(suite, base_path: Path) -> None:
    """UserError unless ``base_path`` is the very file the transfer models started from.

    Their metadata records the base's sha256 when they were trained; comparing against a
    swapped or retrained base would make frozen layers seem to move.
    """
    from tlexplorer.errors import UserError
    from tlexplorer.suite import file_sha256

    if not base_path.is_file():
        raise UserError(f"the pretrained base {base_path.name} is missing")
    digest = file_sha256(base_path)
    for slot in suite.slots:
        recorded = slot.meta.base_sha256 if slot.meta is not None else None
        if recorded is not None and recorded != digest:
            raise UserError(f"the pretrained base {base_path.name} is not the one model "
                            f"{slot.label} was trained from (changed since training)")


def _cache_file(suite) -> Path:
    import hashlib
    import json

    from tlexplorer.cache import cache_dir

    shas = [s.meta.model_sha256 for s in suite.slots if s.meta is not None]
    key = hashlib.sha256(json.dumps([suite.name, shas, 1]).encode()).hexdigest()[:24]
    return cache_dir(suite.workspace) / f"weightshift-{key}.json"


def load_cached_weight_shift(suite) -> list[LayerShift] | None:
    """The cached weight shift of the suite's current models, or None (no TensorFlow needed)."""
    from tlexplorer.fsio import read_json

    path = _cache_file(suite)
    if not path.is_file():
        return None
    try:
        return [LayerShift(**row) for row in read_json(path)]
    except (ValueError, TypeError):
        return None


def cached_weight_shift(suite, vgg_weights: Path | None = None) -> list[LayerShift]:
    """Weight shift from the cache, else computed (loads TensorFlow) and cached atomically."""
    from tlexplorer.fsio import atomic_write_json

    rows = load_cached_weight_shift(suite)
    if rows is None:
        rows = suite_weight_shift(suite, vgg_weights)
        atomic_write_json(_cache_file(suite), [vars(r) for r in rows])
    return rows


def suite_weight_shift(suite, vgg_weights: Path | None = None) -> list[LayerShift]:
    """Weight shift of the suite's trained transfer models (3-5) against their pretrained base."""
    from tlexplorer import zoo

    transfer = [s for s in suite.slots if s.trained and zoo.RECIPES[int(s.label)].transfer]
    if not transfer:
        return []
    reference = pretrained_reference(suite, vgg_weights)
    rows: list[LayerShift] = []
    for slot in transfer:
        rows.extend(model_shift(slot.label, zoo.load_model(slot.files.model_path), reference))
    return rows
