"""CSV reports (summary, layers, spectrum, skipped layers) and the ``report``/``analyze`` commands.

The column names and meanings are a contract: ``model`` is the suite id (1–5) or the model file's
name; accuracy, precision, recall, f1 and roc_auc are fractions in [0, 1]; ``*_pct`` are percent;
a model's ``units``/``dead_units`` are the sums over its rows in ``layers.csv``. The same writer
serves the CLI and the explorer's export key.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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
WEIGHT_SHIFT_COLUMNS = ["model", "layer", "relative_shift", "cosine", "trainable"]
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
                  skipped_images: Sequence[tuple[str, str]] = ()) -> list[Path]:
    """Write the CSV reports atomically into ``out_dir``; returns the paths written.

    ``claims.csv`` checks the poster's claims across ``results``; ``weight_shift.csv`` is
    written when ``weight_shift`` rows (:class:`tlexplorer.weightshift.LayerShift`) are given;
    ``top_images.csv`` lists each unit's top-activating test images (``image_names``: their
    files, for real data); ``skipped_images.csv`` the data files left out, with the reason.
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
            [[w.model, w.layer, w.relative_shift, w.cosine, w.trainable] for w in weight_shift])
    if weight_shift is None:  # an older run's file would pass for this run's
        (out_dir / "weight_shift.csv").unlink(missing_ok=True)
    # The set is replaced as a whole: every file is written to a temp file first, and only
    # when all are on disk are they renamed into place, so a failure (a full disk) leaves the
    # old set whole instead of old and new files mixed.
    from tlexplorer.fsio import atomic_write_many

    atomic_write_many({out_dir / name: text.encode("utf-8") for name, text in files.items()})
    return [out_dir / name for name in files]


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _tau(args) -> float:
    return metrics.DEFAULT_TAU if getattr(args, "tau", None) is None else float(args.tau)


def _capture_with_display(suite, slots, settings, source, console) -> None:
    """Fill ``slot.result`` for each slot: from the cache, or by capturing with a progress bar."""
    from tlexplorer.console import capture_progress
    from tlexplorer.errors import Cancelled, UserError
    from tlexplorer.session import capture_slot, load_cached
    from tlexplorer.textsafe import safe

    for slot in slots:
        slot.result = load_cached(suite, slot, settings, warn=console.print)
        if slot.result is not None:
            console.print(f"model {slot.label}: cached result")
            continue
        try:
            with capture_progress(f"model {slot.label}: capture") as on_progress:
                slot.result = capture_slot(suite, slot, settings, source=source,
                                           progress=on_progress)
        except Cancelled:
            raise
        except Exception as exc:  # broad on purpose: one bad model (any failure of loading,
            # tracing or running it) must not stop the report of the others
            reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            slot.error = " ".join(reason.split())[:400]
            console.print(f"model {slot.label}: left out: {safe(slot.error)}", markup=False)


def run_report(args) -> int:
    from tlexplorer.console import TrainDisplay, console
    from tlexplorer.session import capture_settings, open_suite

    source = None
    suite_name = None
    if args.demo or args.data:
        from tlexplorer.options import preset_from_args, resolve_source
        from tlexplorer.suite import suite_name as make_suite_name
        from tlexplorer.training import train_suite

        preset = preset_from_args(args)
        source = resolve_source(args, preset)
        suite_name = make_suite_name(bool(args.demo), preset.name)
        with TrainDisplay() as display:
            train_suite(args.workspace, source, preset, vgg_weights=args.vgg_weights,
                        progress=display)
    suite = open_suite(args.workspace, suite_name)
    trained = [s for s in suite.slots if s.trained]
    for slot in suite.slots:
        if not slot.trained:
            console.print(f"model {slot.label}: left out ({slot.status})")
    if not trained:
        from tlexplorer.errors import UserError

        raise UserError(f"no trained models in suite {suite.name}")
    settings = capture_settings()
    _capture_with_display(suite, trained, settings, source, console)
    out = args.out or (args.workspace / "reports")
    results = [s.result for s in trained if s.result is not None]
    failed = [s for s in trained if s.result is None]
    if not results:
        from tlexplorer.errors import UserError

        raise UserError(f"no model of suite {suite.name} could be captured "
                        f"(model {failed[0].label}: {failed[0].error})")
    shifts = _weight_shift(suite, args.vgg_weights, console)
    names, why = image_files_of(suite)
    if why:
        console.print(why)
    skipped = suite_skipped_images(suite)
    if skipped:
        console.print(f"{len(skipped)} data files were left out of the split (listed with the "
                      "reason in skipped_images.csv)")
    written = write_reports(results, out, _tau(args), weight_shift=shifts, image_names=names,
                            skipped_images=skipped)
    _print_summary(console, results, _tau(args), suite)
    console.print(f"wrote {', '.join(p.name for p in written)} to {out}")
    if failed:
        console.print(f"left out: model {', '.join(s.label for s in failed)} (see above); "
                      f"exit status {EXIT_PARTIAL}")
        return EXIT_PARTIAL
    return 0


