"""Snapshot tests of the explorer's main screen and compare view (fabricated cached workspace).

A snapshot must not depend on the process: plotext used to pick x-tick labels in an order set by
the string hash seed (see ``widgets.spectrum.ordered_xticks``). Run these under a few
``PYTHONHASHSEED`` values after changing a plot.
"""

from __future__ import annotations

import pytest

from tlexplorer.tui.app import create_app


async def _settle(pilot) -> None:
    """Wait until the pipeline is done and every model's result is shown."""
    app = pilot.app
    await app.workers.wait_for_complete()
    for _ in range(200):
        if app.outcome and len(app.figures) == 5:
            break
        await pilot.pause(0.01)
    assert app.outcome == "done" and len(app.figures) == 5
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def _until_tiles(pilot, grid: str) -> None:
    """Wait until the image grid ``grid`` shows tiles (its worker read or computed them)."""
    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if pilot.app.screen.query_one(grid).tiles:
            break
    await _settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_main_screen(snap_compare, cached_workspace, size):
    app = create_app(cached_workspace)
    assert snap_compare(app, terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_compare_view(snap_compare, cached_workspace, size):
    app = create_app(cached_workspace)

    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("c")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


def test_weight_shift_view(snap_compare, cached_workspace):
    app = create_app(cached_workspace)

    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("5", "w")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_top_images_view(snap_compare, cached_workspace, size):
    """Model 4, layer conv2, unit 1: nine synthetic test images in half-block pixels."""
    app = create_app(cached_workspace)

    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("4", "j", "i", "right_square_bracket", "n")
        await _until_tiles(pilot, "#topk-grid")

    assert snap_compare(app, terminal_size=size, run_before=before)


def test_feature_maps_view(snap_compare, cached_workspace, monkeypatch):
    """Model 3, conv1, the top image of unit 2: eight maps (two captioned dead) at 80×24.

    The forward pass is replaced (the fabricated models are not loadable): channel c of the
    map is a left-to-right ramp scaled by c, so the picture is known.
    """
    import numpy as np

    def feature_maps(model, image, layer, probe=None, preprocess="none"):
        ramp = np.linspace(0.0, 1.0, 8, dtype=np.float32)[None, :, None]
        return np.broadcast_to(ramp * np.arange(8, dtype=np.float32), (8, 8, 8)).copy()

    monkeypatch.setattr("tlexplorer.capture.featuremaps.feature_maps", feature_maps)
    monkeypatch.setattr("tlexplorer.tui.app.ExplorerApp._model_for",
                        lambda self, label: (None, None))
    app = create_app(cached_workspace)

    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("3", "i", "right_square_bracket", "right_square_bracket", "f")
        await _until_tiles(pilot, "#fm-grid")

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
