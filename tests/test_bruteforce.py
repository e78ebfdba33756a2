"""Every number of ``tlexplorer analyze`` against brute force on models built here.

Brute force = every probed layer's output materialised for every image (a plain Keras model of
the layers' outputs, built by walking the Sequential models here, not by the tool's probe),
statistics in float64 numpy, skewness from scipy, classification metrics from scikit-learn,
images decoded by TensorFlow's own decoder and resize (not the tool's Pillow path). Each
model is analysed with ``--batch`` 1, 7 and 32 over 23 images, so partial batches and the
merging of per-image moments are exercised.

The first part checks the capture engine's moments alone on models whose activations are
exact in float32 (small integer pixels, weights in 1/64 steps), so the tool's skewness can be
held to 1e-6 of scipy's even where a layer's mean is a thousand times its spread.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn import metrics as skm

from tlexplorer import metrics
from tlexplorer.cli import main
from tlexplorer.quiet import import_tensorflow

tf, keras = import_tensorflow()

from tlexplorer.capture.engine import capture  # noqa: E402

BATCHES = (1, 7, 32)
TAU = 0.1
SIZE = 16
ZERO_FLOOR = {"relu", "relu6"}


# --------------------------------------------------------------------------------------------
# Part 1: the engine's central moments on exactly computed activations
# --------------------------------------------------------------------------------------------


def _exact_model(offset: float, activation: str, seed: int):
    """Conv and Dense layers whose pre-activations are exact in float32 for integer pixels."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input((5, 5, 3))
    conv = keras.layers.Conv2D(3, 3, activation=activation, name="conv")
    x = conv(inputs)
    flat = keras.layers.Flatten()(x)
    dense = keras.layers.Dense(4, activation=activation, name="dense")
    h = dense(flat)
    out = keras.layers.Dense(1, activation="sigmoid", name="out")(h)
    model = keras.Model(inputs, out)
    conv.set_weights([rng.integers(-4, 5, (3, 3, 3, 3)).astype(np.float32) / 64,
                      np.full(3, offset, np.float32)])
    # the dense layer sees the conv outputs: keep its input exact by small weights on 1/64
    dense.set_weights([rng.integers(-2, 3, (27, 4)).astype(np.float32) / 64,
                       np.full(4, offset, np.float32)])
    return model


@pytest.mark.parametrize("offset,activation", [
    (1000.0, "relu"),  # a ReLU layer offset by a bias: mean/std well over 1000
    (0.0, "sigmoid"),  # a sigmoid layer sitting near 0.5
    (0.0, "relu"),  # many exact zeros, heavily skewed
    (-0.25, "tanh"),
])
def test_skewness_equals_scipy_for_every_batch_size(offset, activation):
    model = _exact_model(offset, activation, seed=3)
    rng = np.random.default_rng(11)
    x = rng.integers(0, 3, (45, 5, 5, 3)).astype(np.float32)
    y = rng.integers(0, 2, 45)
    names = ["conv", "dense"]
    values = keras.Model(model.inputs, [model.get_layer(n).output for n in names]).predict(
        x, verbose=0)
    flat = [v.astype(np.float64).ravel() for v in values]
    if offset == 1000.0:
        assert flat[0].mean() / flat[0].std() > 1000  # the hard case is really tested
    for batch in BATCHES:
        result = capture(model, [(x[i:i + batch], y[i:i + batch]) for i in range(0, 45, batch)],
                         topk=0)
        hidden = result.hidden_layers
        for stats, v in zip(hidden, flat, strict=True):
            expected = scipy_stats.skew(v)
            assert metrics.layer_skewness(stats) == pytest.approx(expected, rel=1e-6), batch
            n, mean, m2, m3 = stats.moments
            assert n == v.size
            assert mean == pytest.approx(v.mean(), rel=1e-7)
            assert m2 == pytest.approx(((v - v.mean()) ** 2).sum(), rel=1e-7)
        both = np.concatenate(flat)
        assert metrics.spectrum_skewness(hidden) == pytest.approx(scipy_stats.skew(both),
                                                                  rel=1e-6)


# --------------------------------------------------------------------------------------------
# Part 2: analyze end to end
# --------------------------------------------------------------------------------------------


def _png_folder(root: Path, classes: tuple[str, ...], per_class: int) -> Path:
    from PIL import Image

    rng = np.random.default_rng(len(classes))
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            h, w = 20 + (i % 3) * 5, 24 - (i % 2) * 6  # other sizes than the model's: resized
            pixels = rng.integers(0, 256, (h, w, 3))
            pixels[..., c % 3] = np.clip(pixels[..., c % 3] + 60, 0, 255)  # classes differ
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i:02d}.png")
    return root


