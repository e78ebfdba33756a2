"""The poster's split: balanced, disjoint, seeded train/validation/test subsets of a scanned folder.

How a split is drawn (deterministic for a given scan, sizes and seed):

- per class, the records sorted by ``rel`` are permuted with
  ``numpy.random.default_rng([seed, class_index])`` (an independent stream per class);
- candidates are taken in that order; with ``validate=True`` each one is fully decoded by the
  pipeline's decoder (:func:`~tlexplorer.data.decode.decode_problem`) and files it cannot read
  are skipped (listed with the reason) in favour of the next candidate, so only about as many
  files as the split needs are decoded;
- the first ``train // n_classes`` accepted images of a class go to train, the next ones to
  validation, then test;
- inside each subset the classes are interleaved in draw order (class 0's first image, class 1's
  first image, class 0's second image, ...), so every prefix of a subset stays balanced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from tlexplorer.data.decode import decode_problem
from tlexplorer.data.layouts import ImageRecord, ScanResult
from tlexplorer.errors import UserError

FINGERPRINT_VERSION = 2
"""2: each file's bytes are hashed (1 hashed sizes only, so a replaced image of the same size
went unnoticed and the cache served a stale result)."""
HASH_THREADS = 4

SUBSETS = ("train", "val", "test")
DEFAULT_SIZES = (3000, 1000, 1000)
DEFAULT_SEED = 1337


@dataclass(frozen=True)
class Split:
    """Train/validation/test records of one dataset, with what is needed to rebuild them."""

    train: list[ImageRecord]
    val: list[ImageRecord]
    test: list[ImageRecord]
    class_names: list[str]
    seed: int
    fingerprint: str
    """First 16 hex chars of a sha256 over seed, class names and each record's rel, label and
    the sha256 of its bytes (:func:`compute_fingerprint`)."""
    skipped_corrupt: int
    """Files the decoder rejected while filling the split."""
    skipped: tuple[tuple[str, str], ...] = ()
    """Those files: ``(rel, reason)``."""

    def subset(self, name: str) -> list[ImageRecord]:
        """The records of ``"train"``, ``"val"`` or ``"test"``."""
        if name not in SUBSETS:
            raise ValueError(f"unknown subset {name!r}; expected one of {SUBSETS}")
        records: list[ImageRecord] = getattr(self, name)
        return records

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form: seed, class names, fingerprint, skipped count, [rel, label] lists."""
        obj: dict[str, Any] = {
            "seed": self.seed,
            "class_names": list(self.class_names),
            "fingerprint": self.fingerprint,
            "skipped_corrupt": self.skipped_corrupt,
            "skipped": [list(item) for item in self.skipped],
        }
        for name in SUBSETS:
            obj[name] = [[r.rel, r.label] for r in self.subset(name)]
        return obj


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, streamed; :class:`UserError` when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise UserError(f"cannot read image {path}: {exc.strerror or exc}") from exc


def compute_fingerprint(
    seed: int, class_names: Sequence[str], subsets: Sequence[Sequence[ImageRecord]]
) -> str:
    """Hash of seed, class names and, per subset, each record's rel, label and content hash.

    Content, not size or time stamps: a file replaced by another of the same size changes the
    fingerprint, so no cached result outlives its images. Files are hashed in a few threads
    (hashlib releases the GIL). Raises :class:`UserError` when a file cannot be read.
    """
    from concurrent.futures import ThreadPoolExecutor

    digest = hashlib.sha256()
    digest.update(json.dumps({"seed": seed, "class_names": list(class_names),
                              "fingerprint_version": FINGERPRINT_VERSION}).encode("utf-8"))
    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
        for name, records in zip(SUBSETS, subsets, strict=True):
            digest.update(f"\n[{name}]\n".encode())
            hashes = pool.map(file_digest, [record.path for record in records])
            for record, content in zip(records, hashes, strict=True):
                digest.update(f"{record.rel}\t{record.label}\t{content}\n".encode(
                    "utf-8", "surrogateescape"))  # names that are not UTF-8 round-trip
    return digest.hexdigest()[:16]


