"""The main screen: models, layers, spectrum, NNU and range panes; overview and compare views."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Header, Static

from tlexplorer import metrics
from tlexplorer.tui.figures import ModelFigures, fmt
from tlexplorer.tui.widgets.bars import LayerBars, NNUBars, RangeBars
from tlexplorer.tui.widgets.compare import CompareView
from tlexplorer.tui.widgets.progress import ProgressPanel
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
        Binding("c", "toggle_compare", "compare", id="compare"),
        Binding("o", "toggle_overview", "overview", id="overview"),
        Binding("e", "export", "export CSV", id="export"),
        Binding("r", "recapture", "recapture", id="recapture"),
        Binding("escape", "cancel_work", "cancel", id="cancel"),
        Binding("question_mark", "help", "help", key_display="?", id="help"),
        Binding("q", "app.quit", "quit", id="quit"),
    ]

    model_index: reactive[int] = reactive(0)
    layer_index: reactive[int] = reactive(0)
    log_bins: reactive[bool] = reactive(True)
    whole_model: reactive[bool] = reactive(False)

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
            yield ProgressPanel(id="progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#models", ModelsList).border_title = "models"
        self.query_one("#layers", LayersTable).border_title = "layers"
        self.query_one("#spectrum-info", Static).border_title = "spectrum"
        self.query_one("#overview", OverviewTable).border_title = "overview (Table 1, extended)"
        self.query_one("#layers", LayersTable).focus()
        self.app.start_work()  # after the first paint's widgets exist

    # -- what the app calls -----------------------------------------------------------------

    @property
    def figures(self) -> ModelFigures | None:
        slots = self.app.slots
        if not slots:
            return None
        return self.app.figures.get(slots[self.model_index].label)

    def refresh_models(self) -> None:
        """The models' list, overview and compare changed (a result arrived or failed)."""
        app = self.app
        self.query_one("#models", ModelsList).show(app.slots, app.figures, self.model_index)
        self.query_one("#overview", OverviewTable).show(app.slots, app.figures, self.model_index)
        if self.query_one("#views", ContentSwitcher).current == "compare":
            self.query_one("#compare", CompareView).show(app.figures)
        self.refresh_model()

    def refresh_model(self) -> None:
        fig = self.figures
        if fig is not None:
            self.layer_index = min(self.layer_index, max(len(fig.rows) - 1, 0))
        self.query_one("#layers", LayersTable).show(fig, self.layer_index)
        message = self.query_one("#model-message", Static)
        text = self._slot_message() if fig is None else ""
        message.update(text)
        message.display = bool(text)
        self.refresh_layer()

    def refresh_layer(self) -> None:
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
            plot.show(None, "no data", mode)
            info.update("")
            return
        if self.whole_model:
            hist, title = fig.model_hist, f"model {fig.result.model_label}, all layers"
            zero = fig.summary.zero_fraction
            skew = fig.summary.spectrum_skewness
        else:
            layer = fig.layers[self.layer_index]
            row = fig.rows[self.layer_index]
            hist, title = layer.hist, layer.name
            zero, skew = row.zero_fraction, row.skewness
        plot.show(hist, f"{title} ({mode} bins)", mode)
        p50, p99 = metrics.histogram_percentiles(hist, [50, 99])
        info.update(f"zero fraction\n{fmt(zero, '.3f')}\n\nskewness\n{fmt(skew, '.2f')}\n\n"
                    f"median\n{fmt(float(p50), '.3g')}\n\np99\n{fmt(float(p99), '.3g')}\n\n"
                    f"[dim]l: {'linear' if self.log_bins else 'log'} bins\n"
                    f"m: {'layer' if self.whole_model else 'model'}[/]")

    def _slot_message(self) -> str:
        slots = self.app.slots
        if not slots:
            return "no models yet"
        slot = slots[self.model_index]
        if slot.error:
            return f"model {slot.label} ({slot.name}) failed:\n{slot.error}"
        if slot.meta is None:
            return f"model {slot.label} ({slot.name}): {slot.status or 'not trained'}"
        return f"model {slot.label} ({slot.name}): waiting for its capture…"

    # -- reactives --------------------------------------------------------------------------

    def watch_model_index(self) -> None:
        self.query_one("#models", ModelsList).move_cursor(row=self.model_index, animate=False)
        self.query_one("#overview", OverviewTable).move_cursor(row=self.model_index,
                                                                animate=False)
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
        if switcher.current == "compare":
            self.query_one("#compare", CompareView).show(self.app.figures)

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
