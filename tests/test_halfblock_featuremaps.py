"""Terminal images (half blocks) of a known small image, and the feature-map viewer's pass."""

from __future__ import annotations

import numpy as np

from tlexplorer.halfblock import UPPER_HALF, halfblock, to_rgb


def test_known_2x2_image_is_one_row_of_two_cells():
    image = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]], np.uint8)
    text = halfblock(image)
    assert text.plain == UPPER_HALF * 2
    spans = [(s.start, s.style.color.triplet.hex, s.style.bgcolor.triplet.hex)
             for s in text.spans]
    # cell 0: red over blue; cell 1: green over (10, 20, 30)
    assert spans[0][1:] == ("#ff0000", "#0000ff")
    assert spans[1][1:] == ("#00ff00", "#0a141e")


def test_odd_height_pads_and_width_resizes():
    image = np.zeros((3, 4, 3), np.uint8)
    image[2] = 255
    text = halfblock(image)
    assert text.plain.split("\n") == [UPPER_HALF * 4, UPPER_HALF * 4]
    assert text.spans[-1].style.color.triplet.hex == "#ffffff"  # row 2 on top, padding below
    assert text.spans[-1].style.bgcolor.triplet.hex == "#000000"
    assert halfblock(np.zeros((8, 8, 3), np.uint8), width=4).plain.count("\n") == 1


def test_feature_map_scaled_to_gray():
    fmap = np.array([[0.0, 2.0], [1.0, 2.0]])
    rgb = to_rgb(fmap)
    assert rgb[..., 0].tolist() == [[0, 255], [128, 255]]
    assert to_rgb(np.zeros((2, 2))).max() == 0


def test_feature_maps_one_forward_pass():
    from tlexplorer.quiet import import_tensorflow

    _, keras = import_tensorflow()
    from tlexplorer.capture.featuremaps import feature_maps

    inputs = keras.Input((6, 6, 1))
    conv = keras.layers.Conv2D(2, 1, activation="relu", name="conv", use_bias=False)
    out = keras.layers.Dense(1, activation="sigmoid", name="out")(
        keras.layers.Flatten()(conv(inputs)))
    model = keras.Model(inputs, out)
    conv.set_weights([np.array([[[[1.0, -1.0]]]], np.float32)])
    image = np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    maps = feature_maps(model, image, "conv")
    assert maps.shape == (6, 6, 2)
    np.testing.assert_array_equal(maps[..., 0], image[..., 0])  # relu(x) = x for x >= 0
    assert maps[..., 1].max() == 0  # relu(-x) = 0
