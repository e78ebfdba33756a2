"""Tables: the models list, the overview (poster Table 1, extended) and the layers of a model.

The models list and the layers table sort by any column (``s`` next column, ``S`` reverse, or a
click on a header). Their rows then stand in another order than the app's lists: each keeps
``order`` (row → index into ``app.slots`` / ``fig.rows``) and the screen maps every cursor move
through it, so the selected model or layer is always the one under the cursor.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tlexplorer.session import ModelSlot
from tlexplorer.tui.figures import NA, ModelFigures, fmt, fmt_nnu, sort_order
from tlexplorer.tui.widgets.text import cell, ellipsize

ARROWS = {False: "▲", True: "▼"}  # ascending, descending


class SortedTable(DataTable):
    """A table whose rows can be sorted by one column; ``order`` maps rows to indices."""

    COLUMNS: tuple[str, ...] = ()
    sort_column: int | None = None  # None: the app's own order (layers by depth)
    descending = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.order: list[int] = []
        self.border_subtitle = "s sort · S reverse"

    def on_mount(self) -> None:
        self.cursor_type = "row"

    def headers(self) -> list[str]:
        """The column labels, the sorted one with ▲ (ascending) or ▼ (descending)."""
        return [f"{label} {ARROWS[self.descending]}" if i == self.sort_column else label
                for i, label in enumerate(self.COLUMNS)]

    @property
    def sort_label(self) -> str:
        """What the rows are sorted by, for notifications: "NNU % ▼", or "" when unsorted."""
        if self.sort_column is None:
            return ""
        return f"{self.COLUMNS[self.sort_column]} {ARROWS[self.descending]}"

    def next_sort(self) -> None:
        """The next column (after the last: unsorted again), same direction."""
        column = -1 if self.sort_column is None else self.sort_column
        self.sort_column = column + 1 if column + 1 < len(self.COLUMNS) else None

    def reverse_sort(self) -> None:
        """Flip the direction (unsorted: sort by the first column, descending)."""
        if self.sort_column is None:
            self.sort_column, self.descending = 0, True
        else:
            self.descending = not self.descending

    def sort_by(self, column: int) -> None:
        """A click on a header: sort by it, or reverse when it is already the sort."""
        if column == self.sort_column:
            self.descending = not self.descending
        else:
            self.sort_column, self.descending = column, False

    def _order(self, keys: list[list[Any]]) -> list[int]:
        """Row order of items whose per-column sort keys are ``keys``."""
        if self.sort_column is None:
            return list(range(len(keys)))
        return sort_order([k[self.sort_column] for k in keys], self.descending)

    def row_of(self, index: int) -> int:
        """The row showing item ``index`` (0 when it is not shown)."""
        try:
            return self.order.index(index)
        except ValueError:
            return 0

    def index_at(self, row: int) -> int:
        """The item shown in ``row``."""
        return self.order[row] if 0 <= row < len(self.order) else row

    def neighbour(self, index: int, step: int) -> int | None:
        """The item ``step`` rows below (above) item ``index``; None past either end."""
        row = self.row_of(index) + step
        return self.order[row] if 0 <= row < len(self.order) else None


class ModelsList(SortedTable):
    """The five models with accuracy, NNU and dormant %; the highlighted row is the selected model.

    The name column takes whatever width the other columns leave, so the list fits 80 columns
    and uses the room of a wide terminal.
    """

    COLUMNS = ("id", "model", "acc %", "NNU %", "dorm %")
    FIXED_WIDTH = 30  # id, acc %, NNU %, dorm % and the cells' padding

    _shown: tuple | None = None
    _columns_key: tuple = ()

    def _name_room(self) -> int:
        arrow = 2 if self.sort_column not in (None, 1) else 0  # " ▲" after another header
        return max(6, min(40, (self.size.width or 36) - self.FIXED_WIDTH - arrow))

    def show(self, slots: list[ModelSlot], figures: dict[str, ModelFigures], selected: int) -> None:
        """``slots`` in the chosen order; ``selected`` (an index into ``slots``) under the
        cursor."""
        self._shown = (slots, figures, selected)
        width = self._name_room()
        headers = self.headers()
        if (width, *headers) != self._columns_key:
            self._columns_key = (width, *headers)
            self.clear(columns=True)
            self.add_column(headers[0])
            self.add_column(headers[1], width=width)
            self.add_columns(*headers[2:])
        self.clear()
        rows, keys = [], []
        for i, slot in enumerate(slots):
            fig = figures.get(slot.label)
            acc_v = nnu_v = dorm_v = None
            if fig is not None:
                s = fig.summary
                acc_v, dorm_v = s.accuracy, s.dormant_pct
                nnu_v = s.nnu_pct if s.nnu_units > 0 else None
                acc, nnu, dorm = (fmt(s.accuracy * 100, ".1f"),
                                  fmt_nnu(s.nnu_pct, s.nnu_units > 0),
                                  fmt(s.dormant_pct, ".1f"))
            elif slot.error:
                acc, nnu, dorm = "error", "", ""
            elif slot.meta is None:
                acc, nnu, dorm = "–", slot.status or "untrained", ""
            else:
                acc, nnu, dorm = "…", "", ""
            rows.append((cell(slot.label), cell(ellipsize(slot.name, width)), acc, nnu, dorm))
            keys.append([i, slot.name.casefold(), acc_v, nnu_v, dorm_v])
        self.order = self._order(keys)
        for i in self.order:
            self.add_row(*rows[i], key=slots[i].label)
        if slots:
            self.move_cursor(row=self.row_of(min(selected, len(slots) - 1)), animate=False)

    def on_resize(self) -> None:
        if self._shown is not None and \
                (self._name_room(), *self.headers()) != self._columns_key:
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


class LayersTable(SortedTable):
    """The selected model's probed layers; the cursor row is the selected layer.

    The columns are made afresh for each model: a DataTable's columns only ever grow, so the
    long layer names of one model pushed the later columns of the next out of sight. Unsorted,
    the layers are in depth order.
    """

    COLUMNS = ("layer", "units", "dead", "NNU %", "dorm %", "max", "mean", "zero")

    def on_mount(self) -> None:
        super().on_mount()
        self.add_columns(*self.COLUMNS)

    def show(self, fig: ModelFigures | None, selected: int) -> None:
        """``fig``'s layers in the chosen order; layer ``selected`` (an index into
        ``fig.rows``) under the cursor."""
        self.clear(columns=True)
        self.add_columns(*[Text(label) for label in self.headers()])
        self.order = []
        if fig is None:
            return
        nan_none = [None if row.dead is None else row.nnu_pct for row in fig.rows]
        self.order = self._order([
            [row.name.casefold(), row.units, row.dead, nnu, row.dormant_pct, row.max, row.mean,
             row.zero_fraction] for row, nnu in zip(fig.rows, nan_none, strict=True)])
        for i in self.order:
            row = fig.rows[i]
            defined = row.dead is not None
            self.add_row(cell(row.name), str(row.units), str(row.dead) if defined else NA,
                         fmt_nnu(row.nnu_pct, defined),
                         fmt(row.dormant_pct, ".1f"), fmt(row.max, ".3g"), fmt(row.mean, ".3g"),
                         fmt(row.zero_fraction, ".2f"), key=str(i))
        if fig.rows:
            self.move_cursor(row=self.row_of(min(selected, len(fig.rows) - 1)), animate=False)
