"""End to end through the command line: train the smoke suite, report, cache, bad input."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tlexplorer.cache import CACHE_FORMAT, CacheError, load_result, save_result
from tlexplorer.cli import main
from tlexplorer.fsio import read_json
from tlexplorer.report import (
    LAYER_COLUMNS,
    SPECTRUM_COLUMNS,
    SUMMARY_COLUMNS,
    TOP_IMAGES_COLUMNS,
)
from tlexplorer.zoo import RECIPES

SUITE = "synthetic-smoke"


@pytest.fixture(scope="module")
def smoke_ws(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("ws")
    assert main(["train", "--demo", "--preset", "smoke", "--workspace", str(ws)]) == 0
    return ws


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_train_writes_five_models_with_metadata(smoke_ws):
    suite = smoke_ws / "models" / SUITE
    assert (suite / "0-base.keras").is_file()
    for rid, recipe in RECIPES.items():
        meta = read_json(suite / f"{recipe.stem}.json")
        assert (suite / f"{recipe.stem}.keras").is_file()
        assert meta["id"] == rid and meta["preset"] == "smoke" and meta["demo"] is True
        assert meta["epochs_run"] == 1 and len(meta["history"]["loss"]) == 1
        assert 0.0 <= meta["test_accuracy"] <= 1.0
        assert meta["data"]["fingerprint"] and meta["tlexplorer_version"]
        assert meta["recipe"]["preprocessing"] == "rescale_1_255"
    info = read_json(suite / "suite.json")
    assert info["data"]["kind"] == "synthetic"
    assert not list(suite.glob(".*tmp*")), "no temp files left behind"


def test_second_train_skips_and_damaged_model_is_retrained(smoke_ws, capsys):
    suite = smoke_ws / "models" / SUITE
    before = {p.name: p.stat().st_mtime_ns for p in suite.glob("*.keras")}
    (suite / "2-cnn-aug.keras").write_bytes(b"not a keras file")
    assert main(["train", "--demo", "--preset", "smoke", "--workspace", str(smoke_ws),
                 "--models", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "model 1: already trained, skipped" in out
    assert "retraining model 2" in out
    after = {p.name: p.stat().st_mtime_ns for p in suite.glob("*.keras")}
    assert after["1-cnn.keras"] == before["1-cnn.keras"]
    assert after["2-cnn-aug.keras"] != before["2-cnn-aug.keras"]


def test_report_csv_contract_and_cache(smoke_ws, capsys):
    out = smoke_ws / "reports"
    assert main(["report", "--no-figures", "--workspace", str(smoke_ws)]) == 0
    first = {p.name: p.read_bytes() for p in out.glob("*.csv")}
    summary = _rows(out / "summary.csv")
    layers = _rows(out / "layers.csv")
    assert list(summary[0])[: len(SUMMARY_COLUMNS) - 2] == SUMMARY_COLUMNS[:-2]
    assert list(layers[0])[: 12] == LAYER_COLUMNS[:12]
    assert list(_rows(out / "spectrum.csv")[0]) == SPECTRUM_COLUMNS
    assert [r["model"] for r in summary] == ["1", "2", "3", "4", "5"]
    for row in summary:
        for col in ("accuracy", "precision", "recall", "f1", "roc_auc", "zero_fraction"):
            if row[col]:
                assert 0.0 <= float(row[col]) <= 1.0, (col, row[col])
        mine = [r for r in layers if r["model"] == row["model"]]
        assert int(row["units"]) == sum(int(r["units"]) for r in mine)
        assert int(row["dead_units"]) == sum(int(r["dead_units"]) for r in mine)
        assert float(row["nnu_pct"]) == pytest.approx(
            100 * int(row["dead_units"]) / int(row["units"]))
        assert int(row["n_images"]) == 20
    spectrum = _rows(out / "spectrum.csv")
    for row in summary:
        counts = [int(r["count"]) for r in spectrum
                  if r["model"] == row["model"] and r["layer"] == "__all__"]
        values = sum(int(r["units"]) for r in layers if r["model"] == row["model"])
        assert sum(counts) > values  # every activation value counted, not one per unit
    # top_images.csv: per unit, at most k images, strongest first, in the test set; in ReLU
    # layers only images the unit fired on, so a dead unit has no rows
    top = _rows(out / "top_images.csv")
    assert list(top[0]) == TOP_IMAGES_COLUMNS
    for row in summary:
        mine = [r for r in top if r["model"] == row["model"]]
        hidden = {r["layer"]: r for r in layers if r["model"] == row["model"]}
        per_unit: dict[tuple[str, str], int] = {}
        for r in mine:
            per_unit[(r["layer"], r["unit"])] = per_unit.get((r["layer"], r["unit"]), 0) + 1
            if r["layer"] in hidden and hidden[r["layer"]]["activation"] == "relu":
                assert float(r["activation"]) > 0, r
        assert max(per_unit.values()) <= 9
        for name, layer_row in hidden.items():
            listed = {unit for (lay, unit) in per_unit if lay == name}
            assert len(listed) == int(layer_row["fired_units"]), name
        output_units = [k for k in per_unit if k[0] not in hidden]
        assert output_units and all(per_unit[k] == min(9, 20) for k in output_units)
        unit0 = [r for r in mine if r["layer"] == mine[0]["layer"] and r["unit"] == "0"]
        acts = [float(r["activation"]) for r in unit0]
        assert [r["rank"] for r in unit0] == [str(i) for i in range(1, len(unit0) + 1)]
        assert acts == sorted(acts, reverse=True)
        assert all(0 <= int(r["test_index"]) < 20 and r["image"] == "" for r in mine)
        assert {r["label"] for r in mine} <= {"triangle", "square"}
    # second run: served from the cache, identical files
    capsys.readouterr()
    assert main(["report", "--no-figures", "--workspace", str(smoke_ws)]) == 0
    assert capsys.readouterr().out.count("cached result") == 5
    assert {p.name: p.read_bytes() for p in out.glob("*.csv")} == first


def test_corrupt_cache_entry_is_recomputed_with_a_warning(smoke_ws, capsys):
    assert main(["report", "--no-figures", "--workspace", str(smoke_ws)]) == 0
    entries = sorted((smoke_ws / "cache").glob("capture-*.npz"))
    assert len(entries) == 5
    entries[0].write_bytes(entries[0].read_bytes()[:100])  # truncated
    capsys.readouterr()
    assert main(["report", "--no-figures", "--workspace", str(smoke_ws)]) == 0
    out = capsys.readouterr().out
    assert "cached result ignored and recomputed" in out
    assert out.count("cached result\n") == 4
    load_result(entries[0])  # rewritten and readable again


def test_cache_round_trip_and_format_check(smoke_ws, tmp_path):
    entry = sorted((smoke_ws / "cache").glob("capture-*.npz"))[0]
    result, _ = load_result(entry)
    copy = tmp_path / "copy.npz"
    save_result(copy, result)
    again, _ = load_result(copy)
    for a, b in zip(result.layers, again.layers, strict=True):
        assert a.name == b.name and a.hist.tolist() == b.hist.tolist()
        np.testing.assert_array_equal(a.unit_max, b.unit_max)
    np.testing.assert_array_equal(result.scores, again.scores)
    assert set(result.topk) == set(again.topk)
    import tlexplorer.cache as cache_module

    old = cache_module.CACHE_FORMAT
    try:
        cache_module.CACHE_FORMAT = CACHE_FORMAT + 1
        with pytest.raises(CacheError, match="format"):
            load_result(copy)
    finally:
        cache_module.CACHE_FORMAT = old


def test_retrained_model_gets_a_new_cache_key(smoke_ws):
    from tlexplorer.session import capture_settings, open_suite, slot_cache_path
    from tlexplorer.suite import ModelMeta

    suite = open_suite(smoke_ws, SUITE)
    settings = capture_settings()
    keys = {slot_cache_path(suite, s, settings) for s in suite.slots}
    assert len(keys) == 5
    meta_path = suite.slots[0].files.meta_path
    meta = read_json(meta_path)
    meta["model_sha256"] = "0" * 64
    suite.slots[0].meta = ModelMeta.from_json(meta)
    assert slot_cache_path(suite, suite.slots[0], settings) not in keys


def test_reading_the_cache_imports_no_tensorflow(smoke_ws):
    code = (
        "import sys\n"
        "from tlexplorer.session import open_suite, load_cached, capture_settings\n"
        f"suite = open_suite({str(smoke_ws)!r})\n"
        "results = [load_cached(suite, s, capture_settings()) for s in suite.slots]\n"
        "assert all(r is not None for r in results), results\n"
        "from tlexplorer import metrics, report\n"
        "[metrics.summarize(r) for r in results]\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
        "assert 'textual' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_analyze_any_model_on_class_folders(smoke_ws, tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("pentagon", "hexagon"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / cls / f"{i}.png")
    out = tmp_path / "rep"
    model = smoke_ws / "models" / SUITE / "1-cnn.keras"
    assert main(["analyze", str(model), "--data", str(tmp_path / "imgs"), "--out", str(out),
                 "--workspace", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    rows = _rows(out / "summary.csv")
    assert rows[0]["model"] == "1-cnn.keras" and rows[0]["n_images"] == "6"
    top = _rows(out / "top_images.csv")
    assert top and all(Path(r["image"]).is_file() for r in top)
    assert all(Path(r["image"]).parent.name == r["label"] for r in top)  # its class folder
    # figures of a real model on real files: Figures 5-7, its panels, a montage per hidden
    # layer in which a unit fired (images decoded from the files), and the page
    figures = {p.name for p in (out / "figures").iterdir()}
    stem = "model1-1-cnn.keras"
    assert {"fig5_nnu.png", "fig6_spectra.svg", "fig7_max_activation.png",
            f"{stem}_units.png", f"{stem}_spectra.svg"} <= figures
    fired = {r["layer"] for r in _rows(out / "layers.csv") if r["fired_units"] != "0"}
    montages = {n for n in figures if n.startswith(f"{stem}_top_") and n.endswith(".png")}
    assert len(montages) == len(fired) > 0
    assert all((out / "figures" / n).stat().st_size > 1000 for n in figures)
    assert "1-cnn.keras" in (out / "index.html").read_text(encoding="utf-8")
    assert "index.html" in printed
    # without figures, the older page and figures go: they would pass for this run's
    assert main(["analyze", "--no-figures", str(model), "--data", str(tmp_path / "imgs"),
                 "--out", str(out), "--workspace", str(tmp_path)]) == 0
    assert not (out / "index.html").exists() and not list((out / "figures").iterdir())


def _run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tlexplorer", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_missing_data_folder_is_one_line_exit_2(tmp_path):
    proc = _run_cli("train", "--data", str(tmp_path / "nope"), "--workspace", str(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0] and "Traceback" not in proc.stderr


def _tiny_folder(root: Path, per_class: int = 4) -> Path:
    from PIL import Image

    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (40, 30), (i * 40, 10 if cls == "cat" else 200, 10)).save(
                root / cls / f"{i}.jpg")
    return root


PAPER_SMALL = ["--preset", "paper", "--split", "4,2,2", "--image-size", "32", "--epochs", "1"]


def test_unreadable_vgg_weights_is_one_line_exit_2(tmp_path):
    data = _tiny_folder(tmp_path / "d")
    bad = tmp_path / "weights.h5"
    bad.write_bytes(b"garbage")
    proc = _run_cli("train", "--data", str(data), *PAPER_SMALL, "--models", "3",
                    "--vgg-weights", str(bad), "--workspace", str(tmp_path / "ws"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "VGG16 weights" in lines[0], proc.stderr
    assert not list((tmp_path / "ws" / "models").glob("*/*.keras"))


def test_no_vgg_weights_offline_says_how_to_provide_them(tmp_path):
    data = _tiny_folder(tmp_path / "d")
    proc = _run_cli("train", "--data", str(data), *PAPER_SMALL, "--models", "3",
                    "--workspace", str(tmp_path / "ws"),
                    env={"KERAS_HOME": str(tmp_path / "empty-keras-home")})
    assert proc.returncode == 2, proc.stderr
    assert "--vgg-weights" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_paper_recipe_with_local_vgg16_weights(tmp_path):
    """The real VGG16 path, with a legacy-format notop weights file made from weights=None."""
    from keras.src.legacy.saving import legacy_h5_format

    from tlexplorer.quiet import import_tensorflow

    _, keras = import_tensorflow()
    import h5py

    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    weights = tmp_path / "vgg16_notop.h5"
    with h5py.File(weights, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, base)
    data = _tiny_folder(tmp_path / "d")
    ws = tmp_path / "ws"
    assert main(["train", "--data", str(data), *PAPER_SMALL, "--models", "3,5",
                 "--vgg-weights", str(weights), "--workspace", str(ws)]) == 0
    from tlexplorer.zoo import load_model

    suite = ws / "models" / "real-paper"
    m3 = load_model(suite / "3-vgg16-frozen.keras")
    m5 = load_model(suite / "5-vgg16-finetune.keras")
    np.testing.assert_array_equal(m3.get_layer("block1_conv1").get_weights()[0],
                                  base.get_layer("block1_conv1").get_weights()[0])
    assert not any(layer.trainable for layer in m3.layers if layer.name.startswith("block"))
    trainable5 = {layer.name for layer in m5.layers if layer.trainable and layer.weights}
    assert trainable5 == {"block5_conv1", "block5_conv2", "block5_conv3", "fc1", "output"}
    meta = read_json(suite / "3-vgg16-frozen.json")
    assert meta["base"]["kind"] == "vgg16-imagenet" and meta["data"]["kind"] == "folder"
    assert (suite / "4-vgg16-frozen-aug.keras").is_file()  # 5 is fine-tuned from a trained 4


def test_help_lists_the_commands():
    proc = _run_cli("--help")
    assert proc.returncode == 0
    for word in ("train", "report", "analyze", "bench", "data", "--workspace", "--demo"):
        assert word in proc.stdout


def test_weight_shift_zero_for_frozen_nonzero_for_finetuned_block5(smoke_ws):
    assert main(["report", "--no-figures", "--workspace", str(smoke_ws)]) == 0
    rows = _rows(smoke_ws / "reports" / "weight_shift.csv")
    assert {r["model"] for r in rows} == {"3", "4", "5"}
    for r in rows:
        frozen = r["model"] in ("3", "4") or not r["layer"].startswith("block5")
        if frozen:
            assert float(r["relative_shift"]) == 0.0 and float(r["cosine"]) == pytest.approx(1)
            assert r["trainable"] == "false"
        elif r["layer"].startswith("block5_conv"):
            assert float(r["relative_shift"]) > 0.0 and r["trainable"] == "true"
    claims = _rows(smoke_ws / "reports" / "claims.csv")
    assert [c["metric"] for c in claims] == ["nnu_pct", "dormant_pct", "spectrum_skewness",
                                             "range_cv"]
    assert all(c["n"] == "5" and c["holds"] in ("yes", "no", "unclear") for c in claims)


def test_explorer_refuses_bad_input_before_taking_the_terminal(tmp_path):
    proc = _run_cli("--data", str(tmp_path / "nope"), "--workspace", str(tmp_path))
    assert proc.returncode == 2 and "dataset folder not found" in proc.stderr
    proc = _run_cli("--demo", "--workspace", str(tmp_path))  # stdout is a pipe here
    assert proc.returncode == 2 and "needs a terminal" in proc.stderr
    proc = _run_cli("--data", str(tmp_path), "--vgg-weights", str(tmp_path / "no.h5"))
    assert proc.returncode == 2 and "VGG16 weights file not found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "models").exists()


async def test_explorer_feature_maps_of_a_trained_model(smoke_ws):
    """The feature-map view runs the real model once per image and layer, off the UI thread."""
    from tlexplorer.capture.featuremaps import feature_maps
    from tlexplorer.session import open_suite
    from tlexplorer.tui.app import create_app
    from tlexplorer.tui.widgets.images import ImageGrid
    from tlexplorer.zoo import load_model

    app = create_app(smoke_ws)

    async def maps_of(key_presses: tuple[str, ...]):
        await pilot.press(*key_presses)
        for _ in range(300):
            await app.workers.wait_for_complete()
            await pilot.pause()
            state = app.feature_maps_state
            if state is not None and state.key == app._features_wanted:
                return state
        raise AssertionError("no feature maps came")

    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.outcome == "done"
        state = await maps_of(("3", "f"))
        assert not state.error, state.error
        key = state.key
        assert key.model == "3" and key.layer == app.figures["3"].rows[0].name
        suite = open_suite(smoke_ws)
        model = load_model(suite.slots[2].files.model_path)
        image = suite.source().test_images([key.image])[0]
        np.testing.assert_allclose(state.maps, feature_maps(model, image, key.layer),
                                   rtol=1e-5, atol=1e-6)
        grid = app.screen.query_one("#fm-grid", ImageGrid)
        assert len(grid.tiles) == state.maps.shape[-1] and grid.shown > 0
        # next image, then next layer: each one forward pass of the chosen image
        state = await maps_of(("n",))
        assert state.key.image == (key.image + 1) % app.figures["3"].result.n_images
        state = await maps_of(("j",))
        assert state.key.layer == app.figures["3"].rows[1].name and not state.error


def test_bench_on_a_given_model_and_its_feature_map_timing(smoke_ws, capsys):
    import json

    model = smoke_ws / "models" / SUITE / "3-vgg16-frozen.keras"
    assert main(["bench", "--model", str(model), "--images", "8", "--batch", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["images"] == 8 and result["batch"] == 4 and result["topk"] == 9
    assert result["predict_img_s"] > 0 and result["capture_img_s"] > 0
    assert result["ratio"] == pytest.approx(result["capture_img_s"] / result["predict_img_s"],
                                            abs=0.002)
    assert main(["bench", "--model", str(model), "--feature-maps", "--json"]) == 0
    timing = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    from tlexplorer.capture.probe import build_probe
    from tlexplorer.zoo import load_model

    probed = [p.name for p in build_probe(load_model(model)).layers]
    assert list(timing["feature_maps_ms"]) == probed and "block5_conv3" in probed
    assert all(ms > 0 for ms in timing["feature_maps_ms"].values())


def test_options_before_the_command_are_kept():
    from tlexplorer.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["--workspace", "W", "--vgg-weights", "w.h5", "--image-size", "40",
                              "--split", "10,4,6", "train", "--demo"])
    assert (args.workspace, args.vgg_weights, args.image_size, args.split) == (
        Path("W"), Path("w.h5"), 40, (10, 4, 6))
    args = parser.parse_args(["--tau", "0.3", "report", "--tau", "0.2"])
    assert args.tau == 0.2  # after the command wins
    args = parser.parse_args(["train", "--demo"])
    assert (args.workspace, args.vgg_weights, args.image_size) == (Path("."), None, None)
    assert parser.parse_args(["--image-size", "40", "bench"]).image_size == 40


def test_one_model_that_cannot_be_captured_does_not_stop_the_report(smoke_ws, capsys,
                                                                    monkeypatch, tmp_path):
    from tlexplorer import session

    real_load, real_capture = session.load_cached, session.capture_slot

    def load(suite, slot, settings, warn=None):
        return None if slot.label == "2" else real_load(suite, slot, settings, warn)

    def capture(suite, slot, settings, **kwargs):
        if slot.label == "2":
            raise ValueError("cannot trace subclassed model Custom")
        return real_capture(suite, slot, settings, **kwargs)

    monkeypatch.setattr(session, "load_cached", load)
    monkeypatch.setattr(session, "capture_slot", capture)
    out = tmp_path / "reports"
    assert main(["report", "--no-figures", "--workspace", str(smoke_ws), "--out", str(out)]) == 3
    text = capsys.readouterr().out
    assert "model 2: left out: ValueError: cannot trace subclassed model Custom" in text
    assert [r["model"] for r in _rows(out / "summary.csv")] == ["1", "3", "4", "5"]


def test_weight_shift_refuses_a_swapped_base(smoke_ws, tmp_path, capsys):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(smoke_ws, ws)
    for cached in (ws / "cache").glob("weightshift-*.json"):
        cached.unlink()
    base = ws / "models" / SUITE / "0-base.keras"
    shutil.copy(ws / "models" / SUITE / "1-cnn.keras", base)  # another model in its place
    assert main(["report", "--no-figures", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "weight shift left out: the pretrained base 0-base.keras is not the one" in out
    assert not (ws / "reports" / "weight_shift.csv").exists()
