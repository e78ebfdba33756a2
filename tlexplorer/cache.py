"""Persisted capture results under ``WORKSPACE/cache/``, keyed by model, test set and settings.

One ``.npz`` file per result (numpy arrays plus a JSON header), written atomically. The key hashes
the model file's content, the test-set fingerprint, the capture settings and
:data:`CACHE_FORMAT`, so a retrained model, other data or other settings never reuse an old
entry. Reading imports no TensorFlow. A corrupt or old-format entry is reported and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tlexplorer.capture.result import CaptureResult, LayerStats, SkippedLayer, TopK
from tlexplorer.fsio import atomic_write

CACHE_FORMAT = 3  # 3: central moments instead of power sums; zero floor; head activation
_LAYER_ARRAYS = ("unit_max", "unit_abs_sum", "unit_fire_count", "hist", "moments")


class CacheError(Exception):
    """A cache entry exists but cannot be used (corrupt, truncated, other format)."""


def cache_dir(workspace: Path) -> Path:
    return Path(workspace) / "cache"


def cache_key(model_sha256: str, data_fingerprint: str, settings: dict[str, Any]) -> str:
    payload = json.dumps({"model": model_sha256, "data": data_fingerprint,
                          "settings": settings, "format": CACHE_FORMAT}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def cache_path(workspace: Path, key: str) -> Path:
    return cache_dir(workspace) / f"capture-{key}.npz"


def save_result(path: Path, result: CaptureResult, extra: dict[str, Any] | None = None) -> None:
    """Write ``result`` atomically as one ``.npz`` file."""
    header = {
        "format": CACHE_FORMAT,
        "model_label": result.model_label,
        "model_name": result.model_name,
        "class_names": result.class_names,
        "epsilon": result.epsilon,
        "settings": result.settings,
        "wall_s": result.wall_s,
        "layers": [
            {"name": s.name, "index": s.index, "kind": s.kind, "layer_class": s.layer_class,
             "activation": s.activation, "units": s.units, "positions": s.positions,
             "is_output": s.is_output, "n_images": s.n_images, "zero_floor": s.zero_floor}
            for s in result.layers
        ],
        "head_activation": result.head_activation,
        "preprocess": result.preprocess,
        "input_scaling": result.input_scaling,
        "skipped": [vars(s) for s in result.skipped],
        "topk_layers": [s.name for s in result.layers if s.name in result.topk],
        "extra": extra or {},
    }
    arrays: dict[str, np.ndarray] = {
        "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        "labels": result.labels,
        "scores": result.scores,
    }
    for i, layer in enumerate(result.layers):
        for field in _LAYER_ARRAYS:
            arrays[f"L{i}_{field}"] = getattr(layer, field)
        if layer.name in result.topk:
            arrays[f"L{i}_topk_values"] = result.topk[layer.name].values
            arrays[f"L{i}_topk_indices"] = result.topk[layer.name].indices

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(Path(path), write, suffix=".npz")


def load_result(path: Path) -> tuple[CaptureResult, dict[str, Any]]:
    """Read a cached result; raises :class:`CacheError` when it cannot be trusted."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("format") != CACHE_FORMAT:
                raise CacheError(f"{path.name}: cache format {header.get('format')}, "
                                 f"expected {CACHE_FORMAT}")
            layers = []
            topk = {}
            for i, meta in enumerate(header["layers"]):
                arrays = {field: np.array(data[f"L{i}_{field}"]) for field in _LAYER_ARRAYS}
                layers.append(LayerStats(**meta, **arrays))
                if f"L{i}_topk_values" in data:
                    topk[meta["name"]] = TopK(np.array(data[f"L{i}_topk_values"]),
                                              np.array(data[f"L{i}_topk_indices"]))
            result = CaptureResult(
                model_label=header["model_label"], model_name=header["model_name"],
                layers=layers, skipped=[SkippedLayer(**s) for s in header["skipped"]],
                labels=np.array(data["labels"]), scores=np.array(data["scores"]),
                class_names=list(header["class_names"]), epsilon=float(header["epsilon"]),
                settings=dict(header["settings"]), topk=topk, wall_s=float(header["wall_s"]),
                head_activation=str(header["head_activation"]),
                preprocess=str(header["preprocess"]),
                input_scaling=bool(header["input_scaling"]),
            )
    except CacheError:
        raise
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        raise CacheError(f"{Path(path).name}: unreadable cache entry ({exc})") from exc
    if any(s.n_images != result.n_images for s in result.layers):
        raise CacheError(f"{Path(path).name}: inconsistent image counts")
    return result, header.get("extra", {})
