"""The one way an image file becomes model input: decode with Pillow, resize like TensorFlow.

Every path that reads real images — the split's check of each candidate, training, capture,
top images, feature maps — goes through :func:`decode_image`, so a file is skipped only when
*this* decoder cannot read it, and the pixels a view shows are the pixels the statistics saw.

- **Decode**: Pillow, fully (``LOAD_TRUNCATED_IMAGES`` off, so a truncated file fails instead of
  coming back grey at the bottom); the first frame of an animation; RGB (alpha dropped,
  palettes, greyscale and CMYK converted; 16-bit images scaled to 8 bits). EXIF orientation is
  ignored, as ``tf.io.decode_image`` and ``keras.utils.load_img`` ignore it.
- **Resize**: bilinear with half-pixel centres and no antialiasing, the rule of
  ``tf.image.resize(method="bilinear")``, computed in float32 in the same order, so the result
  matches TensorFlow's to float rounding (tested).
- **Output**: float32 RGB in 0..255, shape (size, size, 3).

Why a file could not be decoded is a short reason (:class:`ImageDecodeError`), listed in
``skipped_images.csv``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

REASON_EMPTY = "empty file"
REASON_UNKNOWN_FORMAT = "not an image format the decoder reads"
REASON_TRUNCATED = "truncated or corrupt image data"
REASON_TOO_LARGE = "too large to decode safely"
REASON_UNREADABLE = "cannot be read"

DECODE_THREADS = 4
"""Pillow releases the GIL while it decodes, so a few threads keep the model fed."""


class ImageDecodeError(Exception):
    """The decoder cannot read a file; ``reason`` is one of the ``REASON_*`` texts."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _to_rgb_array(image) -> np.ndarray:
    """uint8 (H, W, 3) RGB of a loaded Pillow image in any mode."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit integer) greyscale: Pillow's convert("RGB") would clip at 255.
        values = np.asarray(image, dtype=np.int64)
        top = 65535 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255
        grey = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        grey = np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8)


def read_rgb(path: Path | str) -> np.ndarray:
    """Decode a file fully into uint8 (H, W, 3) RGB; :class:`ImageDecodeError` if it cannot be."""
    from PIL import Image, ImageFile, UnidentifiedImageError

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ImageDecodeError(REASON_EMPTY)
    except OSError as exc:
        raise ImageDecodeError(REASON_UNREADABLE) from exc
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Another library's global setting would let truncated files pass as grey-bottomed
        # images. It is switched off for good, not restored: decoding runs in several threads,
        # and a set-and-restore around each file would race.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(path) as image:
            image.seek(0)
            image.load()
            return _to_rgb_array(image)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageDecodeError(REASON_UNKNOWN_FORMAT) from exc
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(REASON_TOO_LARGE) from exc
    except MemoryError as exc:
        raise ImageDecodeError(REASON_TOO_LARGE) from exc
    except (OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError, EOFError,
            RuntimeError) as exc:
        # Pillow's plugins raise all of these for damaged files; every one means "skip it".
        raise ImageDecodeError(REASON_TRUNCATED) from exc


def _axis_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper source index and the float32 interpolation weight per output index
    (TensorFlow's half-pixel-centre rule, ``compute_interpolation_weights``)."""
    scale = np.float32(in_size / out_size)
    centre = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(centre)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(centre), in_size - 1).astype(np.int64)
    return lower, upper, (centre - floor).astype(np.float32)


def resize_bilinear(image: np.ndarray, size: int) -> np.ndarray:
    """Resize (H, W, C) to (size, size, C) float32 as ``tf.image.resize(..., "bilinear")``."""
    pixels = np.asarray(image, dtype=np.float32)
    height, width = pixels.shape[:2]
    if (height, width) == (size, size):
        return pixels.copy()
    y0, y1, wy = _axis_weights(height, size)
    x0, x1, wx = _axis_weights(width, size)
    wx = wx[None, :, None]
    top_left, top_right = pixels[y0][:, x0], pixels[y0][:, x1]
    bottom_left, bottom_right = pixels[y1][:, x0], pixels[y1][:, x1]
    top = top_left + (top_right - top_left) * wx
    bottom = bottom_left + (bottom_right - bottom_left) * wx
    return top + (bottom - top) * wy[:, None, None]


def decode_image(path: Path | str, size: int) -> np.ndarray:
    """The model input of one file: float32 (size, size, 3) RGB 0..255."""
    return resize_bilinear(read_rgb(path), size)


def decode_problem(path: Path | str) -> str | None:
    """Why the decoder cannot read ``path``, or None when it can (a full decode)."""
    try:
        read_rgb(path)
    except ImageDecodeError as exc:
        return exc.reason
    return None


def decoded_batches(paths: Sequence[Path | str], labels: Sequence[int] | np.ndarray, size: int,
                    batch: int, on_skip: Callable[[int, str], None] | None = None,
                    cancel: threading.Event | None = None,
                    threads: int = DECODE_THREADS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches ``(images float32 (B, size, size, 3), labels int64 (B,))`` in ``paths`` order.

    Files the decoder cannot read are left out and reported as ``on_skip(index, reason)``;
    every other image keeps its order. Decoding runs ``threads`` wide, two batches ahead of the
    consumer, so memory stays at a few batches whatever the number of files.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(paths) != len(labels):
        raise ValueError(f"{len(paths)} files but {len(labels)} labels")

    def decode(i: int) -> np.ndarray | str:
        try:
            return decode_image(paths[i], size)
        except ImageDecodeError as exc:
            return exc.reason

    chunks = [range(i, min(i + batch, len(paths))) for i in range(0, len(paths), batch)]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        pending: deque[tuple[range, list[Future]]] = deque()
        next_chunk = 0
        while next_chunk < len(chunks) or pending:
            while next_chunk < len(chunks) and len(pending) < 2:
                chunk = chunks[next_chunk]
                pending.append((chunk, [pool.submit(decode, i) for i in chunk]))
                next_chunk += 1
            chunk, futures = pending.popleft()
            if cancel is not None and cancel.is_set():
                for _, later in pending:
                    for future in later:
                        future.cancel()
                return
            images, kept = [], []
            for i, future in zip(chunk, futures, strict=True):
                value = future.result()
                if isinstance(value, str):
                    if on_skip is not None:
                        on_skip(i, value)
                    continue
                images.append(value)
                kept.append(i)
            if images:
                yield np.stack(images), labels[kept]
