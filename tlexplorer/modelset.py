"""A set of the user's own ``.keras`` files, captured over one image folder, as a suite.

``tlexplorer A.keras B.keras --data DIR`` (and ``report A.keras … --data DIR``) compares any
models side by side. :func:`tlexplorer.workbench.open_model_set` makes them a
:class:`~tlexplorer.session.Suite` whose slots are the files, so the report and every view of
the explorer read them as they read the five recipes. Each model is named by its file stem;
duplicate stems get their parent folder's name (``runA/model`` and ``runB/model``), then a
number.

The test set is every image of the folder (class sub-folders, or the Kaggle and PetImages
layouts) that decodes, in the scan's order: the same files and order as ``analyze``, so the
two share cached captures. Nothing here imports Keras; :func:`pair_weight_shift` loads the
models lazily.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tlexplorer.errors import UserError
from tlexplorer.textsafe import safe

VIEW_SIZE = 96
"""px: a folder's images as the views and the montages show them (any model input size)."""

MAX_MODELS = 16
"""More than this many models at once: refused (the tables and figures stop being readable)."""

SUITE_NAME = "models"
KIND = "files"


def model_labels(paths: Sequence[Path]) -> list[str]:
    """One unique, readable label per model file: its stem, with its parent folder's name
    where stems repeat (``runA/model``), then ``#2``, ``#3`` where even those repeat."""
    stems = [Path(p).stem for p in paths]
    labels = []
    for path, stem in zip(paths, stems, strict=True):
        parent = Path(path).resolve().parent.name
        labels.append(f"{parent}/{stem}" if stems.count(stem) > 1 and parent else stem)
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return unique


@dataclass
class ModelSetSource:
    """The images of a folder, all of them the "test set", in the scan's order.

    ``left_out`` holds the files a capture could not decode, with the reason (the same for
    every model: a file either decodes or not, whatever the size); test index ``i`` is the
    ``i``-th file of the others.
    """

    root: Path
    layout: str
    class_names: list[str]
    records: list  # data.layouts.ImageRecord
    fingerprint: str
    image_size: int = VIEW_SIZE  # what the views show, when no model's size is asked for
    left_out: dict[str, str] = field(default_factory=dict)  # rel → why
    scan_skipped: list[tuple[str, str]] = field(default_factory=list)  # (rel, why) at scan time

    kind = KIND

    @property
    def description(self) -> str:
        return f"{self.root} ({self.layout}, {' vs '.join(self.class_names)})"

    def used(self) -> list:
        return [r for r in self.records if r.rel not in self.left_out]

    def files(self, subset: str = "test") -> tuple[list[str], np.ndarray]:
        used = self.used()
        return [str(r.path) for r in used], np.array([r.label for r in used], dtype=np.int64)

    def test_labels(self) -> np.ndarray:
        return self.files()[1]

    def test_file(self, index: int) -> str:
        """Test image ``index``'s file, relative to the folder."""
        return self.used()[int(index)].rel

    def test_images(self, indices, size: int | None = None) -> np.ndarray:
        """Chosen test images as uint8 (at ``size`` px, default :attr:`image_size`), decoded as
        for capture; a file that no longer decodes is shown black."""
        from tlexplorer.data.decode import ImageDecodeError, decode_image

        size = int(size or self.image_size)
        used = self.used()
        out = np.zeros((len(indices), size, size, 3), dtype=np.uint8)
        for i, index in enumerate(indices):
            try:
                pixels = decode_image(used[int(index)].path, size)
            except (ImageDecodeError, OSError):
                continue
            out[i] = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
        return out

    def skipped_images(self) -> list[tuple[str, str]]:
        """Every file left out, ``(rel, why)``: at scan time and by the decoder."""
        return sorted([*self.scan_skipped, *self.left_out.items()])

    def to_json(self) -> dict[str, Any]:
        return {"kind": KIND, "root": str(self.root), "layout": self.layout,
                "fingerprint": self.fingerprint, "class_names": list(self.class_names)}


