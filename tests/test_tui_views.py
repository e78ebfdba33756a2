"""Pilot tests of the explorer's key map, views and layout (fabricated workspaces, no TensorFlow).

One test or more per item of the explorer's part of the issue "One pipeline…": the key map
defined once, full-screen views that leave the main selection alone, Esc and the views' back
stack, the chosen test image, the overview's sideways scroll, titles that shorten, per-model
column widths, scroll hints, the footer, screenshots, the status line and waiting messages, and
names from data shown literally.
"""

from __future__ import annotations

import io
from pathlib import Path

import fake_workspace
import numpy as np
import pytest
from fake_workspace import make_cached_workspace, maps_settled, table_cells
from rich.console import Console

from tlexplorer.topimages import top_inputs
from tlexplorer.tui.app import create_app
from tlexplorer.tui.messages import ProgressState
from tlexplorer.tui.screens.main import MainScreen

VGG = [f"block{b}_conv{c}" for b, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
       for c in range(1, n + 1)] + ["dense"]  # 14 hidden layers, as in the real VGG16 models


async def _ready(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


def _screen_lines(app) -> list[str]:
    """The screen as plain text, one string per row."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()


def _region_text(app, widget) -> list[str]:
    """The rows of the screen that ``widget`` covers, cut to its columns."""
    region = widget.region
    lines = _screen_lines(app)
    return [line[region.x:region.right] for line in lines[region.y:region.bottom]]


def _workspace(tmp_path, monkeypatch, layers: dict[int, list[tuple[str, int, list[int]]]]):
    """The fake cached workspace with other hidden layers for some models."""
    for rid, rows in layers.items():
        monkeypatch.setitem(fake_workspace.LAYERS, rid, rows)
    return make_cached_workspace(tmp_path)


def _vgg_layers() -> list[tuple[str, int, list[int]]]:
    return [(name, 8, [0] if i % 3 == 0 else []) for i, name in enumerate(VGG)]


@pytest.fixture
def fake_forward(monkeypatch):
    """Feature maps without TensorFlow: the models are not loaded, maps are made up."""
    def feature_maps(model, image, layer, probe=None, preprocess="none"):
        return np.ones((4, 4, 8), np.float32) * float(np.mean(image)) / 255

    monkeypatch.setattr("tlexplorer.capture.featuremaps.feature_maps", feature_maps)
    monkeypatch.setattr("tlexplorer.tui.app.ExplorerApp._model_for",
                        lambda self, label: (None, None))


# -- 1. the key map, defined once ------------------------------------------------------------

def test_bindings_help_and_palette_are_made_from_one_key_map():
    from tlexplorer.tui.commands import KEYS, expand
    from tlexplorer.tui.screens.help import help_text

    bound = {(b.key, b.action) for b in MainScreen.BINDINGS}
    text = help_text()
    for row in KEYS:
        if not row.textual:
            for keys, action, _, _ in expand(row):
                assert (keys, action) in bound, row
        assert row.description.split("{")[0] in text, row
    # m (whole-model spectrum) was missing from the help and the palette
    assert ("m", "toggle_scope") in bound and "whole model" in text
    names = [b.action for b in MainScreen.BINDINGS]
    assert len(names) == len(set(names))  # one binding per action


async def _palette_hits(app, query: str) -> list[tuple[str, str]]:
    from tlexplorer.tui.commands import ExplorerCommands

    provider = ExplorerCommands(app.screen)
    return [(str(hit.text), str(hit.help)) async for hit in provider.search(query)]


async def test_palette_finds_actions_by_their_description(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        names = [name for name, _ in await _palette_hits(app, "spectrum")]
        assert "layer/model spectrum" in names and "log/linear bins" in names
        assert "cycle τ" in [name for name, _ in await _palette_hits(app, "tau")]
        # through the palette itself: "tau" then Enter cycles τ, and "whole model" runs m
        tau = app.tau
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"tau")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.tau != tau and app.screen.current_view == "model-view"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"whole model")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.whole_model


async def test_help_screen_lists_every_key(cached_workspace):
    from textual.widgets import Markdown

    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        source = app.screen.query_one(Markdown).source
        assert "| `m` |" in source and "| `Esc` |" in source and "| `g` |" in source


# -- 2. full-screen views leave the hidden selection alone -----------------------------------

@pytest.mark.parametrize("view", ["c", "a", "x"])
async def test_keys_in_full_screen_views_do_not_move_the_hidden_selection(cached_workspace,
                                                                         view):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        await pilot.press(view)
        await pilot.press("down", "j", "right", "3", "up", "left", "k")
        await pilot.pause()
        assert (screen.model_index, screen.layer_index) == (0, 0)
        await pilot.press("escape")
        assert screen.current_view == "model-view"
        assert (screen.model_index, screen.layer_index) == (0, 0)


async def test_overview_moves_the_model_only_visibly(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        await pilot.press("o", "j", "j", "right")
        await pilot.pause()
        assert screen.layer_index == 0 and screen.model_index == 0
        await pilot.press("down")  # the overview's own cursor: its highlighted row is the model
        await pilot.pause()
        overview = screen.query_one("#overview")
        assert screen.model_index == 1 == overview.cursor_row


async def test_weight_shift_view_keeps_the_layer(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        await pilot.press("w", "down", "down")
        await pilot.pause()
        assert app.screen.layer_index == 0
        await pilot.press("right")  # the model is in the view's title: it may change
        assert app.screen.model_index == 1
        assert "model 2" in str(app.screen.query_one("#shift").border_title)


# -- 3. Esc and the back stack ---------------------------------------------------------------

@pytest.mark.parametrize("key", ["c", "o", "w", "a", "i", "f", "x", "d"])
async def test_escape_leaves_every_view(cached_workspace, fake_forward, key):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        await pilot.press(key)
        assert app.screen.current_view != "model-view"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.current_view == "model-view"
        assert app.screen.focused is app.screen.query_one("#layers")


async def test_views_go_back_to_the_view_they_were_opened_from(cached_workspace, fake_forward):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        await pilot.press("i", "f")
        assert screen.current_view == "features"
        await pilot.press("escape")
        assert screen.current_view == "inputs"
        await pilot.press("f", "f")  # a view's own key goes back too
        assert screen.current_view == "inputs"
        await pilot.press("c", "o")
        await pilot.press("escape")
        assert screen.current_view == "compare"
        await pilot.press("escape", "escape", "escape")
        assert screen.current_view == "model-view"


# -- 4. the chosen test image ----------------------------------------------------------------

async def test_chosen_top_image_survives_a_model_change(cached_workspace, fake_forward):
    app = create_app(cached_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        # model 4, conv2, unit 1: pick the third image
        await pilot.press("4", "j", "i", "right_square_bracket", "n", "n")
        await maps_settled(app, pilot)
        picked = top_inputs(app.figures["4"].result, "conv2", 1)[2].index
        other = top_inputs(app.figures["5"].result, "conv2", 1)
        assert other[2].index != picked  # else this test would prove nothing
        await pilot.press("right")  # model 5
        await pilot.pause()
        grid = app.screen.query_one("#topk-grid")
        want = [t.index == picked for t in other]
        assert [t.selected for t in grid.tiles] == want if grid.tiles else True
        await pilot.press("f")
        state = await maps_settled(app, pilot)
        assert state.key.model == "5" and state.key.image == picked


async def test_go_to_image_survives_a_model_change(cached_workspace, fake_forward):
    from textual.widgets import Input

    app = create_app(cached_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("g")
        await pilot.pause()
        app.screen.query_one("#goto-input", Input).value = "17"
        await pilot.press("enter")
        state = await maps_settled(app, pilot)
        assert state.key.image == 17
        await pilot.press("right")
        state = await maps_settled(app, pilot)
        assert (state.key.model, state.key.image) == ("2", 17)
        await pilot.press("f", "left", "f")  # back to the main view, model 1, feature maps
        assert top_inputs(app.figures["1"].result, "conv1", 0)[0].index != 17
        state = await maps_settled(app, pilot)
        assert (state.key.model, state.key.image) == ("1", 17)


async def test_feature_maps_without_a_chosen_image_show_test_image_0(cached_workspace,
                                                                     fake_forward):
    """What the README says: "else test image 0"."""
    app = create_app(cached_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        assert top_inputs(app.figures["1"].result, "conv1", 0)[0].index != 0
        await pilot.press("f")
        state = await maps_settled(app, pilot)
        assert state.key.image == 0
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "else test image 0" in readme


# -- 5. the overview scrolls sideways --------------------------------------------------------

async def test_overview_scrolls_sideways_at_80_columns(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        table = app.screen.query_one("#overview")
        assert table.max_scroll_x > 0 and table.show_horizontal_scrollbar
        assert "range CV" not in "\n".join(_region_text(app, table))
        for _ in range(6):
            await pilot.press("right")
        await pilot.pause()
        assert table.scroll_x == table.max_scroll_x
        assert "range CV" in "\n".join(_region_text(app, table))
        assert app.screen.model_index == 0
        for _ in range(6):
            await pilot.press("left")
        await pilot.pause()
        assert table.scroll_x == 0


# -- 6. titles shorten, never vanish ---------------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_spectrum_title_is_shortened_not_dropped(tmp_path, monkeypatch, size):
    ws = _workspace(tmp_path, monkeypatch, {3: _vgg_layers()})
    app = create_app(ws)
    async with app.run_test(size=size) as pilot:
        await _ready(app, pilot)
        await pilot.press("3", "m", "l")
        await pilot.pause()
        text = "\n".join(_region_text(app, app.screen.query_one("#spectrum")))
        assert "model 3" in text
        await pilot.press("m", *["j"] * 12)  # back to one layer: a long name
        await pilot.pause()
        text = "\n".join(_region_text(app, app.screen.query_one("#spectrum")))
        assert "block5_conv" in text


@pytest.mark.parametrize("width", [80, 90, 100])
async def test_compare_titles_all_shown(cached_workspace, width):
    app = create_app(cached_workspace)
    async with app.run_test(size=(width, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        for plot, word in (("#compare-nnu", "NNU"), ("#compare-spectrum", "spectrum"),
                           ("#compare-range", "max")):
            top = _region_text(app, app.screen.query_one(plot))[0]
            assert word in top, (plot, top)


# -- 7. the layers pane's columns follow the model -------------------------------------------

async def test_layer_columns_are_sized_per_model(tmp_path, monkeypatch):
    long = [(f"{name}_with_a_long_name", 8, []) for name in VGG[:3]]
    ws = _workspace(tmp_path, monkeypatch, {3: long})
    app = create_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        layers = app.screen.query_one("#layers")
        assert "max" in _region_text(app, layers)[1]
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        assert "max" in _region_text(app, layers)[1]


# -- 8. more than fits: a hint, and a way there ----------------------------------------------

async def test_bars_say_how_many_layers_are_out_of_sight(tmp_path, monkeypatch):
    ws = _workspace(tmp_path, monkeypatch, {3: _vgg_layers()})
    app = create_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        for pane in ("#nnu", "#range"):
            text = "\n".join(_region_text(app, app.screen.query_one(pane)))
            assert "block1_conv1" in text and "↓" in text and "more" in text
            assert "dense" not in text
        for _ in range(len(VGG) - 1):
            await pilot.press("j")
        await pilot.pause()
        for pane in ("#nnu", "#range"):
            text = "\n".join(_region_text(app, app.screen.query_one(pane)))
            assert "dense" in text and "↑" in text and "more" in text


async def test_layers_table_shows_a_scrollbar_when_cut(tmp_path, monkeypatch):
    ws = _workspace(tmp_path, monkeypatch, {3: _vgg_layers()})
    app = create_app(ws)
    async with app.run_test(size=(100, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        layers = app.screen.query_one("#layers")
        assert layers.max_scroll_y > 0 and layers.show_vertical_scrollbar
        for _ in range(len(VGG) - 1):
            await pilot.press("j")
        await pilot.pause()
        assert "dense" in "\n".join(_region_text(app, layers))


async def test_spectrum_figures_fit_at_80_by_24(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        text = "\n".join(_region_text(app, app.screen.query_one("#spectrum-info")))
        for word in ("zero", "skew", "p50", "p99", "l:", "m:", "y:"):
            assert word in text


# -- 9. the footer ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
@pytest.mark.parametrize("keys", [(), ("i",), ("c",), ("w",)])
async def test_footer_keys_are_never_cut_or_covered(cached_workspace, fake_forward, size, keys):
    from textual.widgets._footer import FooterKey

    app = create_app(cached_workspace)
    async with app.run_test(size=size) as pilot:
        await _ready(app, pilot)
        await pilot.press(*keys)
        await pilot.pause()
        footer = _screen_lines(app)[-1]
        keys_shown = list(app.screen.query(FooterKey))
        palette = [k for k in keys_shown if k.has_class("-command-palette")]
        assert len(palette) == 1
        assert footer.rstrip().endswith("^p palette")
        for key in keys_shown:
            if key is not palette[0]:
                assert key.region.right <= palette[0].region.x, key.description
                assert key.description in footer


# -- 10. screenshots -------------------------------------------------------------------------

async def test_screenshot_goes_to_the_workspace(cached_workspace, monkeypatch, tmp_path):
    home = tmp_path / "home"  # no Downloads folder, as for root or an SSH account
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.5)
        await pilot.pause()
        shots = list((cached_workspace / "reports" / "screens").glob("*.svg"))
        assert len(shots) == 1 and shots[0].read_text().startswith("<svg")
        messages = [n.message for n in app._notifications]
        assert any(str(shots[0]) in m for m in messages), messages


# -- 11. the status line, and what a view waits for ------------------------------------------

async def test_status_line_keeps_the_accuracy_at_100_columns(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        panel = app.screen.query_one("#progress")
        panel.show(ProgressState("5", "fine-tuning epoch 12/20", 1234, 2000,
                                 {"loss": 0.1234, "accuracy": 0.853}))
        await pilot.pause()
        await pilot.pause()
        line = _screen_lines(app)[-2]
        assert "acc 85.3%" in line and "model 5" in line and "62%" in line, line
    app = create_app(cached_workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        app.screen.query_one("#progress").show(ProgressState(
            "5", "fine-tuning epoch 12/20", 1234, 2000, {"loss": 0.1234, "accuracy": 0.853}))
        await pilot.pause()
        await pilot.pause()
        assert "acc 85.3%" in _screen_lines(app)[-2]


def _forget_results(app, slots: bool) -> None:
    """Put the app back to before any result (or before any model, ``slots``): what the
    views show while the suite is opened, trained or captured."""
    app.figures = {}
    app.weight_shift = None
    for slot in app.slots:
        slot.result = None
    if slots:
        app.slots = []
    app.screen.refresh_models()


async def test_views_say_what_they_wait_for(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        _forget_results(app, slots=True)
        await pilot.press("w")
        table = app.screen.query_one("#shift")
        assert "model :" not in str(table.border_title)
        assert "waiting" in str(table.border_subtitle)
        await pilot.press("i")
        view = app.screen.query_one("#inputs")
        assert "top-activating" in str(view.border_title)
        assert "waiting for the models" in str(app.screen.query_one("#topk-grid").message)
        await pilot.press("f")
        assert "waiting for the models" in str(app.screen.query_one("#fm-grid").message)


async def test_top_images_say_they_wait_for_the_capture(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        _forget_results(app, slots=False)
        await pilot.press("i")
        message = str(app.screen.query_one("#topk-grid").message)
        assert "waiting for the capture of model 1" in message
        assert "waiting for the capture" in "\n".join(
            _region_text(app, app.screen.query_one("#inputs")))


# -- names from data are shown as they are, never as markup ----------------------------------

async def test_names_from_data_are_not_markup(tmp_path, monkeypatch, fake_forward):
    weird = "[bold]x"
    ws = _workspace(tmp_path, monkeypatch, {1: [(weird, 8, []), ("conv2", 16, [0]),
                                                ("dense", 12, [3])]})
    app = create_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        assert weird in "\n".join(_region_text(app, screen.query_one("#layers")))
        assert weird in "\n".join(_region_text(app, screen.query_one("#spectrum")))
        assert weird in "\n".join(_region_text(app, screen.query_one("#nnu")))
        await pilot.press("i")
        await pilot.pause()
        assert weird in _region_text(app, screen.query_one("#inputs"))[0]
        await pilot.press("f")
        await maps_settled(app, pilot)
        await pilot.pause()
        assert weird in _region_text(app, screen.query_one("#features"))[0]
        assert weird in "\n".join(_region_text(app, screen.query_one("#fm-info")))
        await pilot.press("escape", "escape")
        failure = "cannot read [red]it[/red] at [b]"  # a model's error, as a failed load gives
        app.slots[2].error = failure
        app.figures.pop("3")
        screen.refresh_models()
        await pilot.press("3")
        await pilot.pause()
        message = "\n".join(_region_text(app, screen.query_one("#model-message")))
        assert failure in message.replace("│", "").replace("\n", "").replace("  ", " "), message


# -- issue 14, part 4: what a researcher expects from the explorer tables --------------------

def _headers(table) -> list[str]:
    return [str(column.label) for column in table.ordered_columns]


def test_table_helpers_by_hand():
    from tlexplorer.tui.figures import (
        aligned_layers,
        count_label,
        index_ranges,
        log_count_ticks,
        mass_ticks,
        sort_order,
        value_label,
    )

    nan = float("nan")
    assert sort_order([3.0, None, 1.0, nan, 3.0, 2.0]) == [2, 5, 0, 4, 1, 3]
    assert sort_order([3.0, None, 1.0, nan, 3.0, 2.0], descending=True) == [0, 4, 5, 2, 1, 3]
    assert aligned_layers([["a", "b", "c"], ["a", "x", "c", "d"]]) == ["a", "x", "b", "c", "d"]
    assert index_ranges([8, 0, 1, 2, 5, 7]) == "0–2, 5, 7, 8"
    assert [count_label(c) for c in (0, 950, 1500, 12850496, 3.4e9)] == \
        ["0", "950", "1.5k", "12.9M", "3.4G"]
    assert [value_label(v) for v in (0.0, 2.0**-8, 2.0**-20, 150000.0)] == \
        ["0", "0.00391", "9.54e-7", "1.5e5"]
    assert log_count_ticks(12850496, most=5) == [0, 10, 1000, 100000, 10000000]
    # the heaviest bars get their labels first, never closer than the gap, then the ends
    assert mass_ticks([0, 5, 100, 50, 3, 0, 0, 1], gap=2) == [0, 2, 4, 7]


async def test_sorting_layers_keeps_the_selected_layer_under_the_cursor(cached_workspace):
    """Model 4's layers sorted by NNU % (37.5, 0, 33.3): the order, the ▲/▼ in the header,
    and j/k, the spectrum and the bars following the layer under the cursor."""
    from tlexplorer.tui.widgets.tables import LayersTable

    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        await pilot.press("4")
        layers = screen.query_one("#layers", LayersTable)
        names = [name for name, _, _ in fake_workspace.LAYERS[4]]
        nnu = [100 * len(dead) / units for _, units, dead in fake_workspace.LAYERS[4]]
        by_nnu = [names[i] for i in sorted(range(3), key=lambda i: nnu[i])]
        assert by_nnu == ["conv2", "dense", "conv1"]
        await pilot.press("s", "s", "s", "s")  # layer, units, dead, NNU %
        await pilot.pause()
        assert _headers(layers)[3] == "NNU % ▲"
        assert [row[0] for row in table_cells(layers)] == by_nnu
        assert screen.layer_index == 0 and layers.cursor_row == 2  # conv1 still selected
        await pilot.press("S")
        await pilot.pause()
        assert _headers(layers)[3] == "NNU % ▼"
        assert [row[0] for row in table_cells(layers)] == by_nnu[::-1]
        assert layers.cursor_row == 0
        await pilot.press("j")  # one row down: dense, not the next layer by depth
        await pilot.pause()
        assert names[screen.layer_index] == "dense" and layers.cursor_row == 1
        assert "dense" in "\n".join(_region_text(app, screen.query_one("#spectrum")))
        assert str(layers.get_row_at(layers.cursor_row)[0]) == "dense"
        # a click on the header of "max" sorts by it
        x = 1 + sum(c.get_render_width(layers) for c in layers.ordered_columns[:5]) + 2
        await pilot.click(layers, offset=(x, 1))
        await pilot.pause()
        assert _headers(layers)[5] == "max ▲" and _headers(layers)[3] == "NNU %"
        maxima = [float(row[5]) for row in table_cells(layers)]
        assert maxima == sorted(maxima)
        assert names[screen.layer_index] == "dense"  # the selection stays
        assert str(layers.get_row_at(layers.cursor_row)[0]) == "dense"
        await pilot.press(*"sss")  # mean, zero, then past the last column: depth order
        await pilot.pause()
        assert [row[0] for row in table_cells(layers)] == names
        assert "▲" not in "".join(_headers(layers)) and "▼" not in "".join(_headers(layers))


async def test_sorting_models_maps_the_cursor_to_the_model(cached_workspace):
    from tlexplorer.tui.widgets.tables import LayersTable, ModelsList

    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        models = screen.query_one("#models", ModelsList)
        models.focus()
        await pilot.press("s", "s", "s", "S")  # id, model, acc %; then reversed
        await pilot.pause()
        assert _headers(models)[2] == "acc % ▼"
        by_acc = sorted(fake_workspace.ACCURACY, key=lambda rid: -fake_workspace.ACCURACY[rid])
        assert [int(row[0]) for row in table_cells(models)] == by_acc
        assert screen.model_index == 0 and models.cursor_row == 4  # model 1, at the bottom
        await pilot.press("3")
        await pilot.pause()
        assert models.cursor_row == by_acc.index(3)
        await pilot.press("right")  # one row down: model 2 (less accurate), not model 4
        await pilot.pause()
        assert app.slots[screen.model_index].label == "2"
        assert str(models.get_row_at(models.cursor_row)[0]) == "2"
        # the other panes follow the model under the cursor
        layers = screen.query_one("#layers", LayersTable)
        assert [int(row[2]) for row in table_cells(layers)] == fake_workspace.DEAD_UNITS[2]
        await pilot.press("s")  # NNU %, still descending: missing values would go last
        await pilot.pause()
        nnu = {label: fig.summary.nnu_pct for label, fig in app.figures.items()}
        shown = [row[0] for row in table_cells(models)]
        assert [nnu[label] for label in shown] == sorted(nnu.values(), reverse=True)
        assert str(models.get_row_at(models.cursor_row)[0]) == "2"


async def test_compare_table_aligns_layers_by_name(tmp_path, monkeypatch):
    """x: NNU % per layer and model (m: dormant %, max activation); model 2 has a layer the
    others lack and lacks conv2; a layer without a zero floor shows n/a."""
    from tlexplorer import metrics
    from tlexplorer.tui.figures import ModelFigures

    ws = _workspace(tmp_path, monkeypatch, {2: [("conv1", 8, [0]), ("extra", 4, [1]),
                                                ("dense", 12, [])]})
    app = create_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        result3 = app.figures["3"].result
        result3.layers[1].zero_floor = False  # conv2 of model 3: as if it were tanh
        app.figures["3"] = ModelFigures(result3, app.tau)
        await pilot.press("x")
        await pilot.pause()
        table = app.screen.query_one("#crosstab")
        assert app.screen.focused is table
        labels = sorted(app.figures)
        assert _headers(table) == ["layer"] + [f"model {label}" for label in labels]
        rows = table_cells(table)
        assert [row[0] for row in rows] == ["conv1", "extra", "conv2", "dense"]
        assert "NNU %" in str(table.border_title)
        expected = {
            "nnu": lambda stats, r: (f"{metrics.layer_nnu_pct(stats, r.epsilon):.1f}"
                                     if metrics.nnu_defined(stats) else "n/a"),
            "dormant": lambda stats, r: f"{metrics.layer_dormant_pct(stats, app.tau):.1f}",
            "max": lambda stats, r: format(metrics.layer_max(stats), ".3g"),
        }
        for metric, value in expected.items():
            rows = table_cells(table)
            for row in rows:
                for label, shown in zip(labels, row[1:], strict=True):
                    result = app.figures[label].result
                    stats = {s.name: s for s in result.hidden_layers}.get(row[0])
                    assert shown == ("–" if stats is None else value(stats, result)), \
                        (metric, row[0], label)
            await pilot.press("m")
            await pilot.pause()
        assert table_cells(table)[2][3] == "n/a"  # conv2, model 3
        assert table_cells(table)[1][1] == "–"  # extra, model 1
        assert "NNU %" in str(table.border_title)  # m went round: NNU again


async def test_dead_units_are_listed_and_jumped_to(cached_workspace):
    """Model 5: conv1's dead units 0–3, conv2's 0 and 5; < > jump between them, wrapping."""
    from tlexplorer.tui.figures import index_ranges

    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        await pilot.press("5", "i")
        await pilot.pause()
        info = str(screen.query_one("#topk-info").content)
        _, units, dead = fake_workspace.LAYERS[5][0]
        assert f"dead units ({len(dead)} of {units}): {index_ranges(dead)}" in info
        assert index_ranges(dead) == "0–3"
        await pilot.press("j")  # conv2
        await pilot.pause()
        _, units, dead = fake_workspace.LAYERS[5][1]
        assert dead == [0, 5]
        assert f"dead units (2 of {units}): 0, 5" in str(screen.query_one("#topk-info").content)
        seen = []
        for key in ("greater_than_sign", "greater_than_sign", "less_than_sign"):
            await pilot.press(key)
            await pilot.pause()
            seen.append(screen.unit_index)
        assert seen == [5, 0, 5]
        assert "unit 5 of 16" in str(screen.query_one("#inputs").border_title)
        assert "never fired" in str(screen.query_one("#topk-grid").message)
        await pilot.press("escape", "4", "i")  # model 4's conv2 has no dead units
        await pilot.pause()
        assert "dead units: none of 16" in str(screen.query_one("#topk-info").content)
        unit = screen.unit_index
        await pilot.press("greater_than_sign")
        assert screen.unit_index == unit
        assert any("no dead units" in n.message for n in app._notifications)


def _with_history(ws, models: tuple[int, ...]) -> dict:
    """Give models a training history in their metadata, as `tlexplorer train` writes it."""
    import json

    history = {"loss": [0.69, 0.52, 0.41], "accuracy": [0.5, 0.72, 0.81],
               "val_loss": [0.7, 0.6, 0.58], "val_accuracy": [0.5, 0.66, 0.7]}
    for path in (ws / "models" / fake_workspace.SUITE).glob("*.json"):
        if path.name[0].isdigit() and int(path.name[0]) in models:
            meta = json.loads(path.read_text())
            meta["history"] = history
            path.write_text(json.dumps(meta))
    return history


async def test_model_details_confusion_matrix_and_training_curves(cached_workspace):
    ws = cached_workspace
    history = _with_history(ws, (1, 2, 3, 4))
    app = create_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        await pilot.press("d")
        await pilot.pause()
        # model 1 gets the first 70 % of the test images right (fake_workspace.make_result)
        n = fake_workspace.N_IMAGES
        right = round(fake_workspace.ACCURACY[1] * n)
        counts = [[0, 0], [0, 0]]
        for i in range(n):
            label = i % 2
            counts[label][label if i < right else 1 - label] += 1
        table = screen.query_one("#confusion")
        rows = table_cells(table)
        names = fake_workspace.CLASS_NAMES
        assert [row[0] for row in rows] == names
        assert _headers(table)[1:3] == names
        for c, row in enumerate(rows):
            assert [int(v) for v in row[1:3]] == counts[c]
            assert int(row[3]) == sum(counts[c])
            assert row[4] == f"{100 * counts[c][c] / sum(counts[c]):.1f}"
        assert f"accuracy {100 * right / n:.1f} %" in str(screen.query_one("#confusion-info")
                                                             .content)
        loss = screen.query_one("#curve-loss")
        assert loss.display and not screen.query_one("#curves-message").display
        series = dict(zip(loss.plt.monitor.label, loss.plt.monitor.y, strict=True))
        assert series == {"train": history["loss"], "validation": history["val_loss"]}
        accuracy = screen.query_one("#curve-accuracy").plt.monitor
        assert dict(zip(accuracy.label, accuracy.y, strict=True)) == {
            "train": history["accuracy"], "validation": history["val_accuracy"]}
        assert "model 1" in str(screen.query_one("#details").border_title)
        await pilot.press("5")  # no history recorded: it says so
        await pilot.pause()
        message = screen.query_one("#curves-message")
        assert message.display and "no training history" in str(message.content)
        assert not screen.query_one("#curve-loss").display
        assert int(table_cells(table)[0][1]) == 18  # model 5: 90 % right, 20 per class


async def test_spectrum_counts_log_scale_and_ticks_where_the_mass_is(cached_workspace):
    from tlexplorer.tui.figures import count_label, log_count

    app = create_app(cached_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        await pilot.press("m")  # the whole model: the most values
        await pilot.pause()
        plot = screen.query_one("#spectrum")
        _region_text(app, plot)  # rendered
        monitor = plot.plt.monitor
        heights = [bar[1] for bar in monitor.y]
        heaviest = heights.index(max(heights))
        assert heaviest in monitor.xticks[0]  # the heaviest bar has its label
        assert all(label == count_label(float(t)) and "." not in label
                   for t, label in zip(monitor.yticks[0], monitor.ylabels[0], strict=True))
        assert not screen.log_counts
        await pilot.press("y")
        await pilot.pause()
        assert screen.log_counts
        monitor = plot.plt.monitor
        log_heights = [bar[1] for bar in monitor.y]
        assert log_heights == pytest.approx([log_count(h) for h in heights])
        assert monitor.ylabels[0][:3] == ["0", "1", "10"]
        assert "y: lin" in "\n".join(_region_text(app, screen.query_one("#spectrum-info")))
