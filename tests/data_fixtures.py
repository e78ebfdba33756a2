"""Tiny on-disk image datasets for the data tests (Kaggle, PetImages, class folders, zip)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def noise_image(seed: int = 0, size: int = 16) -> Image.Image:
    """An RGB image of random pixels (noise does not compress, so cutting the file hurts)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def jpeg_bytes(seed: int = 0, size: int = 16) -> bytes:
    """A small JFIF JPEG."""
    buffer = io.BytesIO()
    noise_image(seed, size).save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    assert b"JFIF" in data[:10]
    return data


def png_bytes(seed: int = 0, size: int = 16) -> bytes:
    """A small PNG (a valid image, but not JFIF)."""
    buffer = io.BytesIO()
    noise_image(seed, size).save(buffer, format="PNG")
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_jpeg(path: Path, seed: int = 0, size: int = 16) -> Path:
    return write(path, jpeg_bytes(seed, size))


def write_truncated_jpeg(path: Path, seed: int = 99) -> Path:
    """A JPEG with a valid JFIF header whose data is cut in half."""
    data = jpeg_bytes(seed, size=64)
    return write(path, data[: len(data) // 2])


def write_png_as_jpg(path: Path, seed: int = 0) -> Path:
    return write(path, png_bytes(seed))


def write_random_bytes(path: Path, n: int = 200, seed: int = 7) -> Path:
    data = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert b"JFIF" not in data[:10]
    return write(path, data)


def make_kaggle(root: Path, n_per_class: int, classes: tuple[str, ...] = ("cat", "dog")) -> Path:
    """``root/train/cat.N.jpg`` and ``dog.N.jpg`` plus a ``Thumbs.db``; returns ``root``."""
    train = root / "train"
    for k, name in enumerate(classes):
        for i in range(n_per_class):
            write_jpeg(train / f"{name}.{i}.jpg", seed=1000 * k + i)
    write(train / "Thumbs.db", b"not an image")
    return root


def make_petimages(root: Path, n_good: int) -> dict[str, Path]:
    """``root/PetImages/{Cat,Dog}`` with ``n_good`` JPEGs each and some bad files.

    Cat gets a truncated JFIF JPEG and a PNG named ``.jpg``; Dog gets a random-bytes ``.jpg``
    and a ``Thumbs.db``. Returns the special files by name.
    """
    base = root / "PetImages"
    for k, name in enumerate(("Cat", "Dog")):
        for i in range(n_good):
            write_jpeg(base / name / f"{i}.jpg", seed=1000 * k + i)
    return {
        "truncated": write_truncated_jpeg(base / "Cat" / "666.jpg"),
        "png": write_png_as_jpg(base / "Cat" / "png.jpg"),
        "random": write_random_bytes(base / "Dog" / "junk.jpg"),
        "thumbs": write(base / "Dog" / "Thumbs.db", b"not an image"),
    }


def make_petimages_zip(path: Path, n_good: int) -> Path:
    """A zip laid out like the Microsoft archive: ``PetImages/Cat``, ``PetImages/Dog``, readme.

    Holds ``2 * n_good`` JPEGs, a PNG named .jpg (an image all the same) and 2 files the
    decoder cannot read (a truncated JPEG and a Thumbs.db).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme[1].txt", "PetImages test archive")
        for k, name in enumerate(("Cat", "Dog")):
            for i in range(n_good):
                zf.writestr(f"PetImages/{name}/{i}.jpg", jpeg_bytes(1000 * k + i))
        zf.writestr("PetImages/Cat/666.jpg", png_bytes(3))
        zf.writestr("PetImages/Dog/Thumbs.db", b"not an image")
        cut = jpeg_bytes(99, size=64)
        zf.writestr("PetImages/Dog/cut.jpg", cut[: len(cut) // 2])
    return path
