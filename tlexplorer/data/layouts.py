"""Scan a real image folder (Kaggle Dogs vs. Cats, Microsoft PetImages, class sub-folders).

Layouts are detected in this order:

1. **kaggle**: the root, or ``root/train``, holds ``cat.N.jpg`` / ``dog.N.jpg`` files;
   classes ``["cat", "dog"]``.
2. **petimages**: the root, or ``root/PetImages``, has sub-folders ``Cat/`` and ``Dog/``;
   classes ``["cat", "dog"]``. No header heuristics: PNGs and Exif-only JPEGs are images too;
   PetImages' damaged and non-image files fail the decoder and are skipped there.
3. **class-folders**: two or more sub-folders of the root that hold image files (searched
   recursively); classes are the sorted folder names, kept as they are.

Every record's ``rel`` is a POSIX path relative to the folder the user gave (``ScanResult.root``),
so ``root / rel`` finds the file again whichever of ``root`` or ``root/train`` held it.
Only file names are looked at while scanning; whether a file is usable is decided by decoding
it with the pipeline's own decoder (:mod:`tlexplorer.data.decode`), which the split does only
for the images it needs and a capture does as it reads. Every file left out is listed in
``ScanResult.skipped_files`` with its reason.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tlexplorer.errors import UserError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
"""File extensions (lower case) counted as images in class sub-folders."""

KAGGLE_CLASSES = ["cat", "dog"]
PETIMAGES_FOLDERS = ("Cat", "Dog")

SKIP_NOT_IMAGE = "not an image file"
SKIP_HIDDEN = "hidden file"
SKIP_NOT_KAGGLE_NAME = "not named cat.N.jpg / dog.N.jpg"

_KAGGLE_NAME = re.compile(r"^(cat|dog)\.\d+\.jpe?g$", re.IGNORECASE)

EXPECTED_LAYOUTS = (
    "expected Kaggle train/ (cat.N.jpg, dog.N.jpg), PetImages (Cat/, Dog/) "
    "or one sub-folder per class"
)


@dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset."""

    path: Path
    """Absolute path of the file."""
    rel: str
    """POSIX path relative to the dataset root."""
    label: int
    """Index into the dataset's ``class_names``."""


@dataclass
class ScanResult:
    """What :func:`scan_dataset` found in a folder."""

    root: Path
    """The folder the user gave, absolute; every ``rel`` is relative to it."""
    layout: str
    """``"kaggle"``, ``"petimages"`` or ``"class-folders"``."""
    class_names: list[str]
    records: list[ImageRecord]
    """Sorted by ``rel``."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Files left out, by reason (e.g. ``{"not an image file": 1, "hidden file": 2}``)."""
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    """Every file left out at scan time: ``(rel, reason)``, sorted by ``rel``."""

    def counts(self) -> dict[str, int]:
        """Number of records per class name."""
        per_label = Counter(r.label for r in self.records)
        return {name: per_label.get(i, 0) for i, name in enumerate(self.class_names)}


def scan_dataset(root: Path | str) -> ScanResult:
    """Find the images of a dataset folder and their classes; see the module doc for layouts.

    Raises :class:`UserError` when the folder is missing, is a file, holds no images, or holds
    only one class.
    """
    given = Path(root).expanduser()
    if not given.exists():
        raise UserError(f"dataset folder not found: {given}")
    if not given.is_dir():
        raise UserError(f"dataset path is a file, not a folder: {given}")
    base = given.resolve()

    for scanner in (_scan_kaggle, _scan_petimages, _scan_class_folders):
        result = scanner(base)
        if result is not None:
            _check_classes(result)
            return result
    raise UserError(f"no images found in {base}: {EXPECTED_LAYOUTS}")


