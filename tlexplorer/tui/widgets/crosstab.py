"""Every model's layers side by side, in numbers: one metric per layer (rows) and model (columns).

Models with different layers are aligned by layer name; a layer a model lacks shows "–", and NNU
of a layer without a true zero floor shows "n/a".
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tlexplorer.session import ModelSlot
from tlexplorer.tui.figures import (
    COMPARE_METRICS,
    ModelFigures,
    aligned_layers,
    layer_metric_cell,
)
from tlexplorer.tui.widgets.text import cell, esc


class LayerCompareTable(DataTable):
    """Rows: layers (aligned by name over the models); columns: the models with results."""

    def on_mount(self) -> None:
        self.cursor_type = "row"

    def show(self, slots: list[ModelSlot], figures: dict[str, ModelFigures], metric: str) -> None:
        shown = [(slot, figures[slot.label]) for slot in slots if slot.label in figures]
        self.border_title = f"{COMPARE_METRICS[metric]} per layer and model (m: next metric: " \
                            f"{' → '.join(COMPARE_METRICS.values())})"
        self.clear(columns=True)
        if not shown:
            self.border_subtitle = "waiting for the models' results (see the status line)"
            return
        self.border_subtitle = esc(" · ".join(f"{slot.label} {slot.name}" for slot, _ in shown))
        self.add_column(Text("layer"), key="layer")
        for slot, _ in shown:
            self.add_column(Text(f"model {slot.label}"), key=slot.label)
        by_name = [{row.name: row for row in fig.rows} for _, fig in shown]
        names = aligned_layers([[row.name for row in fig.rows] for _, fig in shown])
        for name in names:
            self.add_row(cell(name), *[Text(layer_metric_cell(rows.get(name), metric),
                                            justify="right") for rows in by_name], key=name)
