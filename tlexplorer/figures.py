"""Figures a researcher can keep: the poster's Figures 5–7, per-model panels, weight shift and
top-image montages, each as PNG and SVG (matplotlib's object API on the Agg canvas: no display,
no pyplot state, safe in a worker thread), and ``index.html``, one self-contained page.

Every figure is drawn from the same :class:`~tlexplorer.capture.result.CaptureResult` numbers
as the CSV files (:mod:`tlexplorer.report`), through :mod:`tlexplorer.metrics`.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tlexplorer import metrics
from tlexplorer.capture.result import CaptureResult

FIGURES_DIR = "figures"
INDEX_HTML = "index.html"
MONTAGE_UNITS = 6  # units per top-images montage: the layer's strongest
MONTAGE_IMAGES = 6  # top images shown per unit
ImageReader = Callable[[list[int]], np.ndarray]  # test indices → uint8 (n, H, W, 3)
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(text: str, limit: int = 48) -> str:
    """A file-name-safe form of a model or layer name (data never reaches a path raw)."""
    return _SLUG.sub("_", str(text)).strip("._")[:limit] or "x"


def model_stems(results: Sequence[CaptureResult]) -> list[str]:
    """One unique file stem per model: ``model1`` … for the suite, ``model1-NAME`` otherwise."""
    stems = []
    for i, r in enumerate(results, start=1):
        label = slug(r.model_label)
        stems.append(f"model{i}" if label == str(i) else f"model{i}-{label}")
    return stems


def model_caption(result: CaptureResult) -> str:
    """``1 cnn`` for a suite model, the file name for an analysed one."""
    label, name = str(result.model_label), str(result.model_name)
    return label if not name or name == label else f"{label} {name}"


@dataclass
class Drawn:
    """The figures of one report: file name (under ``figures/``) → bytes, and their titles."""

    files: dict[str, bytes] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # stem → title
    sections: dict[str, list[str]] = field(default_factory=dict)  # section → stems
    notes: list[str] = field(default_factory=list)  # what could not be drawn, and why

    def merge(self, other: Drawn) -> None:
        """Add ``other``'s figures after these."""
        self.files.update(other.files)
        self.titles.update(other.titles)
        for section, stems in other.sections.items():
            self.sections.setdefault(section, []).extend(stems)
        self.notes.extend(other.notes)