def suite_skipped_images(suite) -> list[tuple[str, str]]:
    """The files the suite's split left out because the decoder could not read them."""
    try:
        raw = suite.info.get("data", {}).get("split", {}).get("skipped", [])
        return [(str(rel), str(reason)) for rel, reason in raw]
    except (AttributeError, TypeError, ValueError):  # hand-edited metadata: nothing to list
        return []


def image_files_of(suite) -> tuple[list[str] | None, str]:
    """The suite's test files in test-set order, or (None, why not).

    The synthetic demo has no files. For real data the names come from the recorded split; if
    the data folder is gone or changed, the reports are still written, without file names.
    """
    from tlexplorer.errors import UserError

    if suite.info.get("data", {}).get("kind") != "folder":
        return None, ""
    try:
        source = suite.source()
    except (UserError, ValueError, OSError, KeyError) as exc:
        return None, f"top_images.csv has no file names: {exc}"
    if source.fingerprint != suite.fingerprint:
        return None, "top_images.csv has no file names: the test set changed since the capture"
    return source.files("test")[0], ""


def _weight_shift(suite, vgg_weights, console):
    """Weight shift of the suite's transfer models (cached), or None with the reason printed."""
    from tlexplorer.errors import UserError
    from tlexplorer.weightshift import cached_weight_shift

    try:
        with console.status("weight shift: comparing base layers with the pretrained base…"):
            return cached_weight_shift(suite, vgg_weights)
    except UserError as exc:
        console.print(f"weight shift left out: {exc}")
        return None


def _print_summary(console, results, tau, suite=None) -> None:
    from rich.table import Table

    title = "summary" + (f" — {suite.name}" if suite else "")
    if suite is not None and suite.is_demo:
        title += " (synthetic demo)"
    wide = console.width >= 110  # the model names only where they fit
    table = Table(title=title + (f"  (τ = {tau:g})" if tau is not None else ""))
    table.add_column("model", no_wrap=True)
    if wide:
        table.add_column("name", max_width=34, no_wrap=True, overflow="ellipsis")
    for col in ("acc %", "F1", "AUC", "NNU %", "dorm %", "skew", "rangeCV"):
        table.add_column(col, justify="right", no_wrap=True)
    def cell(value: float, spec: str, missing: str = "–") -> str:
        return missing if math.isnan(value) else format(value, spec)

    from rich.text import Text

    from tlexplorer.textsafe import safe

    for r in results:
        s = metrics.summarize(r, tau)
        name = [Text(safe(r.model_name))] if wide else []
        table.add_row(Text(safe(r.model_label)), *name, cell(s.accuracy * 100, ".1f"),
                      cell(s.f1, ".3f"), cell(s.roc_auc, ".3f"),
                      cell(s.nnu_pct, ".1f", "n/a" if s.nnu_units == 0 else "–"),
                      cell(s.dormant_pct, ".1f"), cell(s.spectrum_skewness, ".2f"),
                      cell(s.range_cv, ".2f"))
    console.print(table)
    for r in results:
        for skipped in r.skipped:
            console.print(f"model {safe(r.model_label)}: layer {safe(skipped.name)} not "
                          f"probed: {skipped.reason}", markup=False)


def reading_notes(result: CaptureResult) -> list[str]:
    """What the tool assumed to read a model, one line each, for the user to check.

    How outputs were read (probabilities or logits, and why), how pixels were fed, and a
    warning when a model without its own Rescaling/Normalization layer was fed 0..255, or gave
    NaN/inf outputs.
    """
    from tlexplorer.inputs import PREPROCESS_HELP
    from tlexplorer.textsafe import safe

    label = safe(result.model_label)
    summary = metrics.summarize(result)
    why = ("--outputs" if result.outputs != "auto"
           else f"{safe(result.head_activation)} output layer")
    lines = [f"{label}: outputs read as {summary.outputs} ({why}); pixels fed as "
             f"{PREPROCESS_HELP[result.preprocess]} (--preprocess {result.preprocess})"]
    if summary.outputs_note:
        lines.append(f"{label}: warning: {summary.outputs_note}")
    if result.preprocess == "none" and not result.input_scaling:
        lines.append(f"{label}: warning: the model has no Rescaling or Normalization layer "
                     "near its input and was fed pixels 0..255; if it expects another range, "
                     "say so with --preprocess unit, tf, caffe or torch")
    if summary.nonfinite_outputs:
        lines.append(f"{label}: warning: {summary.nonfinite_outputs} of "
                     f"{np.asarray(result.scores).size} outputs are "
                     "NaN or infinite: accuracy, loss, precision, recall, F1 and ROC AUC are "
                     "left empty")
    return lines