def _tf_inputs(folder: Path, classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels in the tool's order (sorted relative paths), decoded by TensorFlow."""
    files = sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob("*.png"))
    images, labels = [], []
    for rel, path in files:
        raw = tf.io.decode_png(tf.io.read_file(str(path)), channels=3)
        images.append(tf.image.resize(raw, (SIZE, SIZE), method="bilinear").numpy())
        labels.append(classes.index(rel.split("/")[0]))
    return np.stack(images).astype(np.float32), np.array(labels)


def _seq(*layers, name=None):
    return keras.Sequential(list(layers), name=name)


def _bn_cnn():
    L = keras.layers
    model = _seq(keras.Input((SIZE, SIZE, 3)), L.Rescaling(1 / 255, name="rescale"),
                 L.Conv2D(6, 3, name="c1"), L.BatchNormalization(name="bn1"),
                 L.ReLU(name="r1"), L.MaxPooling2D(name="pool"),
                 L.Conv2D(8, 3, activation="relu", name="c2"),
                 L.GlobalAveragePooling2D(name="gap"), L.Dense(1, activation="sigmoid",
                                                                name="out"))
    bn = model.get_layer("bn1")
    rng = np.random.default_rng(5)
    bn.set_weights([rng.uniform(0.5, 2, 6), rng.normal(0, 0.5, 6), rng.normal(0, 0.3, 6),
                    rng.uniform(0.05, 0.3, 6)])
    return model, ["r1", "c2"]


def _activation_zoo():
    L = keras.layers
    model = _seq(keras.Input((SIZE, SIZE, 3)), L.Rescaling(1 / 127.5, offset=-1),
                 L.Conv2D(4, 3, activation="tanh", name="t"),
                 L.Conv2D(4, 3, activation="gelu", name="g"),
                 L.Conv2D(4, 3, name="lin"), L.LeakyReLU(negative_slope=0.2, name="lr"),
                 L.Conv2D(4, 3, activation="swish", name="sw"),
                 L.Conv2D(4, 3, activation="elu", name="e"),
                 L.Flatten(), L.Dense(2, activation="softmax", name="out"))
    return model, ["t", "g", "lr", "sw", "e"]


def _bias_offset():
    L = keras.layers
    model = _seq(keras.Input((SIZE, SIZE, 3)), L.Rescaling(1 / 255),
                 L.Flatten(), L.Dense(8, activation="relu", name="offset"),
                 L.Dense(6, activation="sigmoid", name="sig"),
                 L.Dense(1, activation="sigmoid", name="out"))
    layer = model.get_layer("offset")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * 0.01, bias + 300.0])
    return model, ["offset", "sig"]


def _nested():
    L = keras.layers
    base = _seq(L.Conv2D(4, 3, activation="relu", name="b1"),
                L.Conv2D(5, 3, activation="relu", name="b2"), name="base")
    model = _seq(keras.Input((SIZE, SIZE, 3)), L.Rescaling(1 / 255), base,
                 L.GlobalMaxPooling2D(), L.Dense(4, activation="relu", name="fc"),
                 L.Dense(1, activation="sigmoid", name="out"))
    return model, ["base/b1", "base/b2", "fc"]


def _logits():
    L = keras.layers
    model = _seq(keras.Input((SIZE, SIZE, 3)), L.Rescaling(1 / 255),
                 L.Conv2D(4, 3, activation="relu6", name="c"), L.Flatten(),
                 L.Dense(1, name="out"))
    return model, ["c"]


def _three_class():
    L = keras.layers
    model = _seq(keras.Input((SIZE, SIZE, 3)), L.Rescaling(1 / 255),
                 L.Conv2D(5, 3, activation="relu", name="c"), L.GlobalAveragePooling2D(),
                 L.Dense(3, activation="softmax", name="out"))
    return model, ["c"]


def _unit_input():
    """A model that expects pixels in 0..1 and has no Rescaling layer of its own."""
    L = keras.layers
    model = _seq(keras.Input((SIZE, SIZE, 3)), L.Conv2D(4, 3, activation="relu", name="c"),
                 L.Flatten(), L.Dense(1, activation="sigmoid", name="out"))
    return model, ["c"]


# name -> (factory, classes, extra CLI args, preprocess applied to the brute-force input)
CASES = {
    "bn_cnn": (_bn_cnn, ("cat", "dog"), [], lambda x: x),
    "activation_zoo": (_activation_zoo, ("cat", "dog"), [], lambda x: x),
    "bias_offset": (_bias_offset, ("cat", "dog"), [], lambda x: x),
    "nested": (_nested, ("cat", "dog"), [], lambda x: x),
    "logits": (_logits, ("cat", "dog"), [], lambda x: x),
    "three_class": (_three_class, ("ant", "bee", "cat"), [], lambda x: x),
    "unit_input": (_unit_input, ("cat", "dog"), ["--preprocess", "unit"], lambda x: x / 255.0),
}


