"""A workspace suite as the report and the explorer see it: models, cached results, capture.

Reading a suite and its cached results imports no TensorFlow; :func:`capture_slot` (and training)
import it lazily, so the explorer paints a cached workspace without it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlexplorer.cache import CacheError, cache_key, cache_path, load_result, save_result
from tlexplorer.capture.result import DEFAULT_TOPK, CaptureResult
from tlexplorer.errors import UserError
from tlexplorer.fsio import read_json
from tlexplorer.presets import Preset
from tlexplorer.suite import ModelFiles, ModelMeta, list_suites, model_files, suite_dir
from tlexplorer.zoo import RECIPES

DEFAULT_EPSILON = 0.0


@dataclass
class ModelSlot:
    """One of a suite's models: its files, metadata, and capture result once there is one."""

    label: str  # "1".."5"
    name: str
    files: ModelFiles
    meta: ModelMeta | None = None
    status: str = ""  # why it is not usable, "" when trained
    result: CaptureResult | None = None
    error: str | None = None  # last load or capture failure, shown to the user

    @property
    def trained(self) -> bool:
        return self.meta is not None


@dataclass(frozen=True)
class SuiteInfo:
    """A suite's ``suite.json``, validated: the data its models were trained on and the preset
    they were made with (None in a file that does not record it)."""

    data: dict[str, Any]  # the data source's record; :meth:`Suite.source` rebuilds the source
    preset: Preset | None
    demo: bool

    @classmethod
    def from_json(cls, obj: object) -> SuiteInfo:
        """ValueError says what is wrong (hand-edited or damaged file)."""
        if not isinstance(obj, dict):
            raise ValueError("not an object")
        data = obj.get("data")
        if not isinstance(data, dict):
            raise ValueError("'data' missing or not an object")
        if not isinstance(data.get("fingerprint", ""), str):
            raise ValueError("'data.fingerprint' is not text")
        names = data.get("class_names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("'data.class_names' is not a list of names")
        preset = Preset.from_json(obj["preset"]) if obj.get("preset") is not None else None
        return cls(data, preset, bool(obj.get("demo")))

    @property
    def fingerprint(self) -> str:
        return self.data.get("fingerprint", "")

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def class_names(self) -> list[str]:
        return list(self.data.get("class_names", []))

    @property
    def skipped_images(self) -> list[tuple[str, str]]:
        """The files the split left out because the decoder could not read them."""
        split = self.data.get("split")
        raw = split.get("skipped", []) if isinstance(split, dict) else []
        try:
            return [(str(rel), str(reason)) for rel, reason in raw]
        except (TypeError, ValueError):  # hand-edited: nothing to list
            return []


@dataclass
class Suite:
    workspace: Path
    name: str
    info: SuiteInfo
    slots: list[ModelSlot] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return self.info.fingerprint

    @property
    def is_demo(self) -> bool:
        return self.info.demo

    @property
    def description(self) -> str:
        if self.info.kind == "synthetic":
            return f"synthetic demo ({' vs '.join(self.info.class_names)})"
        return str(self.info.data.get("root", "?"))

    @property
    def batch_size(self) -> int:
        return self.info.preset.batch_size if self.info.preset is not None else 32

    def source(self):
        from tlexplorer.data.sources import source_from_json

        return source_from_json(self.info.data)


def capture_settings(epsilon: float = DEFAULT_EPSILON, topk: int = DEFAULT_TOPK) -> dict:
    return {"epsilon": float(epsilon), "topk": int(topk)}


def open_suite(workspace: Path, name: str | None = None) -> Suite:
    """Open ``name`` (default: the most recently trained suite) in ``workspace``."""
    workspace = Path(workspace)
    if name is None:
        names = list_suites(workspace)
        if not names:
            raise UserError(f"no trained models in {workspace / 'models'}: run "
                            "'tlexplorer train --demo' (or --data DIR) first")
        name = names[0]
    path = suite_dir(workspace, name) / "suite.json"
    if not path.is_file():
        raise UserError(f"no suite {name!r} in {workspace / 'models'}")
    try:
        raw = read_json(path)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    try:
        info = SuiteInfo.from_json(raw)
    except ValueError as exc:
        raise UserError(f"{path} is damaged (hand-edited? {exc}): delete that suite's "
                        "folder and train again") from None
    suite = Suite(workspace, name, info)
    from tlexplorer.cache import cache_dir
    from tlexplorer.fsio import remove_stale_temps

    for folder in (suite_dir(workspace, name), cache_dir(workspace), workspace / "reports"):
        remove_stale_temps(folder)  # left by a kill -9 in the middle of a write
    refresh_slots(suite)
    return suite


def refresh_slots(suite: Suite) -> None:
    """Re-read each model's metadata (after training, or when files changed)."""
    slots = []
    for rid, recipe in RECIPES.items():
        files = model_files(suite.workspace, suite.name, rid)
        meta, why = files.check(suite.fingerprint or None)
        old = next((s for s in suite.slots if s.label == str(rid)), None)
        slot = ModelSlot(str(rid), recipe.name, files, meta, why)
        if old is not None and meta is not None and old.meta == meta:
            slot.result, slot.error = old.result, old.error
        slots.append(slot)
    suite.slots = slots


def slot_cache_path(suite: Suite, slot: ModelSlot, settings: dict) -> Path | None:
    if slot.meta is None:
        return None
    key = cache_key(slot.meta.model_sha256, suite.fingerprint, settings)
    return cache_path(suite.workspace, key)


def load_cached(suite: Suite, slot: ModelSlot, settings: dict,
                warn: Callable[[str], None] | None = None) -> CaptureResult | None:
    """The cached result of ``slot`` under ``settings``, or None (corrupt entries warn)."""
    path = slot_cache_path(suite, slot, settings)
    if path is None or not path.is_file():
        return None
    try:
        result, _ = load_result(path)
    except CacheError as exc:
        if warn is not None:
            warn(f"model {slot.label}: cached result ignored and recomputed: {exc}")
        return None
    result.model_label = slot.label
    result.model_name = slot.name
    return result


def capture_slot(suite: Suite, slot: ModelSlot, settings: dict, source=None,
                 progress=None, cancel: threading.Event | None = None) -> CaptureResult:
    """Capture ``slot`` over the suite's test set (one pass) and cache the result atomically."""
    from tlexplorer.capture.engine import Capturer
    from tlexplorer.data.pipeline import capture_batches, n_images
    from tlexplorer.zoo import load_model

    if slot.meta is None:
        raise UserError(f"model {slot.label} is not trained ({slot.status})")
    source = source or suite.source()
    if source.fingerprint != suite.fingerprint:
        raise UserError(f"the test set of {suite.name} changed since training "
                        f"(fingerprint {source.fingerprint}, expected {suite.fingerprint})")
    model = load_model(slot.files.model_path)
    capturer = Capturer(model, epsilon=settings["epsilon"], topk=settings["topk"])
    files = source.files("test")[0] if source.kind == "folder" else []

    def changed(index: int, reason: str) -> None:
        raise UserError(f"test image {files[index]} can no longer be decoded ({reason}): the "
                        "data changed since training")

    batches = capture_batches(source, suite.batch_size, on_skip=changed, cancel=cancel)
    result = capturer.run(batches, total_images=n_images(source, "test"), progress=progress,
                          cancel=cancel, model_label=slot.label, model_name=slot.name,
                          class_names=source.class_names)
    path = slot_cache_path(suite, slot, settings)
    assert path is not None
    save_result(path, result, extra={"suite": suite.name, "model_file": slot.files.model_path.name})
    return result
