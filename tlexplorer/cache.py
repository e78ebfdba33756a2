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

from tlexplorer.capture.result import HIST_BINS, CaptureResult, LayerStats, SkippedLayer, TopK
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


def _read_array(archive: zipfile.ZipFile, key: str) -> np.ndarray:
    """One array of the .npz, after checking that its header's shape fits the bytes stored
    (a crafted header must not make numpy allocate terabytes)."""
    name = f"{key}.npy"
    info = archive.getinfo(name)
    with archive.open(name) as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(handle)
        if dtype.hasobject:
            raise ValueError(f"{key}: object arrays are not trusted")
        if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > info.file_size:
            raise ValueError(f"{key}: header promises more data than is stored")
        data = handle.read()
    return np.frombuffer(data, dtype=dtype, count=int(np.prod(shape))).reshape(
        shape, order="F" if fortran else "C").copy()


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(what)


def _validate(result: CaptureResult) -> None:
    """Shapes, dtypes, sizes and index ranges of a loaded result; ValueError if any is off."""
    n = result.n_images
    _check(result.labels.ndim == 1 and result.labels.dtype.kind in "iu", "labels")
    _check(result.scores.ndim in (1, 2) and result.scores.shape[0] == n
           and result.scores.dtype.kind == "f", "scores")
    if n:
        _check(0 <= int(result.labels.min()) and (not result.class_names or int(
            result.labels.max()) < len(result.class_names)), "labels out of range")
    _check(any(s.is_output for s in result.layers), "no output layer")
    for s in result.layers:
        _check(isinstance(s.units, int) and 0 < s.units <= 10**7, f"{s.name}: units")
        _check(isinstance(s.positions, int) and 0 < s.positions <= 10**9, f"{s.name}: positions")
        _check(s.n_images == n, f"{s.name}: inconsistent image counts")
        for field, kind in (("unit_max", "f"), ("unit_abs_sum", "f"), ("unit_fire_count", "iu")):
            value = getattr(s, field)
            _check(value.shape == (s.units,) and value.dtype.kind in kind, f"{s.name}: {field}")
        _check(s.hist.shape == (HIST_BINS,) and s.hist.dtype.kind in "iu"
               and int(s.hist.min()) >= 0 and int(s.hist.sum()) == s.count, f"{s.name}: hist")
        _check(s.moments.shape == (4,) and s.moments.dtype.kind == "f"
               and int(s.moments[0]) == s.count, f"{s.name}: moments")
        _check(int(s.unit_fire_count.min(initial=0)) >= 0
               and int(s.unit_fire_count.max(initial=0)) <= n, f"{s.name}: fire counts")
        top = result.topk.get(s.name)
        if top is not None:
            _check(top.values.ndim == 2 and top.values.shape[0] == s.units
                   and top.indices.shape == top.values.shape and top.indices.dtype.kind in "iu",
                   f"{s.name}: top-k")
            _check(top.indices.size == 0 or (int(top.indices.min()) >= -1
                                             and int(top.indices.max()) < n),
                   f"{s.name}: top-k indices")


def load_result(path: Path) -> tuple[CaptureResult, dict[str, Any]]:
    """Read a cached result; raises :class:`CacheError` when it cannot be trusted (format,
    damage, or any shape, dtype, size or index that does not fit)."""
    name = Path(path).name
    try:
        with zipfile.ZipFile(Path(path)) as archive:
            def read(key: str) -> np.ndarray:
                return _read_array(archive, key)

            keys = {n[:-4] for n in archive.namelist() if n.endswith(".npy")}
            header = json.loads(bytes(read("header")).decode())
            if header.get("format") != CACHE_FORMAT:
                raise CacheError(f"{name}: cache format {header.get('format')}, "
                                 f"expected {CACHE_FORMAT}")
            layers = []
            topk = {}
            for i, meta in enumerate(header["layers"]):
                arrays = {field: read(f"L{i}_{field}") for field in _LAYER_ARRAYS}
                layers.append(LayerStats(**meta, **arrays))
                if f"L{i}_topk_values" in keys:
                    topk[meta["name"]] = TopK(read(f"L{i}_topk_values"),
                                              read(f"L{i}_topk_indices"))
            result = CaptureResult(
                model_label=str(header["model_label"]), model_name=str(header["model_name"]),
                layers=layers, skipped=[SkippedLayer(**s) for s in header["skipped"]],
                labels=read("labels"), scores=read("scores"),
                class_names=[str(c) for c in header["class_names"]],
                epsilon=float(header["epsilon"]),
                settings=dict(header["settings"]), topk=topk, wall_s=float(header["wall_s"]),
                head_activation=str(header["head_activation"]),
                preprocess=str(header["preprocess"]),
                input_scaling=bool(header["input_scaling"]),
            )
            _validate(result)
            extra = header.get("extra", {})
            if not isinstance(extra, dict):
                raise ValueError("extra")
    except CacheError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            zipfile.BadZipFile, EOFError, UnicodeDecodeError, MemoryError) as exc:
        # every way a damaged or crafted file fails to parse means the same: recompute
        raise CacheError(f"{name}: corrupt cache entry, recomputing") from exc
    return result, extra
