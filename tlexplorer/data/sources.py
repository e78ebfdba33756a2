"""Where a suite's images come from: a real folder (with its recorded split) or the synthetic demo.

A :class:`DataSource` can be rebuilt from the JSON it writes into the suite's ``suite.json``, so a
later capture sees exactly the test set the models were evaluated on. This module imports no
TensorFlow; :mod:`tlexplorer.data.pipeline` turns a source into tf.data pipelines.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from tlexplorer.data import synthetic
from tlexplorer.data.split import DEFAULT_SEED as SPLIT_SEED
from tlexplorer.errors import UserError


@dataclass
class SyntheticSource:
    """The built-in synthetic demo (target task), at a preset's image size and split sizes."""

    image_size: int
    counts: tuple[int, int, int]
    seed: int = SPLIT_SEED

    kind = "synthetic"

    @property
    def split_seed(self) -> int:
        return self.seed

    @property
    def spec(self) -> synthetic.SyntheticSpec:
        return synthetic.SyntheticSpec("target", self.image_size, self.counts, self.seed)

    @property
    def class_names(self) -> list[str]:
        return list(self.spec.class_names)

    @property
    def fingerprint(self) -> str:
        return self.spec.fingerprint()

    @property
    def description(self) -> str:
        return f"synthetic demo ({' vs '.join(self.class_names)}, {self.image_size} px)"

    @cached_property
    def _subsets(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return synthetic.generate(self.spec)

    def arrays(self, subset: str) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images (N×H×W×3) and int labels of ``train``, ``val`` or ``test``."""
        return self._subsets[("train", "val", "test").index(subset)]

    def test_labels(self) -> np.ndarray:
        return self.arrays("test")[1]

    def test_images(self, indices: np.ndarray | list[int]) -> np.ndarray:
        return self.arrays("test")[0][np.asarray(indices, dtype=np.int64)]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "image_size": self.image_size,
            "counts": list(self.counts),
            "seed": self.seed,
            "generator_version": synthetic.GENERATOR_VERSION,
            "fingerprint": self.fingerprint,
            "class_names": self.class_names,
        }


@dataclass
class FolderSource:
    """Real images in a folder (Kaggle, PetImages or class sub-folders) with a fixed split."""

    root: Path
    image_size: int
    split: Any  # tlexplorer.data.split.Split
    layout: str = "unknown"

    kind = "folder"

    @property
    def class_names(self) -> list[str]:
        return list(self.split.class_names)

    @property
    def fingerprint(self) -> str:
        return self.split.fingerprint

    @property
    def split_seed(self) -> int:
        return int(self.split.seed)

    @property
    def description(self) -> str:
        return f"{self.root} ({self.layout}, {' vs '.join(self.class_names)})"

    def files(self, subset: str) -> tuple[list[str], np.ndarray]:
        records = getattr(self.split, subset)
        return [str(r.path) for r in records], np.array([r.label for r in records], dtype=np.int64)

    def test_labels(self) -> np.ndarray:
        return self.files("test")[1]

    def test_file(self, index: int) -> str:
        """Test image ``index``'s file, relative to the data folder."""
        return self.split.test[int(index)].rel

    def test_images(self, indices: np.ndarray | list[int], size: int | None = None) -> np.ndarray:
        """Chosen test images as uint8 at the model's size (or ``size``), decoded exactly as
        for capture."""
        from tlexplorer.data.decode import ImageDecodeError, decode_image

        records = self.split.test
        size = int(size or self.image_size)
        out = np.zeros((len(indices), size, size, 3), dtype=np.uint8)
        for i, idx in enumerate(indices):
            try:
                pixels = decode_image(records[int(idx)].path, size)
            except ImageDecodeError:
                continue  # a file changed since the split: shown black rather than failing
            out[i] = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "root": str(self.root),
            "layout": self.layout,
            "image_size": self.image_size,
            "fingerprint": self.fingerprint,
            "class_names": self.class_names,
            "split": self.split.to_json(),
        }


DataSource = SyntheticSource | FolderSource


def check_binary(class_names: list[str]) -> None:
    """The poster's five recipes have one sigmoid output: refuse anything but two classes."""
    if len(class_names) != 2:
        from tlexplorer.textsafe import safe

        shown = ", ".join(safe(name) for name in class_names[:6])
        more = ", …" if len(class_names) > 6 else ""
        raise UserError(
            f"the five recipes are binary classifiers, but the data has {len(class_names)} "
            f"classes ({shown}{more}); 'tlexplorer analyze MODEL.keras --data DIR' reports on "
            "a multi-class model of your own"
        )


def open_folder(
    root: Path | str, image_size: int, sizes: tuple[int, int, int], progress=None,
    seed: int = SPLIT_SEED,
) -> FolderSource:
    """Scan a real image folder and make the poster's balanced, seeded split."""
    from tlexplorer.data.layouts import scan_dataset
    from tlexplorer.data.split import make_split

    scan = scan_dataset(Path(root))
    check_binary(scan.class_names)
    n = len(scan.class_names)
    if any(size % n for size in sizes):
        rounded = ",".join(str(max(n, (size + n // 2) // n * n)) for size in sizes)
        raise UserError(f"split sizes {','.join(map(str, sizes))} must each divide by the "
                        f"{n} classes (the split is balanced): try --split {rounded}")
    split = make_split(scan, sizes=sizes, seed=seed, progress=progress)
    return FolderSource(root=scan.root, image_size=image_size, split=split, layout=scan.layout)


def source_from_json(obj: dict[str, Any]) -> DataSource:
    """Rebuild the data source a suite was trained on from its ``suite.json`` entry."""
    kind = obj.get("kind")
    if kind == "synthetic":
        if obj.get("generator_version") != synthetic.GENERATOR_VERSION:
            raise UserError(
                "this suite was trained on an older synthetic demo generator; retrain it "
                "(delete its models/ folder)"
            )
        return SyntheticSource(int(obj["image_size"]), tuple(obj["counts"]), int(obj["seed"]))
    if kind == "folder":
        from tlexplorer.data.split import split_from_json

        root = Path(obj["root"])
        split = split_from_json(root, obj["split"])
        return FolderSource(root, int(obj["image_size"]), split, obj.get("layout", "unknown"))
    if kind == "files":  # the user's own models over a folder (tlexplorer.modelset)
        from tlexplorer.modelset import source_from_record

        return source_from_record(obj)
    raise UserError(f"unknown data source kind {kind!r} in suite metadata")
