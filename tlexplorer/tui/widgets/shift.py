"""Weight shift of the transfer models: per base layer, how far training moved the weights."""

from __future__ import annotations

from textual.widgets import DataTable

from tlexplorer.tui.figures import fmt
from tlexplorer.tui.widgets.text import cell, esc
from tlexplorer.weightshift import LayerShift


def shift_cell(row: LayerShift) -> str:
    """The relative shift; a frozen layer at exactly 0 is shown as the check that it is."""
    if row.relative_shift == 0 and not row.trainable:
        return "0 ✓ frozen"
    if row.relative_shift == 0:
        return "0 (trainable!)"
    return fmt(row.relative_shift, ".3g")


class WeightShiftTable(DataTable):
    """The selected transfer model's base layers: relative shift ‖W − W₀‖/‖W₀‖ and cosine."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("layer", "relative shift", "cosine", "trainable")

    def show(self, rows: list[LayerShift] | None, model: str, note: str,
             reference: str | None = None) -> None:
        """``rows`` of every model (None: not known yet or failed, ``note`` says why) for model
        ``model`` ("" while no model is selected: ``note`` says what the view waits for),
        measured against model ``reference`` (None: the pretrained base)."""
        self.clear()
        mine = [r for r in rows or [] if r.model == model]
        if rows is None or not model or not mine:
            if rows is None or not model:
                why = note
            elif reference is None:
                why = f"model {model} is not a transfer model: no pretrained base to compare with"
            elif model == reference:
                why = (f"model {model} is the reference: select another model (← →) to see "
                       "how far it is from this one")
            else:
                why = (f"model {model} shares no layer (same name and weight shapes) with "
                       f"model {reference}")
            self.border_subtitle = esc(why)
            return
        self.border_subtitle = ""
        for row in mine:
            self.add_row(cell(row.layer), shift_cell(row), fmt(row.cosine, ".6f"),
                         "yes" if row.trainable else "no (frozen)", key=row.layer)