def make_split(
    scan: ScanResult,
    sizes: tuple[int, int, int] = DEFAULT_SIZES,
    seed: int = DEFAULT_SEED,
    validate: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Split:
    """Draw a balanced, disjoint train/val/test split of ``scan`` (see the module doc).

    ``sizes`` are the subset sizes; each must divide evenly by the number of classes
    (``ValueError`` otherwise, also for negative sizes or seed). ``progress(done, total)`` is
    called as images are accepted, ``total`` being ``sum(sizes)``. Raises :class:`UserError`
    when a class has too few (readable) images.
    """
    n_classes = len(scan.class_names)
    if n_classes < 2:
        raise ValueError(f"a split needs at least two classes, got {scan.class_names}")
    if len(sizes) != 3 or any(int(s) != s or s < 0 for s in sizes):
        raise ValueError(f"sizes must be three non-negative integers, got {sizes}")
    if any(s % n_classes for s in sizes):
        raise ValueError(f"subset sizes {tuple(sizes)} must each divide by {n_classes} classes")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")

    per_class_sizes = [s // n_classes for s in sizes]
    need = sum(per_class_sizes)
    total = need * n_classes
    done = 0
    skipped: list[tuple[str, str]] = []
    if progress is not None:
        progress(0, total)

    by_class: list[list[ImageRecord]] = [[] for _ in range(n_classes)]
    for record in scan.records:
        by_class[record.label].append(record)

    chosen: list[list[ImageRecord]] = []
    for label, records in enumerate(by_class):
        records.sort(key=lambda r: r.rel)
        order = np.random.default_rng([seed, label]).permutation(len(records))
        accepted: list[ImageRecord] = []
        for index in order:
            if len(accepted) == need:
                break
            candidate = records[int(index)]
            problem = decode_problem(candidate.path) if validate else None
            if problem is not None:
                skipped.append((candidate.rel, problem))
                continue
            accepted.append(candidate)
            done += 1
            if progress is not None:
                progress(done, total)
        if len(accepted) < need:
            what = "readable images" if validate else "images"
            rejected = len(records) - len(accepted)
            raise UserError(
                f"not enough {what} of class {scan.class_names[label]!r}: needed {need}, "
                f"found {len(records)} files, {len(accepted)} usable"
                + (f", {rejected} could not be decoded" if validate and rejected else "")
                + " (a smaller --split TRAIN,VAL,TEST needs fewer)"
            )
        chosen.append(accepted)

    subsets: list[list[ImageRecord]] = []
    start = 0
    for count in per_class_sizes:
        subsets.append(_interleave([c[start : start + count] for c in chosen]))
        start += count

    return Split(
        train=subsets[0],
        val=subsets[1],
        test=subsets[2],
        class_names=list(scan.class_names),
        seed=seed,
        fingerprint=compute_fingerprint(seed, scan.class_names, subsets),
        skipped_corrupt=len(skipped),
        skipped=tuple(sorted(skipped)),
    )


def split_from_json(root: Path, obj: dict[str, Any]) -> Split:
    """Rebuild a :class:`Split` saved with :meth:`Split.to_json`; paths become ``root / rel``.

    The fingerprint is recomputed from the files as they are now, so comparing it with
    ``obj["fingerprint"]`` tells whether the data changed. Raises :class:`UserError` when listed
    files are missing, ``ValueError`` when ``obj`` is malformed.
    """
    base = Path(root).expanduser().resolve()
    try:
        seed = int(obj["seed"])
        class_names = [str(name) for name in obj["class_names"]]
        skipped_corrupt = int(obj.get("skipped_corrupt", 0))
        skipped = tuple((str(rel), str(reason)) for rel, reason in obj.get("skipped", []))
        raw_subsets = [[(str(rel), int(label)) for rel, label in obj[name]] for name in SUBSETS]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed split metadata: {exc!r}") from exc

    subsets: list[list[ImageRecord]] = []
    missing: list[str] = []
    for raw in raw_subsets:
        records = []
        for rel, label in raw:
            rel_path = PurePosixPath(rel)
            if rel_path.is_absolute() or ".." in rel_path.parts:
                raise ValueError(f"malformed split metadata: path {rel!r} leaves the dataset root")
            if not 0 <= label < len(class_names):
                raise ValueError(f"malformed split metadata: label {label} of {rel!r}")
            path = base.joinpath(*rel_path.parts)
            if not path.is_file():
                missing.append(rel)
            records.append(ImageRecord(path, rel, label))
        subsets.append(records)
    if missing:
        raise UserError(
            f"{len(missing)} image(s) of the saved split are missing under {base} "
            f"(first: {missing[0]})"
        )
    return Split(
        train=subsets[0],
        val=subsets[1],
        test=subsets[2],
        class_names=class_names,
        seed=seed,
        fingerprint=compute_fingerprint(seed, class_names, subsets),
        skipped_corrupt=skipped_corrupt,
        skipped=skipped,
    )


def _interleave(groups: list[list[ImageRecord]]) -> list[ImageRecord]:
    out: list[ImageRecord] = []
    for row in zip(*groups, strict=True):
        out.extend(row)
    return out
