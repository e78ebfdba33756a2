"""Your own models side by side (``tlexplorer A.keras B.keras --data DIR``, ``report …``).

Small models built here: two CNNs of different depth, a fine-tuned copy of the shallow one,
plus models that must be refused with their reason (one that expects grey images, a damaged
file, a missing one). Their numbers are checked against ``analyze`` of each model alone in
its own workspace, and the weight shift against numpy on the saved weights.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import png_bytes, write

from tlexplorer.cli import main
from tlexplorer.modelset import MAX_MODELS, model_labels
from tlexplorer.quiet import import_tensorflow

tf, keras = import_tensorflow()

SIZE = 32


def _cnn(depth: int, name: str, channels: int = 3):
    keras.utils.set_random_seed(depth + 10 * channels)
    inputs = keras.Input((SIZE, SIZE, channels))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for i in range(depth):
        x = keras.layers.Conv2D(4 * (i + 1), 3, activation="relu", name=f"conv{i + 1}")(x)
        x = keras.layers.MaxPooling2D(name=f"pool{i + 1}")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(8, activation="relu", name="fc")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="out")(x)
    return keras.Model(inputs, outputs, name=name)


@pytest.fixture(scope="module")
def model_set(tmp_path_factory):
    """Model files and a two-class folder (with one file that does not decode)."""
    root = tmp_path_factory.mktemp("modelset")
    data = root / "data"
    for c, name in enumerate(("cat", "dog")):
        for i in range(7):
            write(data / name / f"{i}.png", png_bytes(seed=100 * c + i, size=40))
    # skipped by the decoder and listed with the reason; early in the order, so it would shift
    # the names of every later image if it were counted
    write(data / "cat" / "00-empty.png", b"")
    shallow = _cnn(2, "shallow")
    shallow.save(root / "shallow.keras")
    _cnn(3, "deep").save(root / "deep.keras")
    x = np.random.default_rng(0).uniform(0, 255, (16, SIZE, SIZE, 3)).astype("float32")
    shallow.compile(optimizer=keras.optimizers.SGD(0.05), loss="binary_crossentropy")
    shallow.fit(x, (np.arange(16) % 2).astype("float32"), epochs=2, verbose=0)
    shallow.save(root / "shallow_ft.keras")
    _cnn(2, "grey", channels=1).save(root / "grey.keras")
    (root / "broken.keras").write_bytes(b"not a zip archive")
    return root


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_model_labels_are_stems_made_unique():
    paths = [Path("runA/model.keras"), Path("runB/model.keras"), Path("other.keras"),
             Path("runA/model.keras")]
    assert model_labels(paths) == ["runA/model", "runB/model", "other", "runA/model #2"]
    assert model_labels([Path("a.keras")]) == ["a"]


@pytest.fixture(scope="module")
def reported(model_set, tmp_path_factory):
    """``report`` on the three good models and the three bad ones (run once)."""
    out = tmp_path_factory.mktemp("reports")
    names = ["shallow", "deep", "shallow_ft", "grey", "broken", "missing"]
    code = main(["report", *[str(model_set / f"{n}.keras") for n in names],
                 "--data", str(model_set / "data"), "--workspace", str(model_set / "ws"),
                 "--out", str(out), "--batch", "5"])
    return code, out


def test_report_writes_one_row_per_model_and_lists_the_others_with_their_reason(
        model_set, reported, capfd):
    code, out = reported
    assert code == 3  # some models left out
    summary = _rows(out / "summary.csv")
    assert [r["model"] for r in summary] == ["shallow", "deep", "shallow_ft"]
    assert all(r["name"].endswith(".keras") for r in summary)
    layers = {(r["model"], r["layer"]) for r in _rows(out / "layers.csv")}
    assert ("deep", "conv3") in layers and ("shallow", "conv3") not in layers
    # the file that does not decode is listed, and the top images name real files
    assert [r["image"] for r in _rows(out / "skipped_images.csv")] == ["cat/00-empty.png"]
    images = {r["image"] for r in _rows(out / "top_images.csv")}
    assert images and all(Path(i).is_file() and Path(i).name != "00-empty.png" for i in images)
    assert (out / "index.html").is_file() and (out / "figures" / "weight_shift.png").is_file()


def test_unfit_and_unreadable_models_are_named_with_their_reason(model_set, capsys):
    code = main(["report", str(model_set / "shallow.keras"), str(model_set / "grey.keras"),
                 str(model_set / "broken.keras"), str(model_set / "missing.keras"),
                 "--data", str(model_set / "data"), "--workspace", str(model_set / "ws"),
                 "--out", str(model_set / "out-reasons"), "--no-figures"])
    text = " ".join(capsys.readouterr().out.split())
    assert code == 3
    assert "grey: left out: grey: expected a square RGB image input" in text
    assert "broken: left out: cannot load model" in text and "not a .keras file" in text
    assert "missing: left out: file not found" in text


def test_each_models_numbers_are_what_analyze_gives_alone(model_set, reported, tmp_path):
    """Every summary and layers column of each model equals analyze of that model alone, in an
    empty workspace (its own capture, no shared cache)."""
    _, out = reported
    together = {r["model"]: r for r in _rows(out / "summary.csv")}
    layers = _rows(out / "layers.csv")
    for name in ("shallow", "deep", "shallow_ft"):
        alone = tmp_path / name
        assert main(["analyze", str(model_set / f"{name}.keras"), "--data",
                     str(model_set / "data"), "--workspace", str(tmp_path / f"ws-{name}"),
                     "--out", str(alone), "--batch", "5", "--no-figures"]) == 0
        (row,) = _rows(alone / "summary.csv")
        for column, value in row.items():
            if column not in ("model", "name"):
                assert together[name][column] == value, (name, column)
        mine = [{k: v for k, v in r.items() if k != "model"} for r in layers
                if r["model"] == name]
        assert mine == [{k: v for k, v in r.items() if k != "model"}
                        for r in _rows(alone / "layers.csv")]


def test_weight_shift_is_measured_against_the_first_model_on_shared_layers(model_set,
                                                                          reported):
    _, out = reported
    rows = _rows(out / "weight_shift.csv")
    assert {r["reference"] for r in rows} == {"shallow"}
    by = {(r["model"], r["layer"]): r for r in rows}
    # the fine-tuned copy: every layer, by numpy on the saved weights
    tuned = keras.saving.load_model(model_set / "shallow_ft.keras")
    base = keras.saving.load_model(model_set / "shallow.keras")
    for layer in ("conv1", "conv2", "fc", "out"):
        w = np.concatenate([a.ravel() for a in tuned.get_layer(layer).get_weights()])
        w0 = np.concatenate([a.ravel() for a in base.get_layer(layer).get_weights()])
        want = np.linalg.norm(w - w0) / np.linalg.norm(w0)
        got = float(by[("shallow_ft", layer)]["relative_shift"])
        assert math.isclose(got, want, rel_tol=1e-5), layer
    # the deeper CNN: only layers with the same name and weight shapes (conv1 3→4 channels
    # and conv2 4→8 in both, out 8→1 in both; fc's input size differs, shallow has no conv3)
    assert {layer for model, layer in by if model == "deep"} == {"conv1", "conv2", "out"}


@pytest.mark.parametrize(("argv", "message"), [
    (["a.keras", "--demo"], "--demo is an option of the five-model suite"),
    (["a.keras"], "MODEL.keras files need --data DIR"),
    ([f"m{i}.keras" for i in range(MAX_MODELS + 1)] + ["--data", "."],
     f"at most {MAX_MODELS} at once"),
    (["--preprocess", "unit"], "--preprocess reads a model of your own"),
    (["report", "--outputs", "logits", "--demo"], "--outputs reads a model of your own"),
    (["report", "a.keras", "--data", "."], "no images found in"),  # the pipeline: bad folder
    (["a.keras", "report", "--demo"], "model files go after the command"),
    (["report", "a.keras", "--data", "nowhere"], "dataset folder not found"),
])
def test_model_set_usage_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert message in err
    assert "Traceback" not in err


# -- the explorer on your own models -----------------------------------------------------------

async def _until(pilot, condition, timeout: float = 180.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        await pilot.pause(0.05)


async def test_the_explorer_moves_between_compares_and_exports_your_models(model_set, reported,
                                                                          tmp_path):
    from fake_workspace import table_cells

    from tlexplorer.tui.app import create_app

    ws = tmp_path / "ws"
    names = ("shallow", "deep", "shallow_ft", "broken")
    app = create_app(ws, data=model_set / "data",
                     models=[model_set / f"{n}.keras" for n in names], reading={"batch": 5})
    async with app.run_test(size=(140, 40)) as pilot:
        await _until(pilot, lambda: app.outcome != "")
        await pilot.pause()
        assert [s.label for s in app.slots] == list(names)
        assert list(app.figures) == ["shallow", "deep", "shallow_ft"]
        assert "not a .keras file" in app.slots[3].error
        models = table_cells(app.screen.query_one("#models"))
        assert [row[0] for row in models] == list(names) and "error" in models[3]
        screen = app.screen
        await pilot.press("right")
        assert screen.model_index == 1 and screen.figures.result.model_label == "deep"
        # the compare table: the models' own layers, aligned by name
        await pilot.press("x")
        await pilot.pause()
        rows = {row[0]: row[1:] for row in table_cells(screen.query_one("#crosstab"))}
        assert rows["conv3"][0] == "–" and rows["conv3"][1] != "–" and rows["conv3"][2] == "–"
        assert all(v != "–" for v in rows["conv1"])
        # the weight shift, against the first model, then against the fine-tuned copy
        await pilot.press("escape", "w")
        assert {(r.model, r.reference) for r in app.weight_shift} >= {
            ("deep", "shallow"), ("shallow_ft", "shallow")}
        await pilot.press("right", "w")  # model shallow_ft: the reference now
        await _until(pilot, lambda: app.weight_shift is not None
                     and app.shift_reference == "shallow_ft")
        assert {r.model for r in app.weight_shift} == {"shallow", "deep"}
        near = {r.layer: r.relative_shift for r in app.weight_shift if r.model == "shallow"}
        assert set(near) == {"conv1", "conv2", "fc", "out"} and max(near.values()) < 0.1
        # export: the same CSV files as report, with the chosen reference
        await pilot.press("escape", "e")
        await _until(pilot, lambda: (ws / "reports" / "index.html").is_file())
        await app.workers.wait_for_complete()
        summary = _rows(ws / "reports" / "summary.csv")
        assert [r["model"] for r in summary] == ["shallow", "deep", "shallow_ft"]
        assert {r["reference"] for r in _rows(ws / "reports" / "weight_shift.csv")} == {
            "shallow_ft"}
        # the same top images, named by the same files, as report wrote (a file the decoder
        # skipped must not shift the names)
        assert _rows(ws / "reports" / "top_images.csv") == _rows(reported[1] / "top_images.csv")
        assert [r["image"] for r in _rows(ws / "reports" / "skipped_images.csv")] == [
            "cat/00-empty.png"]
        # top images name the picked file
        await pilot.press("i", "n")
        await _until(pilot, lambda: not app.images_pending)
        await pilot.pause()
        info = str(screen.query_one("#inputs").query_one("Static").render())
        assert "picked: #" in info and (".png" in info)


def test_help_tells_how_to_give_your_own_models(capsys):
    for argv in (["--help"], ["report", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
    text = capsys.readouterr().out
    assert "usage: tlexplorer [MODEL.keras ...] [--data DIR | --demo]" in text
    assert "tlexplorer A.keras B.keras … --data DIR" in text
    assert "usage: tlexplorer report [-h]" in text  # not the explorer's usage glued in front
    assert "your own models instead of the five" in text
