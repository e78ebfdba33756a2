"""The CSV contract: summary, layers, spectrum, confusion, claims, top images and the rest.

The column names and meanings are a contract: ``model`` is the suite id (1–5) or the model file's
name; accuracy, precision, recall, f1 and roc_auc are fractions in [0, 1]; ``*_pct`` are percent;
a model's ``units``/``dead_units`` are the sums over its rows in ``layers.csv``. The same writer
serves the CLI and the explorer's export key.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from tlexplorer import metrics
from tlexplorer.capture.result import CaptureResult

SUMMARY_COLUMNS = ["model", "name", "accuracy", "loss", "precision", "recall", "f1", "roc_auc",
                   "n_images", "units", "dead_units", "nnu_pct", "dormant_pct",
                   "spectrum_skewness", "zero_fraction", "range_max", "range_cv",
                   "tau", "epsilon", "positive_class", "averaging", "outputs", "preprocess",
                   "nnu_units"]
LAYER_COLUMNS = ["model", "layer_index", "layer", "kind", "units", "dead_units", "nnu_pct",
                 "dormant_pct", "max_activation", "mean_activation", "zero_fraction", "skewness",
                 "activation", "layer_class", "fired_units"]
SPECTRUM_COLUMNS = ["model", "layer", "bin_low", "bin_high", "count"]
SKIPPED_COLUMNS = ["model", "layer", "layer_class", "reason"]
CONFUSION_COLUMNS = ["model", "true", "predicted", "count"]
SKIPPED_IMAGES_COLUMNS = ["image", "reason"]
CLAIMS_COLUMNS = ["claim", "metric", "spearman_rho", "n", "holds"]
WEIGHT_SHIFT_COLUMNS = ["model", "layer", "relative_shift", "cosine", "trainable", "reference"]
TOP_IMAGES_COLUMNS = ["model", "layer", "unit", "rank", "test_index", "image", "activation",
                      "label", "predicted", "confidence"]
ALL_LAYERS = "__all__"
EXIT_PARTIAL = 3
"""``report`` wrote the reports, but left out a model it could not load or capture."""


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    """A text cell that is safe to open in a spreadsheet: control characters and undecodable
    file-name bytes made visible, and a leading ``= + - @`` (a formula to Excel or LibreOffice)
    neutralised with a quote. Numbers never come here, so they stay numbers."""
    from tlexplorer.textsafe import safe

    text = safe(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _fmt(value) -> str:
    if value is None:  # undefined (n/a)
        return ""
    if isinstance(value, str):
        return _text_cell(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return format(value, ".8g")
    return str(value)


def _csv(columns: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_fmt(v) for v in row])
    return buffer.getvalue()


def summary_rows(results: Sequence[CaptureResult], tau: float) -> list[list]:
    rows = []
    for r in results:
        s = metrics.summarize(r, tau)
        nnu_defined = s.nnu_units > 0
        rows.append([r.model_label, r.model_name, s.accuracy, s.loss, s.precision, s.recall,
                     s.f1, s.roc_auc, s.n_images, s.units,
                     s.dead_units if nnu_defined else None, s.nnu_pct,
                     s.dormant_pct, s.spectrum_skewness, s.zero_fraction, s.range_max,
                     s.range_cv, float(tau), float(r.epsilon), s.positive_class, s.averaging,
                     s.outputs, r.preprocess, s.nnu_units])
    return rows


def layer_rows(results: Sequence[CaptureResult], tau: float) -> list[list]:
    """Per hidden layer; ``dead_units``, ``nnu_pct`` and ``fired_units`` are empty (n/a) for
    layers without a true zero floor (:func:`tlexplorer.metrics.nnu_defined`)."""
    rows = []
    for r in results:
        for i, layer in enumerate(r.hidden_layers):
            dead = metrics.layer_dead_count(layer, r.epsilon)
            rows.append([r.model_label, i, layer.name, layer.kind, layer.units, dead,
                         metrics.layer_nnu_pct(layer, r.epsilon),
                         metrics.layer_dormant_pct(layer, tau), metrics.layer_max(layer),
                         metrics.layer_mean_activation(layer),
                         metrics.layer_zero_fraction(layer), metrics.layer_skewness(layer),
                         layer.activation, layer.layer_class,
                         None if dead is None else layer.units - dead])
    return rows


def confusion_rows(results: Sequence[CaptureResult]) -> list[list]:
    """Every cell of each model's confusion matrix: true class, predicted class, count."""
    from tlexplorer.topimages import class_name

    rows = []
    for r in results:
        mode, _ = metrics.resolve_outputs(r.head_activation, r.outputs)
        confusion = metrics.classification_metrics(r.labels, r.scores, mode)["confusion"]
        for t in range(confusion.shape[0]):
            for q in range(confusion.shape[1]):
                rows.append([r.model_label, class_name(r.class_names, t),
                             class_name(r.class_names, q), int(confusion[t, q])])
    return rows


def spectrum_table(results: Sequence[CaptureResult]) -> list[list]:
    rows = []
    for r in results:
        hidden = r.hidden_layers
        for low, high, count in metrics.spectrum_rows(metrics.merged_histogram(hidden)):
            rows.append([r.model_label, ALL_LAYERS, low, high, count])
        for layer in hidden:
            for low, high, count in metrics.spectrum_rows(layer.hist):
                rows.append([r.model_label, layer.name, low, high, count])
    return rows


