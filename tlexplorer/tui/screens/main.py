"""The main screen: models, layers, spectrum, NNU and range panes; the full-screen views
(overview, compare plots and table, model details, weight shift, claims, top images, feature maps).

``model_index`` and ``layer_index`` index ``app.slots`` and the model's ``fig.rows``; the models
and layers tables may show them sorted, so every cursor move goes through the table's ``order``.
"""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Header, Static

from tlexplorer import metrics, topimages
from tlexplorer.textsafe import safe
from tlexplorer.topimages import TopInput
from tlexplorer.tui.commands import bindings
from tlexplorer.tui.figures import COMPARE_METRICS, ModelFigures, fmt, index_ranges
from tlexplorer.tui.messages import FeatureMapsKey
from tlexplorer.tui.widgets.bars import LayerBars, NNUBars, RangeBars
from tlexplorer.tui.widgets.claims import ClaimsTable
from tlexplorer.tui.widgets.compare import CompareView
from tlexplorer.tui.widgets.crosstab import LayerCompareTable
from tlexplorer.tui.widgets.details import ModelDetailsView, training_curves
from tlexplorer.tui.widgets.images import ImageGrid, Tile
from tlexplorer.tui.widgets.inspect import (
    FeatureMapsView,
    TopInputsView,
    dense_tile,
    map_tiles,
    prediction_text,
    top_tiles,
)
from tlexplorer.tui.widgets.progress import ProgressPanel
from tlexplorer.tui.widgets.shift import WeightShiftTable
from tlexplorer.tui.widgets.spectrum import SpectrumPlot
from tlexplorer.tui.widgets.tables import LayersTable, ModelsList, OverviewTable, SortedTable
from tlexplorer.tui.widgets.text import esc, literal

INFO_WIDTH = 12  # the spectrum pane's figures ("p99 1.23e-05"): #spectrum-info's width - 4

TOO_SMALL = "The terminal is too small for tlexplorer: it needs at least 80×24.\n" \
            "Enlarge the window (or press q to quit)."