def _check_classes(result: ScanResult) -> None:
    counts = result.counts()
    present = [name for name, n in counts.items() if n > 0]
    if not present:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(result.skipped.items()))
        detail = f" (skipped: {skipped})" if skipped else ""
        raise UserError(f"no usable images found in {result.root} ({result.layout}){detail}")
    if len(present) < 2:
        raise UserError(
            f"only one class found in {result.root} ({present[0]!r}): "
            "need images of at least two classes"
        )


def _rel(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _list_dir(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        raise UserError(f"cannot read folder {folder}: {exc.strerror or exc}") from exc


def _scan_kaggle(base: Path) -> ScanResult | None:
    for folder in (base, base / "train"):
        if not folder.is_dir():
            continue
        entries = [e for e in _list_dir(folder) if e.is_file()]
        if not any(_KAGGLE_NAME.match(e.name) for e in entries):
            continue
        skipped: list[tuple[str, str]] = []
        records = []
        for entry in entries:
            match = _KAGGLE_NAME.match(entry.name)
            path = folder / entry.name
            if match:
                label = KAGGLE_CLASSES.index(match.group(1).lower())
                records.append(ImageRecord(path, _rel(path, base), label))
            else:
                skipped.append((_rel(path, base), _skip_reason(entry.name, SKIP_NOT_KAGGLE_NAME)))
        return _result(base, "kaggle", list(KAGGLE_CLASSES), records, skipped)
    return None


def _scan_petimages(base: Path) -> ScanResult | None:
    for folder in (base, base / "PetImages"):
        if not all((folder / name).is_dir() for name in PETIMAGES_FOLDERS):
            continue
        skipped: list[tuple[str, str]] = []
        records = []
        for label, name in enumerate(PETIMAGES_FOLDERS):
            class_dir = folder / name
            for entry in _list_dir(class_dir):
                if not entry.is_file():
                    continue
                path = class_dir / entry.name
                if entry.name.startswith("."):
                    skipped.append((_rel(path, base), SKIP_HIDDEN))
                elif Path(entry.name).suffix.lower() not in IMAGE_EXTENSIONS:
                    skipped.append((_rel(path, base), SKIP_NOT_IMAGE))
                else:
                    records.append(ImageRecord(path, _rel(path, base), label))
        return _result(base, "petimages", list(KAGGLE_CLASSES), records, skipped)
    return None


def _scan_class_folders(base: Path) -> ScanResult | None:
    skipped: list[tuple[str, str]] = []
    per_class: dict[str, list[Path]] = {}
    for entry in _list_dir(base):
        if entry.name.startswith(".") or entry.name == "__MACOSX" or not entry.is_dir():
            continue
        images: list[Path] = []
        class_skipped: list[tuple[str, str]] = []
        for dirpath, dirnames, filenames in os.walk(base / entry.name):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                path = Path(dirpath) / name
                if name.startswith("."):
                    class_skipped.append((_rel(path, base), SKIP_HIDDEN))
                elif Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                    images.append(path)
                else:
                    class_skipped.append((_rel(path, base), SKIP_NOT_IMAGE))
        if images:
            per_class[entry.name] = images
            skipped.extend(class_skipped)
    if not per_class:
        return None
    class_names = sorted(per_class)
    records = [
        ImageRecord(path, _rel(path, base), label)
        for label, name in enumerate(class_names)
        for path in per_class[name]
    ]
    return _result(base, "class-folders", class_names, records, skipped)


def _skip_reason(name: str, image_reason: str) -> str:
    if name.startswith("."):
        return SKIP_HIDDEN
    if Path(name).suffix.lower() in IMAGE_EXTENSIONS:
        return image_reason
    return SKIP_NOT_IMAGE


def _result(
    base: Path,
    layout: str,
    class_names: list[str],
    records: list[ImageRecord],
    skipped: list[tuple[str, str]],
) -> ScanResult:
    records.sort(key=lambda r: r.rel)
    skipped.sort()
    counts = Counter(reason for _, reason in skipped)
    return ScanResult(base, layout, class_names, records, dict(sorted(counts.items())),
                      skipped)
