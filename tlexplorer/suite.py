"""A workspace's model suites: where model files and their metadata live, and which are trustworthy.

Layout: ``WORKSPACE/models/<suite>/suite.json`` (data source and preset),
``<id>-<slug>.keras`` + ``<id>-<slug>.json`` per model, and for the demo presets the pretrained
base ``0-base.keras`` + ``0-base.json``. A model counts as trained only when its metadata is
readable, of the current format, for the suite's data, and names the model file's exact hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlexplorer.fsio import read_json
from tlexplorer.zoo import RECIPES, Recipe

META_FORMAT = 1
BASE_STEM = "0-base"


def suite_name(demo: bool, preset_name: str) -> str:
    return f"{'synthetic' if demo else 'real'}-{preset_name}"


def models_root(workspace: Path) -> Path:
    return Path(workspace) / "models"


def suite_dir(workspace: Path, suite: str) -> Path:
    return models_root(workspace) / suite


def list_suites(workspace: Path) -> list[str]:
    """Suites in the workspace (folders with a ``suite.json``), most recently changed first."""
    root = models_root(workspace)
    if not root.is_dir():
        return []
    found = [d for d in root.iterdir() if (d / "suite.json").is_file()]
    found.sort(key=lambda d: (d / "suite.json").stat().st_mtime, reverse=True)
    return [d.name for d in found]


def read_suite_info(workspace: Path, suite: str) -> dict[str, Any]:
    return read_json(suite_dir(workspace, suite) / "suite.json")


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _number(obj: dict, key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None  # older or partial metadata may lack it; readers treat it as absent
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{key!r} is not a number")
    return float(value)


@dataclass(frozen=True)
class ModelMeta:
    """A trained model's metadata (``<id>-<slug>.json``, or the demo base's), validated.

    The fields later code reads are typed; ``record`` keeps the whole file (history, recipe,
    base) for display and for the next format.
    """

    name: str
    model_sha256: str
    fingerprint: str  # of the data it was trained on
    test_accuracy: float | None
    val_accuracy: float | None
    epochs_run: int | None
    wall_s: float | None
    record: dict[str, Any]

    @property
    def base_sha256(self) -> str | None:
        """The hash of the pretrained base a transfer model started from, if recorded."""
        base = self.record.get("base")
        sha = base.get("sha256") if isinstance(base, dict) else None
        return sha if isinstance(sha, str) else None

    @classmethod
    def from_json(cls, obj: object) -> ModelMeta:
        """ValueError names what is missing or of the wrong type (hand-edited, damaged)."""
        if not isinstance(obj, dict):
            raise ValueError("not an object")
        if obj.get("format") != META_FORMAT:
            raise ValueError("of another format")
        data = obj.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("fingerprint", ""), str):
            raise ValueError("'data' missing or of the wrong type")
        for key in ("name", "model_sha256"):
            if not isinstance(obj.get(key), str):
                raise ValueError(f"{key!r} missing or not text")
        epochs = obj.get("epochs_run")
        if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool)):
            raise ValueError("'epochs_run' is not a whole number")
        return cls(obj["name"], obj["model_sha256"], data.get("fingerprint", ""),
                   _number(obj, "test_accuracy"), _number(obj, "val_accuracy"), epochs,
                   _number(obj, "wall_s"), obj)


@dataclass
class ModelFiles:
    recipe: Recipe | None  # None for the demo base
    stem: str
    directory: Path

    @property
    def model_path(self) -> Path:
        return self.directory / f"{self.stem}.keras"

    @property
    def meta_path(self) -> Path:
        return self.directory / f"{self.stem}.json"

    def check(self, fingerprint: str | None = None) -> tuple[ModelMeta | None, str]:
        """``(metadata, "")`` when the model can be trusted, else ``(None, why not)``."""
        if not self.meta_path.is_file():
            return None, "not trained yet"
        try:
            raw = read_json(self.meta_path)
        except ValueError:
            return None, "metadata unreadable"
        if isinstance(raw, dict) and raw.get("format") != META_FORMAT:
            return None, "metadata of another format"
        try:
            meta = ModelMeta.from_json(raw)
        except ValueError as exc:
            return None, f"metadata unreadable (hand-edited? wrong types: {exc})"
        if fingerprint is not None and meta.fingerprint != fingerprint:
            return None, "trained on other data"
        if not self.model_path.is_file():
            return None, "model file missing"
        try:
            digest = file_sha256(self.model_path)
        except OSError:
            return None, "model file unreadable"
        if digest != meta.model_sha256:
            return None, "model file changed or damaged since training"
        return meta, ""


def model_files(workspace: Path, suite: str, recipe_id: int) -> ModelFiles:
    recipe = RECIPES[recipe_id]
    return ModelFiles(recipe, recipe.stem, suite_dir(workspace, suite))


def base_files(workspace: Path, suite: str) -> ModelFiles:
    return ModelFiles(None, BASE_STEM, suite_dir(workspace, suite))
