"""The work panel: which model, which phase, a progress bar with ETA, live loss and accuracy."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from tlexplorer.tui.messages import ProgressState
from tlexplorer.tui.widgets.text import ellipsize, literal

NARROW = 120  # below this many columns the bar is drawn shorter


def describe(state: ProgressState, room: int | None = None) -> str:
    """One line: model, phase and live loss and accuracy; within ``room`` cells when given.

    What gives way first is the wording ("epoch" → "ep", the separators), then the loss, then
    the phase is cut; the accuracy is kept.
    """
    who = f"model {state.model}" if state.model not in ("", "base") else (
        "demo base" if state.model == "base" else "")
    logs = state.logs
    loss = f"loss {logs['loss']:.3f}" if "loss" in logs else ""
    acc = next((f"acc {logs[key] * 100:.1f}%" for key in ("accuracy", "acc", "binary_accuracy")
                if key in logs), "")
    phase = state.phase
    short = phase.replace(" epoch ", " ep ")
    tries = [(who, phase, "  ".join(p for p in (loss, acc) if p), " · "),
             (who, short, " ".join(p for p in (loss, acc) if p), " · "),
             (who, short, " ".join(p for p in (loss, acc) if p), " "),
             (who, short, acc or loss, " ")]
    for parts in tries:
        text = parts[3].join(p for p in parts[:3] if p)
        if room is None or len(text) <= room:
            return text
    who, short, live, sep = tries[-1]
    others = [p for p in (who, live) if p]
    fixed = sum(len(p) for p in others) + len(sep) * len(others)
    return sep.join(p for p in (who, ellipsize(short, room - fixed), live) if p)


class StatusText(Static):
    """The panel's text: a message, or a progress state fitted to the width (never wrapped)."""

    state: ProgressState | None = None

    def show_state(self, state: ProgressState) -> None:
        self.state = state
        self.update(literal(describe(state, self.size.width or None)))

    def show_text(self, text: str) -> None:
        self.state = None
        self.update(literal(text))

    def on_resize(self) -> None:
        if self.state is not None:
            self.show_state(self.state)


class ProgressPanel(Horizontal):
    """Idle, it says what happened last; busy, it streams progress."""

    def compose(self) -> ComposeResult:
        yield StatusText("starting…", id="progress-text")
        yield ProgressBar(id="progress-bar", show_eta=True)

    def show(self, state: ProgressState) -> None:
        bar = self.query_one("#progress-bar", ProgressBar)
        bar.display = True
        bar.update(total=state.total, progress=state.done)
        self.query_one("#progress-text", StatusText).show_state(state)

    def idle(self, text: str) -> None:
        self.query_one("#progress-text", StatusText).show_text(text)
        self.query_one("#progress-bar", ProgressBar).display = False

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")