def _materialise(model, names: list[str], x: np.ndarray, batch: int) -> dict[str, np.ndarray]:
    """Every layer output of a (nested) Sequential model, by walking its layers."""
    inputs = keras.Input(model.inputs[0].shape[1:])
    outputs: dict[str, object] = {}

    def walk(seq, h, prefix: str):
        for layer in seq.layers:
            if isinstance(layer, keras.Sequential):
                h = walk(layer, h, prefix + layer.name + "/")
            else:
                h = layer(h)
                outputs[prefix + layer.name] = h
        return h

    walk(model, inputs, "")
    wanted = [*names, "out"]
    values = keras.Model(inputs, [outputs[n] for n in wanted]).predict(x, batch_size=batch,
                                                                        verbose=0)
    return {n: np.asarray(v, dtype=np.float64) for n, v in zip(wanted, values, strict=True)}


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _num(text: str) -> float:
    return math.nan if text == "" else float(text)


def _close(got: str, expected, rel: float = 1e-5, abs_: float = 1e-9, what=None) -> None:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert got == "", (got, expected, what)
    else:
        assert _num(got) == pytest.approx(expected, rel=rel, abs=abs_), (got, expected, what)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("bruteforce")
    made = {}
    for classes in {case[1] for case in CASES.values()}:
        folder = _png_folder(root / "-".join(classes), classes, 12 if len(classes) == 2 else 8)
        if len(classes) == 2:  # 23 images: the last batch is partial for 7 and 32
            (folder / classes[1] / "11.png").unlink()
        made[classes] = folder
    return made


@pytest.mark.parametrize("case", list(CASES))
def test_analyze_equals_brute_force(case, folders, tmp_path):
    factory, classes, extra, preprocess = CASES[case]
    keras.utils.set_random_seed(7)
    model, probed = factory()
    model_path = tmp_path / f"{case}.keras"
    model.save(model_path)
    folder = folders[classes]
    x, y = _tf_inputs(folder, classes)
    n = len(y)
    for batch in BATCHES:
        out = tmp_path / f"out{batch}"
        assert main(["analyze", "--no-figures",
                     str(model_path), "--data", str(folder), "--out", str(out),
                     "--workspace", str(tmp_path), "--batch", str(batch), "--tau", str(TAU),
                     *extra]) == 0
        acts = _materialise(model, probed, preprocess(x), batch)
        _check_layers(out, probed, acts)
        _check_summary(out, model, probed, acts, y, classes, extra)
        _check_spectrum(out, probed, acts)
        _check_confusion(out, model, acts["out"], y, classes)
        assert _num(_read(out / "summary.csv")[0]["n_images"]) == n


def _activation_of(model, name: str) -> str:
    layer = model
    for part in name.split("/"):
        layer = layer.get_layer(part)
    if type(layer).__name__ == "ReLU":
        return "relu"
    if type(layer).__name__ == "LeakyReLU":
        return "leaky_relu"
    return layer.activation.__name__


def _layer_expect(v: np.ndarray, zero_floor: bool) -> dict[str, float | None]:
    units = v.shape[-1]
    per_unit = v.reshape(-1, units)
    unit_max = per_unit.max(axis=0)
    dead = int((unit_max <= 0).sum()) if zero_floor else None
    activity = np.abs(per_unit).mean(axis=0)
    score = activity / activity.mean() if activity.mean() > 0 else np.zeros(units)
    flat = v.ravel()
    return {
        "units": units,
        "dead_units": dead,
        "nnu_pct": None if dead is None else 100.0 * dead / units,
        "dormant_pct": 100.0 * float(np.mean(score <= TAU)),
        "max_activation": float(flat.max()),
        "mean_activation": float(flat.mean()),
        "zero_fraction": float(np.mean(flat == 0)),
        "skewness": float(scipy_stats.skew(flat)),
        "fired_units": None if dead is None else units - dead,
    }


def _check_layers(out: Path, probed: list[str], acts: dict[str, np.ndarray]) -> None:
    rows = _read(out / "layers.csv")
    assert [r["layer"] for r in rows] == probed
    for row in rows:
        zero_floor = row["activation"] in ZERO_FLOOR
        expected = _layer_expect(acts[row["layer"]], zero_floor)
        for column, value in expected.items():
            if column in ("units", "dead_units", "fired_units"):
                assert row[column] == ("" if value is None else str(value)), (row, column)
            elif column == "skewness":
                _close(row[column], value, rel=1e-4, abs_=1e-6, what=(row["layer"], column))
            else:  # float32 activations: a mean near 0 is known to about 1e-7 absolute
                _close(row[column], value, abs_=1e-7, what=(row["layer"], column))