def _figure(width: float, height: float, layout: str | None = "constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout=layout)


def _keep(drawn: Drawn, fig, stem: str, title: str, section: str) -> None:
    """Render ``fig`` as PNG and SVG (deterministic: no dates, fixed SVG ids)."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "tlexplorer", "svg.fonttype": "none"}):
        for fmt in ("png", "svg"):
            buffer = io.BytesIO()
            metadata = {"Date": None} if fmt == "svg" else {"Software": None}
            # zlib level 1: PNG encoding was the largest cost of the report's figures (the
            # montages: 2.4 of 5.3 s for 10 of them); files grow a little
            extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
            fig.savefig(buffer, format=fmt, metadata=metadata, **extra)
            drawn.files[f"{stem}.{fmt}"] = buffer.getvalue()
            fig.set_layout_engine("none")  # laid out once: the SVG reuses the PNG's layout
    drawn.titles[stem] = title
    drawn.sections.setdefault(section, []).append(stem)


def _spectrum_points(hist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                float, int]:
    """(x, share) of the positive bins and (|x|, share) of the negative bins, the share of exact
    zeros, and the number of values; ``x`` is each bin's geometric centre, ``share`` its % of
    all values."""
    rows = metrics.spectrum_rows(hist)
    total = sum(c for _, _, c in rows)
    if total == 0:
        empty = np.zeros(0)
        return empty, empty, empty, empty, 0.0, 0
    pos = [(math.sqrt(lo * hi), 100 * c / total) for lo, hi, c in rows if lo > 0]
    neg = [(math.sqrt(lo * hi), 100 * c / total) for lo, hi, c in
           ((-hi, -lo, c) for lo, hi, c in rows if hi < 0)]
    zero = 100 * sum(c for lo, hi, c in rows if lo == 0 and hi == 0) / total

    def split(points):
        arr = np.array(sorted(points), dtype=np.float64).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]

    (px, py), (nx, ny) = split(pos), split(neg)
    return px, py, nx, ny, zero, total


def _finite(values: Sequence[float]) -> list[float]:
    return [v if v is not None and math.isfinite(v) else math.nan for v in values]


def draw_nnu_per_model(drawn: Drawn, results: Sequence[CaptureResult], tau: float) -> None:
    """The poster's Figure 5: NNU per model, with τ-dormant beside it."""
    captions = [model_caption(r) for r in results]
    nnu = _finite([metrics.model_nnu_pct(r) for r in results])
    dormant = _finite([metrics.model_dormant_pct(r, tau) for r in results])
    fig = _figure(max(5.0, 1.1 * len(results) + 2), 3.6)
    ax = fig.add_subplot()
    x = np.arange(len(results))
    ax.bar(x - 0.2, np.nan_to_num(nnu), 0.4, label="NNU % (never fired)", color="#c44e52")
    ax.bar(x + 0.2, np.nan_to_num(dormant), 0.4, label=f"τ-dormant % (τ = {tau:g})",
           color="#8172b2")
    for i, value in enumerate(nnu):
        if math.isnan(value):
            ax.text(x[i] - 0.2, 0, "n/a", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, captions, rotation=20, ha="right")
    ax.set_ylabel("% of units (neurons / feature maps)")
    ax.set_title("Neural network utilization per model (Figure 5)")
    ax.legend(fontsize=8)
    _keep(drawn, fig, "fig5_nnu", "Figure 5 — NNU per model", "Figures 5–7")


def _spectrum_axes(ax, xlabel: str) -> None:
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("% of all activation values per bin")
    ax.grid(True, which="major", alpha=0.3)


def draw_spectra(drawn: Drawn, results: Sequence[CaptureResult]) -> None:
    """The poster's Figure 6: each model's activation spectrum (all hidden layers), overlaid."""
    curves = [(model_caption(r), _spectrum_points(metrics.merged_histogram(r.hidden_layers)))
              for r in results]
    negatives = any(len(c[1][2]) for c in curves)
    fig = _figure(7.5, 4.2 if not negatives else 7.0)
    ax = fig.add_subplot(2 if negatives else 1, 1, 1)
    for caption, (px, py, _, _, zero, total) in curves:
        if total:
            ax.plot(px, py, drawstyle="steps-mid", label=f"{caption} (zeros {zero:.1f} %)")
    _spectrum_axes(ax, "activation value (log scale; exact zeros in the legend)")
    ax.set_title("Activation spectrum per model (Figure 6)")
    ax.legend(fontsize=8)
    if negatives:
        ax2 = fig.add_subplot(2, 1, 2)
        for caption, (_, _, nx, ny, _, total) in curves:
            if total and len(nx):
                ax2.plot(nx, ny, drawstyle="steps-mid", label=caption)
        _spectrum_axes(ax2, "|activation value| of negative activations (log scale)")
        ax2.set_title("Negative activations")
        ax2.legend(fontsize=8)
    _keep(drawn, fig, "fig6_spectra", "Figure 6 — activation spectra, overlaid", "Figures 5–7")


def draw_max_activation(drawn: Drawn, results: Sequence[CaptureResult]) -> None:
    """The poster's Figure 7: maximum activation per layer, one panel per model."""
    n = len(results)
    widest = max((len(r.hidden_layers) for r in results), default=1)
    fig = _figure(max(6.0, 0.45 * widest + 2), 2.4 * n + 0.6)
    for i, r in enumerate(results):
        ax = fig.add_subplot(n, 1, i + 1)
        layers = r.hidden_layers
        values = _finite([metrics.layer_max(layer) for layer in layers])
        ax.bar(np.arange(len(layers)), np.nan_to_num(values), color="#4c72b0")
        ax.set_xticks(np.arange(len(layers)), [layer.name for layer in layers], rotation=45,
                      ha="right", fontsize=7)
        ax.set_ylabel("max activation")
        ax.set_title(model_caption(r), fontsize=9, loc="left")
    fig.suptitle("Activation range: maximum activation per layer (Figure 7)")
    _keep(drawn, fig, "fig7_max_activation", "Figure 7 — maximum activation per layer",
          "Figures 5–7")


def draw_model_panels(drawn: Drawn, result: CaptureResult, stem: str, tau: float) -> None:
    """Per model: NNU % and τ-dormant % per layer; the spectrum of every layer."""
    layers = result.hidden_layers
    caption = model_caption(result)
    x = np.arange(len(layers))
    nnu = _finite([metrics.layer_nnu_pct(layer, result.epsilon) for layer in layers])
    dormant = _finite([metrics.layer_dormant_pct(layer, tau) for layer in layers])
    fig = _figure(max(6.0, 0.5 * len(layers) + 2), 3.8)
    ax = fig.add_subplot()
    ax.bar(x - 0.2, np.nan_to_num(nnu), 0.4, label="NNU %", color="#c44e52")
    ax.bar(x + 0.2, np.nan_to_num(dormant), 0.4, label=f"τ-dormant % (τ = {tau:g})",
           color="#8172b2")
    for i, value in enumerate(nnu):
        if math.isnan(value):
            ax.text(x[i] - 0.2, 0, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(x, [layer.name for layer in layers], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("% of the layer's units")
    ax.set_title(f"{caption}: unused units per layer")
    ax.legend(fontsize=8)
    _keep(drawn, fig, f"{stem}_units", f"{caption} — NNU and dormant units per layer",
          f"Model {caption}")

    fig = _figure(7.5, 4.2)
    ax = fig.add_subplot()
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    for i, layer in enumerate(layers):
        px, py, _, _, zero, total = _spectrum_points(layer.hist)
        if total and len(px):
            ax.plot(px, py, drawstyle="steps-mid", color=cmap(i / max(1, len(layers) - 1)),
                    label=f"{layer.name} (zeros {zero:.0f} %)")
    _spectrum_axes(ax, "activation value (log scale; positive values)")
    ax.set_title(f"{caption}: spectrum of each layer (dark = first, light = last)")
    if layers:
        ax.legend(fontsize=6, ncols=2)
    _keep(drawn, fig, f"{stem}_spectra", f"{caption} — spectrum of each layer",
          f"Model {caption}")


def draw_weight_shift(drawn: Drawn, rows: Sequence) -> None:
    """Relative weight shift ‖W − W₀‖ / ‖W₀‖ per base layer, one panel per model."""
    by_model: dict[str, list] = {}
    for row in rows:
        by_model.setdefault(str(row.model), []).append(row)
    if not by_model:
        return
    widest = max(len(v) for v in by_model.values())
    fig = _figure(max(6.0, 0.45 * widest + 2), 2.3 * len(by_model) + 0.6)
    for i, (model, layer_rows) in enumerate(by_model.items()):
        ax = fig.add_subplot(len(by_model), 1, i + 1)
        values = _finite([w.relative_shift for w in layer_rows])
        colours = ["#dd8452" if w.trainable else "#8c8c8c" for w in layer_rows]
        ax.bar(np.arange(len(layer_rows)), np.nan_to_num(values), color=colours)
        ax.set_xticks(np.arange(len(layer_rows)), [w.layer for w in layer_rows], rotation=45,
                      ha="right", fontsize=7)
        ax.set_ylabel("‖W − W₀‖ / ‖W₀‖")
        ax.set_title(f"model {model} (orange: trained, grey: frozen)", fontsize=9, loc="left")
    references = {str(w.reference) for w in rows}
    against = (f"model {references.pop()}" if len(references) == 1 and "" not in references
               else "the pretrained base")
    fig.suptitle(f"Weight shift from {against}, per layer")
    _keep(drawn, fig, "weight_shift", f"Weight shift per layer, against {against}",
          "Weight shift")


def _montage_rows(result: CaptureResult, predicted) -> list[tuple[int, object, list]]:
    """Per layer with top images (not the output): (layer index, layer, [(unit, its top
    images)] of its strongest units), as the montages show them."""
    from tlexplorer.topimages import top_inputs

    montages = []
    for index, layer in enumerate(result.layers):
        if layer.name not in result.topk or layer.is_output:
            continue
        order = np.argsort(-np.nan_to_num(layer.unit_max, nan=-np.inf), kind="stable")
        rows = []
        for unit in order:
            tops = top_inputs(result, layer.name, int(unit), predicted) or []
            if tops:
                rows.append((int(unit), tops[:MONTAGE_IMAGES]))
            if len(rows) == MONTAGE_UNITS:
                break
        if rows:
            montages.append((index, layer, rows))
    return montages


def montage_images(result: CaptureResult) -> list[int]:
    """The test indices every top-image montage of ``result`` shows."""
    from tlexplorer.topimages import predictions

    return sorted({t.index for _, _, rows in _montage_rows(result, predictions(result))
                   for _, tops in rows for t in tops})


def draw_top_images(drawn: Drawn, result: CaptureResult, stem: str, read: ImageReader) -> None:
    """Per layer: the strongest units' top test images, one row per unit."""
    from tlexplorer.topimages import class_name, predictions

    caption = model_caption(result)
    for index, layer, rows in _montage_rows(result, predictions(result)):
        wanted = sorted({t.index for _, tops in rows for t in tops})
        pixels = dict(zip(wanted, read(wanted), strict=True))
        sheet, cell, size = _contact_sheet([[pixels[t.index] for t in tops] for _, tops in rows])
        # about one figure pixel per image pixel (64 px demo images: 0.9 in cells at 100 dpi)
        inch = min(1.6, max(0.9, cell / 80))
        width, height = inch * MONTAGE_IMAGES + 1.1, inch * len(rows) + 0.7
        fig = _figure(width, height, layout=None)  # one image: no layout to compute
        fig.subplots_adjust(left=1.0 / width, right=0.99, bottom=0.01, top=1 - 0.55 / height)
        ax = fig.add_subplot()
        ax.imshow(sheet, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([(r + 0.5) * cell for r in range(len(rows))],
                      [f"unit {unit}\nfired on {int(layer.unit_fire_count[unit])}"
                       for unit, _ in rows], fontsize=7)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for r, (_, tops) in enumerate(rows):
            for c, t in enumerate(tops):
                ax.text((c + 0.5) * cell, r * cell + size + 1,
                        f"{t.activation:.3g} · {class_name(result.class_names, t.label)}",
                        ha="center", va="top", fontsize=6)
        fig.suptitle(f"{caption} · {layer.name}\nthe top test images of its strongest units "
                     "(under each: activation · true class)", fontsize=8)
        _keep(drawn, fig, f"{stem}_top_{index:02d}-{slug(layer.name)}",
              f"{caption} — top images, {layer.name}", f"Top images, model {caption}")


def _contact_sheet(rows: list[list[np.ndarray]]) -> tuple[np.ndarray, int, int]:
    """The images of each row side by side on white, in cells of one size (with room under
    each image for its caption); returns the sheet, the cell's side and the images' side."""
    size = max(max(img.shape[0], img.shape[1]) for row in rows for img in row)
    caption = max(10, size // 5)
    cell = size + caption
    sheet = np.full((len(rows) * cell, MONTAGE_IMAGES * cell, 3), 255, dtype=np.uint8)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            img = np.asarray(img, dtype=np.uint8)
            h, w = img.shape[:2]
            sheet[r * cell:r * cell + h, c * cell:c * cell + w] = img[..., :3]
    return sheet, cell, size


def draw_all(results: Sequence[CaptureResult], tau: float, weight_shift=None,
             read_images: ImageReader | None = None, images_note: str = "",
             progress: Callable[[str], None] | None = None, processes: int = 1) -> Drawn:
    """Every figure of the report, in memory (nothing is written here); ``processes`` > 1
    draws the top-image montages in a worker process too (see :data:`MONTAGE_PROCESSES`)."""
    import matplotlib

    matplotlib.use("Agg", force=False)  # no display: harmless where a GUI backend was chosen
    # Names come from data (file stems, class folders, layers): "$" must stay a dollar sign,
    # not start mathtext (an unbalanced one would stop the report).
    with matplotlib.rc_context({"text.parse_math": False}):
        return _draw_all(results, tau, weight_shift, read_images, images_note, progress,
                         processes)


def _draw_all(results, tau, weight_shift, read_images, images_note, progress,
              processes: int) -> Drawn:
    drawn = Drawn()
    say = progress or (lambda _text: None)
    stems = model_stems(results)
    # The worker (if any) starts on its montages first, while this process draws the charts.
    montages = None if read_images is None else _Montages(results, stems, read_images,
                                                          processes)
    try:
        say("drawing figures 5–7")
        draw_nnu_per_model(drawn, results, tau)
        draw_spectra(drawn, results)
        draw_max_activation(drawn, results)
        for r, stem in zip(results, stems, strict=True):
            say(f"drawing model {model_caption(r)}")
            draw_model_panels(drawn, r, stem, tau)
        if weight_shift:
            draw_weight_shift(drawn, weight_shift)
        if montages is None:
            drawn.notes.append(images_note or "no top-image montages: the test images are not "
                               "available")
        else:
            say("drawing the top-image montages")
            for part in montages.finish():
                drawn.merge(part)
    finally:
        if montages is not None:
            montages.close()
    return drawn


MONTAGE_PROCESSES = 2
"""Processes the CLI and the app draw the montages with (this one included): they were most
of the report's time (the demo's 52 montages about 18 of 24 s on 2 cores), and matplotlib draws
on one core. The default of :func:`draw_all` is 1: a worker is spawned, and spawning re-imports
the main module, which a caller's script without a ``__main__`` guard would run again."""


def _pixels_reader(pixels: dict[int, np.ndarray]) -> ImageReader:
    return lambda indices: np.stack([pixels[i] for i in indices])


def _montages_of(jobs: list[tuple[CaptureResult, str]], pixels: dict[int, np.ndarray]
                 ) -> list[Drawn]:
    """The montages of each ``(result, stem)``, one :class:`Drawn` per model (also run in a
    worker process: same settings as :func:`draw_all`, so the same bytes)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    parts = []
    with matplotlib.rc_context({"text.parse_math": False}):
        for result, stem in jobs:
            part = Drawn()
            draw_top_images(part, result, stem, _pixels_reader(pixels))
            parts.append(part)
    return parts


def _montage_count(result: CaptureResult) -> int:
    return sum(1 for layer in result.layers if layer.name in result.topk and not layer.is_output)


CHARTS_PER_MODEL = 4
"""This process's charts, in montages' time (the demo: ~5 s of charts, ~0.25 s a montage)."""


def _worker_share(counts: list[int]) -> set[int]:
    """The models whose montages the worker draws: the largest first, each to the side with
    less to do, this side starting with the charts."""
    mine, theirs_load, order = CHARTS_PER_MODEL * len(counts), 0, []
    for i in sorted(range(len(counts)), key=lambda i: (-counts[i], i)):
        if theirs_load < mine:
            order.append(i)
            theirs_load += counts[i]
        else:
            mine += counts[i]
    return set(order[:len(counts) - 1])  # at least one model's montages stay here


class _Montages:
    """Every model's montages, in model order. With ``processes`` > 1 and several models, a
    worker (spawned: safe beside TensorFlow's or the app's threads) starts at once on half of
    them; :meth:`finish` draws the others here. The images are read once, here: the reader
    may not cross to another process. A worker that cannot start or fails: all drawn here."""

    def __init__(self, results: Sequence[CaptureResult], stems: list[str], read: ImageReader,
                 processes: int) -> None:
        import os

        shown = [montage_images(r) for r in results]
        wanted = sorted({i for images in shown for i in images})  # read once, here
        self.pixels = dict(zip(wanted, read(wanted), strict=True)) if wanted else {}
        self.jobs = list(zip(results, stems, strict=True))
        self.theirs: set[int] = set()
        self.pool = self.future = None
        if processes < 2 or len(self.jobs) < 2 or (os.cpu_count() or 1) < 2:
            return
        theirs = _worker_share([_montage_count(r) for r in results])
        if not theirs:
            return
        their_jobs = [self.jobs[i] for i in sorted(theirs)]
        their_pixels = {i: self.pixels[i] for j in theirs for i in shown[j]}
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            self.future = self.pool.submit(_montages_of, their_jobs, their_pixels)
            self.theirs = theirs
        except Exception:  # noqa: BLE001 - no worker here (a sandbox): all drawn here
            self.close()

    def finish(self) -> list[Drawn]:
        mine = iter(_montages_of([j for i, j in enumerate(self.jobs) if i not in self.theirs],
                                 self.pixels))
        if self.future is None:
            return list(mine)
        try:
            other = iter(self.future.result())
        except Exception:  # noqa: BLE001 - the worker failed: draw its share here
            other = iter(_montages_of([self.jobs[i] for i in sorted(self.theirs)],
                                      self.pixels))
        return [next(other) if i in self.theirs else next(mine) for i in range(len(self.jobs))]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


# -- index.html ----------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.wide { overflow-x: auto; } .note { color: #8a5a00; } .small { font-size: 0.85em; color: #555; }
"""


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return (f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            "</table></div>")


def _csv_table(text: str, limit: int | None = None) -> str:
    import csv

    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return "<p class='small'>(empty)</p>"
    body = rows[1:] if limit is None else rows[1:limit + 1]
    extra = "" if limit is None or len(rows) - 1 <= limit else (
        f"<p class='small'>first {limit} of {len(rows) - 1} rows</p>")
    return _table(rows[0], body) + extra


def _embedded(drawn: Drawn, stem: str) -> tuple[str, str]:
    """(MIME type, base64) of a figure for the page: charts as their PNG; photo montages as
    JPEG (quality 85), which keeps a page of the demo's 50 montages a few MB, not 30."""
    png = drawn.files[f"{stem}.png"]
    if "_top_" not in stem:
        return "image/png", base64.b64encode(png).decode("ascii")
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, format="JPEG", quality=85)
    return "image/jpeg", base64.b64encode(buffer.getvalue()).decode("ascii")


def index_html(title: str, csv_texts: dict[str, str], drawn: Drawn, files: Sequence[str]) -> str:
    """One self-contained page: the CSV tables, every figure (PNG embedded as data: URIs) and
    the claims check; links only to the CSV files beside it."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             "<p class='small'>Written by tlexplorer. Figures are embedded; the CSV files "
             "beside this page hold every number: "
             + ", ".join(f"<a href='{html.escape(name)}'>{html.escape(name)}</a>"
                         for name in files) + ".</p>"]
    for note in drawn.notes:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    parts.append("<h2>Summary</h2>" + _csv_table(csv_texts.get("summary.csv", "")))
    parts.append("<h2>The poster's claims on these models</h2>"
                 "<p class='small'>Spearman ρ between test accuracy and each metric across the "
                 "models; with this few models no correlation is significant, so the verdict "
                 "is plain: yes / no when |ρ| ≥ 0.5, else unclear.</p>"
                 + _csv_table(csv_texts.get("claims.csv", "")))
    if csv_texts.get("confusion.csv"):
        parts.append("<h2>Confusion</h2>" + _csv_table(csv_texts["confusion.csv"]))
    for section, stems in drawn.sections.items():
        parts.append(f"<h2>{html.escape(section)}</h2>")
        for stem in stems:
            mime, data = _embedded(drawn, stem)
            parts.append(f"<figure><img alt='{html.escape(drawn.titles[stem], quote=True)}' "
                         f"src='data:{mime};base64,{data}'><figcaption>"
                         f"{html.escape(drawn.titles[stem])} (figures/{html.escape(stem)}.png, "
                         f".svg)</figcaption></figure>")
    parts.append("<h2>Layers</h2>" + _csv_table(csv_texts.get("layers.csv", ""), limit=400))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def figure_files(out_dir: Path, drawn: Drawn) -> dict[Path, bytes]:
    """Where each drawn file goes under ``out_dir``."""
    return {Path(out_dir) / FIGURES_DIR / name: data for name, data in drawn.files.items()}


def stale_figures(out_dir: Path, drawn: Drawn) -> list[Path]:
    """PNG/SVG files under ``figures/`` that this report did not draw (an older run's)."""
    folder = Path(out_dir) / FIGURES_DIR
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir()
            if p.suffix in (".png", ".svg") and p.name not in drawn.files and p.is_file()]
