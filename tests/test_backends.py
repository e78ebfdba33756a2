"""TensorFlow and JAX give the same numbers: every column of every CSV, for ``analyze`` on a
small model and for the smoke suite (trained under TensorFlow, reported under each backend).

Keras chooses its backend at import, so each backend runs in its own process. Numbers are
compared within 1e-5 relative, with an absolute floor of 1e-6 of the largest value of the same
column (top images: of the same layer) for values that are float32 rounding around zero (a gelu
unit's -0.000136 comes from a pre-activation near -3.5, and carries that number's rounding).
Histogram counts may differ only for values whose float32 bits differ between backends, and the
test says how many moved.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import png_bytes, write

pytest.importorskip("jax")

RTOL = 1e-5
ATOL_SCALE = 1e-6
MAX_MOVED_FRACTION = 1e-4  # histogram counts that may change bins, of all values


def _run(backend: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend}
    proc = subprocess.run([sys.executable, "-m", "tlexplorer", *args], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode in (0, 3), f"{backend}: {proc.stderr[-3000:]}"
    return proc


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare_table(name: str, a: list[dict], b: list[dict],
                   skew_tol: dict[str, float] | None = None) -> None:
    assert len(a) == len(b), f"{name}: {len(a)} rows vs {len(b)}"
    if not a:
        return
    assert list(a[0]) == list(b[0]), name
    for column in a[0]:
        values = [_number(row[column]) for row in a]
        finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
        atol = ATOL_SCALE * max(finite, default=0.0)
        for i, (ra, rb) in enumerate(zip(a, b, strict=True)):
            x, y = _number(ra[column]), _number(rb[column])
            where = f"{name} row {i} column {column}: {ra[column]!r} vs {rb[column]!r}"
            if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
                assert ra[column] == rb[column], where
            elif skew_tol is not None and column == "skewness" and ra.get("layer") in skew_tol:
                assert math.isclose(x, y, rel_tol=skew_tol[ra["layer"]], abs_tol=atol), where
            else:
                assert math.isclose(x, y, rel_tol=RTOL, abs_tol=atol), where


def _compare_spectrum(a: list[dict], b: list[dict]) -> tuple[int, int]:
    """(counts that moved to another bin, all counts): same bins, nearly the same counts."""
    def counts(rows):
        table = defaultdict(int)
        for row in rows:
            key = (row["model"], row["layer"], row["bin_low"], row["bin_high"])
            table[key] += int(row["count"])
        return table

    ca, cb = counts(a), counts(b)
    moved = sum(abs(ca.get(k, 0) - cb.get(k, 0)) for k in set(ca) | set(cb)) // 2
    total = sum(ca.values())
    assert total == sum(cb.values())
    assert moved <= MAX_MOVED_FRACTION * total, f"{moved} of {total} values changed bins"
    return moved, total


def _compare_top_images(a: list[dict], b: list[dict]) -> None:
    """Same activations per unit; the images may swap only where activations tie."""
    def group(rows):
        units = defaultdict(list)
        for row in rows:
            units[(row["model"], row["layer"], row["unit"])].append(row)
        return units

    ga, gb = group(a), group(b)
    assert set(ga) == set(gb)
    layer_scale: dict[tuple, float] = defaultdict(float)
    for row in a:
        key = (row["model"], row["layer"])
        layer_scale[key] = max(layer_scale[key], abs(float(row["activation"])))
    for key, rows_a in ga.items():
        rows_b = gb[key]
        assert len(rows_a) == len(rows_b), key
        acts_a = np.array([float(r["activation"]) for r in rows_a])
        acts_b = np.array([float(r["activation"]) for r in rows_b])
        atol = ATOL_SCALE * layer_scale[key[:2]]
        np.testing.assert_allclose(acts_b, acts_a, rtol=RTOL, atol=atol, err_msg=str(key))
        for ra, rb, x in zip(rows_a, rows_b, acts_a, strict=True):
            if ra["test_index"] != rb["test_index"]:  # a tie: another image as strong
                tied = np.isclose(acts_a, x, rtol=RTOL, atol=atol)
                assert tied.sum() > 1, (key, ra, rb)


def compare_reports(dir_a: Path, dir_b: Path,
                    skew_tol: dict[str, float] | None = None) -> tuple[int, int]:
    """Every CSV of two report folders; ``skew_tol``: a looser relative tolerance for the
    skewness of the named layers (see ``test_gpu``). Returns (histogram counts moved, all)."""
    names = sorted(p.name for p in dir_a.glob("*.csv"))
    assert names == sorted(p.name for p in dir_b.glob("*.csv"))
    moved = (0, 0)
    for name in names:
        a, b = _read(dir_a / name), _read(dir_b / name)
        if name == "spectrum.csv":
            moved = _compare_spectrum(a, b)
        elif name == "top_images.csv":
            _compare_top_images(a, b)
        else:
            _compare_table(name, a, b, skew_tol if name == "layers.csv" else None)
    return moved


def test_the_comparison_can_fail(tmp_path):
    """A change of 1e-4 relative in one cell, or a column, is caught."""
    row = {"model": "1", "x": "1.0", "y": "0.5"}
    _compare_table("t", [row], [dict(row)])
    with pytest.raises(AssertionError):
        _compare_table("t", [row], [{**row, "x": "1.0001"}])
    with pytest.raises(AssertionError):
        _compare_table("t", [row], [{**row, "y": "n/a"}])
    spectrum = [{"model": "1", "layer": "a", "bin_low": "0", "bin_high": "1", "count": "10"},
                {"model": "1", "layer": "a", "bin_low": "1", "bin_high": "2", "count": "0"}]
    moved = [dict(spectrum[0], count="9"), dict(spectrum[1], count="1")]
    with pytest.raises(AssertionError):
        _compare_spectrum(spectrum, moved)


def _small_model(path: Path, relu_bias: float = 50.0) -> Path:
    """A 3-class model with the activations the issue names: BatchNorm, tanh, LeakyReLU, gelu,
    swish, a nested Sequential, and a ReLU layer far from zero (bias ``relu_bias``).

    That bias saturates the softmax head: scores are 0 or 1 to the last bit, and ROC AUC's
    ties then hang on the device's rounding (0.5 on a CPU, 0.435 on an H100)."""
    from tlexplorer.quiet import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(3)
    inputs = keras.Input((24, 24, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(8, 3, activation="tanh")(x)
    x = keras.layers.MaxPooling2D()(x)
    inner = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Conv2D(6, 3),
                              keras.layers.LeakyReLU(negative_slope=0.1)], name="inner")
    x = inner(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(10, activation="gelu")(x)
    x = keras.layers.Dense(8, activation="swish")(x)
    x = keras.layers.Dense(6, activation="relu",
                           bias_initializer=keras.initializers.Constant(relu_bias))(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.save(path)
    return path


def three_class_folder(data: Path) -> Path:
    """14 noise PNGs in each of ant/, bee/ and cat/ (what the small model is analysed on)."""
    for c, name in enumerate(("ant", "bee", "cat")):
        for i in range(14):
            write(data / name / f"{i}.png", png_bytes(seed=100 * c + i, size=30))
    return data


def test_analyze_gives_the_same_numbers_under_tensorflow_and_jax(tmp_path):
    model = _small_model(tmp_path / "small.keras")
    data = three_class_folder(tmp_path / "data")
    outs = {}
    for backend in ("tensorflow", "jax"):
        outs[backend] = tmp_path / f"out-{backend}"
        _run(backend, "analyze", "--no-figures", str(model), "--data", str(data), "--batch", "7",
             "--workspace", str(tmp_path / f"ws-{backend}"), "--out", str(outs[backend]))
    moved, total = compare_reports(outs["tensorflow"], outs["jax"])
    print(f"analyze: {moved} of {total} histogram counts in another bin under JAX")


# ~65 s (a smoke suite trained, then captured twice in two processes): in the slow tier so the
# default run keeps its 10-minute budget; the analyze test above compares every CSV column of
# both backends in the default run.
@pytest.mark.slow
def test_the_smoke_suite_reports_the_same_under_both_backends(tmp_path):
    """Trained once under TensorFlow; its .keras files captured under each backend."""
    ws = tmp_path / "ws"
    _run("tensorflow", "train", "--demo", "--preset", "smoke", "--workspace", str(ws))
    outs = {}
    for backend in ("tensorflow", "jax"):
        copy = tmp_path / f"ws-{backend}"
        shutil.copytree(ws / "models", copy / "models")  # no cache: each backend captures
        outs[backend] = tmp_path / f"reports-{backend}"
        _run(backend, "report", "--no-figures",
             "--workspace", str(copy), "--out", str(outs[backend]))
    moved, total = compare_reports(outs["tensorflow"], outs["jax"])
    print(f"smoke suite: {moved} of {total} histogram counts in another bin under JAX")


_EXACT_SKEWNESS_UNDER_JAX = """
import numpy as np
from scipy import stats
from tlexplorer import metrics
from tlexplorer.capture.engine import capture
from tlexplorer.quiet import backend_name, import_keras
keras = import_keras()
assert backend_name() == "jax"
rng = np.random.default_rng(3)
inputs = keras.Input((5, 5, 3))
conv = keras.layers.Conv2D(3, 3, activation="relu", name="conv")
out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(conv(inputs)))
model = keras.Model(inputs, out)
# integer pixels times weights on 1/64, plus a bias of 1000: exact in float32, mean/std > 1000
conv.set_weights([rng.integers(-4, 5, (3, 3, 3, 3)).astype(np.float32) / 64,
                  np.full(3, 1000.0, np.float32)])
x = np.random.default_rng(11).integers(0, 3, (45, 5, 5, 3)).astype(np.float32)
y = np.zeros(45, np.int64)
values = keras.Model(inputs, conv.output).predict(x, verbose=0).astype(np.float64).ravel()
assert values.mean() / values.std() > 1000
for batch in (1, 7, 32):
    result = capture(model, [(x[i:i + batch], y[i:i + batch]) for i in range(0, 45, batch)],
                     topk=0)
    got = metrics.layer_skewness(result.hidden_layers[0])
    want = stats.skew(values)
    assert abs(got - want) <= 1e-6 * abs(want), (batch, got, want)
print("ok")
"""


def test_skewness_is_exact_under_jax_too():
    """XLA may fuse the shift's division into the subtraction (an unrounded shift): the
    centred sums must still use exactly the shift the host receives (a ReLU layer with
    mean/std > 1000, activations exact in float32)."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run([sys.executable, "-c", _EXACT_SKEWNESS_UNDER_JAX],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


_PADDED_BATCHES_UNDER_JAX = """
import numpy as np
from tlexplorer.capture.engine import Capturer
from tlexplorer.capture.result import HIST_BINS, histogram_index
from tlexplorer.quiet import backend_name, import_keras
keras = import_keras()
assert backend_name() == "jax"
inputs = keras.Input((7, 7, 2))
x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
out = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x))
model = keras.Model(inputs, out)
rng = np.random.default_rng(1)
xs = rng.normal(size=(13, 7, 7, 2)).astype(np.float32)
ys = rng.integers(0, 3, 13)
acts = keras.Model(model.inputs, model.get_layer("conv").output).predict(xs, verbose=0)
want = np.bincount(histogram_index(acts.ravel()), minlength=HIST_BINS)
for copies in (1, 64):  # the CPU's histogram and the GPU's (bin 0 counted apart)
    for sizes in ((4, 4, 4, 1), (3, 8, 2)):
        ends = np.cumsum(sizes)
        batches = [(xs[e - n:e], ys[e - n:e]) for n, e in zip(sizes, ends)]
        result = Capturer(model, topk=3, hist_copies=copies).run(batches)
        conv = result.layers[0]
        assert conv.n_images == 13 and np.array_equal(conv.hist, want), (copies, sizes)
        np.testing.assert_allclose(conv.unit_max, acts.reshape(13, -1, 4).max(axis=(0, 1)),
                                   rtol=1e-6)
        np.testing.assert_allclose(result.scores, model.predict(xs, verbose=0), rtol=1e-5,
                                   atol=1e-6)
