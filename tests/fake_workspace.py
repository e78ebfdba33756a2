"""A cached demo workspace made without TensorFlow: suite.json, five dummy models, cache entries.

Deterministic (fixed seeds, fixed bytes), so snapshot tests of the explorer are stable. Every
model has known dead units (:data:`DEAD_UNITS`), so tests can check what the panes show.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from tlexplorer.cache import cache_key, cache_path, save_result
from tlexplorer.capture.result import HIST_BINS, CaptureResult, LayerStats, TopK, histogram_index
from tlexplorer.data.sources import SyntheticSource
from tlexplorer.data.synthetic import GENERATOR_VERSION
from tlexplorer.presets import DEMO
from tlexplorer.session import capture_settings
from tlexplorer.zoo import RECIPES

SUITE = "synthetic-demo"
N_IMAGES = 40
# the real synthetic test set of this size, so the image views can read its pixels (no TF)
SOURCE = SyntheticSource(64, (40, 20, N_IMAGES))
FINGERPRINT = SOURCE.fingerprint
CLASS_NAMES = SOURCE.class_names
# model id -> per hidden layer (name, units, dead unit indices)
LAYERS: dict[int, list[tuple[str, int, list[int]]]] = {
    rid: [
        ("conv1", 8, list(range(rid - 1))),
        ("conv2", 16, [0, 5] if rid % 2 else []),
        ("dense", 12, list(range(0, 12, 12 // rid)) if rid > 1 else [3]),
    ]
    for rid in RECIPES
}
DEAD_UNITS = {rid: [len(dead) for _, _, dead in layers] for rid, layers in LAYERS.items()}
ACCURACY = {1: 0.7, 2: 0.75, 3: 0.8, 4: 0.85, 5: 0.9}
TOPK = 9
# weight shift of the transfer models: (model, layer, relative_shift, cosine, trainable);
# 3 and 4 keep the base frozen, 5 fine-tunes block5
BASE_LAYERS = ["block1_conv1", "block2_conv1", "block5_conv1", "block5_conv2"]
WEIGHT_SHIFT = [
    (str(rid), layer, 0.0125 * (i + 1) if rid == 5 and layer.startswith("block5") else 0.0,
     0.9991 - 0.0001 * i if rid == 5 and layer.startswith("block5") else 1.0,
     rid == 5 and layer.startswith("block5"))
    for rid in (3, 4, 5) for i, layer in enumerate(BASE_LAYERS)
]


def _layer(rng: np.random.Generator, index: int, name: str, units: int, dead: list[int],
           n_images: int, is_output: bool = False) -> tuple[LayerStats, TopK]:
    positions = 4
    values = rng.exponential(1.0 + index, size=(n_images, positions, units)).astype(np.float32)
    values[rng.random(values.shape) < 0.3] = 0.0  # ReLU zeros
    values[:, :, dead] = 0.0
    flat = values.reshape(-1, units)
    stats = LayerStats(name=name, index=index, kind="dense" if is_output else "conv",
                       layer_class="Dense" if is_output else "Conv2D",
                       activation="sigmoid" if is_output else "relu", units=units,
                       positions=positions, is_output=is_output, n_images=n_images)
    stats.unit_max = flat.max(axis=0).astype(np.float32)
    stats.unit_abs_sum = np.abs(flat).sum(axis=0).astype(np.float64)
    stats.unit_fire_count = (values > 0).any(axis=1).sum(axis=0).astype(np.int64)
    stats.hist = np.bincount(histogram_index(values.ravel()), minlength=HIST_BINS).astype(np.int64)
    v = values.ravel().astype(np.float64)
    d = v - v.mean()
    stats.moments = np.array([v.size, v.mean(), (d**2).sum(), (d**3).sum()])
    # top-k by brute force: per unit, the images with the highest activation (stable on ties)
    per_image = values.max(axis=1)  # (n_images, units)
    order = np.argsort(-per_image, axis=0, kind="stable")[:TOPK].T  # (units, k)
    top = TopK(np.take_along_axis(per_image.T, order, axis=1).astype(np.float32),
               order.astype(np.int64))
    return stats, top


def make_result(rid: int) -> CaptureResult:
    """The hand-made capture result of model ``rid`` (deterministic)."""
    rng = np.random.default_rng(rid)
    made = [_layer(rng, i, name, units, dead, N_IMAGES)
            for i, (name, units, dead) in enumerate(LAYERS[rid])]
    made.append(_layer(rng, len(made), "output", 1, [], N_IMAGES, is_output=True))
    layers = [stats for stats, _ in made]
    topk = {stats.name: top for stats, top in made}
    labels = np.arange(N_IMAGES, dtype=np.int64) % 2
    correct = np.arange(N_IMAGES) < round(ACCURACY[rid] * N_IMAGES)
    scores = np.where(labels == 1, 0.8, 0.2)
    scores = np.where(correct, scores, 1 - scores).astype(np.float32)
    return CaptureResult(model_label=str(rid), model_name=RECIPES[rid].name, layers=layers,
                         skipped=[], labels=labels, scores=scores, class_names=CLASS_NAMES,
                         settings=capture_settings(), topk=topk)


def make_cached_workspace(tmp_path: Path) -> Path:
    """Write a complete cached demo workspace under ``tmp_path / "ws"``; returns its path."""
    ws = Path(tmp_path) / "ws"
    directory = ws / "models" / SUITE
    directory.mkdir(parents=True, exist_ok=True)
    suite = {
        "format": 1, "demo": True,
        "data": {"kind": "synthetic", "fingerprint": FINGERPRINT,
                 "class_names": CLASS_NAMES, "image_size": 64, "counts": [40, 20, N_IMAGES],
                 "seed": 1337, "generator_version": GENERATOR_VERSION},
        "preset": DEMO.to_json(),
    }
    (directory / "suite.json").write_text(json.dumps(suite))
    for rid, recipe in RECIPES.items():
        model = directory / f"{recipe.stem}.keras"
        model.write_bytes(f"dummy model {rid}".encode())
        sha = hashlib.sha256(model.read_bytes()).hexdigest()
        meta = {"format": 1, "model_sha256": sha, "data": {"fingerprint": FINGERPRINT},
                "name": recipe.name, "test_accuracy": ACCURACY[rid]}
        (directory / f"{recipe.stem}.json").write_text(json.dumps(meta))
        path = cache_path(ws, cache_key(sha, FINGERPRINT, capture_settings()))
        path.parent.mkdir(parents=True, exist_ok=True)
        save_result(path, make_result(rid))
    _write_weight_shift(ws)
    return ws


def _write_weight_shift(ws: Path) -> None:
    """The weight-shift cache the explorer reads, so it never needs the (dummy) model files."""
    from tlexplorer.fsio import atomic_write_json
    from tlexplorer.session import open_suite
    from tlexplorer.weightshift import LayerShift, _cache_file

    rows = [vars(LayerShift(*row)) for row in WEIGHT_SHIFT]
    path = _cache_file(open_suite(ws, SUITE))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, rows)


async def maps_settled(app, pilot):
    """Wait until the feature maps the app last asked for have come (or 200 pauses)."""
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        state = app.feature_maps_state
        if state is not None and state.key == app._features_wanted:
            break
    await pilot.pause()
    return app.feature_maps_state


def table_cells(table) -> list[list[str]]:
    """Every row of a DataTable as the text of its cells."""
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
