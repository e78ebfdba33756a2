"""Grids of small terminal images (half-block pixels) with a caption under each."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from rich.console import RenderableType
from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from tlexplorer.halfblock import HalfBlock
from tlexplorer.topimages import channel_page

# drawn images by (id of the pixel array, width); the array is kept so its id stays its own
_DRAWN: OrderedDict[tuple[int, int], tuple[np.ndarray, HalfBlock]] = OrderedDict()
DRAWN_CACHE_SIZE = 1024


def drawn(image: np.ndarray, width: int) -> HalfBlock:
    """``image`` drawn ``width`` cells wide, kept so a repaint or a new caption redraws nothing."""
    key = (id(image), width)
    hit = _DRAWN.get(key)
    if hit is not None and hit[0] is image:
        _DRAWN.move_to_end(key)
        return hit[1]
    block = HalfBlock(image, width=width)
    _DRAWN[key] = (image, block)
    while len(_DRAWN) > DRAWN_CACHE_SIZE:
        _DRAWN.popitem(last=False)
    return block


@dataclass(eq=False)
class Tile:
    """One image of a grid: pixels (H, W[, 3]) and up to two caption lines."""

    image: np.ndarray
    caption: list[Text | str]
    selected: bool = False

    def drawn(self, width: int) -> HalfBlock:
        return drawn(self.image, width)


def tile_height(width: int, aspect: float, caption_lines: int) -> int:
    """Rows one tile takes: half-block rows of a ``width``-wide image plus its caption."""
    return max(1, math.ceil(round(width * aspect) / 2)) + caption_lines


def fit_tiles(n: int, width: int, height: int, *, aspect: float = 1.0, caption_lines: int = 2,
              min_width: int = 8, max_width: int = 32, gap: int = 1) -> tuple[int, int, int]:
    """(columns, tile width, tiles shown) for the largest tiles that show all ``n``.

    When even ``min_width`` tiles do not all fit, as many as fit are shown.
    """
    width, height = max(width, 1), max(height, 1)
    for w in range(max(max_width, min_width), min_width - 1, -1):
        cols = max(1, min(n, (width + gap) // (w + gap)))
        rows = max(1, height // tile_height(w, aspect, caption_lines))
        if cols * rows >= n and cols * (w + gap) - gap <= width:
            return cols, w, n
    w = min(min_width, width)
    cols = max(1, (width + gap) // (w + gap))
    rows = max(1, height // tile_height(w, aspect, caption_lines))
    return cols, w, min(n, cols * rows)


def page_capacity(width: int, height: int, tile_width: int, *, aspect: float = 1.0,
                  caption_lines: int = 1, gap: int = 1) -> int:
    """How many ``tile_width``-wide tiles one screen of the grid holds."""
    cols = max(1, (max(width, 1) + gap) // (tile_width + gap))
    rows = max(1, max(height, 1) // tile_height(tile_width, aspect, caption_lines))
    return cols * rows


class ImageGrid(Widget):
    """Tiles laid out to fit the widget, or ``message`` instead when there are none.

    Fitted (default): the largest tiles, between ``min_width`` and ``max_width`` cells wide, that
    show every tile. Paged (``fixed_width``): tiles of that width, as many as fit, one page at a
    time under a header line that says which tiles are shown.

    Drawn with Textual's line API from pre-built segments: a grid of images is thousands of
    differently coloured cells, and laying them out through rich tables cost ~10× more.
    """

    DEFAULT_CSS = "ImageGrid { height: 1fr; width: 1fr; }"

    def __init__(self, *, min_width: int = 8, max_width: int = 32, caption_lines: int = 2,
                 fixed_width: int | None = None, noun: str = "tiles",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.min_width, self.max_width = min_width, max_width
        self.caption_lines = caption_lines
        self.fixed_width = fixed_width
        self.noun = noun
        self.tiles: list[Tile] = []
        self.message: RenderableType = ""
        self.page: int | None = None  # None: the page holding the selected tile
        # what the last layout drew (the page keys and the tests read these)
        self.shown = 0
        self.pages = 1
        self._strips: list[Strip] | None = None
        self._strips_key: tuple = ()
        self._version = 0

    def show(self, tiles: list[Tile], message: RenderableType = "", *,
             page: int | None = None) -> None:
        self.tiles, self.message, self.page = tiles, message, page
        self._version += 1
        self.refresh()

    def _aspect(self) -> float:
        if not self.tiles:
            return 1.0
        h, w = self.tiles[0].image.shape[:2]
        return h / max(w, 1)

    def on_resize(self) -> None:
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size
        key = (width, height, self._version, self.rich_style)
        if self._strips is None or key != self._strips_key:
            self._strips, self._strips_key = self._layout(width, height), key
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)

    def layout_now(self) -> None:
        """Lay out at the current size now (tests read ``shown`` and ``pages`` afterwards)."""
        self.render_line(0)

    # -- layout -----------------------------------------------------------------------------

    def _layout(self, width: int, height: int) -> list[Strip]:
        base = self.rich_style
        if not self.tiles:
            self.shown, self.pages = 0, 1
            message = self.message if isinstance(self.message, Text) else Text(str(self.message))
            return self._text_strips(message, width, wrap=True)
        if self.fixed_width:
            cols, w, chosen, header = self._paged(width, height)
        else:
            cols, w, shown = fit_tiles(len(self.tiles), width, height, aspect=self._aspect(),
                                       caption_lines=self.caption_lines,
                                       min_width=self.min_width, max_width=self.max_width)
            self.shown, self.pages = shown, 1
            chosen, header = self.tiles[:shown], None
        strips = self._text_strips(header, width) if header is not None else []
        blank_tile = [Segment(" " * w, base)]
        for start in range(0, len(chosen), cols):
            row = [self._tile_lines(tile, w) for tile in chosen[start:start + cols]]
            for i in range(max(len(lines) for lines in row)):
                segments: list[Segment] = []
                for j, lines in enumerate(row):
                    if j:
                        segments.append(Segment(" ", base))
                    segments.extend(lines[i] if i < len(lines) else blank_tile)
                strips.append(Strip(segments).adjust_cell_length(width, base))
        return strips

    def _paged(self, width: int, height: int) -> tuple[int, int, list[Tile], Text]:
        assert self.fixed_width is not None
        n = len(self.tiles)
        # all on one page, as large as they fit (up to max_width), else pages of fixed_width
        cols, w, fits = fit_tiles(n, width, height - 1, aspect=self._aspect(),
                                  caption_lines=self.caption_lines,
                                  min_width=self.fixed_width,
                                  max_width=max(self.max_width, self.fixed_width))
        if fits < n:
            w = min(self.fixed_width, max(width, 1))
            cols = max(1, (width + 1) // (w + 1))
        per_page = fits if fits == n else page_capacity(
            width, height - 1, w, aspect=self._aspect(), caption_lines=self.caption_lines)
        self.pages = max(1, -(-n // per_page))
        page = self.page
        if page is None:
            selected = next((i for i, t in enumerate(self.tiles) if t.selected), 0)
            page = selected // per_page
        shown = channel_page(n, page, per_page)  # clamped to the last page
        self.page = shown.start // per_page
        chosen = self.tiles[shown.start:shown.stop]
        self.shown = len(chosen)
        header = Text(f"{self.noun} {shown.start}–{shown.stop - 1} of {n} · page "
                      f"{self.page + 1}/{self.pages}", style="bold")
        if self.pages > 1:
            header.append("  [ ] page", style="dim")
        return cols, w, chosen, header

    def _text_strips(self, text: Text, width: int, wrap: bool = False) -> list[Strip]:
        console = self.app.console
        options = console.options.update_width(max(width, 1))
        if not wrap:
            options = options.update(no_wrap=True, overflow="ellipsis")
        lines = console.render_lines(text, options, style=self.rich_style, pad=True)
        return [Strip(line, width) for line in lines]

    def _tile_lines(self, tile: Tile, width: int) -> list[list[Segment]]:
        """The tile's image rows, then its caption lines, each exactly ``width`` cells."""
        lines = list(tile.drawn(width).lines)
        for line in tile.caption[: self.caption_lines]:
            text = line.copy() if isinstance(line, Text) else Text(str(line))
            text.truncate(width, overflow="ellipsis", pad=True)
            if tile.selected:
                text.stylize("reverse")
            lines.append(list(self._text_strips(text, width)[0]))
        return lines