def top_image_rows(results: Sequence[CaptureResult],
                   image_names: Sequence[str] | None = None) -> list[list]:
    """Per model, layer and unit, the captured top-k test images, strongest first.

    ``image_names`` (test index → file) fills the ``image`` column for real data; the synthetic
    demo has no files and leaves it empty.
    """
    from tlexplorer.topimages import class_name, predictions, top_inputs

    rows = []
    for r in results:
        names, predicted = r.class_names, predictions(r)  # once per model, not per unit
        for layer in r.layers:
            if layer.name not in r.topk:
                continue
            for unit in range(layer.units):
                for t in top_inputs(r, layer.name, unit, predicted) or []:
                    image = image_names[t.index] if image_names is not None else ""
                    rows.append([r.model_label, layer.name, unit, t.rank, t.index, image,
                                 t.activation, class_name(names, t.label),
                                 class_name(names, t.predicted), t.confidence])
    return rows


def write_reports(results: Sequence[CaptureResult], out_dir: Path,
                  tau: float = metrics.DEFAULT_TAU, weight_shift=None,
                  image_names: Sequence[str] | None = None,
                  skipped_images: Sequence[tuple[str, str]] = (), *,
                  figures: bool = True, read_images=None, images_note: str = "",
                  title: str = "tlexplorer report",
                  progress: Callable[[str], None] | None = None,
                  processes: int = 1) -> list[Path]:
    """Write the CSV reports, and (``figures``) ``figures/*.png|svg`` and ``index.html``,
    atomically into ``out_dir``; returns the paths written.

    ``claims.csv`` checks the poster's claims across ``results``; ``weight_shift.csv`` is
    written when ``weight_shift`` rows (:class:`tlexplorer.weightshift.LayerShift`) are given;
    ``top_images.csv`` lists each unit's top-activating test images (``image_names``: their
    files, for real data); ``skipped_images.csv`` the data files left out, with the reason.
    ``read_images`` (test indices → uint8 images) draws the top-image montages; without it
    ``images_note`` says why there are none (:mod:`tlexplorer.figures`); ``processes`` > 1
    draws them in a worker process too (:data:`tlexplorer.figures.MONTAGE_PROCESSES`).
    """
    from tlexplorer.claims import check_claims

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "summary.csv": _csv(SUMMARY_COLUMNS, summary_rows(results, tau)),
        "layers.csv": _csv(LAYER_COLUMNS, layer_rows(results, tau)),
        "spectrum.csv": _csv(SPECTRUM_COLUMNS, spectrum_table(results)),
        "skipped_layers.csv": _csv(SKIPPED_COLUMNS, [[r.model_label, s.name, s.layer_class,
                                                       s.reason] for r in results
                                                      for s in r.skipped]),
        "claims.csv": _csv(CLAIMS_COLUMNS, [[c.claim, c.metric, c.spearman_rho, c.n, c.holds]
                                            for c in check_claims(results, tau)]),
        "top_images.csv": _csv(TOP_IMAGES_COLUMNS, top_image_rows(results, image_names)),
        "confusion.csv": _csv(CONFUSION_COLUMNS, confusion_rows(results)),
        "skipped_images.csv": _csv(SKIPPED_IMAGES_COLUMNS, [list(row) for row in skipped_images]),
    }
    if weight_shift is not None:
        files["weight_shift.csv"] = _csv(
            WEIGHT_SHIFT_COLUMNS,
            [[w.model, w.layer, w.relative_shift, w.cosine, w.trainable,
              w.reference or "pretrained base"] for w in weight_shift])
    if weight_shift is None:  # an older run's file would pass for this run's
        (out_dir / "weight_shift.csv").unlink(missing_ok=True)
    # The set is replaced as a whole: every file is written to a temp file first, and only
    # when all are on disk are they renamed into place, so a failure (a full disk) leaves the
    # old set whole instead of old and new files mixed.
    from tlexplorer.fsio import atomic_write_many

    contents = {out_dir / name: text.encode("utf-8") for name, text in files.items()}
    stale: list[Path] = []
    if figures:
        from tlexplorer import figures as figs

        drawn = figs.draw_all(results, tau, weight_shift, read_images, images_note, progress,
                              processes)
        contents.update(figs.figure_files(out_dir, drawn))
        contents[out_dir / figs.INDEX_HTML] = figs.index_html(
            title, files, drawn, list(files)).encode("utf-8")
        stale = figs.stale_figures(out_dir, drawn)
    else:  # an older run's page and figures would pass for this run's
        from tlexplorer import figures as figs

        stale = [*figs.stale_figures(out_dir, figs.Drawn()), out_dir / figs.INDEX_HTML]
    atomic_write_many(contents)
    for path in stale:  # an older run's figures would pass for this run's
        path.unlink(missing_ok=True)
    return list(contents)


def describe_written(paths: Sequence[Path]) -> str:
    """``summary.csv, …, index.html and 42 figures (figures/)`` for one line of output."""
    from tlexplorer.figures import FIGURES_DIR

    top = [p.name for p in paths if p.parent.name != FIGURES_DIR]
    figures = sum(1 for p in paths if p.parent.name == FIGURES_DIR and p.suffix == ".png")
    text = ", ".join(top)
    return text + (f" and {figures} figures as PNG and SVG ({FIGURES_DIR}/)" if figures else "")
