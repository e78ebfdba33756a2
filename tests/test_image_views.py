"""The top-activating-images and feature-map views: layout, colours, joins and the app's views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fake_workspace import LAYERS, SOURCE, TOPK, make_result, maps_settled
from rich.text import Text

from tlexplorer.capture.result import CaptureResult, TopK
from tlexplorer.topimages import (
    channel_page,
    heat,
    image_prediction,
    predictions,
    top_inputs,
    unit_info,
)
from tlexplorer.tui.app import create_app
from tlexplorer.tui.widgets.images import ImageGrid, fit_tiles, page_capacity, tile_height
from tlexplorer.tui.widgets.inspect import map_tiles

SIZE = (120, 40)


# -- layout ---------------------------------------------------------------------------------

def test_tile_height_counts_half_block_rows_and_caption():
    assert tile_height(20, 1.0, 2) == 10 + 2  # 20×20 pixels → 10 rows
    assert tile_height(9, 1.0, 1) == 5 + 1  # odd pixel rows round up
    assert tile_height(20, 0.5, 0) == 5


def test_fit_tiles_picks_the_largest_tiles_that_show_all():
    # 9 square tiles in 100×40: 3 rows of 3 need 3*(w/2+2) ≤ 40 → w ≤ 22; 3 columns fit 22
    cols, w, shown = fit_tiles(9, 100, 40, max_width=30)
    assert (shown, w) == (9, 22) and cols * (w + 1) - 1 <= 100
    # a wide, short pane takes one row of nine
    cols, w, shown = fit_tiles(9, 200, 12, max_width=30)
    assert (cols, shown) == (9, 9) and w // 2 + 2 <= 12


def test_fit_tiles_shows_as_many_as_fit_when_too_small():
    cols, w, shown = fit_tiles(9, 30, 8, min_width=10, max_width=20)
    assert w == 10 and cols == 2 and shown == 2  # one row of two 10-wide tiles (5 + 2 rows)


def test_page_capacity():
    assert page_capacity(43, 20, 10, caption_lines=1) == 4 * 3  # 4 columns, 3 rows of 6
    assert page_capacity(5, 2, 10) == 1  # never zero


def test_channel_page_clamps():
    assert list(channel_page(10, 0, 4)) == [0, 1, 2, 3]
    assert list(channel_page(10, 2, 4)) == [8, 9]
    assert list(channel_page(10, 7, 4)) == [8, 9]  # past the end: the last page
    assert list(channel_page(10, -1, 4)) == [0, 1, 2, 3]


# -- colours --------------------------------------------------------------------------------

def test_heat_ends_and_clipping():
    rgb = heat(np.array([[0.0, 1.0], [2.0, -1.0]]), vmax=1.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    assert rgb[0, 0].tolist() == [0, 0, 4]  # zero: the ramp's dark end
    assert rgb[0, 1].tolist() == [252, 255, 164]  # vmax: the bright end
    assert rgb[1, 0].tolist() == rgb[0, 1].tolist()  # above vmax clips
    assert rgb[1, 1].tolist() == rgb[0, 0].tolist()  # negative clips to dark
    # half way lies between stops 3 and 4 of 8: (159,42,99)·0.5 + (212,72,66)·0.5
    assert heat(np.array([[0.5]]), 1.0)[0, 0].tolist() == [186, 57, 82]
    assert heat(np.ones((2, 2)), 0.0).tolist() == heat(np.zeros((2, 2)), 1.0).tolist()


def test_map_tiles_share_one_scale_and_mark_dead_channels():
    maps = np.zeros((2, 2, 3))
    maps[..., 0] = 4.0
    maps[0, 0, 1] = 2.0
    tiles, vmax = map_tiles(maps, np.array([False, False, True]), selected=1)
    assert vmax == 4.0
    assert tiles[0].image[0, 0].tolist() == [252, 255, 164]  # the layer's max: brightest
    assert tiles[1].image[0, 0].tolist() == heat(np.array([[0.5]]), 1.0)[0, 0].tolist()
    assert tiles[2].caption == ["2 dead"] and tiles[1].selected and not tiles[0].selected


# -- joining top-k with labels and predictions ----------------------------------------------

def _tiny_result(scores: np.ndarray) -> CaptureResult:
    return CaptureResult("x", "x", layers=[], skipped=[], labels=np.array([0, 1, 1]),
                         scores=scores, class_names=["a", "b"],
                         topk={"L": TopK(np.array([[5.0, 2.0, -np.inf]], np.float32),
                                         np.array([[2, 0, -1]]))})


def test_predictions_sigmoid_and_softmax():
    # one decision rule everywhere: class 1 when P(class 1) > 0.5 (0.5 itself is class 0)
    predicted, confidence = predictions(_tiny_result(np.array([0.2, 0.5, 0.9], np.float32)))
    assert predicted.tolist() == [0, 0, 1]
    assert confidence == pytest.approx([0.8, 0.5, 0.9])
    soft = np.array([[0.7, 0.3], [0.4, 0.6], [0.1, 0.9]])
    predicted, confidence = predictions(_tiny_result(soft))
    assert predicted.tolist() == [0, 1, 1] and confidence == pytest.approx([0.7, 0.6, 0.9])


def test_unit_order_by_index_strength_and_selectivity():
    from tlexplorer.capture.result import LayerStats
    from tlexplorer.topimages import unit_order

    stats = LayerStats(name="L", index=0, kind="conv", layer_class="Conv2D", activation="relu",
                       units=5, positions=4, is_output=False, n_images=10)
    stats.unit_max = np.array([2.0, 0.0, 5.0, 5.0, 1.0], np.float32)  # unit 1 never fired
    stats.unit_fire_count = np.array([9, 0, 3, 7, 3])
    result = CaptureResult("x", "x", layers=[stats], skipped=[], labels=np.zeros(10),
                           scores=np.zeros(10, np.float32), class_names=["a", "b"])
    assert unit_order(result, "L", "index").tolist() == [0, 1, 2, 3, 4]
    assert unit_order(result, "L", "max").tolist() == [2, 3, 0, 4, 1]  # ties: lower index first
    # fewest images first; on equal counts the stronger unit; the dead unit last
    assert unit_order(result, "L", "selective").tolist() == [2, 4, 3, 0, 1]
    with pytest.raises(ValueError, match="unknown unit order"):
        unit_order(result, "L", "random")


def test_top_inputs_skips_empty_slots_and_joins_predictions():
    result = _tiny_result(np.array([0.2, 0.5, 0.1], np.float32))
    tops = top_inputs(result, "L", 0)
    assert [(t.rank, t.index, t.activation) for t in tops] == [(1, 2, 5.0), (2, 0, 2.0)]
    assert (tops[0].label, tops[0].predicted, tops[0].correct) == (1, 0, False)
    assert tops[0].confidence == pytest.approx(0.9)
    assert top_inputs(result, "other", 0) is None  # captured without top-k for that layer
    assert image_prediction(result, 1) == (1, 0, pytest.approx(0.5))  # 0.5 is not > 0.5


def test_top_inputs_keep_the_captured_order_and_unit_info_agrees():
    """The join with labels and predictions; the capture's top-k itself is checked against
    brute force in test_capture."""
    result = make_result(3)
    layer, units, dead = LAYERS[3][1]
    for unit in range(units):
        tops = top_inputs(result, layer, unit)
        fired = result.topk[layer].values[unit] > 0  # ReLU layer: only images it fired on
        assert len(tops) == int(fired.sum()) <= TOPK
        acts = [t.activation for t in tops]
        assert acts == sorted(acts, reverse=True)
        assert [t.index for t in tops] == result.topk[layer].indices[unit][fired].tolist()
        info = unit_info(result, layer, unit)
        assert info.dead == (unit in dead) and info.units == units
        assert info.dead == (not tops)
        if tops:
            assert info.max == pytest.approx(acts[0])


# -- the views in the app -------------------------------------------------------------------

async def _ready(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _settle_images(app, pilot) -> None:
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not app.images_pending and (app.feature_maps_state is not None
                                       or app.screen.current_view != "features"):
            break
    await pilot.pause()


def _grid(app, selector: str) -> ImageGrid:
    return app.screen.query_one(selector, ImageGrid)


async def test_top_images_view_shows_the_units_top_test_images(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("4", "j", "i")  # model 4, layer conv2 (no dead unit)
        await _settle_images(app, pilot)
        grid = _grid(app, "#topk-grid")
        result = app.figures["4"].result
        top = result.topk["conv2"]
        assert grid.shown == TOPK == len(grid.tiles)
        want = top.indices[0].tolist()
        pixels = SOURCE.test_images(want)
        for tile, index, image in zip(grid.tiles, want, pixels, strict=True):
            assert str(tile.caption[0]).startswith(f"#{index} act")
            label, predicted, confidence = image_prediction(result, index)
            names = result.class_names
            assert str(tile.caption[1]).startswith(f"{names[label]}→{names[predicted]}")
            np.testing.assert_array_equal(tile.image, image)  # the test set's own pixels
        assert grid.tiles[0].selected
        await pilot.press("n")
        assert grid.tiles[1].selected and not grid.tiles[0].selected
        await pilot.press("right_square_bracket")
        await _settle_images(app, pilot)
        assert app.screen.unit_index == 1
        assert [str(t.caption[0]).split()[0] for t in grid.tiles] == \
            [f"#{i}" for i in top.indices[1].tolist()]
        await pilot.press("left_square_bracket", "left_square_bracket")  # clamps at unit 0
        assert app.screen.unit_index == 0
        await pilot.press("right_curly_bracket")
        assert app.screen.unit_index == 10
        await pilot.press("right_curly_bracket")
        assert app.screen.unit_index == 15  # conv2 has 16 units
        # s: strongest unit first, then [ ] walk down the maxima
        stats = result.layers[1]
        await pilot.press("s")
        assert app.screen.unit_order == "max"
        assert app.screen.unit_index == int(np.argmax(stats.unit_max))
        await pilot.press("right_square_bracket")
        second = np.argsort(-stats.unit_max.astype(np.float64), kind="stable")[1]
        assert app.screen.unit_index == int(second)
        assert "2 of 16 strongest first" in str(app.screen.query_one("#topk-info").content)
        await pilot.press("s", "s")  # selective, then back to index order
        assert app.screen.unit_order == "index" and app.screen.unit_index == 0


async def test_top_images_view_says_a_dead_unit_fires_on_nothing(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("2", "i")  # model 2, conv1: unit 0 is dead
        await _settle_images(app, pilot)
        grid = _grid(app, "#topk-grid")
        assert grid.tiles == [] and "never fired" in str(grid.message)
        info = app.screen.query_one("#topk-info").content
        assert "dead" in str(info)


async def test_top_images_view_reports_a_changed_test_set(cached_workspace):
    suite_json = cached_workspace / "models" / "synthetic-demo" / "suite.json"
    import json

    info = json.loads(suite_json.read_text())
    info["data"]["counts"] = [40, 20, 30]  # not the test set these models were captured on
    suite_json.write_text(json.dumps(info))
    app = create_app(cached_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("i")
        await _settle_images(app, pilot)
        message = str(_grid(app, "#topk-grid").message)
        assert "test set changed" in message and _grid(app, "#topk-grid").tiles == []


async def test_feature_maps_view_says_why_a_model_cannot_load(cached_workspace):
    app = create_app(cached_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("f")
        await _settle_images(app, pilot)
        message = str(_grid(app, "#fm-grid").message)
        assert "not a .keras file" in message
        assert app.screen.current_view == "features"
        await pilot.press("f")
        assert app.screen.current_view == "model-view"


async def test_grid_lays_out_tiles_with_captions_cut_to_the_tile():
    from textual.app import App

    from tlexplorer.tui.widgets.images import Tile

    class One(App):
        def compose(self):
            yield ImageGrid(min_width=8, max_width=8, caption_lines=1)

    app = One()
    async with app.run_test(size=(30, 12)) as pilot:
        grid = app.query_one(ImageGrid)
        image = np.zeros((8, 8, 3), np.uint8)
        image[:4] = 255  # white top half, black bottom half
        grid.show([Tile(image, [Text("x" * 40)], selected=i == 1) for i in range(5)])
        await pilot.pause()
        grid.layout_now()
        assert grid.shown == 5  # 3 columns of 8 (+1 gap) in 30; 2 rows of 4 + 1 in 12
        lines = [grid.render_line(y) for y in range(10)]
        assert lines[0].text.startswith("▀" * 8 + " " + "▀" * 8)
        assert lines[4].text.startswith("xxxxxxx… xxxxxxx…")
        assert lines[9].text.strip().startswith("xxxxxxx…")
        assert all(strip.cell_length == 30 for strip in lines)
        # colours: row 0-1 white over white, row 2 white over black, row 3 black
        first = lines[0]._segments[0].style
        assert first.color.triplet == (255, 255, 255) and first.bgcolor.triplet == (255, 255, 255)
        assert lines[2]._segments[0].style.bgcolor.triplet == (0, 0, 0)
        assert lines[4]._segments[0].style.reverse is not True  # tile 0 is not selected
        reverse = [seg.style.reverse for seg in lines[4]._segments if "x" in seg.text]
        assert True in reverse  # tile 1's caption is


# -- feature maps in the app, with the model's forward pass replaced (no TensorFlow) ---------

def _fake_maps(channels: dict[str, int]):
    """A stand-in for capture.featuremaps.feature_maps: channel c of image i is filled with
    c + i/1000 (dense layers give (1, 1, C)); records each call."""
    calls = []

    def feature_maps(model, image, layer, probe=None, preprocess="none"):
        calls.append(layer)
        c = channels[layer]
        shape = (1, 1, c) if layer == "dense" else (6, 6, c)
        marker = float(image.mean()) / 1000
        return np.broadcast_to(np.arange(c, dtype=np.float32) + marker, shape).copy()

    feature_maps.calls = calls
    return feature_maps


@pytest.fixture
def fake_forward(monkeypatch):
    fake = _fake_maps({"conv1": 8, "conv2": 64, "dense": 12})
    monkeypatch.setattr("tlexplorer.capture.featuremaps.feature_maps", fake)
    monkeypatch.setattr("tlexplorer.tui.app.ExplorerApp._model_for",
                        lambda self, label: (f"model {label}", None))
    return fake


async def test_feature_maps_view_tiles_dead_captions_and_selection(cached_workspace,
                                                                   fake_forward):
    app = create_app(cached_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("3", "i", "right_square_bracket", "right_square_bracket", "f")
        state = await maps_settled(app, pilot)
        result = app.figures["3"].result
        top = top_inputs(result, "conv1", 2)
        assert state.key.model == "3" and state.key.layer == "conv1"
        assert state.key.image == top[0].index  # the picked top image of unit 2
        np.testing.assert_array_equal(state.image, SOURCE.test_images([top[0].index])[0])
        grid = _grid(app, "#fm-grid")
        assert len(grid.tiles) == 8 and grid.shown == 8
        captions = [t.caption[0] for t in grid.tiles]
        assert captions[:2] == ["0 dead", "1 dead"]  # model 3's conv1 has dead units 0 and 1
        assert captions[2].startswith("2 max") and captions[7].startswith("7 max")
        assert [t.selected for t in grid.tiles] == [i == 2 for i in range(8)]
        # one colour scale per layer: the brightest channel is the last
        assert grid.tiles[7].image[0, 0].tolist() == [252, 255, 164]
        vmax = float(state.maps.max())
        for c in (0, 3):
            want = heat(np.array([[state.maps[0, 0, c]]]), vmax)[0, 0].tolist()
            assert grid.tiles[c].image[0, 0].tolist() == want
        inputs = _grid(app, "#fm-input")
        assert len(inputs.tiles) == 1 and str(inputs.tiles[0].caption[0]).endswith(
            f"#{top[0].index}")


async def test_feature_maps_view_pages_images_and_dense(cached_workspace, fake_forward):
    app = create_app(cached_workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("1", "f")
        await maps_settled(app, pilot)
        first = app.feature_maps_state.key.image
        await pilot.press("n")
        state = await maps_settled(app, pilot)
        assert state.key.image == (first + 1) % 40
        await pilot.press("p", "p")
        state = await maps_settled(app, pilot)
        assert state.key.image == (first - 1) % 40
        await pilot.press("j")  # conv2: 64 channels do not fit 80×24
        await maps_settled(app, pilot)
        grid = _grid(app, "#fm-grid")
        grid.layout_now()
        assert len(grid.tiles) == 64 and grid.pages > 1 and grid.page == 0
        per_page = grid.shown
        await pilot.press("right_square_bracket")
        grid.layout_now()
        assert grid.page == 1 and grid.tiles[per_page] is not None
        for _ in range(grid.pages + 2):
            await pilot.press("right_square_bracket")
        grid.layout_now()
        assert grid.page == grid.pages - 1  # clamps at the last page
        assert grid.shown == 64 - per_page * (grid.pages - 1)
        await pilot.press("j")  # dense: one pixel per unit in one tile
        state = await maps_settled(app, pilot)
        assert state.key.layer == "dense"
        grid.layout_now()
        assert len(grid.tiles) == 1 and grid.tiles[0].image.shape == (1, 12, 3)
        assert grid.tiles[0].caption[0] == "12 units, 12 a row"


async def test_recapture_while_feature_maps_are_shown_keeps_the_app_alive(cached_workspace,
                                                                         fake_forward):
    from fake_workspace import make_result

    from tlexplorer.tui.messages import ModelReady

    app = create_app(cached_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("2", "f")
        state = await maps_settled(app, pilot)
        assert not state.error
        before = app.figures["2"].result
        app.post_message(ModelReady("2", make_result(2), cached=False))  # what `r` ends with
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and app.screen.current_view == "features"
        assert app.figures["2"].result is not before  # a new result object, maps still shown
        assert len(_grid(app, "#fm-grid").tiles) == 8
        assert fake_forward.calls == ["conv1"]  # the same maps: no second forward pass


async def test_a_failed_image_read_does_not_block_other_images(cached_workspace, monkeypatch):
    from tlexplorer.errors import UserError
    from tlexplorer.tui.app import ExplorerApp

    real = ExplorerApp._read_test_images
    failures = []

    def flaky(self, indices):
        if not failures:
            failures.append(indices)
            raise UserError("the data folder is not mounted")
        return real(self, indices)

    monkeypatch.setattr(ExplorerApp, "_read_test_images", flaky)
    app = create_app(cached_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("4", "j", "i")  # conv2 of model 4: no dead unit
        await _settle_images(app, pilot)
        grid = _grid(app, "#topk-grid")
        assert "not mounted" in str(grid.message) and not grid.tiles
        await pilot.press("right_square_bracket")  # other images: tried afresh
        await _settle_images(app, pilot)
        assert len(grid.tiles) == TOPK
        assert len(failures) == 1
        await pilot.press("left_square_bracket")  # back to the unit whose read failed: retried
        await _settle_images(app, pilot)
        assert len(grid.tiles) == TOPK and app.screen.unit_index == 0


def test_top_images_csv_names_files_of_real_data_and_survives_their_loss(tmp_path):
    """top_images.csv maps test_index to the split's files; a missing data folder leaves the
    names out with a reason instead of failing the whole report."""
    import shutil

    from data_fixtures import make_kaggle

    from tlexplorer.data.sources import open_folder
    from tlexplorer.session import Suite, SuiteInfo
    from tlexplorer.workbench import image_files_of

    root = make_kaggle(tmp_path / "train", 6)
    source = open_folder(root, 16, (4, 2, 4))
    suite = Suite(tmp_path, "real-paper", SuiteInfo.from_json({"data": source.to_json()}))
    names, why = image_files_of(suite)
    assert why == "" and names == source.files("test")[0] and len(names) == 4
    assert all(Path(n).is_file() for n in names)
    shutil.rmtree(root)
    names, why = image_files_of(suite)
    assert names is None and "no file names" in why
    synthetic = Suite(tmp_path, "synthetic-demo",
                      SuiteInfo.from_json({"data": SOURCE.to_json()}))
    assert image_files_of(synthetic) == (None, "")


async def test_go_to_a_test_image_by_number(cached_workspace, fake_forward):
    app = create_app(cached_workspace)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("g")
        await pilot.pause()
        from textual.widgets import Input

        field = app.screen.query_one("#goto-input", Input)
        field.value = "40"  # the fake test set has 0 … 39
        await pilot.press("enter")
        await pilot.pause()
        assert "not a test image" in str(app.screen.query_one("#goto-error").content)
        field.value = "17"
        await pilot.press("enter")
        state = await maps_settled(app, pilot)
        assert app.screen.current_view == "features" and state.key.image == 17
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.fm_image == 17 and app.screen.current_view == "features"
