"""The help screen: keys and what each pane shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# tlexplorer — keys

| key | action |
|---|---|
| ↑ ↓ / j k | previous / next layer |
| ← → / 1–5 | previous / next model, or model N |
| Tab | next pane |
| l | spectrum bins: log ↔ linear |
| c | compare view: the five models side by side |
| o | overview: accuracy, loss, F1, AUC, NNU, dormant %, skewness, range CV |
| w | weight shift of the transfer models' base layers (frozen: 0 ✓) |
| a | the poster's claims, checked on these models (Spearman ρ) |
| i | top-activating test images of the selected layer's unit, with label → prediction |
| f | feature maps of one test image at the selected layer (one forward pass) |
| [ ] | top images: previous / next unit; feature maps: previous / next page of channels |
| { } | top images: unit −10 / +10 |
| s | top images: step through units by index, strongest first, or most selective first |
| n p | top images: pick the next / previous image; feature maps: next / previous test image |
| g | feature maps of test image number N (asks for N) |
| t | cycle τ of the dormant test: 0.025, 0.1, 0.25, 0.5 |
| e | export CSV reports to WORKSPACE/reports/ |
| r | recapture the selected model |
| Esc | cancel background training or capture (finished work is kept) |
| ctrl+p | command palette |
| q | quit |

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


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
