"""Rich progress displays for the headless commands (train, report, data fetch)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

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


console = SafeConsole(stderr=False, highlight=False, markup=False)
err_console = SafeConsole(stderr=True, highlight=False, markup=False)


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


class TrainDisplay:
    """Turns :class:`TrainEvent` objects into one progress bar per model and phase."""

    def __init__(self) -> None:
        self.progress = _progress()
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._last = 0.0

    def __enter__(self) -> TrainDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def _label(self, event: TrainEvent) -> str:
        who = "base" if event.model == "base" else f"model {event.model}"
        phase = {"base pretraining": "pretrain"}.get(event.phase, event.phase)
        return f"{who} {phase}"

    def __call__(self, event: TrainEvent) -> None:
        key = (event.model, event.phase)
        if event.kind == "phase" and event.phase != "evaluating":
            total = max(event.epochs * event.steps, 1)
            self._tasks[key] = self.progress.add_task(_plain(self._label(event)), total=total,
                                                      stats="")
        elif event.kind in ("batch", "epoch") and key in self._tasks:
            now = time.monotonic()
            if event.kind == "batch" and now - self._last < 0.1:
                return
            self._last = now
            done = (event.epoch - 1) * event.steps + event.batch
            logs = event.logs
            stats = f"ep {event.epoch}/{event.epochs}"
            if "loss" in logs:
                stats += f" loss {logs['loss']:.3f}"
            if "accuracy" in logs:
                stats += f" acc {logs['accuracy']:.2f}"
            if "val_accuracy" in logs:
                stats += f" val {logs['val_accuracy']:.2f}"
            self.progress.update(self._tasks[key], completed=done, stats=stats)
        elif event.kind == "saved":
            acc = event.logs.get("test_accuracy", event.logs.get("val_accuracy"))
            what = "test" if "test_accuracy" in event.logs else "val"
            self.progress.console.print(
                f"saved {event.message}"
                + (f"  ({what} accuracy {acc:.3f})" if acc is not None else "")
            )
        elif event.kind == "skipped":
            who = "base" if event.model == "base" else f"model {event.model}"
            self.progress.console.print(f"{who}: {event.message}, skipped")
        elif event.kind == "info":
            self.progress.console.print(event.message)


@contextlib.contextmanager
def capture_progress(description: str) -> Iterator[Callable[[CaptureProgress], None]]:
    """A progress bar for one capture pass; yields the callback the engine reports to."""
    progress = _progress()
    task = progress.add_task(_plain(description), total=None, stats="")
    last = [0.0]

    def on_progress(event: CaptureProgress) -> None:
        now = time.monotonic()
        if event.total and event.images < event.total and now - last[0] < 0.1:
            return
        last[0] = now
        rate = event.images / event.elapsed_s if event.elapsed_s > 0 else 0.0
        progress.update(task, completed=event.images, total=event.total,
                        stats=f"batch {event.batch}/{event.batches or '?'}  {rate:.1f} img/s")

    with progress:
        yield on_progress
