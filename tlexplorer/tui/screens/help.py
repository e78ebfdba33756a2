"""The help screen: keys and what each pane shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from tlexplorer.tui.commands import help_rows

PANES = """\

**NNU %**: dead units (activation ≤ ε for every test image) per 100 units. Shown "n/a" for
layers whose activation has no true zero floor (tanh, sigmoid, gelu, swish, leaky ReLU, elu, …):
their units are never exactly off, so "never fires" means nothing there; a model's NNU counts
only relu/relu6 layers. dormant % is defined for every layer.
**dormant %**: units whose mean |activation| is ≤ τ × the layer mean.
**Spectrum**: histogram of every activation value; zeros get their own bar.
**Range**: maximum activation per layer; range CV = std / mean of the maxima.
**Top images**: per unit, the k test images with the highest activation, kept by the capture
(no second pass); in ReLU layers only images the unit fired on. **Feature maps**: one colour
scale per layer (black = 0); channels that never fired over the whole test set are captioned
"dead".
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def help_text() -> str:
    """The help screen: every key of :data:`tlexplorer.tui.commands.KEYS`, then the panes."""
    rows = "\n".join(f"| `{_cell(keys)}` | {_cell(what)} |" for keys, what in help_rows())
    return f"# tlexplorer — keys\n\n| key | action |\n|---|---|\n{rows}\n{PANES}"


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(help_text())
