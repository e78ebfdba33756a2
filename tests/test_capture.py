"""Capture engine: exact statistics against brute force on tiny models, probing, top-k, memory."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

from tlexplorer import metrics
from tlexplorer.capture.result import HIST_BINS, histogram_index
from tlexplorer.errors import Cancelled
from tlexplorer.quiet import import_tensorflow

tf, keras = import_tensorflow()

from tlexplorer.capture.engine import Capturer, capture  # noqa: E402
from tlexplorer.capture.probe import build_probe  # noqa: E402


def _batches(x, y, batch):
    return [(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)]


def _dense_model():
    """Dense(3, relu) whose units 1 and 2 can never fire on non-negative inputs."""
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(3, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(hidden)
    model = keras.Model(inputs, outputs)
    # unit 0 = x0 + x1 (fires), unit 1 = x0 - 100 (never > 0 for x < 100), unit 2 = -x0 - x1
    model.get_layer("hidden").set_weights(
        [np.array([[1.0, 1.0, -1.0], [1.0, 0.0, -1.0]], np.float32),
         np.array([0.0, -100.0, 0.0], np.float32)])
    model.get_layer("output").set_weights([np.array([[0.5], [0.0], [0.0]], np.float32),
                                           np.array([-1.0], np.float32)])
    return model


def test_dead_units_known_in_advance():
    model = _dense_model()
    x = np.array([[1, 2], [3, 0], [0, 0], [2, 2], [0.5, 0.25]], np.float32)
    y = np.array([0, 1, 0, 1, 1])
    result = capture(model, _batches(x, y, 2), topk=2)
    hidden = result.layers[0]
    assert [layer.name for layer in result.layers] == ["hidden", "output"]
    assert result.layers[1].is_output and not hidden.is_output
    # unit 0 = x0 + x1 -> [3, 3, 0, 4, 0.75]; units 1 and 2 always 0
    assert metrics.dead_units(hidden).tolist() == [False, True, True]
    assert metrics.layer_nnu_pct(hidden) == pytest.approx(100 * 2 / 3)
    assert hidden.unit_max.tolist() == [4.0, 0.0, 0.0]
    assert hidden.unit_fire_count.tolist() == [4, 0, 0]
    assert hidden.n_images == 5
    # histogram: 10 zeros (units 1, 2) + 1 zero (unit 0 on [0, 0]) and 3, 3, 4, 0.75
    assert hidden.hist[0] == 11
    assert hidden.hist.sum() == 15
    # 15 values: 3, 3, 4, 0.75 and eleven zeros; central moments by hand (to the 1e-6 the
    # design asks of statistics of float32 activations centred in float32)
    values = np.array([3, 3, 4, 0.75] + [0] * 11, dtype=np.float64)
    d = values - values.mean()
    assert hidden.moments.tolist() == pytest.approx([15, 10.75 / 15, (d**2).sum(), (d**3).sum()],
                                                    rel=1e-6)
    # top-2 images of unit 0: image 3 (4.0) then image 0 (3.0, tie with image 1: earlier wins)
    top = result.topk["hidden"]
    assert top.indices[0].tolist() == [3, 0]
    assert top.values[0].tolist() == [4.0, 3.0]
    # predictions are the model's own
    np.testing.assert_allclose(result.scores, model.predict(x, verbose=0)[:, 0], rtol=1e-6)
    assert result.labels.tolist() == y.tolist()


def _conv_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((7, 7, 2))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Conv2D(3, 3, activation="tanh", name="conv_tanh")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("sizes", [(4, 4, 4, 1), (3, 8, 2)])
def test_statistics_equal_brute_force(sizes):
    """Whatever the batch sizes: a short batch is padded to the compiled size, a longer one
    compiles again, and neither the padding nor the order shows in any number."""
    model = _conv_model()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(13, 7, 7, 2)).astype(np.float32)
    y = rng.integers(0, 3, 13)
    ends = np.cumsum(sizes)
    batches = [(x[e - n:e], y[e - n:e]) for n, e in zip(sizes, ends, strict=True)]
    result = capture(model, batches, topk=3)
    np.testing.assert_allclose(result.scores, model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    for name in ("conv", "conv_tanh"):
        acts = keras.Model(model.inputs, model.get_layer(name).output).predict(x, verbose=0)
        stats = next(s for s in result.layers if s.name == name)
        flat = acts.reshape(13, -1, acts.shape[-1])
        np.testing.assert_allclose(stats.unit_max, flat.max(axis=(0, 1)), rtol=1e-6)
        np.testing.assert_allclose(stats.unit_abs_sum, np.abs(flat).sum(axis=(0, 1)), rtol=1e-5)
        assert stats.unit_fire_count.tolist() == (flat.max(axis=1) > 0).sum(axis=0).tolist()
        expected_hist = np.bincount(histogram_index(acts.ravel()), minlength=HIST_BINS)
        assert stats.hist.tolist() == expected_hist.tolist()
        v = acts.astype(np.float64).ravel()
        d = v - v.mean()
        np.testing.assert_allclose(stats.moments, [v.size, v.mean(), (d**2).sum(), (d**3).sum()],
                                   rtol=1e-6, atol=1e-9)
        # top-k equals a brute-force sort of per-image maxima (ties: lower index first)
        per_image = flat.max(axis=1)  # (images, units)
        for unit in range(per_image.shape[1]):
            order = sorted(range(13), key=lambda i: (-per_image[i, unit], i))[:3]
            assert result.topk[name].indices[unit].tolist() == order
    assert result.scores.shape == (13, 3)


def test_merge_of_two_passes_equals_one_pass():
    model = _conv_model()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 7, 7, 2)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    capturer = Capturer(model, topk=0)
    whole = capturer.run(_batches(x, y, 4))
    first = capturer.run(_batches(x[:8], y[:8], 4))
    second = capturer.run(_batches(x[8:], y[8:], 4))
    for a, b, w in zip(first.layers, second.layers, whole.layers, strict=True):
        a.merge(b)
        assert a.hist.tolist() == w.hist.tolist()
        assert a.unit_fire_count.tolist() == w.unit_fire_count.tolist()
        np.testing.assert_array_equal(a.unit_max, w.unit_max)
        np.testing.assert_allclose(a.moments, w.moments, rtol=1e-9, atol=1e-12)


def test_nested_sequential_base_is_probed_layer_by_layer():
    base_in = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="b_conv1")(base_in)
    h = keras.layers.MaxPooling2D(name="b_pool")(h)
    h = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="b_conv2")(h)
    base = keras.Model(base_in, h, name="base")
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255), base,
                              keras.layers.Flatten(),
                              keras.layers.Dense(6, activation="relu", name="fc"),
                              keras.layers.Dense(1, activation="sigmoid", name="out")])
    probe = build_probe(model)
    assert [p.name for p in probe.layers] == ["base/b_conv1", "base/b_conv2", "fc", "out"]
    x = np.random.default_rng(3).uniform(0, 255, (5, 8, 8, 3)).astype(np.float32)
    result = capture(model, [(x, np.zeros(5))], topk=0)
    np.testing.assert_allclose(result.scores, model.predict(x, verbose=0)[:, 0], rtol=1e-5)
    inner = keras.Model(base.inputs, base.get_layer("b_conv2").output)(x / 255).numpy()
    np.testing.assert_allclose(result.layers[1].unit_max, inner.max(axis=(0, 1, 2)), rtol=1e-5)


@pytest.mark.parametrize("factory", ["ResNet50", "MobileNetV2", "VGG16"])
def test_keras_applications_probe(factory):
    model = getattr(keras.applications, factory)(weights=None, input_shape=(32, 32, 3),
                                                 classes=3)
    probe = build_probe(model)
    assert probe.layers[-1].is_output and probe.layers[-1].activation == "softmax"
    assert len(probe.hidden) >= 13
    if factory == "ResNet50":  # Conv (linear) -> BatchNorm -> ReLU: the ReLU layers are probed
        assert all(p.kind == "activation" for p in probe.hidden)
    assert not probe.skipped


def test_subclassed_inner_model_is_listed_with_reason():
    class Block(keras.Model):
        def __init__(self):
            super().__init__(name="custom_block")
            self.dense = keras.layers.Dense(4, activation="relu")

        def call(self, x):
            return self.dense(x)

    inputs = keras.Input((3,))
    x = Block()(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="out")(x)
    probe = build_probe(keras.Model(inputs, outputs))
    assert [s.name for s in probe.skipped] == ["custom_block"]
    assert "subclassed" in probe.skipped[0].reason


def test_cancel_stops_the_pass():
    model = _dense_model()
    cancel = threading.Event()
    x = np.ones((8, 2), np.float32)

    def batches():
        for i in range(4):
            if i == 2:
                cancel.set()
            yield x[i * 2 : i * 2 + 2], np.zeros(2)

    with pytest.raises(Cancelled):
        capture(model, batches(), cancel=cancel)


def test_host_memory_does_not_grow_with_images():
    inputs = keras.Input((32, 32, 2))
    h = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalMaxPooling2D()(h))
    capturer = Capturer(keras.Model(inputs, outputs), topk=9)
    x = np.random.default_rng(4).normal(size=(16, 32, 32, 2)).astype(np.float32)
    y = np.zeros(16)
    capturer.run([(x, y)])  # compile outside the measurement

    def peak(n_batches):
        tracemalloc.start()
        capturer.run((x, y) for _ in range(n_batches))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(10), peak(40)
    extra_images = 30 * 16
    activations_per_image = 30 * 30 * 8 * 4  # bytes one image's conv output would take
    # Only per-image predictions and labels (a few hundred bytes with numpy overhead) may grow;
    # keeping activations would add 28.8 KB per image.
    assert (large - small) / extra_images < 400 < activations_per_image / 50


@pytest.mark.parametrize("batch", [1, 5, 32])
def test_topk_accumulator_equals_a_full_sort(batch):
    """The running top-k (which sorts only units with a candidate that beats their k-th value)
    equals one stable sort of all images: value descending, ties to the lower image index.
    Many ties (small integers), zeros as from dead units, NaN and -inf included."""
    from tlexplorer.capture.engine import _TopKAccumulator

    rng = np.random.default_rng(batch)
    images, units, k = 203, 40, 9
    values = rng.integers(0, 6, (images, units)).astype(np.float32)
    values[:, 0] = 0.0  # a dead unit: all ties
    values[:, 1] = np.arange(images)  # rising: every batch enters
    values[rng.random((images, units)) < 0.03] = np.nan
    values[rng.random((images, units)) < 0.03] = -np.inf
    values[:, 2] = np.nan  # never fires a number at all
    values[:, 3] = np.nan  # fewer than k numbers: some of its top k stay empty
    values[[4, 50, 51, 120], 3] = [2.0, 7.0, 7.0, 1.0]
    acc = _TopKAccumulator(units, k)
    for start in range(0, images, batch):
        acc.update(values[start:start + batch], start)
    for unit in range(units):
        column = values[:, unit]
        finite = [i for i in range(images) if not np.isnan(column[i])]
        want = sorted(finite, key=lambda i: (-column[i], i))[:k]
        want_values = column[want].tolist()
        # fewer than k numbers: the rest stays empty (-inf, index -1)
        want += [-1] * (k - len(want))
        want_values += [-np.inf] * (k - len(want_values))
        got = acc.indices[unit].tolist()
        assert got == want, (unit, got, want)
        assert acc.values[unit].tolist() == want_values, unit
