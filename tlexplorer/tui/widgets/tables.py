"""Tables: the models list, the overview (poster Table 1, extended) and the layers of a model."""

from __future__ import annotations

from textual.widgets import DataTable

from tlexplorer.session import ModelSlot
from tlexplorer.tui.figures import NA, ModelFigures, fmt, fmt_nnu
from tlexplorer.tui.widgets.text import cell, ellipsize


class ModelsList(DataTable):
    """The five models with accuracy, NNU and dormant %; the highlighted row is the selected model.

    The name column takes whatever width the other columns leave, so the list fits 80 columns
    and uses the room of a wide terminal.
    """

    FIXED_WIDTH = 30  # id, acc %, NNU %, dorm % and the cells' padding

    _shown: tuple | None = None
    _name_width = 0

    def on_mount(self) -> None:
        self.cursor_type = "row"

    def _name_room(self) -> int:
        return max(6, min(40, (self.size.width or 36) - self.FIXED_WIDTH))

    def show(self, slots: list[ModelSlot], figures: dict[str, ModelFigures], selected: int) -> None:
        self._shown = (slots, figures, selected)
        width = self._name_room()
        if width != self._name_width:
            self._name_width = width
            self.clear(columns=True)
            self.add_column("id")
            self.add_column("model", width=width)
            self.add_columns("acc %", "NNU %", "dorm %")
        self.clear()
        for slot in slots:
            fig = figures.get(slot.label)
            if fig is not None:
                s = fig.summary
                acc, nnu, dorm = (fmt(s.accuracy * 100, ".1f"),
                                  fmt_nnu(s.nnu_pct, s.nnu_units > 0),
                                  fmt(s.dormant_pct, ".1f"))
            elif slot.error:
                acc, nnu, dorm = "error", "", ""
            elif slot.meta is None:
                acc, nnu, dorm = "–", slot.status or "untrained", ""
            else:
                acc, nnu, dorm = "…", "", ""
            self.add_row(cell(slot.label), cell(ellipsize(slot.name, width)), acc, nnu, dorm,
                         key=slot.label)
        if slots:
            self.move_cursor(row=min(selected, len(slots) - 1), animate=False)

    def on_resize(self) -> None:
        if self._shown is not None and self._name_room() != self._name_width:
            self.show(*self._shown)


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
                self.add_row(cell(slot.label), cell(slot.name), cell(note), *[""] * 7,
                             key=slot.label)
                continue
            s = fig.summary
            self.add_row(cell(slot.label), cell(slot.name), fmt(s.accuracy * 100, ".1f"),
                         fmt(s.loss, ".3f"),
                         fmt(s.f1, ".3f"), fmt(s.roc_auc, ".3f"),
                         fmt_nnu(s.nnu_pct, s.nnu_units > 0),
                         fmt(s.dormant_pct, ".1f"), fmt(s.spectrum_skewness, ".2f"),
                         fmt(s.range_cv, ".2f"), key=slot.label)
        if slots:
            self.move_cursor(row=min(selected, len(slots) - 1), animate=False)


class LayersTable(DataTable):
    """The selected model's probed layers; the cursor row is the selected layer.

    The columns are made afresh for each model: a DataTable's columns only ever grow, so the
    long layer names of one model pushed the later columns of the next out of sight.
    """

    COLUMNS = ("layer", "units", "dead", "NNU %", "dorm %", "max", "mean", "zero")

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns(*self.COLUMNS)

    def show(self, fig: ModelFigures | None, selected: int) -> None:
        self.clear(columns=True)
        self.add_columns(*self.COLUMNS)
        if fig is None:
            return
        for i, row in enumerate(fig.rows):
            defined = row.dead is not None
            self.add_row(cell(row.name), str(row.units), str(row.dead) if defined else NA,
                         fmt_nnu(row.nnu_pct, defined),
                         fmt(row.dormant_pct, ".1f"), fmt(row.max, ".3g"), fmt(row.mean, ".3g"),
                         fmt(row.zero_fraction, ".2f"), key=str(i))
        if fig.rows:
            self.move_cursor(row=min(selected, len(fig.rows) - 1), animate=False)
