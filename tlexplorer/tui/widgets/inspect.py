"""The two views that look at images: a unit's top-activating test images, and feature maps."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tlexplorer.textsafe import safe
from tlexplorer.topimages import TopInput, class_name, heat
from tlexplorer.tui.widgets.images import ImageGrid, Tile


def prediction_text(names: list[str], label: int, predicted: int, confidence: float) -> Text:
    """"true→predicted p ✓" in green when right, red when wrong."""
    right = label == predicted
    return Text(f"{safe(class_name(names, label))}→{safe(class_name(names, predicted))} "
                f"{confidence:.2f} "
                f"{'✓' if right else '✗'}", style="green" if right else "red")


def top_tiles(tops: list[TopInput], images: dict[int, np.ndarray], names: list[str],
              selected: int) -> list[Tile]:
    """One tile per top image: its pixels, '#index act value' and the prediction."""
    return [Tile(images[t.index],
                 [Text(f"#{t.index} act {t.activation:.3g}"),
                  prediction_text(names, t.label, t.predicted, t.confidence)],
                 selected=i == selected)
            for i, t in enumerate(tops)]


def map_tiles(maps: np.ndarray, dead: np.ndarray | None, selected: int) -> tuple[list[Tile], float]:
    """One tile per channel of an (H, W, C) output, on one colour scale; returns the scale's top."""
    channel_max = maps.reshape(-1, maps.shape[-1]).max(axis=0) if maps.size else np.zeros(0)
    vmax = float(channel_max.max()) if channel_max.size else 0.0
    tiles = []
    for c in range(maps.shape[-1]):
        caption = f"{c} max {channel_max[c]:.2g}"
        if dead is not None and c < len(dead) and dead[c]:
            caption = f"{c} dead"
        tiles.append(Tile(heat(maps[..., c], vmax), [caption], selected=c == selected))
    return tiles, vmax


DENSE_PER_ROW = 20
PAD_GREY = np.array([64, 64, 64], np.uint8)  # cells past the last unit


def dense_tile(values: np.ndarray, dead: np.ndarray | None) -> tuple[Tile, float]:
    """A Dense layer's output as one image, one pixel per unit, ``DENSE_PER_ROW`` a row."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    n = values.size
    cols = max(1, min(n, DENSE_PER_ROW))
    rows = -(-n // cols)
    vmax = float(values.max()) if n else 0.0
    image = np.empty((rows * cols, 3), np.uint8)
    image[:n] = heat(values[None], vmax)[0]
    image[n:] = PAD_GREY
    n_dead = int(np.sum(dead)) if dead is not None else 0
    caption = [f"{n} units, {cols} a row", f"{n_dead} dead in the capture"]
    return Tile(image.reshape(rows, cols, 3), caption), vmax


class TopInputsView(Vertical):
    """Per layer and unit, the k test images that excite the unit most; label and prediction."""

    def compose(self) -> ComposeResult:
        yield Static("", id="topk-info")
        yield ImageGrid(min_width=10, max_width=30, caption_lines=2, id="topk-grid")

    def show(self, info: str, tiles: list[Tile], message: str = "") -> None:
        self.query_one("#topk-info", Static).update(info)
        self.query_one("#topk-grid", ImageGrid).show(tiles, message)


class FeatureMapsView(Horizontal):
    """One test image and one layer's feature maps for it, a page of channels at a time."""

    def compose(self) -> ComposeResult:
        with Vertical(id="fm-left"):
            yield ImageGrid(min_width=12, max_width=24, caption_lines=2, id="fm-input")
            yield Static("", id="fm-info")
        yield ImageGrid(fixed_width=10, max_width=20, caption_lines=1, noun="channels",
                        id="fm-grid")

    def show(self, input_tile: Tile | None, info: str, tiles: list[Tile], message: str = "",
             page: int | None = None, tile_width: int | None = None) -> None:
        self.query_one("#fm-input", ImageGrid).show([input_tile] if input_tile else [])
        self.query_one("#fm-info", Static).update(info)
        grid = self.query_one("#fm-grid", ImageGrid)
        if tile_width is not None:  # one cell per pixel column, exactly
            grid.fixed_width = grid.max_width = tile_width
        elif tiles:  # small maps in small tiles: one cell per pixel column, 8 to 12 cells wide
            grid.fixed_width = min(12, max(8, tiles[0].image.shape[1]))
            grid.max_width = 20
        grid.show(tiles, message, page=page)
