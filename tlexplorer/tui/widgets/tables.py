"""Tables: the models list, the overview (poster Table 1, extended) and the layers of a model."""

from __future__ import annotations

from textual.widgets import DataTable

from tlexplorer.session import ModelSlot
from tlexplorer.tui.figures import ModelFigures, fmt


class ModelsList(DataTable):
    """The five models with accuracy and NNU; the highlighted row is the selected model."""

    NAME_WIDTH = 16

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("id", "model", "acc %", "NNU %")

    def show(self, slots: list[ModelSlot], figures: dict[str, ModelFigures], selected: int) -> None:
        self.clear()
        for slot in slots:
            fig = figures.get(slot.label)
            if fig is not None:
                acc, nnu = fmt(fig.summary.accuracy * 100, ".1f"), fmt(fig.summary.nnu_pct, ".1f")
            elif slot.error:
                acc, nnu = "error", ""
            elif slot.meta is None:
                acc, nnu = "–", slot.status or "untrained"
            else:
                acc, nnu = "…", ""
            name = slot.name if len(slot.name) <= self.NAME_WIDTH else \
                slot.name[: self.NAME_WIDTH - 1] + "…"
            self.add_row(slot.label, name, acc, nnu, key=slot.label)
        if slots:
            self.move_cursor(row=min(selected, len(slots) - 1), animate=False)


class OverviewTable(DataTable):
    """Every model's headline numbers side by side."""

    COLUMNS = ("id", "model", "acc %", "loss", "F1", "AUC", "NNU %", "dormant %", "skew",
               "range CV")

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns(*self.COLUMNS)

    def show(self, slots: list[ModelSlot], figures: dict[str, ModelFigures], selected: int) -> None:
        self.clear()
        for slot in slots:
            fig = figures.get(slot.label)
            if fig is None:
                note = f"error: {slot.error}" if slot.error else (slot.status or "…")
                self.add_row(slot.label, slot.name, note, *[""] * 7, key=slot.label)
                continue
            s = fig.summary
            self.add_row(slot.label, slot.name, fmt(s.accuracy * 100, ".1f"), fmt(s.loss, ".3f"),
                         fmt(s.f1, ".3f"), fmt(s.roc_auc, ".3f"), fmt(s.nnu_pct, ".1f"),
                         fmt(s.dormant_pct, ".1f"), fmt(s.spectrum_skewness, ".2f"),
                         fmt(s.range_cv, ".2f"), key=slot.label)
        if slots:
            self.move_cursor(row=min(selected, len(slots) - 1), animate=False)


class LayersTable(DataTable):
    """The selected model's probed layers; the cursor row is the selected layer."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("layer", "units", "dead", "NNU %", "dorm %", "max", "mean", "zero")

    def show(self, fig: ModelFigures | None, selected: int) -> None:
        self.clear()
        if fig is None:
            return
        for i, row in enumerate(fig.rows):
            self.add_row(row.name, str(row.units), str(row.dead), fmt(row.nnu_pct, ".1f"),
                         fmt(row.dormant_pct, ".1f"), fmt(row.max, ".3g"), fmt(row.mean, ".3g"),
                         fmt(row.zero_fraction, ".2f"), key=str(i))
        if fig.rows:
            self.move_cursor(row=min(selected, len(fig.rows) - 1), animate=False)
