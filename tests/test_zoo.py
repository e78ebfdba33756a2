"""The five recipes' architectures: layer names, augmentation, freezing, weight transfer."""

from __future__ import annotations

import numpy as np
import pytest

from tlexplorer import presets, zoo
from tlexplorer.quiet import import_tensorflow

_, keras = import_tensorflow()

BASE = [f"block{b}_conv{c}" for b, n in enumerate(zoo.VGG_BLOCKS, 1) for c in range(1, n + 1)]
AUG = ["aug_affine"]


@pytest.fixture(scope="module")
def source():
    return zoo.build_source_classifier(presets.SMOKE, 8)


def _names(model):
    return [layer.name for layer in model.layers]


def test_cnn_recipes():
    m1 = zoo.build(1, presets.SMOKE)
    m2 = zoo.build(2, presets.SMOKE)
    assert _names(m1) == ["image", "rescale", "conv1", "pool1", "conv2", "pool2", "conv3",
                          "pool3", "conv4", "pool4", "flatten", "dropout", "fc1", "output"]
    assert _names(m2)[2:3] == AUG and _names(m2)[3:] == _names(m1)[2:]
    assert m1.get_layer("dropout").rate == 0.5
    assert m1.get_layer("output").activation.__name__ == "sigmoid"
    assert all(layer.trainable for layer in m1.layers)


def test_paper_cnn_follows_the_recipe():
    m1 = zoo.build(1, presets.PAPER)
    filters = [m1.get_layer(f"conv{i}").filters for i in range(1, 5)]
    assert filters == [32, 64, 128, 128] and m1.get_layer("fc1").units == 512
    assert tuple(m1.inputs[0].shape[1:]) == (150, 150, 3)


def test_transfer_recipes_freeze_the_base(source):
    m3 = zoo.build(3, presets.SMOKE, base_source=source)
    m4 = zoo.build(4, presets.SMOKE, base_source=source)
    for model in (m3, m4):
        names = _names(model)
        assert [n for n in names if n.endswith(tuple(f"conv{c}" for c in (1, 2, 3)))
                and n.startswith("block")] == BASE
        assert not any(model.get_layer(n).trainable for n in BASE)
        assert model.get_layer("fc1").trainable and model.get_layer("output").trainable
        # base weights come from the pretrained source classifier, layer by layer
        for n in BASE:
            np.testing.assert_array_equal(model.get_layer(n).get_weights()[0],
                                          source.get_layer(n).get_weights()[0])
    assert [n for n in _names(m4) if n.startswith("aug_")] == AUG
    assert not any(n.startswith("aug_") for n in _names(m3))


def test_fine_tune_unfreezes_block5_only(source):
    m4 = zoo.build(4, presets.SMOKE, base_source=source)
    m5 = zoo.fine_tune(m4)
    trainable = {layer.name for layer in m5.layers if layer.trainable and layer.weights}
    assert trainable == {"block5_conv1", "block5_conv2", "block5_conv3", "fc1", "output"}
    for a, b in zip(m4.get_weights(), m5.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_model_files_of_the_chained_augmentation_still_load(tmp_path):
    """Model files trained before RandomAffine chain Keras's own layers, a Shear among them."""
    from tlexplorer.layers import Shear

    inputs = keras.Input((48, 48, 3))
    x = keras.layers.RandomRotation(40 / 360, fill_mode="nearest", name="aug_rotate")(inputs)
    x = Shear(0.2, 0.2, fill_mode="nearest", name="aug_shear")(x)
    x = keras.layers.RandomFlip("horizontal", name="aug_flip")(x)
    out = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    keras.Model(inputs, out).save(tmp_path / "old.keras")
    again = zoo.load_model(tmp_path / "old.keras")
    assert again.get_layer("aug_shear").get_config()["x_factor"] == 0.2
    m2 = zoo.build(2, presets.SMOKE)
    m2.save(tmp_path / "m2.keras")
    assert zoo.load_model(tmp_path / "m2.keras").get_layer("aug_affine").zoom == 0.2


def test_unreadable_model_file_is_a_user_error(tmp_path):
    from tlexplorer.errors import UserError

    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"nope")
    with pytest.raises(UserError, match="cannot load model"):
        zoo.load_model(bad)
    with pytest.raises(UserError, match="not found"):
        zoo.load_model(tmp_path / "missing.keras")


