"""The work panel: which model, which phase, a progress bar with ETA, live loss and accuracy."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from tlexplorer.tui.messages import ProgressState


def describe(state: ProgressState) -> str:
    who = f"model {state.model}" if state.model not in ("", "base") else (
        "demo base" if state.model == "base" else "")
    logs = state.logs
    live = []
    if "loss" in logs:
        live.append(f"loss {logs['loss']:.3f}")
    for key in ("accuracy", "acc", "binary_accuracy"):
        if key in logs:
            live.append(f"acc {logs[key] * 100:.1f}%")
            break
    return " · ".join(p for p in (who, state.phase, "  ".join(live)) if p)


class ProgressPanel(Horizontal):
    """Idle, it says what happened last; busy, it streams progress."""

    def compose(self) -> ComposeResult:
        yield Static("starting…", id="progress-text")
        yield ProgressBar(id="progress-bar", show_eta=True)

    def show(self, state: ProgressState) -> None:
        self.query_one("#progress-text", Static).update(describe(state))
        bar = self.query_one("#progress-bar", ProgressBar)
        bar.display = True
        bar.update(total=state.total, progress=state.done)

    def idle(self, text: str) -> None:
        self.query_one("#progress-text", Static).update(text)
        self.query_one("#progress-bar", ProgressBar).display = False