def _scores(model, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(class 1) (binary) or class probabilities, and the predicted class — by hand."""
    head = model.layers[-1].activation.__name__
    if raw.shape[1] == 1:
        p = raw[:, 0] if head == "sigmoid" else 1.0 / (1.0 + np.exp(-raw[:, 0]))
        return p, (p > 0.5).astype(int)
    if head != "softmax":
        raw = np.exp(raw - raw.max(axis=1, keepdims=True))
    proba = raw / raw.sum(axis=1, keepdims=True)
    if raw.shape[1] == 2:
        return proba[:, 1], (proba[:, 1] > 0.5).astype(int)
    return proba, proba.argmax(axis=1)


def _check_summary(out, model, probed, acts, y, classes, extra) -> None:
    row = _read(out / "summary.csv")[0]
    hidden = [acts[n] for n in probed]
    zero_floor = [_activation_of(model, n) in ZERO_FLOOR for n in probed]
    layers = [_layer_expect(v, z) for v, z in zip(hidden, zero_floor, strict=True)]
    units = sum(int(lay["units"]) for lay in layers)
    nnu_units = sum(int(lay["units"]) for lay, z in zip(layers, zero_floor, strict=True) if z)
    dead = sum(int(lay["dead_units"]) for lay in layers if lay["dead_units"] is not None)
    dormant = sum(lay["dormant_pct"] / 100 * int(lay["units"]) for lay in layers)
    maxima = np.array([lay["max_activation"] for lay in layers])
    flat = np.concatenate([v.ravel() for v in hidden])
    p, predicted = _scores(model, acts["out"])
    binary = p.ndim == 1
    average = "binary" if binary else "macro"
    expect = {
        "units": units, "nnu_units": nnu_units,
        "dead_units": dead if nnu_units else None,
        "nnu_pct": 100.0 * dead / nnu_units if nnu_units else None,
        "dormant_pct": 100.0 * dormant / units,
        "spectrum_skewness": float(scipy_stats.skew(flat)),
        "zero_fraction": float(np.mean(flat == 0)),
        "range_max": float(maxima.max()),
        "range_cv": float(maxima.std() / abs(maxima.mean())) if len(maxima) > 1 else None,
        "accuracy": skm.accuracy_score(y, predicted),
        "loss": skm.log_loss(y, p if not binary else np.stack([1 - p, p], axis=1),
                             labels=list(range(len(classes)))),
        "precision": skm.precision_score(y, predicted, average=average, zero_division=0),
        "recall": skm.recall_score(y, predicted, average=average, zero_division=0),
        "f1": skm.f1_score(y, predicted, average=average, zero_division=0),
        "roc_auc": skm.roc_auc_score(y, p) if binary else skm.roc_auc_score(
            y, p, multi_class="ovr", average="macro"),
    }
    for column, value in expect.items():
        if column in ("units", "nnu_units", "dead_units"):
            assert row[column] == ("" if value is None else str(value)), (column, row)
        elif column == "spectrum_skewness":
            _close(row[column], value, rel=1e-4, abs_=1e-6, what=column)
        else:
            _close(row[column], value, rel=1e-5, abs_=1e-7, what=column)
    assert row["averaging"] == average
    assert row["positive_class"] == (classes[1] if binary else "")
    head = model.layers[-1].activation.__name__
    assert row["outputs"] == ("probabilities" if head in ("sigmoid", "softmax") else "logits")
    assert row["preprocess"] == (extra[1] if extra else "none")
    assert row["tau"] == str(TAU) and row["epsilon"] == "0"


def _check_spectrum(out: Path, probed: list[str], acts: dict[str, np.ndarray]) -> None:
    rows = _read(out / "spectrum.csv")
    for name in [*probed, "__all__"]:
        values = (np.concatenate([acts[n].ravel() for n in probed]) if name == "__all__"
                  else acts[name].ravel()).astype(np.float32).astype(np.float64)
        mine = [r for r in rows if r["layer"] == name]
        assert sum(int(r["count"]) for r in mine) == values.size
        for r in mine:
            low, high = float(r["bin_low"]), float(r["bin_high"])
            if low == high == 0:
                inside = values == 0
            elif low > 0:
                inside = (values >= low) & (values < high)
            else:
                inside = (values > low) & (values <= high)
            assert int(r["count"]) == int(inside.sum()), (name, r)


def _check_confusion(out, model, raw, y, classes) -> None:
    _, predicted = _scores(model, raw)
    k = len(classes)
    matrix = skm.confusion_matrix(y, predicted, labels=list(range(k)))
    rows = _read(out / "confusion.csv")
    assert len(rows) == k * k
    for r in rows:
        t, q = classes.index(r["true"]), classes.index(r["predicted"])
        assert int(r["count"]) == matrix[t, q], r