def test_split_at_flatten_shares_the_models_layers(source):
    m3 = zoo.build(3, presets.SMOKE, base_source=source)
    features, head = zoo.split_at_flatten(m3)
    x = np.random.default_rng(0).uniform(0, 255, (4, *m3.inputs[0].shape[1:])).astype("float32")
    np.testing.assert_allclose(head.predict(features.predict(x, verbose=0), verbose=0),
                               m3.predict(x, verbose=0), rtol=1e-6)
    assert head.get_layer("fc1") is m3.get_layer("fc1")
    assert [w.name for w in head.trainable_weights] == [w.name for w in m3.trainable_weights]


def test_the_head_trained_on_features_is_model_3_trained_end_to_end(source):
    """Recipe 3's shortcut (the frozen base once, the head on its features) against running
    the frozen base in every training step: the same batches, seeds and dropout masks give
    the same weights and the same history, to float rounding."""
    from tlexplorer import training
    from tlexplorer.data import pipeline

    rng = np.random.default_rng(3)
    size = presets.SMOKE.image_size
    images = {s: pipeline.SubsetImages(rng.integers(0, 2, n).astype("float32"),
                                       arrays=rng.uniform(0, 255, (n, size, size, 3)))
              for s, n in (("train", 40), ("val", 16))}
    models = []
    for _ in range(2):
        keras.utils.set_random_seed(7)
        models.append(zoo.build(3, presets.SMOKE, base_source=source))
    shortcut, whole = models
    initial = shortcut.get_layer("fc1").get_weights()[0].copy()
    history = training._fit_on_features(shortcut, images, 8, 3, 1e-3, 3, 5, 1,
                                        training._noop, None)
    keras.utils.set_random_seed(7)  # the seed state the shortcut's fit started from
    zoo.compile_model(whole, 1e-3)
    expected = training._fit(whole, pipeline.batches(images["train"], 8, shuffle=True, seed=3),
                             pipeline.batches(images["val"], 8), 3, 5, "3", "training",
                             training._noop, None)
    for a, b in zip(shortcut.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not np.allclose(shortcut.get_layer("fc1").get_weights()[0], initial)  # it trained
    for key in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-4)


def test_only_recipe_3_trains_on_features_and_only_while_they_fit(source, monkeypatch):
    from tlexplorer import training
    from tlexplorer.data import pipeline
    from tlexplorer.data.sources import SyntheticSource

    data = SyntheticSource(presets.SMOKE.image_size, presets.SMOKE.split)
    m3 = zoo.build(3, presets.SMOKE, base_source=source)
    m4 = zoo.build(4, presets.SMOKE, base_source=source)
    assert training._trains_on_features(zoo.RECIPES[3], m3, data)
    assert not training._trains_on_features(zoo.RECIPES[4], m4, data)
    assert not training._trains_on_features(zoo.RECIPES[5], zoo.fine_tune(m4), data)
    assert not training._trains_on_features(zoo.RECIPES[1], zoo.build(1, presets.SMOKE), data)
    monkeypatch.setattr(pipeline, "CACHE_BYTES", 1000)  # features too large: end to end
    assert not training._trains_on_features(zoo.RECIPES[3], m3, data)


# -- the augmentation: one affine transform ------------------------------------------------


