"""The headless workbench: the event sequence of a fresh smoke suite (each model captured as
soon as it is trained), a second run from the cache, cancel, the early VGG16 weights check, and
the CLI's plain-line output when stdout is not a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tlexplorer import workbench as wb
from tlexplorer.errors import Cancelled, UserError
from tlexplorer.presets import DEMO
from tlexplorer.suite import model_files
from tlexplorer.training import TrainEvent

SUITE = "synthetic-smoke"


def _key(event) -> tuple:
    """A short, comparable form of an event."""
    if isinstance(event, TrainEvent):
        return ("train", event.kind, event.model, event.phase)
    if isinstance(event, wb.CaptureStep):
        return ("capture", event.model)
    if isinstance(event, wb.ModelDone):
        return ("done", event.label, event.cached)
    if isinstance(event, wb.ModelFailed):
        return ("failed", event.label)
    if isinstance(event, wb.SuiteReady):
        return ("suite",)
    if isinstance(event, wb.WeightShiftDone):
        return ("shift", event.rows is not None)
    return (type(event).__name__.lower(),)


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory):
    ws = tmp_path_factory.mktemp("wb")
    events: list = []
    outcome = wb.run(wb.Request(ws, demo=True, preset="smoke"), events.append)
    return ws, events, outcome


def test_each_model_is_captured_before_the_next_trains(fresh_run):
    _, events, outcome = fresh_run
    keys = [_key(e) for e in events]
    done = [k for k in keys if k[0] == "done"]
    assert done == [("done", str(i), False) for i in range(1, 6)]
    first_train = {m: keys.index(("train", "phase", m, p)) for m, p in
                   [("1", "training"), ("2", "training"), ("3", "training"),
                    ("4", "training"), ("5", "fine-tuning"), ("base", "base pretraining")]}
    at = {k[1]: keys.index(k) for k in done}
    # browse while training: model N's result comes before model N+1 starts training
    assert at["1"] < first_train["2"] and at["2"] < first_train["base"] < first_train["3"]
    assert at["3"] < first_train["4"] and at["4"] < first_train["5"]
    # the suite is announced before each result, so the app has a slot to put it in
    for label, index in at.items():
        assert ("suite",) in keys[:index], label
        assert ("capture", label) in keys[:index]
    assert keys[-1] == ("shift", True) and outcome.weight_shift is not None
    assert outcome.captured == 5 and outcome.cached == 0 and not outcome.failed
    assert [r.model_label for r in outcome.results] == ["1", "2", "3", "4", "5"]
    assert sorted(outcome.trained) == [1, 2, 3, 4, 5]
    assert outcome.summary == "ready — 5 captured"
    infos = [e.text for e in events if isinstance(e, wb.Info)]
    assert any(t.startswith("data: ") for t in infos)
    assert any(t.startswith("preset: smoke (48 px, 40/20/20 images") for t in infos)


def test_a_second_run_reads_everything_from_the_cache(fresh_run):
    ws, _, first = fresh_run
    events: list = []
    outcome = wb.run(wb.Request(ws, demo=True, preset="smoke"), events.append)
    keys = [_key(e) for e in events]
    assert [k for k in keys if k[0] == "done"] == [("done", str(i), True) for i in range(1, 6)]
    assert not any(k[:2] == ("train", "phase") or k[0] == "capture" for k in keys)
    assert outcome.summary == "ready — 5 from cache"
    for a, b in zip(first.results, outcome.results, strict=True):
        np.testing.assert_array_equal(a.scores, b.scores)
    # opening the suite as it is (no --demo): no data read, no training events at all
    events = []
    outcome = wb.run(wb.Request(ws), events.append)
    assert not any(isinstance(e, TrainEvent | wb.Phase) for e in events)
    assert outcome.cached == 5


def test_recapture_captures_one_model_again(fresh_run):
    ws, _, _ = fresh_run
    events: list = []
    outcome = wb.run(wb.Request(ws, suite=SUITE, recapture="3"), events.append)
    assert [_key(e) for e in events if isinstance(e, wb.ModelDone)] == [("done", "3", False)]
    assert outcome.weight_shift is None  # not asked for again


def test_cancel_keeps_what_is_finished(tmp_path):
    cancel = threading.Event()
    seen: list = []

    def emit(event) -> None:
        seen.append(_key(event))
        if isinstance(event, wb.ModelDone):
            cancel.set()

    with pytest.raises(Cancelled):
        wb.run(wb.Request(tmp_path, demo=True, preset="smoke"), emit, cancel)
    assert ("done", "1", False) in seen and not any(k[0] == "done" and k[1] != "1" for k in seen)
    assert model_files(tmp_path, SUITE, 1).check()[0] is not None
    assert model_files(tmp_path, SUITE, 2).check()[0] is None
    # what was finished is picked up from the cache
    events: list = []
    wb.run(wb.Request(tmp_path, capture=True, weight_shift=False), events.append)
    assert [_key(e) for e in events if isinstance(e, wb.ModelDone)] == [("done", "1", True)]


def test_missing_vgg16_weights_stop_the_run_before_any_model_trains(tmp_path, monkeypatch):
    import keras
    from data_fixtures import make_kaggle

    data = make_kaggle(tmp_path / "data", 8)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    events: list = []
    with pytest.raises(UserError, match="VGG16 ImageNet weights unavailable"):
        wb.run(wb.Request(tmp_path / "ws", data=data, split=(6, 4, 6)), events.append)
    assert not any(isinstance(e, TrainEvent) and e.kind == "phase" for e in events)
    assert not list((tmp_path / "ws").rglob("*.keras"))


def test_report_prints_whole_plain_lines_into_a_pipe(fresh_run):
    ws, _, _ = fresh_run
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    out = Path(ws) / "plain-reports-with-a-long-folder-name-so-the-line-is-longer-than-80"
    proc = subprocess.run([sys.executable, "-m", "tlexplorer", "report", "--no-figures",
                           "--workspace", str(ws),
                           "--out", str(out)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert "\x1b" not in proc.stdout  # no colours or cursor moves in a log
    wrote = [line for line in lines if line.startswith("wrote ")]
    assert len(wrote) == 1 and wrote[0].endswith(str(out)) and len(wrote[0]) > 80
    assert sum(line.endswith(": cached result") for line in lines) == 5


# -- typed metadata --------------------------------------------------------------------------


def test_presets_record_every_field_and_read_back_equal():
    import dataclasses
    import json

    from tlexplorer.presets import PRESETS, Preset

    for preset in PRESETS.values():
        record = json.loads(json.dumps(preset.to_json()))
        assert set(record) == {f.name for f in dataclasses.fields(Preset)}
        assert Preset.from_json(record) == preset
    changed = dataclasses.replace(PRESETS["demo"], image_size=80, split=(10, 4, 6))
    assert changed.summary.startswith("80 px, 10/4/6 images")


_GOOD_MODEL = {"format": 1, "name": "m", "model_sha256": "ab", "data": {"fingerprint": "f"},
               "test_accuracy": 0.5, "epochs_run": 3}


@pytest.mark.parametrize("change", [
    {"format": 2}, {"name": 3}, {"model_sha256": None}, {"data": [1]},
    {"data": {"fingerprint": 7}}, {"test_accuracy": "high"}, {"test_accuracy": True},
    {"epochs_run": 2.5}, {"wall_s": [1]},
])
def test_model_metadata_with_a_wrong_field_is_refused(change):
    from tlexplorer.suite import ModelMeta

    assert ModelMeta.from_json(_GOOD_MODEL).test_accuracy == 0.5
    with pytest.raises(ValueError):
        ModelMeta.from_json({**_GOOD_MODEL, **change})


@pytest.mark.parametrize("record", [
    [], {"data": "x"}, {"data": {"fingerprint": 1}}, {"data": {"class_names": "ab"}},
    {"data": {}, "preset": {"name": "demo"}}, {"data": {}, "preset": [1]},
    {"data": {}, "preset": {**DEMO.to_json(), "split": [1, 2]}},
])
def test_suite_metadata_with_a_wrong_field_is_refused(record, tmp_path):
    import json

    from tlexplorer.session import SuiteInfo, open_suite

    with pytest.raises(ValueError):
        SuiteInfo.from_json(record)
    path = tmp_path / "models" / "s" / "suite.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    with pytest.raises(UserError, match="damaged"):
        open_suite(tmp_path, "s")


def test_two_smoke_runs_write_identical_csvs(fresh_run, tmp_path):
    """Every source of randomness is seeded (data, split, weights, augmentation, shuffling):
    the smoke suite trained again from nothing, in another workspace, reports the same bytes."""
    from tlexplorer.report import write_reports

    _, _, first = fresh_run
    second = wb.run(wb.Request(tmp_path / "again", demo=True, preset="smoke"))
    a, b = tmp_path / "a", tmp_path / "b"
    write_reports(first.results, a, weight_shift=first.weight_shift, figures=False)
    write_reports(second.results, b, weight_shift=second.weight_shift, figures=False)
    names = sorted(p.name for p in a.glob("*.csv"))
    assert names == sorted(p.name for p in b.glob("*.csv")) and "summary.csv" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_the_data_seed_makes_other_data_and_the_same_seed_the_same(tmp_path):
    from tlexplorer.data import synthetic
    from tlexplorer.presets import SMOKE

    def fingerprint(seed):
        return wb.open_source(wb.Request(tmp_path, demo=True, seed=seed), SMOKE).fingerprint

    assert fingerprint(None) == fingerprint(synthetic_default_seed()) != fingerprint(1)
    assert fingerprint(1) == fingerprint(1) != fingerprint(2)
    # posed training and validation images, test images that vary as the augmentation does
    assert [synthetic.variation_of("target", k, 3) for k in range(3)] == [
        synthetic.POSED, synthetic.POSED, synthetic.VARIED]
    assert synthetic.variation_of("source", 0, 2) == synthetic.SOURCE


def synthetic_default_seed() -> int:
    from tlexplorer.data.split import DEFAULT_SEED

    return DEFAULT_SEED