def _check_model_fits(model, class_names: list[str], label: str) -> int:
    """The model's square RGB input size; UserError when input or output do not fit the data."""
    from tlexplorer.errors import UserError

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UserError(f"{label}: not supported: a model with {len(model.inputs)} inputs and "
                        f"{len(model.outputs)} outputs (one image in, class scores out)")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or shape[1] is None or shape[1] != shape[2] or shape[3] != 3:
        raise UserError(f"{label}: expected a square RGB image input, got {shape}")
    out = tuple(model.outputs[0].shape)
    units = out[-1] if len(out) == 2 else None
    classes = len(class_names)
    if units is None or not (units == classes or (units == 1 and classes == 2)):
        raise UserError(f"{label}: the model's output {out} does not fit the data's {classes} "
                        "classes (one unit for two classes, or one unit per class)")
    return int(shape[1])


def run_analyze(args) -> int:
    """``tlexplorer analyze MODEL.keras --data DIR``: any model, any class-folder image set."""
    from tlexplorer.cache import CacheError, cache_key, cache_path, load_result, save_result
    from tlexplorer.capture.engine import Capturer
    from tlexplorer.console import capture_progress, console
    from tlexplorer.data.decode import decoded_batches
    from tlexplorer.data.layouts import scan_dataset
    from tlexplorer.data.split import compute_fingerprint
    from tlexplorer.errors import UserError
    from tlexplorer.session import capture_settings
    from tlexplorer.suite import file_sha256
    from tlexplorer.textsafe import safe

    model_path = Path(args.model)
    if not model_path.is_file():
        raise UserError(f"model file not found: {safe(model_path)}")
    preprocess = getattr(args, "preprocess", "none")
    outputs = getattr(args, "outputs", "auto")
    with console.status("reading the image folder…"):
        scan = scan_dataset(args.data)
        records = list(scan.records)
        fingerprint = compute_fingerprint(0, scan.class_names, [[], [], records])
    settings = {**capture_settings(), "batch": int(args.batch), "preprocess": preprocess}
    label = model_path.name
    key = cache_key(file_sha256(model_path), fingerprint, settings)
    path = cache_path(args.workspace, key)
    result = None
    decode_skipped: list[tuple[str, str]] = []
    if path.is_file():
        try:
            result, extra = load_result(path)
            decode_skipped = [(str(rel), str(why)) for rel, why in extra["skipped_images"]]
            console.print(f"{safe(label)}: cached result")
        except (CacheError, KeyError, TypeError, ValueError) as exc:
            console.print(f"{safe(label)}: cached result ignored and recomputed: {exc}")
            result = None
    if result is None:
        from tlexplorer.zoo import load_model

        with console.status(f"loading {safe(model_path)}…"):
            model = load_model(model_path)
        size = _check_model_fits(model, list(scan.class_names), safe(label))
        with console.status(f"building the probe of {safe(label)}…"):
            capturer = Capturer(model, epsilon=settings["epsilon"], topk=settings["topk"],
                                preprocess=preprocess)
        decode_skipped = []
        batches = decoded_batches([r.path for r in records], [r.label for r in records], size,
                                  args.batch,
                                  on_skip=lambda i, why: decode_skipped.append((records[i].rel,
                                                                                why)))
        with capture_progress(f"{safe(label)}: capture") as on_progress:
            result = capturer.run(batches, total_images=len(records), progress=on_progress,
                                  model_label=label, model_name=model.name,
                                  class_names=list(scan.class_names))
        if result.n_images == 0:
            raise UserError(f"none of the {len(records)} image files in {safe(scan.root)} "
                            "could be decoded")
        save_result(path, result, extra={"model_file": str(model_path),
                                         "skipped_images": [list(s) for s in decode_skipped]})
    result.model_label = label
    result.outputs = outputs
    out = args.out or Path("reports") / model_path.stem
    left_out = {rel for rel, _ in decode_skipped}
    used = [r for r in records if r.rel not in left_out]
    names = [str(r.path) for r in used] if len(used) == result.n_images else None
    skipped = sorted([*scan.skipped_files, *decode_skipped])
    console.print(f"{result.n_images} images analysed; {len(skipped)} files skipped"
                  + (" (listed with the reason in skipped_images.csv)" if skipped else ""))
    for line in reading_notes(result):
        console.print(line, markup=False)
    written = write_reports([result], out, _tau(args), image_names=names,
                            skipped_images=skipped)
    _print_summary(console, [result], _tau(args))
    console.print(f"wrote {', '.join(p.name for p in written)} to {safe(out)}", markup=False)
    return 0
