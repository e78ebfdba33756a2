"""Images in a terminal: two pixel rows per character cell with the upper half block "▀".

The cell's foreground colour is the upper pixel, its background the lower one. :class:`HalfBlock`
is a rich renderable built straight from segments (the app's image grids); :func:`halfblock`
gives the same cells as rich ``Text``. No Textual import here.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
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


def _prepared(image: np.ndarray, width: int | None) -> np.ndarray:
    """uint8 RGB, resized to ``width`` columns (aspect kept), padded to an even height."""
    rgb = to_rgb(image)
    h, w = rgb.shape[:2]
    if width is not None and width != w:
        height = max(2, round(h * width / w))
        rgb = resize_nearest(rgb, width, height)
        h, w = rgb.shape[:2]
    if h % 2:
        rgb = np.concatenate([rgb, np.zeros((1, w, 3), np.uint8)], axis=0)
    return rgb


def _colour(rgb: int) -> Color:
    """A truecolor rich Color from 0xRRGGBB, made directly (``Color.from_rgb`` costs 4× more)."""
    triplet = ColorTriplet(rgb >> 16, (rgb >> 8) & 255, rgb & 255)
    return Color(f"#{rgb:06x}", ColorType.TRUECOLOR, triplet=triplet)


class HalfBlock:
    """A rich renderable of an image, built straight from segments (for grids of many images).

    Runs of cells with the same two colours become one segment, so a flat background costs one
    segment per row; drawing nine 30-cell tiles takes a few milliseconds instead of the ~100 ms
    that rich ``Text`` with a span per cell takes.
    """

    def __init__(self, image: np.ndarray, width: int | None = None) -> None:
        rgb = _prepared(image, width)
        self.width = int(rgb.shape[1])
        # one integer per cell: top colour << 24 | bottom colour
        packed = rgb.astype(np.int64)
        colour = (packed[..., 0] << 16) | (packed[..., 1] << 8) | packed[..., 2]
        cells = (colour[0::2] << 24) | colour[1::2]
        styles: dict[int, Style] = {}
        self.lines: list[list[Segment]] = []
        for row in cells:
            change = np.flatnonzero(np.diff(row)) + 1
            starts = np.concatenate([[0], change])
            ends = np.concatenate([change, [len(row)]])
            line = []
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                key = int(row[start])
                style = styles.get(key)
                if style is None:
                    style = styles[key] = Style(color=_colour(key >> 24),
                                                bgcolor=_colour(key & 0xFFFFFF))
                line.append(Segment(UPPER_HALF * (end - start), style))
            self.lines.append(line)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        new_line = Segment.line()
        for line in self.lines:
            yield from line
            yield new_line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)


def halfblock(image: np.ndarray, width: int | None = None) -> Text:
    """Render ``image`` as rich Text, ``width`` cells wide (default: one cell per pixel column).

    The same cells as :class:`HalfBlock`, as one Text (one span per run of equal colours).
    """
    text = Text()
    for y, line in enumerate(HalfBlock(image, width).lines):
        if y:
            text.append("\n")
        for segment in line:
            text.append(segment.text, segment.style)
    return text
