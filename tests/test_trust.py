"""The cases where the tool used to give wrong numbers without a word (issue 9), one by one.

Outputs read as logits or probabilities by the head, NaN outputs, input modes, NNU where it is
undefined, the cache after images were replaced by others of the same size, valid images of
every kind kept and undecodable ones skipped with the reason, one decision rule, one decoder
whose resize matches TensorFlow's.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import jpeg_bytes, noise_image, write, write_truncated_jpeg

from tlexplorer import metrics
from tlexplorer.capture.result import CaptureResult, LayerStats
from tlexplorer.cli import main
from tlexplorer.data.decode import (
    REASON_EMPTY,
    REASON_TRUNCATED,
    REASON_UNKNOWN_FORMAT,
    decode_image,
    decode_problem,
    resize_bilinear,
)
from tlexplorer.inputs import PREPROCESS_MODES, apply_preprocess
from tlexplorer.quiet import import_tensorflow

tf, keras = import_tensorflow()

from tlexplorer.capture.probe import build_probe  # noqa: E402


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# -- outputs: probabilities or logits -------------------------------------------------------


def test_a_linear_head_is_read_as_logits():
    labels = np.array([0, 1, 1, 0, 1, 0])
    logits = np.array([-2.0, 0.5, 3.0, 0.2, -0.1, -1.0])
    as_logits = metrics.classification_metrics(labels, logits, "logits")
    p = 1 / (1 + np.exp(-logits))
    assert as_logits["accuracy"] == pytest.approx(4 / 6)
    assert as_logits["loss"] == pytest.approx(
        -np.mean(np.where(labels == 1, np.log(p), np.log(1 - p))), rel=1e-12)
    assert as_logits["precision"] == pytest.approx(2 / 3)
    assert as_logits["recall"] == pytest.approx(2 / 3)
    # read as probabilities the same numbers are nonsense (what the tool used to report)
    wrong = metrics.classification_metrics(labels, logits, "probabilities")
    assert wrong["loss"] != pytest.approx(as_logits["loss"])
    assert metrics.resolve_outputs("linear") == ("logits", None)
    assert metrics.resolve_outputs("sigmoid") == ("probabilities", None)
    assert metrics.resolve_outputs("softmax") == ("probabilities", None)
    mode, note = metrics.resolve_outputs("relu")
    assert mode == "logits" and "relu" in note  # never a silent guess
    assert metrics.resolve_outputs("linear", "probabilities") == ("probabilities", None)


def test_softmax_logits_and_three_classes():
    labels = np.array([0, 1, 2, 2, 1])
    z = np.array([[2.0, 0, 0], [0, 1, 0], [0, 0, 3], [1, 0, 0.5], [0, 2, 0]])
    m = metrics.classification_metrics(labels, z, "logits")
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert m["loss"] == pytest.approx(-log_p[np.arange(5), labels].mean(), rel=1e-12)
    assert m["accuracy"] == pytest.approx(4 / 5) and m["averaging"] == "macro"
    assert m["confusion"].tolist() == [[1, 0, 0], [0, 2, 0], [1, 0, 1]]
    with pytest.raises(ValueError, match="3 output units .* but the data has 2 classes"):
        metrics.read_outputs(z, "logits", n_classes=2)


def test_nan_outputs_give_nan_metrics_not_a_perfect_auc():
    labels = np.array([0, 1, 0, 1])
    scores = np.array([np.nan, np.nan, np.nan, np.nan])
    m = metrics.classification_metrics(labels, scores, "probabilities")
    for key in ("accuracy", "loss", "precision", "recall", "f1", "roc_auc"):
        assert math.isnan(m[key]), key
    assert m["nonfinite"] == 4
    m = metrics.classification_metrics(labels, np.array([0.1, np.inf, 0.2, 0.9]), "logits")
    assert math.isnan(m["roc_auc"]) and m["nonfinite"] == 1


def test_one_decision_rule():
    # P(class 1) = 0.5 exactly is class 0 in the metrics and in the views alike
    result = CaptureResult("m", "m", layers=[], skipped=[], labels=np.array([0, 1]),
                           scores=np.array([0.5, 0.5], np.float32), class_names=["a", "b"])
    assert metrics.predict(result)[0].tolist() == [0, 0]
    assert metrics.summarize(result).confusion.tolist() == [[1, 0], [1, 0]]
    logits = CaptureResult("m", "m", layers=[], skipped=[], labels=np.array([0, 1]),
                           scores=np.array([0.0, 1e-30], np.float32), class_names=["a", "b"],
                           head_activation="linear")
    assert metrics.predict(logits)[0].tolist() == [0, 1]  # the logit's sign, not σ(z) > 0.5


def test_the_head_activation_is_found_through_pass_through_layers():
    L = keras.layers
    inputs = keras.Input((4,))
    sigmoid_then_reshape = keras.Model(inputs, L.Reshape((1,))(L.Dropout(0.1)(
        L.Dense(1, activation="sigmoid")(inputs))))
    assert build_probe(sigmoid_then_reshape).head_activation == "sigmoid"
    linear = keras.Model(inputs, L.Dense(1)(inputs))
    assert build_probe(linear).head_activation == "linear"
    activation_layer = keras.Model(inputs, L.Activation("softmax")(L.Dense(3)(inputs)))
    assert build_probe(activation_layer).head_activation == "softmax"


# -- inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["tf", "caffe", "torch"])
def test_input_modes_match_keras_applications(mode):
    from keras.applications import imagenet_utils

    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype(np.float32)
    expected = imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_allclose(apply_preprocess(x, mode), expected, rtol=1e-6, atol=1e-5)
    tensor = apply_preprocess(tf.constant(x), mode)
    np.testing.assert_allclose(tensor.numpy(), expected, rtol=1e-6, atol=1e-5)


def test_input_modes_none_and_unit():
    x = np.full((1, 2, 2, 3), 255.0, np.float32)
    assert apply_preprocess(x, "none") is x
    assert apply_preprocess(x, "unit").max() == 1.0
    assert set(PREPROCESS_MODES) == {"none", "unit", "tf", "caffe", "torch"}
    with pytest.raises(ValueError, match="unknown input mode"):
        apply_preprocess(x, "imagenet")


def test_input_scaling_is_detected():
    L = keras.layers
    inputs = keras.Input((8, 8, 3))
    own = keras.Model(inputs, L.Dense(1, activation="sigmoid")(L.Flatten()(
        L.Conv2D(2, 3, activation="relu")(L.Rescaling(1 / 255)(inputs)))))
    assert build_probe(own).input_scaling
    bare = keras.Model(inputs, L.Dense(1, activation="sigmoid")(L.Flatten()(
        L.Conv2D(2, 3, activation="relu")(inputs))))
    assert not build_probe(bare).input_scaling


# -- NNU where it means something -----------------------------------------------------------


def _layer(activation: str, unit_max: list[float], zero_floor=None) -> LayerStats:
    stats = LayerStats(name=activation, index=0, kind="dense", layer_class="Dense",
                       activation=activation, units=len(unit_max), positions=1, n_images=3,
                       zero_floor=zero_floor)
    stats.unit_max = np.array(unit_max, np.float32)
    stats.unit_abs_sum = np.abs(np.array(unit_max, np.float64)) * 3
    return stats


def test_nnu_is_undefined_without_a_zero_floor():
    relu = _layer("relu", [0.0, 2.0, 0.0, 1.0])
    tanh = _layer("tanh", [-1.0, -1.0, 0.5])  # units stuck at -1 are not "dead"
    leaky = _layer("leaky_relu", [-200.0, 3.0])
    assert metrics.layer_nnu_pct(relu) == 50.0
    for layer in (tanh, leaky):
        assert math.isnan(metrics.layer_nnu_pct(layer))
        assert metrics.layer_dead_count(layer) is None
        assert not metrics.dead_units(layer).any()
        assert not math.isnan(metrics.layer_dormant_pct(layer))  # τ-dormant stays
    result = CaptureResult("m", "m", layers=[relu, tanh, leaky], skipped=[],
                           labels=np.zeros(3), scores=np.zeros(3, np.float32), class_names=[])
    assert metrics.model_units(result) == 9
    assert metrics.model_nnu_units(result) == 4
    assert metrics.model_dead_units(result) == 2
    assert metrics.model_nnu_pct(result) == 50.0
    only_tanh = CaptureResult("m", "m", layers=[tanh], skipped=[], labels=np.zeros(3),
                              scores=np.zeros(3, np.float32), class_names=[])
    assert math.isnan(metrics.model_nnu_pct(only_tanh))


def test_zero_floor_of_relu_layers():
    L = keras.layers
    inputs = keras.Input((4,))
    h = L.Dense(3, name="d")(inputs)
    a = L.ReLU(name="plain")(h)
    b = L.ReLU(threshold=0.5, name="thresholded")(h)
    c = L.ReLU(negative_slope=0.1, name="leaky")(h)
    d = L.Dense(3, activation="relu6", name="r6")(inputs)
    e = L.Dense(3, activation="elu", name="elu")(inputs)
    out = L.Dense(1, activation="sigmoid")(L.Concatenate()([a, b, c, d, e]))
    probe = build_probe(keras.Model(inputs, out))
    floors = {p.name: p.zero_floor for p in probe.hidden}
    assert floors == {"plain": True, "thresholded": True, "leaky": False, "r6": True,
                      "elu": False}


# -- images: decoded, not guessed -----------------------------------------------------------


def _exif_only_jpeg(seed: int) -> bytes:
    """A valid JPEG with no JFIF (APP0) segment, as cameras write them (Exif APP1 only)."""
    data = jpeg_bytes(seed, size=24)
    assert data[2:4] == b"\xff\xe0"
    app0_len = int.from_bytes(data[4:6], "big")
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    app1 = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    out = data[:2] + app1 + data[4 + app0_len:]
    assert b"JFIF" not in out[:20]
    return out


def _save(fmt: str, mode: str = "RGB", seed: int = 0, **kwargs) -> bytes:
    buffer = io.BytesIO()
    noise_image(seed, 24).convert(mode).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _mixed_folder(root: Path) -> dict[str, str]:
    """PetImages-style Cat/Dog folders with images of every kind; returns rel -> expectation."""
    expect = {}
    for c, name in enumerate(("Cat", "Dog")):
        for i in range(3):
            write(root / name / f"{i}.jpg", jpeg_bytes(10 * c + i, 24))
            expect[f"{name}/{i}.jpg"] = "ok"
    kinds = {
        "Cat/png.jpg": (_save("PNG", seed=1), "ok"),
        "Cat/exif.jpg": (_exif_only_jpeg(2), "ok"),
        "Cat/tiff.jpg": (_save("TIFF", seed=3), "ok"),
        "Dog/icon.jpg": (_save("ICO", seed=4, sizes=[(24, 24)]), "ok"),
        "Dog/onebit.bmp": (_save("BMP", mode="1", seed=5), "ok"),
        "Dog/grey16.png": (_save("PNG", mode="I;16", seed=6), "ok"),
        "Dog/empty.jpg": (b"", REASON_EMPTY),
        "Cat/junk.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, REASON_UNKNOWN_FORMAT),
    }
    for rel, (data, outcome) in kinds.items():
        write(root / rel, data)
        expect[rel] = outcome
    write_truncated_jpeg(root / "Dog" / "cut.jpg")
    expect["Dog/cut.jpg"] = REASON_TRUNCATED
    return expect


def test_decoder_keeps_valid_images_and_names_the_problem(tmp_path):
    expect = _mixed_folder(tmp_path)
    for rel, outcome in expect.items():
        assert decode_problem(tmp_path / rel) == (None if outcome == "ok" else outcome), rel
    grey = decode_image(tmp_path / "Dog/grey16.png", 24)
    assert grey.max() <= 255.0 and grey.shape == (24, 24, 3)


@pytest.mark.parametrize("shape,size", [((37, 53, 3), 16), ((9, 7, 3), 20), ((16, 16, 3), 16),
                                        ((150, 201, 3), 150)])
def test_resize_matches_tensorflow(shape, size):
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape).astype(np.uint8)
    expected = tf.image.resize(image, (size, size), method="bilinear").numpy()
    np.testing.assert_allclose(resize_bilinear(image, size), expected, rtol=0, atol=2e-4)


def _tiny_model(path: Path, size: int = 12) -> Path:
    keras.utils.set_random_seed(1)
    L = keras.layers
    model = keras.Sequential([keras.Input((size, size, 3)), L.Rescaling(1 / 255),
                              L.Conv2D(3, 3, activation="relu", name="c"),
                              L.GlobalAveragePooling2D(), L.Dense(1, activation="sigmoid")])
    model.save(path)
    return path


def test_analyze_keeps_valid_images_and_lists_the_skipped(tmp_path, capsys):
    expect = _mixed_folder(tmp_path / "data")
    write(tmp_path / "data" / "Cat" / "notes.txt", b"not an image")
    model = _tiny_model(tmp_path / "m.keras")
    out = tmp_path / "out"
    assert main(["analyze", "--no-figures",
                 str(model), "--data", str(tmp_path / "data"), "--out", str(out),
                 "--workspace", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    good = sorted(rel for rel, outcome in expect.items() if outcome == "ok")
    bad = {rel: outcome for rel, outcome in expect.items() if outcome != "ok"}
    assert f"{len(good)} images analysed; {len(bad) + 1} files skipped" in text
    summary = _rows(out / "summary.csv")[0]
    assert int(summary["n_images"]) == len(good)
    skipped = {r["image"]: r["reason"] for r in _rows(out / "skipped_images.csv")}
    assert skipped == {**bad, "Cat/notes.txt": "not an image file"}
    # top images name real files, all of them decodable ones
    named = {Path(r["image"]).relative_to((tmp_path / "data").resolve()).as_posix()
             for r in _rows(out / "top_images.csv")}
    assert named and named <= set(good)


def test_training_split_skips_what_the_decoder_cannot_read(tmp_path):
    from tlexplorer.data.pipeline import dataset
    from tlexplorer.data.sources import open_folder

    expect = _mixed_folder(tmp_path)
    for c, name in enumerate(("Cat", "Dog")):
        for i in range(3, 8):
            write(tmp_path / name / f"{i}.jpg", jpeg_bytes(100 + 10 * c + i, 24))
    source = open_folder(tmp_path, 16, (8, 4, 4))
    used = {r.rel for subset in ("train", "val", "test") for r in getattr(source.split, subset)}
    bad = {rel for rel, outcome in expect.items() if outcome != "ok"}
    assert not used & {f"PetImages/{b}" for b in bad} and not used & bad
    assert {rel for rel, _ in source.split.skipped} <= bad
    seen = sum(int(x.shape[0]) for x, _ in dataset(source, "train", 3))  # decodes every file
    assert seen == 8


def test_train_refuses_three_classes_in_one_line(tmp_path, capsys):
    for name in ("ant", "bee", "cat"):
        for i in range(4):
            write(tmp_path / "data" / name / f"{i}.jpg", jpeg_bytes(i, 16))
    assert main(["train", "--data", str(tmp_path / "data"), "--workspace", str(tmp_path),
                 "--split", "6,3,3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "binary" in err[0] and "3 classes" in err[0]


# -- the cache -------------------------------------------------------------------------------


def test_cache_notices_images_replaced_by_others_of_the_same_size(tmp_path, capsys):
    # BMP is uncompressed: another image of the same dimensions has exactly the same size
    data = tmp_path / "data"
    for c, name in enumerate(("a", "b")):
        for i in range(6):
            write(data / name / f"{i}.bmp", _save("BMP", seed=100 * c + i))
    model = _tiny_model(tmp_path / "m.keras")
    args = ["analyze", "--no-figures",
            str(model), "--data", str(data), "--out", str(tmp_path / "out"),
            "--workspace", str(tmp_path)]
    assert main(args) == 0
    before = (tmp_path / "out" / "layers.csv").read_text()
    assert main(args) == 0
    assert "cached result" in capsys.readouterr().out
    for i in range(3):
        target = data / "a" / f"{i}.bmp"
        size = target.stat().st_size
        write(target, _save("BMP", seed=999 + i))
        assert target.stat().st_size == size
    assert main(args) == 0
    assert "cached result" not in capsys.readouterr().out
    assert (tmp_path / "out" / "layers.csv").read_text() != before