def _affine_with(monkeypatch, u, **params):
    """A RandomAffine whose random draws are ``u`` (one row per image)."""
    from tlexplorer.layers import RandomAffine

    layer = RandomAffine(**params)
    fixed = keras.ops.convert_to_tensor(np.asarray(u, np.float32))
    monkeypatch.setattr(keras.random, "uniform", lambda *a, **k: fixed)
    return layer


def _image(n=1, size=9):
    return np.random.default_rng(0).uniform(0, 1, (n, size, size, 3)).astype("float32")


def test_affine_is_the_identity_at_inference_and_with_nothing_drawn(monkeypatch):
    from tlexplorer.layers import RandomAffine

    x = _image(2)
    np.testing.assert_array_equal(RandomAffine()(x, training=False), x)
    np.testing.assert_array_equal(RandomAffine(rotation=0, shift=0, shear=0, zoom=0,
                                               flip=False)(x, training=True), x)
    layer = _affine_with(monkeypatch, [[0.3, -0.2, 0.5, 0.1, -0.4, 0.7, 0.9]] * 2)
    assert not np.allclose(layer(x, training=True), x)  # with draws, it moves


@pytest.mark.parametrize("row,expected", [
    ([0, 0, 0, 0, 0, 0, -1], lambda x: x[:, :, ::-1]),  # mirrored
    ([1, 0, 0, 0, 0, 0, 1], lambda x: np.rot90(x, 1, axes=(1, 2))),  # a quarter turn
    ([0, 2 / 9 / 0.2, 0, 0, 0, 0, 1],  # 2 pixels along x, the edge column repeated
     lambda x: np.concatenate([x[:, :, 2:], x[:, :, -1:], x[:, :, -1:]], axis=2)),
    ([0, 0, -1 / 9 / 0.2, 0, 0, 0, 1],  # 1 pixel along y, the other way
     lambda x: np.concatenate([x[:, :1], x[:, :-1]], axis=1)),
    ([0, 0, 0, 0, 0, 1, 1], lambda x: x[:, 0:9:2, 0:9:2]),  # zoom 2 about the centre
])
def test_affine_moves_pixels_where_it_says(monkeypatch, row, expected):
    params = {"rotation": 90.0, "shift": 0.2, "shear": 0.2, "zoom": 1.0}
    x = _image()
    got = np.asarray(_affine_with(monkeypatch, [row], **params)(x, training=True))
    want = expected(x)
    if row[5] == 1:  # zoom 2: output pixels 2..6 read input pixels 0, 2, .., 8
        got = got[:, 2:7, 2:7]
    if row[0] == 1:  # a rotation's direction is a matter of convention: either quarter turn
        other = np.rot90(x, -1, axes=(1, 2))
        assert np.allclose(got, want, atol=1e-5) or np.allclose(got, other, atol=1e-5)
    else:
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_affine_shear_reads_along_the_other_axis(monkeypatch):
    x = _image()
    got = np.asarray(_affine_with(monkeypatch, [[0, 0, 0, 1, 0, 0, 1]], shear=1.0)(
        x, training=True))
    # x-shear of 1: output (row y, column c) reads input column c + (y - 4) on row y
    for y in range(9):
        for c in range(9):
            if 0 <= c + y - 4 <= 8:
                np.testing.assert_allclose(got[0, y, c], x[0, y, c + y - 4], atol=1e-5)


def test_affine_draws_per_image_repeatably_and_round_trips(tmp_path):
    from tlexplorer.layers import RandomAffine

    x = np.repeat(_image(), 4, axis=0)
    a = np.asarray(RandomAffine(seed=3)(x, training=True))
    b = np.asarray(RandomAffine(seed=3)(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])  # each image its own transform
    inputs = keras.Input((9, 9, 3))
    model = keras.Model(inputs, RandomAffine(rotation=10.0, zoom=0.1, name="aug")(inputs))
    model.save(tmp_path / "m.keras")
    loaded = zoo.load_model(tmp_path / "m.keras")
    assert loaded.get_layer("aug").get_config() == model.get_layer("aug").get_config()
