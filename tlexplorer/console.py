"""Rich progress displays for the headless commands (train, report, data fetch)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from tlexplorer.capture.engine import CaptureProgress
from tlexplorer.training import TrainEvent


class SafeConsole(Console):
    """A rich console for text that holds names from data: control characters in plain strings
    are made visible (rich would pass ESC through to the terminal), and markup is off, so a
    folder called ``[red]`` is printed as it is rather than eaten as a style tag."""

    def print(self, *objects, **kwargs) -> None:  # type: ignore[override]
        from tlexplorer.textsafe import safe

        super().print(*(safe(o) if isinstance(o, str) else o for o in objects), **kwargs)

    def log(self, *objects, **kwargs) -> None:  # type: ignore[override]
        from tlexplorer.textsafe import safe

        super().log(*(safe(o) if isinstance(o, str) else o for o in objects), **kwargs)

    def status(self, status, **kwargs):  # type: ignore[override]
        from tlexplorer.textsafe import safe

        return super().status(safe(status) if isinstance(status, str) else status, **kwargs)


def _make_console(stderr: bool) -> SafeConsole:
    """A console that wraps nothing when its stream is not a terminal (a log file, a pipe,
    ``nohup``): rich would otherwise wrap at 80 columns and cut progress bars."""
    import os
    import sys

    stream = sys.stderr if stderr else sys.stdout
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    if is_tty or os.environ.get("COLUMNS"):
        return SafeConsole(stderr=stderr, highlight=False, markup=False)
    return SafeConsole(stderr=stderr, highlight=False, markup=False, soft_wrap=True, width=200)


console = _make_console(stderr=False)
err_console = _make_console(stderr=True)


def _plain(text: str) -> str:
    """Text for the progress bar's markup template: control characters visible, tags escaped."""
    from rich.markup import escape

    from tlexplorer.textsafe import safe

    return escape(safe(text))


def _progress(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[stats]}"),
        console=console,
        transient=transient,
    )


def _who(model: str) -> str:
    """How a line names its model: "model 3" for a suite id, "base", or a model file's name
    (``analyze``) as it is."""
    return f"model {model}" if model.isdigit() else model


def _train_stats(event: TrainEvent) -> str:
    logs = event.logs
    stats = f"ep {event.epoch}/{event.epochs}"
    for key, short, spec in (("loss", "loss", ".3f"), ("accuracy", "acc", ".2f"),
                             ("val_accuracy", "val", ".2f")):
        if key in logs:
            stats += f" {short} {logs[key]:{spec}}"
    return stats


class EventDisplay:
    """Renders :mod:`tlexplorer.workbench` events: one progress bar per training phase and per
    capture in a terminal; plain lines (epoch ends, capture quarters) when output is a file or
    a pipe, so a log holds whole lines and no control codes."""

    def __init__(self, out: Console | None = None) -> None:
        self.console = out or console
        self.live = self.console.is_terminal
        self.progress = _progress() if self.live else None
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._last = 0.0
        self._quarter: dict[str, int] = {}

    def __enter__(self) -> EventDisplay:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def print(self, text: str) -> None:
        (self.progress.console if self.progress is not None else self.console).print(text)

    def __call__(self, event) -> None:
        from tlexplorer import workbench as wb

        if isinstance(event, TrainEvent):
            self._train(event)
        elif isinstance(event, wb.CaptureStep):
            self._capture(event.model, event.progress)
        elif isinstance(event, wb.Info):
            self.print(event.text)
        elif isinstance(event, wb.Warn):
            self.print(f"warning: {event.text}")
        elif isinstance(event, wb.Phase):
            if not event.text.startswith("capture:"):  # a capture's bar follows at once
                who = _who(event.model)
                self.print(f"{who}: {event.text}…" if who else f"{event.text}…")
        elif isinstance(event, wb.ModelDone):
            if event.cached:
                self.print(f"{_who(event.label)}: cached result")
        elif isinstance(event, wb.ModelFailed):
            self.print(f"{_who(event.label)}: left out: {event.error}")
        elif isinstance(event, wb.WeightShiftDone) and event.error:
            self.print(f"weight shift left out: {event.error}")

    def _train(self, event: TrainEvent) -> None:
        key = (event.model, event.phase)
        phase = {"base pretraining": "pretrain"}.get(event.phase, event.phase)
        label = f"{_who(event.model)} {phase}"
        if event.kind == "phase" and event.phase != "evaluating":
            if self.progress is not None:
                total = max(event.epochs * event.steps, 1)
                self._tasks[key] = self.progress.add_task(_plain(label), total=total, stats="")
            else:
                self.print(f"{label}: {event.epochs} epochs of {event.steps} batches")
        elif event.kind == "batch" and self.progress is not None and key in self._tasks:
            now = time.monotonic()
            if now - self._last < 0.1:
                return
            self._last = now
            self.progress.update(self._tasks[key],
                                 completed=(event.epoch - 1) * event.steps + event.batch,
                                 stats=_train_stats(event))
        elif event.kind == "epoch":
            if self.progress is not None and key in self._tasks:
                self.progress.update(self._tasks[key], completed=event.epoch * event.steps,
                                     stats=_train_stats(event))
            elif self.progress is None:
                self.print(f"{label}: {_train_stats(event)}")
        elif event.kind == "saved":
            acc = event.logs.get("test_accuracy", event.logs.get("val_accuracy"))
            what = "test" if "test_accuracy" in event.logs else "val"
            self.print(f"saved {event.message}"
                       + (f"  ({what} accuracy {acc:.3f})" if acc is not None else ""))
        elif event.kind == "skipped":
            self.print(f"{_who(event.model)}: {event.message}, skipped")
        elif event.kind == "info":
            self.print(event.message)

    def _capture(self, label: str, event: CaptureProgress) -> None:
        rate = event.images / event.elapsed_s if event.elapsed_s > 0 else 0.0
        stats = f"batch {event.batch}/{event.batches or '?'}  {rate:.1f} img/s"
        key = (label, "capture")
        if self.progress is not None:
            if key not in self._tasks:
                self._tasks[key] = self.progress.add_task(_plain(f"{_who(label)} capture"),
                                                          total=event.total, stats="")
            now = time.monotonic()
            if event.total and event.images < event.total and now - self._last < 0.1:
                return
            self._last = now
            self.progress.update(self._tasks[key], completed=event.images, total=event.total,
                                 stats=stats)
            return
        quarter = 4 * event.images // event.total if event.total else 0
        if quarter > self._quarter.get(label, 0) or event.batch == 1:
            self._quarter[label] = quarter
            of = f"/{event.total}" if event.total else ""
            self.print(f"{_who(label)} capture: {event.images}{of} images, {stats}")


def print_summary(console: Console, results, tau: float, suite=None) -> None:
    """The results as one rich table (and the layers that were not probed)."""
    import math

    from rich.table import Table

    from tlexplorer import metrics

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