class MainScreen(Screen):
    """Everything the user browses; the app owns the data, this screen shows it."""

    BINDINGS = bindings()  # from the one key map, tlexplorer.tui.commands.KEYS

    # vars, not reactives: a reactive on the screen repaints the whole screen on every change,
    # and the watchers below refresh exactly the panes that change
    model_index: var[int] = var(0)
    layer_index: var[int] = var(0)
    log_bins: var[bool] = var(True)
    whole_model: var[bool] = var(False)
    log_counts: var[bool] = var(False)  # the spectrum's count axis
    compare_metric = "nnu"  # the compare table's metric: a key of COMPARE_METRICS
    _message_text = None
    # the image views' selection: unit of the layer, the highlighted top image (its rank, None:
    # none of them), the chosen test image (kept across model, layer and unit changes; None:
    # none chosen yet, feature maps show test image 0) and the feature maps' page
    unit_index = 0
    unit_order = "index"  # how [ ] step through units: a key of topimages.UNIT_ORDERS
    pick: int | None = 0
    fm_image: int | None = None
    fm_page: int | None = None
    _fm_tiles: tuple | None = None  # (state, result, tiles, vmax): colour maps made once
    _main_focus: str | None = None  # the main view's pane that had the focus when it was left

    def __init__(self) -> None:
        super().__init__()
        self._back: list[str] = []  # the views to go back to, the last one on top

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static(TOO_SMALL, id="too-small")
        with Vertical(id="body"):
            with ContentSwitcher(initial="model-view", id="views"):
                with Horizontal(id="model-view"):
                    with Vertical(id="left"):
                        yield ModelsList(id="models")
                        yield LayersTable(id="layers")
                    with Vertical(id="right"):
                        yield Static("", id="model-message")
                        with Horizontal(id="spectrum-row"):
                            yield SpectrumPlot(id="spectrum")
                            yield Static("", id="spectrum-info")
                        with Horizontal(id="bars-row"):
                            yield NNUBars("NNU % per layer", id="nnu")
                            yield RangeBars("max activation per layer", id="range")
                yield OverviewTable(id="overview")
                yield CompareView(id="compare")
                yield LayerCompareTable(id="crosstab")
                yield ModelDetailsView(id="details")
                yield WeightShiftTable(id="shift")
                yield ClaimsTable(id="claims")
                yield TopInputsView(id="inputs")
                yield FeatureMapsView(id="features")
            yield ProgressPanel(id="progress")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#spectrum-info", Static).border_title = "spectrum"
        self._titles()
        self.query_one("#layers", LayersTable).focus()
        self.app.start_work()  # after the first paint's widgets exist

    # -- which keys work where --------------------------------------------------------------

    # Views that show the selected model (and layer) in their title follow ←→/1-5 (and ↑↓);
    # elsewhere those keys are off, so a full-screen view never moves the hidden selection.
    LAYER_VIEWS = ("model-view", "inputs", "features")
    MODEL_VIEWS = ("model-view", "inputs", "features", "shift", "details")
    NUMBER_VIEWS = (*MODEL_VIEWS, "overview")  # the overview's cursor row is the model

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.current_view
        if action in ("next_layer", "previous_layer"):
            return view in self.LAYER_VIEWS
        if action in ("next_model", "previous_model"):
            return view in self.MODEL_VIEWS
        if action == "select_model":
            return view in self.NUMBER_VIEWS
        if action == "scroll_table":
            return view == "overview"
        if action in ("toggle_bins", "toggle_scope", "toggle_counts", "sort_next",
                      "sort_reverse"):
            return view == "model-view"
        if action == "cycle_metric":
            return view == "crosstab"
        if action in ("step", "next_image", "cycle_unit_order", "dead_unit"):
            return view in ("inputs", "features")
        if action == "back":
            return view != "model-view"
        if action == "cancel_work":
            return view == "model-view"
        return True

    # -- what the app calls -----------------------------------------------------------------

    @property
    def figures(self) -> ModelFigures | None:
        slots = self.app.slots
        if not slots:
            return None
        return self.app.figures.get(slots[self.model_index].label)

    def _titles(self) -> None:
        """Pane titles; the ones showing dormant % say under which τ."""
        tau = f"τ={self.app.tau:g}"
        self.query_one("#models", ModelsList).border_title = f"models (dormant {tau})"
        self.query_one("#layers", LayersTable).border_title = f"layers (dormant {tau})"
        self.query_one("#nnu", NNUBars).border_title = f"NNU % / dormant % ({tau})"
        self.query_one("#overview", OverviewTable).border_title = \
            f"overview (Table 1, extended; dormant {tau})"
        self.query_one("#claims", ClaimsTable).border_title = \
            f"the poster's claims on these models (Spearman ρ vs accuracy; {tau})"

    def refresh_models(self) -> None:
        """The models' list, overview and compare changed (a result arrived or failed, τ)."""
        app = self.app
        self._titles()
        self.query_one("#models", ModelsList).show(app.slots, app.figures, self.model_index)
        self.query_one("#overview", OverviewTable).show(app.slots, app.figures, self.model_index)
        self.refresh_views()
        self.refresh_model()

    def refresh_views(self) -> None:
        """The extra view on show, if any (they are filled only while shown)."""
        app = self.app
        current = self.query_one("#views", ContentSwitcher).current
        if current == "compare":
            self.query_one("#compare", CompareView).show(
                {s.label: app.figures[s.label] for s in app.slots if s.label in app.figures})
        elif current == "crosstab":
            self.query_one("#crosstab", LayerCompareTable).show(app.slots, app.figures,
                                                                 self.compare_metric)
        elif current == "details":
            self.refresh_details()
        elif current == "claims":
            self.query_one("#claims", ClaimsTable).show(app.claims())
        elif current == "shift":
            self.refresh_shift()
        elif current == "inputs":
            self.refresh_inputs()
        elif current == "features":
            self.refresh_features()

    def refresh_shift(self) -> None:
        app = self.app
        table = self.query_one("#shift", WeightShiftTable)
        slot = app.slots[self.model_index] if app.slots else None
        reference = app.shift_reference
        if reference is None and app.suite is not None and app.suite.info.kind == "files":
            from tlexplorer.workbench import default_reference

            reference = default_reference(app.suite)
        if slot is None:
            table.border_title = "weight shift per layer"
            table.show(app.weight_shift, "", "no model yet: waiting for the suite to be opened "
                                             "or trained (see the status line)")
            return
        against = f"model {esc(reference)}" if reference else "the pretrained base"
        table.border_title = f"weight shift: model {esc(slot.label)} from {against} " \
                             f"(w: from model {esc(slot.label)})"
        table.show(app.weight_shift, slot.label, app.weight_shift_note, reference)

    def refresh_details(self) -> None:
        """The selected model's confusion matrix, per-class accuracy and training curves."""
        view = self.query_one("#details", ModelDetailsView)
        slots = self.app.slots
        slot = slots[self.model_index] if slots else None
        if slot is None:
            view.border_title = "model details"
            view.show_confusion(None, self._no_layer_message("model details"))
            view.show_curves({}, "")
            return
        view.border_title = f"model {esc(slot.label)} ({esc(slot.name)}): test-set outcome " \
                            "and training"
        fig = self.figures
        view.show_confusion(fig.result if fig is not None else None,
                            self._no_layer_message("confusion matrix"))
        curves = training_curves(slot.meta.record if slot.meta is not None else None)
        why = (f"model {slot.label} has no training history: its metadata records none "
               "(an analysed file, or trained by an older version)" if slot.meta is not None
               else f"model {slot.label}: {slot.status or 'not trained'}: no training history")
        view.show_curves(curves, why)

    @property
    def current_view(self) -> str:
        return self.query_one("#views", ContentSwitcher).current or "model-view"

    def _layer_name(self) -> tuple[ModelFigures, str] | None:
        """The selected model's figures and layer name, if it has a layer with units and images."""
        fig = self.figures
        if fig is None or not fig.rows or fig.result.n_images == 0:
            return None
        row = fig.rows[min(self.layer_index, len(fig.rows) - 1)]
        if row.units <= 0:
            return None
        self.unit_index = max(0, min(self.unit_index, row.units - 1))
        return fig, row.name

    def _tops(self) -> list[TopInput] | None:
        """The selected unit's top-activating test images, if the capture kept them."""
        chosen = self._layer_name()
        if chosen is None:
            return None
        return topimages.top_inputs(chosen[0].result, chosen[1], self.unit_index)

    def _pick_in(self, tops: list[TopInput]) -> int | None:
        """The rank to highlight: the chosen test image's, else the first while none was chosen;
        None when the chosen image is not among these."""
        if self.fm_image is None:
            return 0 if tops else None
        return next((i for i, t in enumerate(tops) if t.index == self.fm_image), None)

    @property
    def feature_image(self) -> int:
        """The test image the feature maps show: the chosen one, else test image 0."""
        return self.fm_image if self.fm_image is not None else 0

    def _no_layer_message(self, what: str) -> str:
        """Why the view ``what`` has nothing to show yet: what it waits for."""
        fig = self.figures
        if fig is None:
            slots = self.app.slots
            if not slots:
                return f"{what}: waiting for the models (the suite is being opened or trained; " \
                       "see the status line)…"
            slot = slots[self.model_index]
            if slot.error:
                return f"{what}: model {slot.label} ({slot.name}) failed: {slot.error}"
            if slot.meta is None:
                return (f"{what}: model {slot.label} ({slot.name}): "
                        f"{slot.status or 'not trained'}; waiting for its training and capture…")
            return f"{what}: waiting for the capture of model {slot.label} ({slot.name})…"
        if not fig.rows or fig.result.n_images == 0:
            return "this capture has no layers or no test images"
        return "this layer has no units"

    def refresh_inputs(self) -> None:
        """The selected unit's top-activating test images (read by a worker the first time)."""
        view = self.query_one("#inputs", TopInputsView)
        chosen = self._layer_name()
        if chosen is None:
            view.border_title = "top-activating test images"
            view.show("", [], self._no_layer_message("top-activating test images"))
            return
        fig, layer = chosen
        result = fig.result
        unit = topimages.unit_info(result, layer, self.unit_index)
        view.border_title = f"top-activating test images — model {esc(result.model_label)} · " \
                            f"{esc(layer)} · unit {unit.unit} of {unit.units}"
        order = topimages.unit_order(result, layer, self.unit_order)
        position = int(np.flatnonzero(order == self.unit_index)[0]) + 1
        tops = topimages.top_inputs(result, layer, self.unit_index)
        self.pick = self._pick_in(tops or [])
        elsewhere = tops and self.pick is None and not unit.dead
        picked_file = (self.app.test_file(tops[self.pick].index)
                       if tops and self.pick is not None else None)
        info = (f"unit {unit.unit}/{unit.units - 1} · {position} of {unit.units} "
                f"{topimages.UNIT_ORDERS[self.unit_order]} · max {unit.max:.4g} · fired on "
                f"{unit.fired} of {result.n_images} test images"
                + (" · [b red]dead[/]" if unit.dead else "")
                + (f" · the chosen test image #{self.fm_image} is not among them"
                   if elsewhere else "")
                + (f" · picked: #{tops[self.pick].index} {esc(picked_file)}"
                   if picked_file else "")
                + f"\n{self._dead_units_text(fig, layer)}"
                + "\n[dim][ ] next unit, { } ±10, < > dead unit, s unit order, n/p pick an "
                  f"image, f {'the chosen image’s' if elsewhere else 'its'} feature maps[/]")
        if tops is None:
            view.show(info, [], f"no top-activating images for {layer}: this capture kept "
                                "none (captured with --topk 0?)")
            return
        if unit.dead:
            view.show(info, [], f"unit {unit.unit} never fired on the test set "
                                f"(activation ≤ {result.epsilon:g} on every image): no image "
                                "excites it")
            return
        if not tops:
            view.show(info, [], "no test images")
            return
        images, why = self.app.test_images([t.index for t in tops])
        if images is None:
            view.show(info, [], why or "reading the test images…")
            return
        view.show(info, top_tiles(tops, images, result.class_names,
                                  -1 if self.pick is None else self.pick))

    def _dead_units(self, fig: ModelFigures, layer: str) -> list[int] | None:
        """The layer's dead units by index; None where "dead" is undefined (no zero floor)."""
        stats = topimages.layer_stats(fig.result, layer)
        if not metrics.nnu_defined(stats):
            return None
        return [int(i) for i in np.flatnonzero(metrics.dead_units(stats, fig.result.epsilon))]

    def _dead_units_text(self, fig: ModelFigures, layer: str) -> str:
        """One line naming the layer's dead units (markup: numbers only from data)."""
        dead = self._dead_units(fig, layer)
        if dead is None:
            return "dead units: n/a (no zero floor in this layer)"
        units = topimages.layer_stats(fig.result, layer).units
        if not dead:
            return f"dead units: none of {units}"
        return f"dead units ({len(dead)} of {units}): {index_ranges(dead)}"

    def refresh_features(self) -> None:
        """One test image's feature maps at the selected layer (a worker runs the model)."""
        view = self.query_one("#features", FeatureMapsView)
        chosen = self._layer_name()
        if chosen is None:
            view.border_title = "feature maps"
            view.show(None, "", [], self._no_layer_message("feature maps"))
            return
        fig, layer = chosen
        result = fig.result
        if self.fm_image is not None:
            self.fm_image %= max(result.n_images, 1)
        image = self.feature_image
        label, predicted, confidence = topimages.image_prediction(result, image)
        view.border_title = f"feature maps — model {esc(result.model_label)} · {esc(layer)} · " \
                            f"test image #{image}"
        key = FeatureMapsKey(result.model_label, layer, image)
        state = self.app.feature_maps_for(key)
        file = self.app.test_file(image)
        caption = [f"test image #{image}" + (f" {safe(file)}" if file else ""),
                   prediction_text(result.class_names, label, predicted, confidence)]
        if state is None:
            view.show(None, "n/p: next/previous image", [],
                      f"computing the feature maps of test image #{image} at {layer} "
                      f"(model {result.model_label}: loading it the first time takes a while)…")
            return
        if state.error:
            view.show(None, "", [], f"no feature maps: {state.error}")
            return
        maps = state.maps
        stats = topimages.layer_stats(result, layer)
        dead = metrics.dead_units(stats, result.epsilon)
        dense = maps.shape[0] == maps.shape[1] == 1  # one value per unit: one pixel per unit
        cached = self._fm_tiles
        if cached is None or cached[0] is not state or cached[1] is not result:
            if dense:
                tile, vmax = dense_tile(maps, dead)
                made: tuple = ([tile], vmax)
            else:
                made = map_tiles(maps, dead, self.unit_index)
            self._fm_tiles = cached = (state, result, *made)
        tiles, vmax = cached[2:]
        if not dense:
            for c, tile in enumerate(tiles):
                tile.selected = c == self.unit_index
        dead_text = (f"{int(dead.sum())} dead in the capture" if stats.zero_floor
                     else "dead units: n/a (no zero floor)")
        info = (f"{esc(layer)}\n{'×'.join(str(d) for d in maps.shape)}\n"
                f"colour: 0 … {vmax:.3g}\n{dead_text}\n\n"
                "[dim][ ] page\nn/p image\n↑↓ layer  ←→ model[/]")
        view.show(Tile(state.image, caption), info, tiles, page=self.fm_page,
                  tile_width=tiles[0].image.shape[1] if dense else None)

    def refresh_model(self) -> None:
        """Another model was selected, or its result changed: rebuild its layers table."""
        fig = self.figures
        if fig is not None:
            self.layer_index = min(self.layer_index, max(len(fig.rows) - 1, 0))
        self.query_one("#layers", LayersTable).show(fig, self.layer_index)
        message = self.query_one("#model-message", Static)
        text = self._slot_message() if fig is None else ""
        if text != self._message_text:
            self._message_text = text
            message.update(literal(text))
            message.display = bool(text)
        self.refresh_layer()

    def refresh_layer(self) -> None:
        """Another layer was selected: only the bars' highlight and the spectrum change."""
        if self.current_view in ("inputs", "features"):
            self.refresh_views()
        fig = self.figures
        message = self._slot_message() if fig is None else ""
        self.query_one("#nnu", NNUBars).show(fig, self.layer_index, message)
        self.query_one("#range", RangeBars).show(fig, self.layer_index, message)
        self.refresh_spectrum()

    def refresh_spectrum(self) -> None:
        fig = self.figures
        plot = self.query_one("#spectrum", SpectrumPlot)
        info = self.query_one("#spectrum-info", Static)
        mode = "log" if self.log_bins else "linear"
        if fig is None or not fig.rows:
            plot.show(None, None, mode, "no data")
            info.update("", layout=False)
            return
        if self.whole_model:
            layer, name = None, f"model {fig.result.model_label}, all layers"
            zero = fig.summary.zero_fraction
            skew = fig.summary.spectrum_skewness
        else:
            layer, row = self.layer_index, fig.rows[self.layer_index]
            name, zero, skew = row.name, row.zero_fraction, row.skewness
        # the longest title that fits the plot; the name is cut with "…" past the last
        counts = "log" if self.log_counts else "linear"
        plot.show(fig, layer, mode, (f"{name} ({mode} bins, {counts} counts)",
                                     f"{name} ({mode} bins)", f"{name} ({mode})", name),
                  self.log_counts)
        p50, p99 = fig.percentiles(layer)
        lines = [("zero", fmt(zero, ".3f")), ("skew", fmt(skew, ".2f")),
                 ("p50", fmt(p50, ".3g")), ("p99", fmt(p99, ".3g"))]
        width = INFO_WIDTH
        figures = "\n".join(f"{label} {value:>{width - len(label) - 1}}" for label, value in lines)
        info.update(f"{figures}\n\n[dim]l: {'lin' if self.log_bins else 'log'} bins\n"
                    f"m: {'layer' if self.whole_model else 'model'}\n"
                    f"y: {'lin' if self.log_counts else 'log'} count[/]", layout=False)

    def _slot_message(self) -> str:
        """Why the selected model has no figures (plain text, not markup)."""
        slots = self.app.slots
        if not slots:
            return "no models yet: the suite is being opened or trained (see the status line)"
        slot = slots[self.model_index]
        if slot.error:
            return f"model {slot.label} ({slot.name}) failed:\n{slot.error}"
        if slot.meta is None:
            return f"model {slot.label} ({slot.name}): {slot.status or 'not trained'}"
        return f"model {slot.label} ({slot.name}): waiting for its capture…"

    # -- reactives --------------------------------------------------------------------------

    def watch_model_index(self) -> None:
        models = self.query_one("#models", ModelsList)
        models.move_cursor(row=models.row_of(self.model_index), animate=False)
        self.query_one("#overview", OverviewTable).move_cursor(row=self.model_index,
                                                                animate=False)
        if self.query_one("#views", ContentSwitcher).current in ("shift", "details"):
            self.refresh_views()
        self.refresh_model()

    def watch_layer_index(self) -> None:
        layers = self.query_one("#layers", LayersTable)
        layers.move_cursor(row=layers.row_of(self.layer_index), animate=False)
        self.refresh_layer()

    def watch_log_counts(self) -> None:
        self.refresh_spectrum()

    def watch_log_bins(self) -> None:
        self.refresh_spectrum()

    def watch_whole_model(self) -> None:
        self.refresh_spectrum()

    # -- events -----------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != event.data_table.cursor_row:
            return  # stale: a rebuilt table passes row 0 before its cursor is put back
        # only the tables on show select: a hidden one never moves the selection
        view = self.current_view
        table = event.data_table
        if isinstance(table, ModelsList) and view == "model-view":
            self.model_index = table.index_at(event.cursor_row)
        elif isinstance(table, OverviewTable) and view == "overview":
            self.model_index = event.cursor_row
        elif isinstance(table, LayersTable) and view == "model-view":
            self.layer_index = table.index_at(event.cursor_row)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header of the models or layers table sorts by that column."""
        if isinstance(event.data_table, SortedTable):
            event.data_table.sort_by(event.column_index)
            self._resort(event.data_table)

    def on_layer_bars_resized(self, _: LayerBars.Resized) -> None:
        self.refresh_layer()

    # -- the views and their back stack -----------------------------------------------------

    FOCUS = {"overview": "#overview", "shift": "#shift", "claims": "#claims",
             "crosstab": "#crosstab"}

    def _switch(self, view: str) -> None:
        """Show ``view``; keys go to it (a hidden table never keeps the focus)."""
        leaving = self.current_view
        if leaving == "model-view" and self.focused is not None \
                and self.focused.id in ("models", "layers"):
            self._main_focus = self.focused.id  # the pane to come back to
        self.query_one("#views", ContentSwitcher).current = view
        if view == "model-view":
            self.query_one(f"#{self._main_focus or 'layers'}").focus()
        elif view in self.FOCUS:
            self.query_one(self.FOCUS[view]).focus()
        else:
            self.set_focus(None)
        self.refresh_views()
        self.refresh_bindings()  # the footer shows the keys of this view

    def open_view(self, view: str) -> None:
        """Show ``view`` over the current one (Esc comes back); a view already on the back
        stack is gone back to instead, so the stack never holds a view twice."""
        current = self.current_view
        if view == current:
            return
        if view in self._back:
            del self._back[self._back.index(view):]
        else:
            self._back.append(current)
        self._switch(view)

    def _toggle_view(self, view: str) -> None:
        """The view's key: opens it, or, while it is on show, goes back."""
        if self.current_view == view:
            self.action_back()
        else:
            self.open_view(view)

    def action_back(self) -> None:
        """Esc: back to the view this one was opened from."""
        if self.current_view != "model-view":
            self._switch(self._back.pop() if self._back else "model-view")

    # -- actions ----------------------------------------------------------------------------

    def _step_layer(self, step: int) -> None:
        """The layer ``step`` rows down the layers table, in its (sorted) order."""
        fig = self.figures
        if fig is None:
            return
        index = self.query_one("#layers", LayersTable).neighbour(self.layer_index, step)
        if index is not None and index < len(fig.rows):
            self.layer_index = index

    def action_next_layer(self) -> None:
        self._step_layer(1)

    def action_previous_layer(self) -> None:
        self._step_layer(-1)

    def _select(self, index: int) -> None:
        if 0 <= index < len(self.app.slots):
            self.model_index = index

    def action_select_model(self, number: int) -> None:
        """1-9: model N."""
        self._select(number - 1)

    def action_next_model(self) -> None:
        """→: the model one row down the models table, in its (sorted) order."""
        index = self.query_one("#models", ModelsList).neighbour(self.model_index, 1)
        if index is not None:
            self._select(index)

    def action_previous_model(self) -> None:
        index = self.query_one("#models", ModelsList).neighbour(self.model_index, -1)
        if index is not None:
            self._select(index)

    def _sorted_table(self) -> SortedTable:
        """The table the sort keys act on: the focused one of models and layers, else layers."""
        focused = self.focused
        return focused if isinstance(focused, SortedTable) else self.query_one("#layers",
                                                                                LayersTable)

    def _resort(self, table: SortedTable) -> None:
        """Show ``table`` in its new order; the selection stays (and stays under the cursor)."""
        if isinstance(table, ModelsList):
            table.show(self.app.slots, self.app.figures, self.model_index)
        else:
            table.show(self.figures, self.layer_index)
        what = "models" if isinstance(table, ModelsList) else "layers"
        self.app.notify(f"{what} sorted by {table.sort_label}" if table.sort_label
                    else f"{what} in their own order" + (" (by depth)" if what == "layers"
                                                         else ""), timeout=2)

    def action_sort_next(self) -> None:
        """s: sort the focused table by its next column (after the last: unsorted)."""
        table = self._sorted_table()
        table.next_sort()
        self._resort(table)

    def action_sort_reverse(self) -> None:
        """S: reverse the focused table's sort."""
        table = self._sorted_table()
        table.reverse_sort()
        self._resort(table)

    def action_toggle_counts(self) -> None:
        self.log_counts = not self.log_counts

    def action_toggle_crosstab(self) -> None:
        self._toggle_view("crosstab")

    def action_cycle_metric(self) -> None:
        """m in the compare table: NNU % → dormant % → max activation."""
        names = list(COMPARE_METRICS)
        self.compare_metric = names[(names.index(self.compare_metric) + 1) % len(names)]
        self.refresh_views()

    def action_toggle_details(self) -> None:
        self._toggle_view("details")

    def action_dead_unit(self, direction: int) -> None:
        """< >: the previous / next dead unit of the layer (by index, wrapping around)."""
        chosen = self._layer_name()
        if chosen is None:
            return
        dead = self._dead_units(*chosen)
        if not dead:
            self.app.notify(f"{chosen[1]}: " + ("no dead units" if dead is not None
                                            else "dead units are n/a (no zero floor)"),
                        timeout=3)
            return
        if direction > 0:
            unit = next((u for u in dead if u > self.unit_index), dead[0])
        else:
            unit = next((u for u in reversed(dead) if u < self.unit_index), dead[-1])
        self.unit_index, self.fm_page = unit, None
        self.refresh_views()

    def action_scroll_table(self, direction: int) -> None:
        """←→ in the overview: scroll its columns sideways (a third of the width a press)."""
        table = self.query_one("#overview", OverviewTable)
        step = max(8, table.size.width // 3)
        table.scroll_to(x=table.scroll_x + direction * step, animate=False)

    def action_toggle_bins(self) -> None:
        self.log_bins = not self.log_bins

    def action_toggle_scope(self) -> None:
        self.whole_model = not self.whole_model

    def action_toggle_shift(self) -> None:
        """w: the weight shift view; in it, measure against the selected model (w on the
        reference itself: back to the default reference)."""
        if self.current_view != "shift":
            self.open_view("shift")
            return
        app = self.app
        if not app.slots:
            return
        label = app.slots[self.model_index].label
        app.shift_against(None if label == app.shift_reference else label)

    def action_toggle_claims(self) -> None:
        self._toggle_view("claims")

    def action_toggle_inputs(self) -> None:
        self._toggle_view("inputs")

    def action_toggle_features(self) -> None:
        """Feature maps of the chosen test image: from the top-images view the highlighted one;
        else the one chosen last (n/p, g), else test image 0."""
        if self.current_view == "inputs":
            tops = self._tops()
            if tops and self.pick is not None:
                self.fm_image = tops[min(self.pick, len(tops) - 1)].index
        if self.current_view != "features":
            self.fm_page = None  # the page holding the selected unit
        self._toggle_view("features")

    def action_step(self, delta: int) -> None:
        """[ ] and { }: the unit in the top-images view, the channel page in feature maps."""
        view = self.current_view
        if view == "features":
            grid = self.query_one("#fm-grid", ImageGrid)
            if not grid.tiles:  # still computing: keep the page that holds the unit
                return
            page = grid.page or 0
            self.fm_page = min(max(page + (1 if delta > 0 else -1), 0), grid.pages - 1)
            self.refresh_features()
        elif view == "inputs":
            chosen = self._layer_name()
            if chosen is None:
                return
            fig, layer = chosen
            order = topimages.unit_order(fig.result, layer, self.unit_order)
            position = int(np.flatnonzero(order == self.unit_index)[0])
            self.unit_index = int(order[min(max(position + delta, 0), len(order) - 1)])
            self.fm_page = None  # feature maps open on the page holding this unit
            self.refresh_inputs()

    def action_cycle_unit_order(self) -> None:
        """s: step through units by index, strongest first, or most selective first."""
        names = list(topimages.UNIT_ORDERS)
        self.unit_order = names[(names.index(self.unit_order) + 1) % len(names)]
        chosen = self._layer_name()
        if chosen is not None:  # start at the first unit of the new order
            self.unit_index = int(topimages.unit_order(chosen[0].result, chosen[1],
                                                       self.unit_order)[0])
            self.fm_page = None
        self.notify(topimages.UNIT_ORDER_HELP[self.unit_order], timeout=4)
        self.refresh_views()

    def action_goto_image(self) -> None:
        """g: the feature maps of a test image given by its number."""
        fig = self.figures
        if fig is None or fig.result.n_images == 0:
            self.notify("no results for this model yet", severity="warning")
            return
        from tlexplorer.tui.screens.goto import GoToImageScreen

        def chosen(number: int | None) -> None:
            if number is None:
                return
            self.fm_image, self.fm_page = number, None
            if self.current_view != "features":
                self.open_view("features")
            else:
                self.refresh_features()

        self.app.push_screen(GoToImageScreen(fig.result.n_images, self.feature_image), chosen)

    def action_next_image(self, delta: int) -> None:
        """n/p: pick the next top image (top-images view), the next test image (feature maps);
        either becomes the chosen test image."""
        view = self.current_view
        if view == "inputs":
            tops = self._tops()
            if not tops:
                return
            pick = 0 if self.pick is None else min(max(self.pick + delta, 0), len(tops) - 1)
            self.fm_image = tops[pick].index
            self.refresh_inputs()
        elif view == "features":
            fig = self.figures
            n = fig.result.n_images if fig is not None else 0
            self.fm_image = (self.feature_image + delta) % n if n else None
            self.refresh_features()

    def action_cycle_tau(self) -> None:
        self.app.cycle_tau()

    def action_toggle_compare(self) -> None:
        self._toggle_view("compare")

    def action_toggle_overview(self) -> None:
        self._toggle_view("overview")

    def action_export(self) -> None:
        self.app.export_reports()

    def action_recapture(self) -> None:
        slots = self.app.slots
        if slots:
            self.app.recapture(slots[self.model_index].label)

    def action_cancel_work(self) -> None:
        self.app.cancel_work()

    def action_help(self) -> None:
        from tlexplorer.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())