print("ok")
"""


def test_short_and_long_batches_leave_no_trace_under_jax():
    """A short batch padded to the compiled size (and a longer one compiled again) gives the
    same histogram, maxima and predictions as brute force, for both histogram formulations."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run([sys.executable, "-c", _PADDED_BATCHES_UNDER_JAX],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


_GPU_HISTOGRAM_UNDER_JAX = """
import numpy as np
from tlexplorer.capture import reductions
from tlexplorer.capture.result import HIST_BINS
from tlexplorer.quiet import backend_name, import_keras
ops = import_keras().ops
assert backend_name() == "jax"
rng = np.random.default_rng(5)
# mostly bin 0 (a ReLU layer's zeros), some in every other bin, the last bin included; odd n
index = np.where(rng.random(40001) < 0.7, 0, rng.integers(1, HIST_BINS, 40001)).astype(np.int32)
index[:3] = [HIST_BINS - 1, 1, 0]
want = np.bincount(index, minlength=HIST_BINS)
for copies in (1, 2, 7, 2048):
    got = np.asarray(reductions.histogram(ops, ops.convert_to_tensor(index), copies))
    assert got.shape == (HIST_BINS,) and np.array_equal(got, want), copies
allzero = np.zeros(1000, np.int32)
assert np.asarray(reductions.histogram(ops, ops.convert_to_tensor(allzero), 64))[0] == 1000
print("ok")
"""


def test_the_gpus_histogram_counts_what_the_plain_scatter_counts():
    """The GPU's formulation (bin 0 by compare-and-sum, the rest spread over copies) gives
    numpy's bincount exactly, whatever the number of copies."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run([sys.executable, "-c", _GPU_HISTOGRAM_UNDER_JAX],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
