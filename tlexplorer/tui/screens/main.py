"""The main screen: models, layers, spectrum, NNU and range panes; overview and compare views."""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Header, Static

from tlexplorer import metrics, topimages
from tlexplorer.textsafe import safe
from tlexplorer.tui.figures import ModelFigures, fmt
from tlexplorer.tui.messages import FeatureMapsKey
from tlexplorer.tui.widgets.bars import LayerBars, NNUBars, RangeBars
from tlexplorer.tui.widgets.claims import ClaimsTable
from tlexplorer.tui.widgets.compare import CompareView
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
from tlexplorer.tui.widgets.tables import LayersTable, ModelsList, OverviewTable

TOO_SMALL = "The terminal is too small for tlexplorer: it needs at least 80×24.\n" \
            "Enlarge the window (or press q to quit)."


class MainScreen(Screen):
    """Everything the user browses; the app owns the data, this screen shows it."""

    BINDINGS = [
        Binding("down,j", "next_layer", "layer", key_display="↓/j", priority=True),
        Binding("up,k", "previous_layer", "layer", show=False, priority=True),
        Binding("right", "next_model", "model", key_display="←→/1-5", priority=True),
        Binding("left", "previous_model", "model", show=False, priority=True),
        *[Binding(str(n), f"select_model({n - 1})", f"model {n}", show=False)
          for n in range(1, 6)],
        Binding("l", "toggle_bins", "log/lin", id="bins"),
        Binding("m", "toggle_scope", "model/layer spectrum", show=False),
        Binding("t", "cycle_tau", "τ", id="tau"),
        Binding("c", "toggle_compare", "compare", id="compare"),
        Binding("o", "toggle_overview", "overview", id="overview"),
        Binding("w", "toggle_shift", "weight shift", id="shift"),
        Binding("a", "toggle_claims", "claims", id="claims"),
        Binding("i", "toggle_inputs", "top images", id="inputs"),
        Binding("f", "toggle_features", "feature maps", id="features"),
        Binding("left_square_bracket", "step(-1)", "unit/page", key_display="[ ]",
                show=False),
        Binding("right_square_bracket", "step(1)", "unit/page", show=False),
        Binding("left_curly_bracket", "step(-10)", "unit −10", show=False),
        Binding("right_curly_bracket", "step(10)", "unit +10", show=False),
        Binding("s", "cycle_unit_order", "unit order", show=False),
        Binding("g", "goto_image", "go to image", show=False),
        Binding("n", "next_image(1)", "next image", show=False),
        Binding("p", "next_image(-1)", "previous image", show=False),
        Binding("e", "export", "export CSV", id="export"),
        Binding("r", "recapture", "recapture", id="recapture"),
        Binding("escape", "cancel_work", "cancel", id="cancel"),
        Binding("question_mark", "help", "help", key_display="?", id="help"),
        Binding("q", "app.quit", "quit", id="quit"),
    ]

    # vars, not reactives: a reactive on the screen repaints the whole screen on every change,
    # and the watchers below refresh exactly the panes that change
    model_index: var[int] = var(0)
    layer_index: var[int] = var(0)
    log_bins: var[bool] = var(True)
    whole_model: var[bool] = var(False)
    _message_text = None
    # the image views' selection: unit of the layer, picked top image, feature-map image and page
    unit_index = 0
    unit_order = "index"  # how [ ] step through units: a key of topimages.UNIT_ORDERS
    pick = 0
    fm_image = 0
    fm_page: int | None = None
    _fm_tiles: tuple | None = None  # (state, result, tiles, vmax): colour maps made once

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
            self.query_one("#compare", CompareView).show(app.figures)
        elif current == "claims":
            self.query_one("#claims", ClaimsTable).show(app.claims())
        elif current == "shift":
            label = app.slots[self.model_index].label if app.slots else ""
            table = self.query_one("#shift", WeightShiftTable)
            table.border_title = f"weight shift of model {label}: ‖W − W₀‖ / ‖W₀‖ and cosine " \
                                 "per base layer"
            table.show(app.weight_shift, label, app.weight_shift_note)
        elif current == "inputs":
            self.refresh_inputs()
        elif current == "features":
            self.refresh_features()

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

    def _no_layer_message(self) -> str:
        fig = self.figures
        if fig is None:
            return self._slot_message() if self.app.slots else "no data"
        if not fig.rows or fig.result.n_images == 0:
            return "this capture has no layers or no test images"
        return "this layer has no units"

    def refresh_inputs(self) -> None:
        """The selected unit's top-activating test images (read by a worker the first time)."""
        view = self.query_one("#inputs", TopInputsView)
        chosen = self._layer_name()
        if chosen is None:
            view.show("", [], self._no_layer_message())
            return
        fig, layer = chosen
        result = fig.result
        unit = topimages.unit_info(result, layer, self.unit_index)
        view.border_title = f"top-activating test images — model {result.model_label} · " \
                            f"{safe(layer)} · unit {unit.unit} of {unit.units}"
        order = topimages.unit_order(result, layer, self.unit_order)
        position = int(np.flatnonzero(order == self.unit_index)[0]) + 1
        info = (f"unit {unit.unit}/{unit.units - 1} · {position} of {unit.units} "
                f"{topimages.UNIT_ORDERS[self.unit_order]} · max {unit.max:.4g} · fired on "
                f"{unit.fired} of {result.n_images} test images"
                + (" · [b red]dead[/]" if unit.dead else "")
                + "\n[dim][ ] next unit, { } ±10, s unit order, n/p pick an image, "
                  "f its feature maps[/]")
        tops = topimages.top_inputs(result, layer, self.unit_index)
        if tops is None:
            view.show(info, [], f"no top-activating images for {safe(layer)}: this capture kept "
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
        self.pick = min(self.pick, len(tops) - 1)
        images, why = self.app.test_images([t.index for t in tops])
        if images is None:
            view.show(info, [], why or "reading the test images…")
            return
        view.show(info, top_tiles(tops, images, result.class_names, self.pick))

    def refresh_features(self) -> None:
        """One test image's feature maps at the selected layer (a worker runs the model)."""
        view = self.query_one("#features", FeatureMapsView)
        chosen = self._layer_name()
        if chosen is None:
            view.show(None, "", [], self._no_layer_message())
            return
        fig, layer = chosen
        result = fig.result
        self.fm_image %= max(result.n_images, 1)
        label, predicted, confidence = topimages.image_prediction(result, self.fm_image)
        view.border_title = f"feature maps — model {result.model_label} · {safe(layer)} · " \
                            f"test image #{self.fm_image}"
        key = FeatureMapsKey(result.model_label, layer, self.fm_image)
        state = self.app.feature_maps_for(key)
        caption = [f"test image #{self.fm_image}",
                   prediction_text(result.class_names, label, predicted, confidence)]
        if state is None:
            view.show(None, "n/p: next/previous image", [],
                      f"computing the feature maps of test image #{self.fm_image} at {safe(layer)} "
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
        info = (f"{safe(layer)}\n{'×'.join(str(d) for d in maps.shape)}\n"
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
            message.update(text)
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
            layer, title = None, f"model {fig.result.model_label}, all layers"
            zero = fig.summary.zero_fraction
            skew = fig.summary.spectrum_skewness
        else:
            layer, row = self.layer_index, fig.rows[self.layer_index]
            title, zero, skew = safe(row.name), row.zero_fraction, row.skewness
        plot.show(fig, layer, mode, f"{title} ({mode} bins)")
        p50, p99 = fig.percentiles(layer)
        info.update(f"zero fraction\n{fmt(zero, '.3f')}\n\nskewness\n{fmt(skew, '.2f')}\n\n"
                    f"median\n{fmt(p50, '.3g')}\n\np99\n{fmt(p99, '.3g')}\n\n"
                    f"[dim]l: {'linear' if self.log_bins else 'log'} bins\n"
                    f"m: {'layer' if self.whole_model else 'model'}[/]", layout=False)

    def _slot_message(self) -> str:
        slots = self.app.slots
        if not slots:
            return "no models yet"
        slot = slots[self.model_index]
        if slot.error:
            return f"model {slot.label} ({slot.name}) failed:\n{safe(slot.error)}"
        if slot.meta is None:
            return f"model {slot.label} ({slot.name}): {slot.status or 'not trained'}"
        return f"model {slot.label} ({slot.name}): waiting for its capture…"

    # -- reactives --------------------------------------------------------------------------

    def watch_model_index(self) -> None:
        self.query_one("#models", ModelsList).move_cursor(row=self.model_index, animate=False)
        self.query_one("#overview", OverviewTable).move_cursor(row=self.model_index,
                                                                animate=False)
        if self.query_one("#views", ContentSwitcher).current == "shift":
            self.refresh_views()
        self.refresh_model()

    def watch_layer_index(self) -> None:
        self.query_one("#layers", LayersTable).move_cursor(row=self.layer_index, animate=False)
        self.refresh_layer()

    def watch_log_bins(self) -> None:
        self.refresh_spectrum()

    def watch_whole_model(self) -> None:
        self.refresh_spectrum()

    # -- events -----------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != event.data_table.cursor_row:
            return  # stale: a rebuilt table passes row 0 before its cursor is put back
        if isinstance(event.data_table, (ModelsList, OverviewTable)):
            self.model_index = event.cursor_row
        elif isinstance(event.data_table, LayersTable):
            self.layer_index = event.cursor_row

    def on_layer_bars_resized(self, _: LayerBars.Resized) -> None:
        self.refresh_layer()

    # -- actions ----------------------------------------------------------------------------

    def action_next_layer(self) -> None:
        fig = self.figures
        if fig is not None and self.layer_index < len(fig.rows) - 1:
            self.layer_index += 1

    def action_previous_layer(self) -> None:
        if self.layer_index > 0:
            self.layer_index -= 1

    def action_select_model(self, index: int) -> None:
        if 0 <= index < len(self.app.slots):
            self.model_index = index

    def action_next_model(self) -> None:
        self.action_select_model(self.model_index + 1)

    def action_previous_model(self) -> None:
        self.action_select_model(self.model_index - 1)

    def action_toggle_bins(self) -> None:
        self.log_bins = not self.log_bins

    def action_toggle_scope(self) -> None:
        self.whole_model = not self.whole_model

    def _toggle_view(self, view: str) -> None:
        switcher = self.query_one("#views", ContentSwitcher)
        switcher.current = "model-view" if switcher.current == view else view
        self.refresh_views()

    def action_toggle_shift(self) -> None:
        self._toggle_view("shift")

    def action_toggle_claims(self) -> None:
        self._toggle_view("claims")

    def action_toggle_inputs(self) -> None:
        self._toggle_view("inputs")

    def action_toggle_features(self) -> None:
        """Feature maps of the picked top image (of the selected unit), else of test image 0."""
        if self.current_view != "features":
            chosen = self._layer_name()
            tops = None if chosen is None else topimages.top_inputs(chosen[0].result, chosen[1],
                                                                    self.unit_index)
            if tops:
                self.fm_image = tops[min(self.pick, len(tops) - 1)].index
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
            self.pick = 0
            self.refresh_inputs()

    def action_cycle_unit_order(self) -> None:
        """s: step through units by index, strongest first, or most selective first."""
        names = list(topimages.UNIT_ORDERS)
        self.unit_order = names[(names.index(self.unit_order) + 1) % len(names)]
        chosen = self._layer_name()
        if chosen is not None:  # start at the first unit of the new order
            self.unit_index = int(topimages.unit_order(chosen[0].result, chosen[1],
                                                       self.unit_order)[0])
            self.pick, self.fm_page = 0, None
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
                self._toggle_view("features")
            else:
                self.refresh_features()

        self.app.push_screen(GoToImageScreen(fig.result.n_images, self.fm_image), chosen)

    def action_next_image(self, delta: int) -> None:
        """n/p: the next top image (top-images view), the next test image (feature maps)."""
        view = self.current_view
        if view == "inputs":
            self.pick = max(self.pick + delta, 0)
            self.refresh_inputs()
        elif view == "features":
            self.fm_image += delta
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
