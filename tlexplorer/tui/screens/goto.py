"""A small prompt: which test image to show the feature maps of."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class GoToImageScreen(ModalScreen[int | None]):
    """Ask for a test-image number in ``0 … n_images - 1``; dismisses with it, or None."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, n_images: int, current: int) -> None:
        super().__init__()
        self.n_images = n_images
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box"):
            yield Label(f"test image number (0 – {self.n_images - 1}), Enter to show, "
                        "Esc to cancel")
            yield Input(str(self.current), type="integer", id="goto-input")
            yield Label("", id="goto-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        number = int(text) if text.lstrip("-").isdigit() else None
        if number is None or not 0 <= number < self.n_images:
            self.query_one("#goto-error", Label).update(
                f"[red]not a test image: {text or '(empty)'}; 0 – {self.n_images - 1}[/]")
            return
        self.dismiss(number)

    def action_cancel(self) -> None:
        self.dismiss(None)
