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


_META_TYPES: dict[str, type | tuple[type, ...]] = {
    "data": dict, "model_sha256": str, "name": str, "test_accuracy": (int, float),
    "val_accuracy": (int, float), "epochs_run": int, "wall_s": (int, float),
}


def metadata_types_ok(meta: dict[str, Any]) -> bool:
    """Whether a model's metadata has the fields later code reads, with the right types (a
    hand-edited file with a list where a number belongs is unreadable, not a crash)."""
    for key, kind in _META_TYPES.items():
        value = meta.get(key)
        if key in ("test_accuracy", "val_accuracy", "wall_s", "epochs_run") and value is None:
            continue  # older or partial metadata may lack these; readers treat them as absent
        if not isinstance(value, kind) or isinstance(value, bool):
            return False
    return isinstance(meta["data"].get("fingerprint", ""), str)


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

    def check(self, fingerprint: str | None = None) -> tuple[dict[str, Any] | None, str]:
        """``(metadata, "")`` when the model can be trusted, else ``(None, why not)``."""
        if not self.meta_path.is_file():
            return None, "not trained yet"
        try:
            meta = read_json(self.meta_path)
        except ValueError:
            return None, "metadata unreadable"
        if not isinstance(meta, dict) or meta.get("format") != META_FORMAT:
            return None, "metadata of another format"
        if not metadata_types_ok(meta):
            return None, "metadata unreadable (hand-edited? wrong types)"
        if fingerprint is not None and meta["data"].get("fingerprint") != fingerprint:
            return None, "trained on other data"
        if not self.model_path.is_file():
            return None, "model file missing"
        try:
            digest = file_sha256(self.model_path)
        except OSError:
            return None, "model file unreadable"
        if digest != meta.get("model_sha256"):
            return None, "model file changed or damaged since training"
        return meta, ""


def model_files(workspace: Path, suite: str, recipe_id: int) -> ModelFiles:
    recipe = RECIPES[recipe_id]
    return ModelFiles(recipe, recipe.stem, suite_dir(workspace, suite))


def base_files(workspace: Path, suite: str) -> ModelFiles:
    return ModelFiles(None, BASE_STEM, suite_dir(workspace, suite))
