"""The selected model's test-set outcome and training: confusion matrix with per-class accuracy,
and the loss and accuracy curves of its training (train and validation, per epoch)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from tlexplorer import metrics
from tlexplorer.capture.result import CaptureResult
from tlexplorer.topimages import class_name
from tlexplorer.tui.figures import fmt
from tlexplorer.tui.widgets.spectrum import TitledPlot, ordered_xticks
from tlexplorer.tui.widgets.text import cell, ellipsize, literal

CLASS_WIDTH = 14  # class names are cut to this in the confusion table
ACCURACY_KEYS = ("accuracy", "acc", "binary_accuracy", "sparse_categorical_accuracy",
                 "categorical_accuracy")


def confusion_matrix(result: CaptureResult) -> np.ndarray:
    """True classes as rows, predicted as columns: as the report's confusion.csv reads it."""
    mode, _ = metrics.resolve_outputs(result.head_activation, result.outputs)
    return metrics.classification_metrics(result.labels, result.scores, mode)["confusion"]


def class_accuracy(confusion: np.ndarray) -> list[float]:
    """Per true class, the share of its images predicted right (nan for a class with none)."""
    totals = confusion.sum(axis=1)
    return [float(confusion[c, c]) / totals[c] if totals[c] else math.nan
            for c in range(confusion.shape[0])]


def training_curves(record: dict[str, Any] | None) -> dict[str, dict[str, list[float]]]:
    """{"loss"|"accuracy": {"train"|"validation": per-epoch values}} from a model's metadata;
    empty when it records no history (analysed files, older metadata)."""
    history = (record or {}).get("history")
    if not isinstance(history, dict):
        return {}

    def series(key: str) -> list[float] | None:
        values = history.get(key)
        if not isinstance(values, list) or not values:
            return None
        try:
            return [float(v) for v in values]
        except (TypeError, ValueError):
            return None

    curves: dict[str, dict[str, list[float]]] = {}
    acc_key = next((k for k in ACCURACY_KEYS if series(k) is not None), None)
    for name, key in (("loss", "loss"), ("accuracy", acc_key)):
        if key is None:
            continue
        pair = {"train": series(key), "validation": series(f"val_{key}")}
        kept = {k: v for k, v in pair.items() if v is not None}
        if kept:
            curves[name] = kept
    return curves


class ModelDetailsView(Horizontal):
    """Left: the confusion matrix (counts) and per-class accuracy; right: training curves."""

    def compose(self) -> ComposeResult:
        with Vertical(id="details-left"):
            yield Static("", id="confusion-info")
            yield DataTable(id="confusion", cursor_type="none", zebra_stripes=True)
        with Vertical(id="details-right"):
            yield Static("", id="curves-message")
            yield TitledPlot(id="curve-loss")
            yield TitledPlot(id="curve-accuracy")

    def show_confusion(self, result: CaptureResult | None, message: str = "") -> None:
        table = self.query_one("#confusion", DataTable)
        info = self.query_one("#confusion-info", Static)
        table.clear(columns=True)
        if result is None:
            info.update(literal(message))
            return
        confusion = confusion_matrix(result)
        names = [class_name(result.class_names, c) for c in range(confusion.shape[0])]
        n = int(confusion.sum())
        right = int(np.trace(confusion))
        accuracy = fmt(100 * right / n if n else math.nan, ".1f")
        info.update(Text(f"{n} test images · accuracy {accuracy} % ({right} right)\n"
                         "rows: true class · columns: predicted"))  # no text from data
        table.add_column(Text("true \\ pred"), key="true")
        for c, name in enumerate(names):
            table.add_column(cell(ellipsize(name, CLASS_WIDTH)), key=f"p{c}")
        table.add_column(Text("n"), key="n")
        table.add_column(Text("acc %"), key="acc")
        for c, (name, acc) in enumerate(zip(names, class_accuracy(confusion), strict=True)):
            table.add_row(cell(ellipsize(name, CLASS_WIDTH)),
                          *[Text(str(int(v)), justify="right", style="bold" if q == c else "")
                            for q, v in enumerate(confusion[c])],
                          Text(str(int(confusion[c].sum())), justify="right"),
                          Text(fmt(100 * acc, ".1f"), justify="right"), key=str(c))

    def show_curves(self, curves: dict[str, dict[str, list[float]]], why_none: str) -> None:
        message = self.query_one("#curves-message", Static)
        message.update(literal(why_none if not curves else ""))
        message.display = not curves
        for name, titles in (("loss", ("loss per epoch (train, validation)", "loss")),
                             ("accuracy", ("accuracy per epoch (train, validation)",
                                           "accuracy"))):
            plot = self.query_one(f"#curve-{name}", TitledPlot)
            plot.display = bool(curves)
            plt = plot.plt
            plt.clear_data()
            plot.set_titles(titles)
            longest = 0
            for label, values in curves.get(name, {}).items():
                epochs = [i + 1 for i, v in enumerate(values) if math.isfinite(v)]
                finite = [v for v in values if math.isfinite(v)]
                if finite:
                    plt.plot(epochs, finite, label=label, marker="braille")
                    longest = max(longest, len(values))
            if longest:  # whole epochs only, at most 6 of them
                step = -(-longest // 6)
                epochs = list(range(1, longest + 1, step))
                ordered_xticks(plt, epochs, [str(e) for e in epochs])
            plt.xlabel("epoch")
            plot.refresh()