def scan_folder(data: Path, progress: Callable[[str], None] | None = None) -> ModelSetSource:
    """Scan ``data`` and fingerprint its images by content (UserError on a bad folder)."""
    from tlexplorer.data.layouts import scan_dataset
    from tlexplorer.data.split import compute_fingerprint

    data = Path(data)
    if data.exists() and not data.is_dir():
        raise UserError(f"--data must be a folder of images, but {safe(data)} is a file")
    scan = scan_dataset(data)
    records = list(scan.records)
    if progress is not None:
        progress(f"fingerprinting {len(records)} images")
    # The same fingerprint as analyze's: the two share cached captures.
    fingerprint = compute_fingerprint(0, scan.class_names, [[], [], records])
    return ModelSetSource(scan.root, scan.layout, list(scan.class_names), records, fingerprint,
                          scan_skipped=list(scan.skipped_files))


def source_from_record(obj: dict[str, Any]) -> ModelSetSource:
    """The source a model set was opened on, scanned again; UserError if it changed."""
    source = scan_folder(Path(obj["root"]))
    if source.fingerprint != obj.get("fingerprint"):
        raise UserError(f"the images in {safe(obj['root'])} changed since these models were "
                        "captured")
    left_out = obj.get("left_out", {})
    if isinstance(left_out, dict):
        source.left_out.update({str(k): str(v) for k, v in left_out.items()})
    return source


def check_model_paths(paths: Sequence[Path]) -> None:
    """One line for a call that cannot work at all: no models, too many."""
    if not paths:
        raise UserError("no model files given")
    if len(paths) > MAX_MODELS:
        raise UserError(f"{len(paths)} model files: at most {MAX_MODELS} at once")


# -- weight shift between two of the user's models -------------------------------------------


def shared_layer_shift(label: str, model, reference, reference_label: str = "") -> list:
    """Shift of every layer of ``model`` that has weights, against ``reference``'s layer of
    the same name and weight shapes (nested models looked through); others are left out."""
    from tlexplorer.weightshift import LayerShift, shift

    def weighted(m) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for layer in m.layers:
            inner = getattr(layer, "layers", None)
            if inner:  # a nested model (a base inside the classifier): its own layers
                found.update(weighted(layer))
            elif layer.weights:
                found.setdefault(layer.name, layer)
        return found

    ref_layers = weighted(reference)
    rows = []
    for name, layer in weighted(model).items():
        ref = ref_layers.get(name)
        if ref is None:
            continue
        ours, theirs = layer.get_weights(), ref.get_weights()
        if [w.shape for w in ours] != [w.shape for w in theirs]:
            continue
        rel, cos = shift(ours, theirs)
        rows.append(LayerShift(label, name, rel, cos, bool(layer.trainable), reference_label))
    return rows


def _pair_cache(workspace: Path, model_sha: str, reference_sha: str) -> Path:
    from tlexplorer.cache import cache_dir

    key = hashlib.sha256(json.dumps([model_sha, reference_sha, 1]).encode()).hexdigest()[:24]
    return cache_dir(workspace) / f"weightshift-pair-{key}.json"


def pair_weight_shift(suite, reference: str, load_model=None) -> list:
    """Weight shift of every other usable model of ``suite`` against model ``reference``, per
    shared layer; from the workspace cache where known (no Keras then), else computed (loads
    the models) and cached atomically. Rows are labelled by the other model."""
    from tlexplorer.fsio import atomic_write_json, read_json
    from tlexplorer.weightshift import LayerShift

    ref_slot = next((s for s in suite.slots if s.label == reference), None)
    if ref_slot is None or ref_slot.meta is None:
        raise UserError(f"no usable model {safe(reference)} to compare against")
    rows: list = []
    ref_model = None
    for slot in suite.slots:
        if slot is ref_slot or slot.meta is None or slot.error:
            continue
        path = _pair_cache(suite.workspace, slot.meta.model_sha256, ref_slot.meta.model_sha256)
        cached = None
        if path.is_file():
            try:
                cached = [LayerShift(**{**row, "model": slot.label, "reference": reference})
                          for row in read_json(path)]
            except (ValueError, TypeError):
                cached = None
        if cached is None:
            if load_model is None:
                from tlexplorer.zoo import load_model
            if ref_model is None:
                ref_model = load_model(ref_slot.files.model_path)
            cached = shared_layer_shift(slot.label, load_model(slot.files.model_path),
                                        ref_model, reference)
            atomic_write_json(path, [vars(r) for r in cached])
        rows.extend(cached)
    return rows
