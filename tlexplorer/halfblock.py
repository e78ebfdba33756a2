"""Images in a terminal: two pixel rows per character cell with the upper half block "▀".

The cell's foreground colour is the upper pixel, its background the lower one. Returns rich
``Text`` so the app and the CLI can both draw it; no Textual import here.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text

UPPER_HALF = "▀"


def resize_nearest(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W[, 3]) array to (height, width[, 3])."""
    h, w = image.shape[:2]
    rows = np.minimum((np.arange(height) * h / height).astype(int), h - 1)
    cols = np.minimum((np.arange(width) * w / width).astype(int), w - 1)
    return image[rows][:, cols]


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 RGB from uint8/float RGB or a single-channel map (scaled to its own range)."""
    image = np.asarray(image)
    if image.ndim == 2:
        lo, hi = float(np.min(image)), float(np.max(image))
        scaled = (image - lo) / (hi - lo) if hi > lo else np.zeros_like(image, dtype=float)
        gray = (scaled * 255).round().astype(np.uint8)
        return np.stack([gray] * 3, axis=-1)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).round().astype(np.uint8)
    return image[..., :3]


def halfblock(image: np.ndarray, width: int | None = None) -> Text:
    """Render ``image`` as rich Text, ``width`` cells wide (default: one cell per pixel column)."""
    rgb = to_rgb(image)
    h, w = rgb.shape[:2]
    if width is not None and width != w:
        height = max(2, round(h * width / w))
        rgb = resize_nearest(rgb, width, height)
        h, w = rgb.shape[:2]
    if h % 2:
        rgb = np.concatenate([rgb, np.zeros((1, w, 3), np.uint8)], axis=0)
        h += 1
    text = Text()
    for y in range(0, h, 2):
        for x in range(w):
            top = rgb[y, x]
            bottom = rgb[y + 1, x]
            text.append(UPPER_HALF, Style(color=f"rgb({top[0]},{top[1]},{top[2]})",
                                          bgcolor=f"rgb({bottom[0]},{bottom[1]},{bottom[2]})"))
        if y + 2 < h:
            text.append("\n")
    return text
